// Browser tests of the UI in headless Chromium (playwright-core, Debian's /usr/bin/chromium)
// against a real tracehound. Ingests its own traces over OTLP/HTTP JSON, waits for search to
// find them, then checks search, the waterfall (every span, nesting, bar positions, collapse,
// detail, find, keyboard, critical path), markup in span data staying text, deep links and
// back/forward, clock-skew adjustment and its switch, services, dependencies, opening files, a
// 2,000-span trace being virtualised, and no console errors or CSP violations. Screenshots go to
// ui/test-output/screenshots/.
//
//   TRACEHOUND_URL=http://127.0.0.1:16686 TRACEHOUND_OTLP_HTTP=http://127.0.0.1:4318 node ui/test/browser/run.mjs
//
// When the query port does not serve the UI (no /ui/app.css), the dev server is started in front
// of it, unless TRACEHOUND_REQUIRE_EMBEDDED_UI=1 (as the cargo integration test sets) makes that a
// failure. TRACEHOUND_UI_FROM_DISK=1 uses the dev server even when the binary embeds a UI, to test
// the files in ui/ as they are now rather than as the binary was built with.

import { mkdir, writeFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';
import { checkoutTrace, hostileTrace, skewTrace, generateTrace, postSpans, waitForTrace } from './traces.mjs';
import { startDevServer } from '../../bench/devserver.mjs';
import { launchChromium } from './chromium.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = path.resolve(HERE, '../../test-output/screenshots');
const QUERY = (process.env.TRACEHOUND_URL ?? 'http://127.0.0.1:16686').replace(/\/$/, '');
const OTLP = (process.env.TRACEHOUND_OTLP_HTTP ?? 'http://127.0.0.1:4318').replace(/\/$/, '');

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    console.log(`FAIL ${name}\n     ${String(e?.message ?? e).split('\n').join('\n     ')}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
const near = (a, b, tol, what) => expect(Math.abs(a - b) <= tol, `${what}: ${a.toFixed(2)} is not within ${tol} of ${b.toFixed(2)}`);

async function uiBase() {
  const fromDisk = process.env.TRACEHOUND_UI_FROM_DISK === '1';
  if (fromDisk && process.env.TRACEHOUND_REQUIRE_EMBEDDED_UI === '1') {
    throw new Error('TRACEHOUND_UI_FROM_DISK=1 and TRACEHOUND_REQUIRE_EMBEDDED_UI=1 contradict each other');
  }
  const probe = fromDisk ? null : await fetch(`${QUERY}/ui/app.css`).catch(() => null);
  if (probe?.ok) return { base: QUERY, close: async () => {} };
  if (process.env.TRACEHOUND_REQUIRE_EMBEDDED_UI === '1') {
    throw new Error(`${QUERY}/ui/app.css answered ${probe ? probe.status : 'nothing'}: the server does not serve the embedded UI`);
  }
  const dev = await startDevServer({ upstream: QUERY });
  console.log(fromDisk
    ? `note: TRACEHOUND_UI_FROM_DISK=1: testing ui/ from disk through the dev server ${dev.url} → ${QUERY}`
    : `note: ${QUERY} does not serve the UI; testing through the dev server ${dev.url}`);
  return { base: dev.url, close: dev.close };
}

async function main() {
  await mkdir(SHOTS, { recursive: true });
  const { base, close } = await uiBase();
  const baseNs = BigInt(Date.now() - 60_000) * 1_000_000n;
  const checkout = checkoutTrace();
  const hostile = hostileTrace();
  const skew = skewTrace();
  const big = generateTrace(2_000, { seed: 3, durationMs: 800 });
  await postSpans(OTLP, checkout.spans, baseNs);
  await postSpans(OTLP, hostile.spans, baseNs + 5_000_000n);
  await postSpans(OTLP, skew.spans, baseNs + 7_000_000n);
  await postSpans(OTLP, big.spans, baseNs + 9_000_000n);
  await waitForTrace(base, 'service=web&lookback=1h&limit=100', checkout.traceId);
  await waitForTrace(base, `service=${encodeURIComponent(hostile.spans[0].service)}&lookback=1h`, hostile.traceId);
  await waitForTrace(base, `service=${big.spans[0].service}&lookback=1h&limit=1000`, big.traceId);
  await waitForTrace(base, 'service=front&lookback=1h', skew.traceId);

  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  const problems = [];
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()} (${page.url()})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message} (${page.url()})`));
    // ERR_ABORTED is a request cut short by navigating away (as tests do quickly), not a failure.
    page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  };
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    // Cumulative layout shift of this page load (shifts right after input do not count).
    window.__cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
  });
  const layoutShift = async (what) => {
    const cls = await page.evaluate(() => window.__cls);
    console.log(`     CLS ${what}: ${cls.toFixed(4)}`);
    expect(cls < 0.05, `${what}: cumulative layout shift ${cls.toFixed(3)} (want < 0.05)`);
  };
  const page = await context.newPage();
  watch(page);
  const shot = (name, p = page) => p.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  const rowNames = () => page.$$eval('.row:not([hidden])', (rows) => rows
    .map((r) => ({ y: new DOMMatrix(getComputedStyle(r).transform).m42, name: r.querySelector('.op').textContent, level: Number(r.getAttribute('aria-level')) }))
    .sort((a, b) => a.y - b.y));
  const openTrace = async (id, query = '') => {
    await page.goto(`${base}/trace/${id}${query}`);
    await page.waitForFunction((tid) => window.__tracehound?.lastRender?.traceId === tid, id, { timeout: 15_000 });
  };
  // The ruler's ticks (labelled in ms) line up with the rows' time axis of a trace `totalMs` long.
  const ticksAligned = async (totalMs) => {
    const ticks = await page.$$eval('.ruler .tick', (els) => {
      const t = document.querySelector('.row:not([hidden]) .rt').getBoundingClientRect();
      return els.map((e) => ({ label: e.textContent, x: e.getBoundingClientRect().left, left: t.left, width: t.width }));
    });
    expect(ticks.length >= 5, `only ${ticks.length} ruler ticks`);
    for (const tick of ticks) {
      const ms = tick.label === '0' ? 0 : Number(tick.label.replace('ms', ''));
      near(tick.x, tick.left + (ms / totalMs) * tick.width, 1.5, `tick ${tick.label} position`);
    }
  };
  const checkoutOrder = [
    ['GET /checkout', 1], ['POST cart/items', 2], ['POST /items', 3], ['load cart', 4], ['check stock', 4], ['SELECT stock', 5], ['render page', 2],
  ];

  await check('search form finds the trace; results list and scatter plot link to it', async () => {
    await page.goto(`${base}/search`);
    await page.waitForFunction(() => document.querySelectorAll('select[name=service] option').length > 1);
    await page.selectOption('select[name=service]', 'web');
    await page.fill('input[name=tags]', 'http.status_code=500');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/search\?service=web/);
    expect(new URL(page.url()).searchParams.get('tags') === 'http.status_code=500', `tags not in the URL: ${page.url()}`);
    const link = page.locator(`a.result[data-trace="${checkout.traceId}"]`);
    await link.waitFor({ timeout: 10_000 });
    const text = await link.textContent();
    expect(text.includes('web: GET /checkout') && text.includes('7 spans') && text.includes('2 errors'), `result text: ${text}`);
    for (const svc of ['web', 'cart', 'inventory']) expect(text.includes(svc), `result lacks service ${svc}`);
    expect(await page.locator(`.scatter circle[data-trace="${checkout.traceId}"]`).count() === 1, 'no scatter dot for the trace');
    await shot('search');
    await page.locator(`.scatter circle[data-trace="${checkout.traceId}"]`).click();
    await page.waitForURL(`**/trace/${checkout.traceId}`);
  });

  await check('pages load without layout shift', async () => {
    await page.goto(`${base}/search?service=web&lookback=1h`);
    await page.locator(`a.result[data-trace="${checkout.traceId}"]`).waitFor();
    await page.waitForTimeout(300);
    await layoutShift('search results');
    await openTrace(checkout.traceId);
    await page.waitForSelector('html[data-critical-path=ready]');
    await page.waitForTimeout(300);
    await layoutShift('trace');
    await page.goto(`${base}/services`);
    await page.waitForSelector('table.grid tbody tr');
    await page.waitForTimeout(300);
    await layoutShift('services');
  });

  await check('waterfall shows every span with its nesting and bars placed by time', async () => {
    await openTrace(checkout.traceId);
    const rows = await rowNames();
    expect(JSON.stringify(rows.map((r) => [r.name, r.level])) === JSON.stringify(checkoutOrder), `rows: ${JSON.stringify(rows)}`);
    const head = await page.textContent('.trace-head');
    for (const part of [checkout.traceId, 'GET /checkout', 'Spans 7', 'Depth 5', 'Errors 2', 'Duration 120ms']) expect(head.includes(part), `header lacks "${part}": ${head}`);
    // Bars: left and width as fractions of the time column match start and duration / 120 ms.
    const bars = await page.$$eval('.row:not([hidden])', (els) => els.map((r) => {
      const t = r.querySelector('.rt').getBoundingClientRect();
      const b = r.querySelector('.bar').getBoundingClientRect();
      return { name: r.querySelector('.op').textContent, left: (b.left - t.left) / t.width, width: b.width / t.width, px: t.width };
    }));
    const expected = Object.fromEntries(checkout.spans.map((s) => [s.name, [s.start / 120e6, (s.end - s.start) / 120e6]]));
    for (const b of bars) {
      near(b.left, expected[b.name][0], 1.5 / b.px, `${b.name} bar left`);
      near(b.width, expected[b.name][1], 1.5 / b.px, `${b.name} bar width`);
    }
    await ticksAligned(120);
    await page.waitForSelector('html[data-critical-path=ready]');
    await shot('trace');
  });

  await check('collapsing a subtree, collapse all, expand all and expand to depth', async () => {
    await openTrace(checkout.traceId);
    await page.locator('.row', { hasText: 'POST /items' }).locator('.tg').click();
    let rows = await rowNames();
    expect(rows.length === 4, `after collapsing POST /items: ${rows.map((r) => r.name)}`);
    expect((await page.locator('.row', { hasText: 'POST /items' }).textContent()).includes('+3'), 'collapsed row does not say +3');
    await page.locator('.row', { hasText: 'POST /items' }).locator('.tg').click();
    expect((await rowNames()).length === 7, 'expanding again did not restore 7 rows');
    await page.click('text=Collapse all');
    rows = await rowNames();
    expect(rows.length === 1 && rows[0].name === 'GET /checkout', `collapse all: ${rows.map((r) => r.name)}`);
    await page.click('text=Expand all');
    expect((await rowNames()).length === 7, 'expand all');
    await page.selectOption('select[aria-label="Expand to depth"]', '2');
    rows = await rowNames();
    expect(JSON.stringify(rows.map((r) => r.name)) === JSON.stringify(['GET /checkout', 'POST cart/items', 'render page']), `depth 2: ${rows.map((r) => r.name)}`);
  });

  await check('span detail shows typed attributes, events, status, resource, links', async () => {
    await openTrace(checkout.traceId);
    await page.locator('.row', { hasText: 'SELECT stock' }).click();
    const detail = page.locator('aside.detail');
    await detail.waitFor();
    const text = await detail.textContent();
    for (const part of ['SELECT stock', 'inventory', 'server', 'error: lock wait timeout', 'db.system', 'postgresql', 'SELECT qty FROM stock WHERE sku = $1',
      'exception', 'TimeoutError', '+36ms in span', 'host.name', 'tracehound.test', 'Self time40ms',
      // The link (its attributes do not survive the Jaeger model the dev server converts from).
      checkout.spans[5].links[0].traceId]) {
      expect(text.includes(part), `detail lacks "${part}"`);
    }
    await page.locator('.row', { hasText: 'GET /checkout' }).click();
    const root = await detail.textContent();
    const flat = root.replace(/\s+/g, '');
    for (const part of ['http.status_code500int', 'user.premiumtruebool', 'cart.total99.5double']) {
      expect(flat.includes(part), `typed attribute "${part}" missing`);
    }
    // An array attribute keeps its type through OTLP.
    expect(/feature\.flags\["fast-path","beta"\]array/.test(flat), 'array attribute missing or not typed array');
    expect(new URL(page.url()).searchParams.get('span') === checkout.spans[0].spanId, 'selection not in the URL');
    await shot('trace-detail');
  });

  await check('find highlights matches and steps through them, expanding collapsed ancestors', async () => {
    await openTrace(checkout.traceId);
    await page.click('text=Collapse all');
    await page.keyboard.press('/');
    await page.keyboard.type('postgresql');
    await page.waitForFunction(() => document.querySelector('.find-count').textContent === '1 / 1');
    const current = await page.locator('.row.cur .op').textContent();
    expect(current === 'SELECT stock', `current match is ${current}`);
    expect((await rowNames()).some((r) => r.name === 'SELECT stock'), 'match not revealed');
    await page.fill('input.find', 'cart');
    await page.waitForFunction(() => /^1 \/ \d+$/.test(document.querySelector('.find-count').textContent) && document.querySelector('.find-count').textContent !== '1 / 1');
    const total = Number((await page.textContent('.find-count')).split('/ ')[1]);
    expect(total === 5, `"cart" should match 5 spans (names, service, attribute key), got ${total}`);
    await page.keyboard.press('Enter');
    expect((await page.textContent('.find-count')) === '2 / 5', 'Enter did not step to the next match');
    expect(await page.locator('.row.match').count() >= 2, 'matches not highlighted');
    await shot('trace-find');
  });

  await check('keyboard: arrows move and fold, Enter opens the detail', async () => {
    await openTrace(checkout.traceId);
    await page.locator('.rows').focus();
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect((await page.locator('.row.sel .op').textContent()) === 'POST /items', 'ArrowDown twice should select POST /items');
    await page.keyboard.press('ArrowLeft');
    expect((await rowNames()).length === 4, 'ArrowLeft should collapse');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect((await page.locator('.row.sel .op').textContent()) === 'load cart', 'ArrowRight should expand, then go to the first child');
    await page.keyboard.press('Enter');
    expect((await page.locator('aside.detail h2').textContent()) === 'load cart', 'Enter should open the detail');
    await page.keyboard.press('Escape');
    expect(await page.locator('aside.detail').isHidden(), 'Escape should close the detail');
  });

  await check('critical path follows the last-finishing children', async () => {
    await openTrace(checkout.traceId);
    await page.waitForSelector('html[data-critical-path=ready]');
    const onPath = await page.$$eval('.row:not([hidden])', (els) => els.filter((r) => [...r.querySelectorAll('.cp')].some((c) => !c.hidden)).map((r) => r.querySelector('.op').textContent));
    for (const name of ['GET /checkout', 'POST cart/items', 'POST /items', 'check stock', 'SELECT stock', 'render page', 'load cart']) expect(onPath.includes(name), `${name} not on the critical path: ${onPath}`);
    await page.click('text=Critical path');
    expect(await page.locator('.cp:not([hidden])').count() === 0, 'toggle off should hide the critical path');
  });

  await check('markup in span data is shown as text and never runs', async () => {
    await openTrace(hostile.traceId);
    const names = (await rowNames()).map((r) => r.name);
    expect(names[0] === '<script>window.__pwned=1</script>', `row name: ${names[0]}`);
    expect(names[1] === '<img src=x onerror="window.__pwned=4">', `row name: ${names[1]}`);
    await page.locator('.row').first().click();
    const text = await page.locator('aside.detail').textContent();
    expect(text.includes('<b onmouseover="window.__pwned=3">bold</b>') && text.includes('<i>key</i>'), 'attribute markup not shown as text');
    await page.goto(`${base}/search?service=${encodeURIComponent(hostile.spans[0].service)}`);
    await page.locator(`a.result[data-trace="${hostile.traceId}"]`).waitFor();
    await page.locator('a.result').first().hover();
    const state = await page.evaluate(() => ({
      pwned: window.__pwned,
      scripts: document.querySelectorAll('#view script').length,
      imgs: document.querySelectorAll('#view img, #view b, #view i').length,
    }));
    expect(state.pwned === undefined, `injected script ran: __pwned=${state.pwned}`);
    expect(state.scripts === 0 && state.imgs === 0, `markup became elements: ${JSON.stringify(state)}`);
    await openTrace(hostile.traceId);
    await shot('trace-hostile');
  });

  await check('deep links reload into the same view; back and forward work', async () => {
    const span = checkout.spans.find((s) => s.name === 'SELECT stock').spanId;
    await openTrace(checkout.traceId, `?span=${span}`);
    await page.reload();
    await page.waitForFunction((tid) => window.__tracehound?.lastRender?.traceId === tid, checkout.traceId);
    expect((await page.locator('aside.detail h2').textContent()) === 'SELECT stock', 'reload lost the selected span');
    expect((await rowNames()).length === 7, 'reload lost rows');
    await page.goto(`${base}/search?service=web&lookback=1h`);
    await page.locator(`a.result[data-trace="${checkout.traceId}"]`).click();
    await page.waitForURL(`**/trace/${checkout.traceId}`);
    await page.waitForSelector('.row');
    await page.goBack();
    await page.waitForURL(/\/search\?service=web/);
    await page.locator(`a.result[data-trace="${checkout.traceId}"]`).waitFor();
    expect((await page.inputValue('select[name=service]')) === 'web', 'form not restored from the URL');
    await page.goForward();
    await page.waitForURL(`**/trace/${checkout.traceId}`);
    await page.waitForSelector('.row');
    await page.goto(`${base}/search?service=web&lookback=1h`);
    await page.reload();
    await page.locator(`a.result[data-trace="${checkout.traceId}"]`).waitFor();
  });

  // Clock skew: rows' bars in pixels by operation name, and the trace requests the page made.
  const barsOf = () => page.$$eval('.row:not([hidden])', (els) => Object.fromEntries(els.map((r) => {
    const b = r.querySelector('.bar').getBoundingClientRect();
    return [r.querySelector('.op').textContent, { left: b.left, right: b.right }];
  })));
  const traceRequests = () => page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => new URL(e.name).pathname + new URL(e.name).search).filter((u) => u.startsWith('/api/v1/traces/')));
  const waitAdjusted = (adjusted) => page.waitForFunction(([tid, a]) => window.__tracehound?.lastRender?.traceId === tid && window.__tracehound.lastRender.adjusted === a,
    [skew.traceId, adjusted], { timeout: 15_000 });
  const skewSwitch = () => page.getByRole('switch', { name: 'Adjust clock skew' });
  const [clientName, serverName, childName] = skew.spans.map((s) => s.name);

  await check('clock skew: adjusted by default with warnings; the switch reloads as stored and stays in the URL', async () => {
    await openTrace(skew.traceId);
    await waitAdjusted(true);
    expect(await skewSwitch().isChecked(), 'the switch should be on by default');
    const first = await traceRequests();
    expect(first.length === 1 && first[0] === `/api/v1/traces/${skew.traceId}?adjustClockSkew=true`, `trace requests (the early one should be used): ${first}`);
    expect((await page.textContent('.trace-head')).includes('2 spans adjusted for clock skew'), 'header does not count the adjusted spans');
    let bars = await barsOf();
    expect(bars[serverName].left >= bars[clientName].left - 0.5 && bars[serverName].right <= bars[clientName].right + 0.5,
      `adjusted server bar ${JSON.stringify(bars[serverName])} is not inside the client's ${JSON.stringify(bars[clientName])}`);
    // Rows with warnings carry the indicator, named by the warning.
    const marks = await page.$$eval('.row:not([hidden])', (els) => Object.fromEntries(els.map((r) => {
      const w = r.querySelector('.wn');
      return [r.querySelector('.op').textContent, w.hidden ? null : [w.title, w.getAttribute('aria-label')]];
    })));
    expect(marks[clientName] === null, 'the client has no warning but shows the indicator');
    for (const name of [serverName, childName]) {
      expect(marks[name]?.[0] === skew.warning && marks[name][1].includes(skew.warning), `${name} indicator: ${JSON.stringify(marks[name])}`);
    }
    await page.locator('.row', { hasText: serverName }).click();
    const detail = page.locator('aside.detail');
    await detail.waitFor();
    const warnings = await detail.locator('ul.warnings li').allTextContents();
    expect(JSON.stringify(warnings) === JSON.stringify([skew.warning]), `detail warnings: ${JSON.stringify(warnings)}`);
    expect(await detail.locator('h3', { hasText: 'Warnings (1)' }).count() === 1, 'no Warnings section heading');
    const text = await detail.textContent();
    expect(!text.includes('@jaeger@warnings') && text.includes('http.route'), 'the warnings attribute is listed among the attributes');
    let hrefs = await page.$$eval('a[download]', (as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.includes(`/api/traces/${skew.traceId}`) && hrefs.includes(`/api/v1/traces/${skew.traceId}?adjustClockSkew=true`), `download links: ${hrefs}`);
    await shot('trace-skew');

    // Off: reloaded as stored, in place, the selection and the focus kept; the URL says raw=1;
    // the rows do not move (the header keeps its height).
    const rowsTop = () => page.$eval('.rows', (el) => el.getBoundingClientRect().top);
    const topBefore = await rowsTop();
    await skewSwitch().click();
    await waitAdjusted(false);
    near(await rowsTop(), topBefore, 0.5, 'rows top after switching off');
    let url = new URL(page.url());
    expect(url.searchParams.get('raw') === '1' && url.searchParams.get('span') === skew.spans[1].spanId, `URL after switching off: ${url}`);
    expect(!(await skewSwitch().isChecked()), 'the switch should be off');
    expect(await skewSwitch().evaluate((el) => el === document.activeElement), 'the switch lost the focus');
    expect((await traceRequests()).at(-1) === `/api/v1/traces/${skew.traceId}`, `request when off: ${(await traceRequests()).at(-1)}`);
    const checkRaw = async (when) => {
      const b = await barsOf();
      expect(b[serverName].left >= b[clientName].right - 0.5, `${when}: the server bar ${JSON.stringify(b[serverName])} should start after the client's ${JSON.stringify(b[clientName])}`);
      expect(await page.locator('.row:not([hidden]) .wn:not([hidden])').count() === 0, `${when}: warning indicators shown`);
      expect(await page.locator('ul.warnings').count() === 0, `${when}: warnings in the detail`);
      expect(!(await page.textContent('.trace-head')).includes('adjusted for clock skew'), `${when}: header still counts adjusted spans`);
      expect((await page.locator('aside.detail h2').textContent()) === serverName, `${when}: selected span not shown`);
    };
    await checkRaw('switched off');
    hrefs = await page.$$eval('a[download]', (as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.includes(`/api/traces/${skew.traceId}?raw=true`) && hrefs.includes(`/api/v1/traces/${skew.traceId}`), `download links when off: ${hrefs}`);
    await shot('trace-skew-raw');

    // Reload keeps it off, and the early request asked for the trace as stored.
    await page.reload();
    await waitAdjusted(false);
    expect(!(await skewSwitch().isChecked()), 'reload turned the switch back on');
    const reloaded = await traceRequests();
    expect(reloaded.length === 1 && reloaded[0] === `/api/v1/traces/${skew.traceId}`, `trace requests after reload: ${reloaded}`);
    await checkRaw('reloaded');

    // Back and forward: leaving and coming back keeps the state of the URL.
    const forgetRender = () => page.evaluate(() => (window.__tracehound.lastRender = null));
    await page.click('.nav a[href="/search"]');
    await page.waitForURL(/\/search/);
    await forgetRender();
    await page.goBack();
    await waitAdjusted(false);
    expect(new URL(page.url()).searchParams.get('raw') === '1' && !(await skewSwitch().isChecked()), `back: ${page.url()}`);
    await checkRaw('back');
    await page.goForward();
    await page.waitForURL(/\/search/);
    await forgetRender();
    await page.goBack();
    await waitAdjusted(false);

    // On again from the keyboard.
    await skewSwitch().focus();
    await page.keyboard.press('Space');
    await waitAdjusted(true);
    url = new URL(page.url());
    expect(!url.searchParams.has('raw') && url.searchParams.get('span') === skew.spans[1].spanId, `URL after switching on: ${url}`);
    expect(await skewSwitch().isChecked(), 'the switch should be on again');
    bars = await barsOf();
    expect(bars[serverName].left >= bars[clientName].left - 0.5 && bars[serverName].right <= bars[clientName].right + 0.5, 'switched on: server bar not inside the client again');
    expect(JSON.stringify(await page.locator('ul.warnings li').allTextContents()) === JSON.stringify([skew.warning]), 'switched on: warning not shown again');
  });

  await check('clock-skew warnings survive the downloads and opening them as files', async () => {
    const jaeger = await (await fetch(`${base}/api/traces/${skew.traceId}`)).json();
    const spans = jaeger.data[0].spans;
    const server = spans.find((s) => s.operationName === serverName);
    expect(JSON.stringify(server.warnings) === JSON.stringify([skew.warning]), `Jaeger span warnings: ${JSON.stringify(server.warnings)}`);
    expect(!server.tags.some((t) => t.key === '@jaeger@warnings'), 'Jaeger JSON carries the warnings as a tag');
    const otlp = await (await fetch(`${base}/api/v1/traces/${skew.traceId}?adjustClockSkew=true`)).json();
    const otlpServer = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)).find((s) => s.name === serverName);
    expect(otlpServer.attributes.some((a) => a.key === '@jaeger@warnings'), 'OTLP JSON lacks the @jaeger@warnings attribute');
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'th-skew-')));
    try {
      for (const [kind, doc] of [['jaeger', jaeger], ['otlp', otlp]]) {
        const file = path.join(dir, `skew.${kind}.json`);
        await writeFile(file, JSON.stringify(doc));
        await page.goto(`${base}/open`);
        await page.setInputFiles('input[type=file]', file);
        await page.waitForSelector('.row');
        expect((await page.textContent('.trace-head')).includes('2 spans adjusted for clock skew'), `${kind} file: header does not count the adjusted spans`);
        expect(await page.locator('.row:not([hidden]) .wn:not([hidden])').count() === 2, `${kind} file: not 2 warning indicators`);
        expect(await skewSwitch().count() === 0, `${kind} file: a file cannot be re-adjusted, yet the switch is shown`);
        await page.locator('.row', { hasText: childName }).click();
        const text = await page.locator('aside.detail').textContent();
        expect(text.includes(skew.warning) && !text.includes('@jaeger@warnings'), `${kind} file: detail warnings`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  await check('services table and an operation chart; an operation opens its slowest traces', async () => {
    await page.goto(`${base}/services`);
    await page.waitForSelector('table.grid tbody tr');
    const table = await page.textContent('table.grid');
    for (const svc of ['web', 'cart', 'inventory']) expect(table.includes(svc), `services table lacks ${svc}`);
    await page.locator('th button', { hasText: 'p99' }).click();
    await page.waitForURL(/sort=p99Ms/);
    await page.waitForSelector('th[aria-sort=descending]');
    await shot('services');
    await page.goto(`${base}/services/cart?lookback=1h`);
    await page.waitForSelector('table.grid tbody tr a');
    // A quantile drawn: a line, or a dot where a series has a single point.
    await page.waitForFunction(() => document.querySelector('.chart svg circle, .chart svg path[d*="L"]'), null, { timeout: 10_000 });
    await shot('service');
    await page.locator('table.grid a', { hasText: 'POST /items' }).first().click();
    await page.waitForURL(/\/search\?service=cart&operation=POST/);
    const url = new URL(page.url());
    expect(url.searchParams.get('sort') === 'longest' && url.searchParams.get('minDuration'), `slowest search URL: ${url}`);
    await page.locator(`a.result[data-trace="${checkout.traceId}"]`).waitFor({ timeout: 10_000 });
  });

  await check('dependencies graph shows the calls between services', async () => {
    // Edges count completed traces: wait for the trace idle timeout to pass.
    const until = Date.now() + 30_000;
    let deps = [];
    while (Date.now() < until) {
      deps = (await (await fetch(`${QUERY}/api/v1/dependencies?lookback=1h`)).json()).dependencies ?? [];
      if (deps.some((d) => d.caller === 'cart' && d.callee === 'inventory')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await page.goto(`${base}/dependencies`);
    await page.waitForSelector('.graph svg .node');
    const nodes = await page.$$eval('.graph .node text', (els) => els.map((e) => e.textContent));
    for (const svc of ['web', 'cart', 'inventory']) expect(nodes.includes(svc), `graph lacks ${svc}: ${nodes}`);
    const labels = await page.$$eval('.graph .edge > text', (els) => els.map((e) => e.textContent));
    expect(labels.some((l) => /call/.test(l)), `no edge labels: ${labels}`);
    expect(labels.some((l) => /err/.test(l)), `no error count on an edge: ${labels}`);
    // Legible: no label over another label or a node, every node inside the box (scaled to fit).
    const geo = await page.evaluate(() => {
      const r = (el) => el.getBoundingClientRect();
      const box = r(document.querySelector('.graph'));
      return {
        box: { left: box.left, right: box.right, scroll: document.querySelector('.graph').scrollWidth - document.querySelector('.graph').clientWidth },
        labels: [...document.querySelectorAll('.graph .edge > text')].map((e) => [r(e), e.textContent]),
        nodes: [...document.querySelectorAll('.graph .node rect')].map((e) => [r(e), e.parentNode.textContent]),
      };
    });
    const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
    for (let i = 0; i < geo.labels.length; i++) {
      for (let j = i + 1; j < geo.labels.length; j++) expect(!hit(geo.labels[i][0], geo.labels[j][0]), `labels overlap: ${geo.labels[i][1]} / ${geo.labels[j][1]}`);
      for (const [n, name] of geo.nodes) expect(!hit(geo.labels[i][0], n), `label ${geo.labels[i][1]} over node ${name}`);
    }
    if (geo.box.scroll <= 0) for (const [n, name] of geo.nodes) expect(n.left >= geo.box.left && n.right <= geo.box.right, `node ${name} clipped`);
    // Hovering a node highlights its edges; clicking it opens the service.
    const cart = page.locator('.graph a.node[href^="/services/cart?"]');
    await cart.hover();
    const lit = await page.$$eval('.graph .edge.hl:not(.label)', (els) => els.length);
    expect(lit >= 2 && (await page.$('.graph svg.focusing')), `hovering cart lit ${lit} edges`);
    await shot('dependencies');
    await cart.click();
    await page.waitForURL(/\/services\/cart/);
  });

  await check('a trace file (Jaeger or OTLP JSON) opens without being stored', async () => {
    const dir = await import('node:fs/promises').then((fs) => fs.mkdtemp(path.join(os.tmpdir(), 'th-open-')));
    try {
      for (const [kind, url] of [['jaeger', `/api/traces/${checkout.traceId}`], ['otlp', `/api/v1/traces/${checkout.traceId}`]]) {
        const body = await (await fetch(`${base}${url}`)).text();
        const file = path.join(dir, `trace.${kind}.json`);
        await writeFile(file, body);
        await page.goto(`${base}/open`);
        await page.setInputFiles('input[type=file]', file);
        await page.waitForSelector('.row');
        const rows = await rowNames();
        expect(JSON.stringify(rows.map((r) => [r.name, r.level])) === JSON.stringify(checkoutOrder), `${kind} file rows: ${JSON.stringify(rows)}`);
        expect((await page.textContent('.trace-head')).includes(`from file trace.${kind}.json`), 'file source not shown');
        if (kind === 'jaeger') await shot('open-file');
      }
      await page.goto(`${base}/open`);
      await writeFile(path.join(dir, 'bad.json'), '{"nope": true}');
      await page.setInputFiles('input[type=file]', path.join(dir, 'bad.json'));
      await page.waitForSelector('.banner.error');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  await check('downloads link to Jaeger JSON and OTLP JSON', async () => {
    await openTrace(checkout.traceId);
    const hrefs = await page.$$eval('a[download]', (as) => as.map((a) => a.getAttribute('href')));
    // As shown: clock skew adjusted (Jaeger's API adjusts unless raw=true).
    expect(hrefs.includes(`/api/traces/${checkout.traceId}`) && hrefs.includes(`/api/v1/traces/${checkout.traceId}?adjustClockSkew=true`), `download links: ${hrefs}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[download$=".otlp.json"]')]);
    const file = await download.path();
    const doc = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8')));
    expect(Array.isArray(doc.resourceSpans), 'OTLP download is not OTLP JSON');
  });

  await check('a 2,000-span trace keeps only visible rows in the DOM and scrolls to the end', async () => {
    await openTrace(big.traceId);
    const counts = await page.evaluate(() => ({ rows: document.querySelectorAll('.row').length, nodes: document.getElementsByTagName('*').length }));
    expect(counts.rows < 80, `${counts.rows} row elements for 2,000 spans`);
    expect(counts.nodes < 2000, `${counts.nodes} DOM nodes`);
    await ticksAligned(800); // with a scrollbar beside the rows
    await page.locator('.rows').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForTimeout(100);
    const levels = await rowNames();
    expect(levels.length > 10, 'rows vanished after scrolling');
    expect(await page.locator('.rows').evaluate((el) => Math.abs(el.scrollHeight - 2000 * 24) < 2), 'scroll height is not 2,000 rows');
    await shot('trace-2000');
  });

  await check('dark theme renders the trace', async () => {
    const dark = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    const p = await dark.newPage();
    watch(p);
    await p.goto(`${base}/trace/${checkout.traceId}?span=${checkout.spans[5].spanId}`);
    await p.waitForFunction((tid) => window.__tracehound?.lastRender?.traceId === tid, checkout.traceId);
    await p.waitForSelector('html[data-critical-path=ready]');
    const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg === 'rgb(18, 21, 25)', `dark background is ${bg}`);
    await shot('trace-dark', p);
    await p.goto(`${base}/search?service=web`);
    await p.locator('a.result').first().waitFor();
    await shot('search-dark', p);
    await dark.close();
  });

  await check('no console errors, failed requests or CSP violations', async () => {
    const csp = await page.evaluate(() => window.__cspViolations);
    expect(csp.length === 0, `CSP violations: ${csp.join(', ')}`);
    expect(problems.length === 0, problems.join('\n'));
  });

  await browser.close();
  await close();
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length}/${results.length} browser checks passed; screenshots in ${path.relative(process.cwd(), SHOTS) || SHOTS}`);
  if (failed.length) {
    console.log(`failed: ${failed.map((f) => f.name).join('; ')}`);
    process.exit(1);
  }
}

// `node --test ui/test/` loads every module under test/, this one included: the browser tests
// need a running server, so they only run when this file is started directly.
if (process.env.NODE_TEST_CONTEXT) {
  console.log('browser tests skipped under node --test; run: node ui/test/browser/run.mjs');
} else {
  main().catch((e) => {
    console.error(`browser tests could not run: ${e.stack ?? e}`);
    process.exit(2);
  });
}
