// Benchmark of the trace waterfall in headless Chromium (a measurement script, not a test):
// navigation → first painted waterfall for generated traces of 1,000, 10,000 and 100,000 spans,
// the DOM node count and scroll frame times at 100,000, and the UI's page weight. Prints a
// markdown table.
//
//   node ui/bench/waterfall.mjs                       # UI alone: traces served from memory
//   TRACEHOUND_URL=http://127.0.0.1:16686 TRACEHOUND_OTLP_HTTP=http://127.0.0.1:4318 \
//     node ui/bench/waterfall.mjs                     # also end to end through tracehound
//
// "UI alone" serves each trace's OTLP/JSON from the dev server's memory, so the time is the
// browser's: fetch over loopback, JSON parse, model, tree, first frame. "Through tracehound"
// ingests the trace over OTLP/HTTP and includes the server building the answer.

import { readdir, readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevServer } from './devserver.mjs';
import { generateTrace, otlpRequest, postSpans } from '../test/browser/traces.mjs';
import { launchChromium, CHROMIUM_PATH } from '../test/browser/chromium.mjs';

const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.SIZES ?? '1000,10000,100000').split(',').map(Number);
const RUNS = Number(process.env.RUNS ?? 5);
const QUERY = process.env.TRACEHOUND_URL?.replace(/\/$/, '');
const OTLP = process.env.TRACEHOUND_OTLP_HTTP?.replace(/\/$/, '');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');

/** Files the binary embeds (ui/ minus test, bench, node_modules, test-output, package files, *.md). */
async function assets(dir = UI_DIR, rel = '') {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (/^(test|bench|node_modules|test-output)$/.test(r) || /^package(-lock)?\.json$|\.md$/.test(r) || entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) out.push(...(await assets(path.join(dir, entry.name), r)));
    else out.push(r);
  }
  return out;
}

async function pageWeight() {
  let raw = 0;
  let gz = 0;
  const files = [];
  for (const f of await assets()) {
    const body = await readFile(path.join(UI_DIR, f));
    const z = gzipSync(body, { level: 9 }).length;
    raw += body.length;
    gz += z;
    files.push([f, body.length, z]);
  }
  return { raw, gz, files };
}

async function timeOpen(page, url, traceId) {
  const times = [];
  let last = null;
  for (let r = 0; r < RUNS; r++) {
    await page.goto('about:blank');
    await page.goto(url);
    await page.waitForFunction((id) => window.__tracehound?.lastRender?.traceId === id, traceId, { timeout: 120_000, polling: 20 });
    last = await page.evaluate(() => window.__tracehound.lastRender);
    times.push(last.sinceNavigationMs);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), last };
}

// Frame times while scrolling: `rowsPerFrame` rows per animation frame for `frames` frames.
function scrollFrames(page, rowsPerFrame, frames) {
  return page.evaluate(([step, count]) => new Promise((resolve) => {
    const el = document.querySelector('.rows');
    el.scrollTop = 0;
    const deltas = [];
    let prev = 0;
    let n = 0;
    const tick = (t) => {
      if (prev) deltas.push(t - prev);
      prev = t;
      if (n++ >= count) return resolve(deltas);
      el.scrollTop = (el.scrollTop + step * 24) % Math.max(1, el.scrollHeight - el.clientHeight);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }), [rowsPerFrame, frames]);
}

async function main() {
  const fixtures = new Map();
  const traces = SIZES.map((n) => {
    const t = generateTrace(n, { seed: 11, durationMs: n >= 100_000 ? 30_000 : 4_000 });
    const baseNs = BigInt(Date.now() - 30_000) * 1_000_000n;
    fixtures.set(t.traceId, JSON.stringify(otlpRequest(t.spans, baseNs)));
    return { n, ...t, baseNs };
  });
  const dev = await startDevServer({ upstream: QUERY ?? 'http://127.0.0.1:1', fixtures });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  const rows = [];
  let dom = null;
  let scroll = null;
  let tracePage = null;
  for (const t of traces) {
    const res = await timeOpen(page, `${dev.url}/trace/${t.traceId}`, t.traceId);
    rows.push({ n: t.n, depth: t.maxDepth + 1, bytes: fixtures.get(t.traceId).length, ...res });
    // What the trace page itself downloaded of the UI (its route's modules only).
    tracePage ??= await page.evaluate(() => {
      const ui = performance.getEntriesByType('resource').filter((r) => new URL(r.name).pathname.startsWith('/ui/'));
      const html = performance.getEntriesByType('navigation')[0].decodedBodySize;
      return { files: ui.length + 1, bytes: html + ui.reduce((sum, r) => sum + r.decodedBodySize, 0) };
    });
    if (t.n === Math.max(...SIZES)) {
      dom = await page.evaluate(() => ({ nodes: document.getElementsByTagName('*').length, rows: document.querySelectorAll('.row').length }));
      await page.waitForSelector('html[data-critical-path=ready]', { timeout: 60_000 });
      const work = () => page.evaluate(() => {
        const w = window.__tracehound.scrollWork;
        const out = { ...w };
        Object.assign(w, { events: 0, totalMs: 0, maxMs: 0 });
        return out;
      });
      await work();
      const steady = await scrollFrames(page, 3, 240);
      const steadyWork = await work();
      const fling = await scrollFrames(page, 200, 120);
      const flingWork = await work();
      scroll = { steady, fling, steadyWork, flingWork };
    }
  }

  const e2e = [];
  if (QUERY && OTLP) {
    for (const t of traces) {
      await postSpans(OTLP, t.spans, t.baseNs);
      // Wait until the query API returns every span of the trace.
      const until = Date.now() + 120_000;
      for (;;) {
        const r = await fetch(`${dev.url}/api/traces/${t.traceId}`);
        if (r.ok && (await r.json()).data?.[0]?.spans?.length === t.n) break;
        if (Date.now() > until) throw new Error(`trace of ${t.n} spans not complete in tracehound`);
        await new Promise((ok) => setTimeout(ok, 1000));
      }
      fixtures.delete(t.traceId);
      const res = await timeOpen(page, `${dev.url}/trace/${t.traceId}`, t.traceId);
      e2e.push({ n: t.n, ...res });
    }
  }
  const weight = await pageWeight();
  await browser.close();
  await dev.close();

  const version = (await import('node:child_process')).execFileSync(CHROMIUM_PATH, ['--version']).toString().trim();
  console.log(`\n### Waterfall benchmark (${version}, headless, 1440×900, median of ${RUNS} navigations)\n`);
  console.log('| Spans | Depth | OTLP JSON | Navigation → waterfall painted | fetch + JSON | model + tree + first frame |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${f0(r.n)} | ${r.depth} | ${f1(r.bytes / 1e6)} MB | **${f0(r.median)} ms** (${f0(r.min)}–${f0(r.max)}) | ${f0(r.last.fetchedMs)} ms | ${f0(r.last.parsedMs + r.last.renderedMs)} ms |`);
  }
  if (e2e.length) {
    console.log(`\nThrough tracehound (${QUERY}):\n`);
    console.log('| Spans | Navigation → waterfall painted | fetch + JSON |');
    console.log('|---:|---:|---:|');
    for (const r of e2e) console.log(`| ${f0(r.n)} | **${f0(r.median)} ms** (${f0(r.min)}–${f0(r.max)}) | ${f0(r.last.fetchedMs)} ms |`);
  }
  if (dom) {
    console.log(`\nAt ${f0(Math.max(...SIZES))} spans: **${f0(dom.nodes)} DOM elements** in the page (${dom.rows} row elements).`);
    console.log(`\n| Scrolling at ${f0(Math.max(...SIZES))} spans | Frames | Median frame | p95 | Max | Row update per scroll event (mean / max) |`);
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, d, w] of [['3 rows per frame (steady scroll)', scroll.steady, scroll.steadyWork], ['200 rows per frame (fling: every row new)', scroll.fling, scroll.flingWork]]) {
      console.log(`| ${name} | ${d.length} | ${f1(median(d))} ms | ${f1(pct(d, 0.95))} ms | ${f1(Math.max(...d))} ms | ${(w.totalMs / Math.max(1, w.events)).toFixed(2)} / ${f1(w.maxMs)} ms (${w.events} events) |`);
    }
  }
  console.log(`\nPage weight (every embedded asset, ${weight.files.length} files): **${f1(weight.raw / 1024)} KiB** uncompressed, **${f1(weight.gz / 1024)} KiB** gzip -9 (per file).`);
  console.log(`The trace page loads ${tracePage.files} of them: ${f1(tracePage.bytes / 1024)} KiB uncompressed (other views' modules load on first use).`);
  if (process.env.VERBOSE) for (const [f, r, z] of weight.files) console.log(`  ${f}: ${r} B, ${z} B gz`);
  if (errors.length) {
    console.log(`\nPage errors during the run:\n${errors.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
