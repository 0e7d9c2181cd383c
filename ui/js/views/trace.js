// The trace page: loads a trace (from the API by id, clock skew adjusted unless ?raw=1; or a
// model handed over by the file opener), and assembles header (with the clock-skew switch and
// the count of adjusted spans), toolbar (find, collapse/expand, depth, critical path, zoom,
// downloads), minimap, ruler, virtualised rows and the span detail panel around one state
// object. Owns the keyboard: ↑/↓ move, ←/→ collapse/expand or go to parent/child, Enter opens
// detail, / finds, n/N step through matches, Esc closes. Timing marks: trace-fetched,
// trace-parsed, waterfall-rendered (after the first frame with rows is painted).

import { h, select, copyButton } from '../dom.js';
import { fetchTrace, urls, adjustsClockSkew } from '../api.js';
import { parseTrace } from '../model/trace.js';
import { buildTree, newCollapsed, visibleRows, collapseAll, expandAll, expandToDepth, hasChildren, rowOf, childrenOf } from '../model/tree.js';
import { criticalPath, mainRoot } from '../model/critical-path.js';
import { findMatches, matchSet, stepMatch, revealMatch } from '../model/find.js';
import { rulerTicks, zoomWindow } from '../model/layout.js';
import { assignColors } from '../model/colors.js';
import { formatDuration, formatTimestamp, formatCount } from '../model/format.js';
import { createWaterfall } from './waterfall.js';
import { createMinimap } from './minimap.js';
import { renderSpanDetail } from './span-detail.js';

const KEYS = '↑ ↓ move · ← → collapse, expand, parent, child · Enter details · Esc close · / find · n N next, previous match · + − 0 zoom · Ctrl+wheel zoom';

/**
 * Route /trace/{id}: fetch and show, clock skew adjusted unless the URL has ?raw=1. The header's
 * switch rewrites that in the URL (replacing the history entry, as the selected span does) and
 * reloads the trace in place, keeping the old one on screen until the new one is parsed.
 */
export function mountTrace(ctx) {
  const id = ctx.params[0].toLowerCase();
  ctx.setTitle(`Trace ${id.slice(0, 8)}`);
  const host = h('div', { class: 'trace-host' }, skeleton(`Loading trace ${id}…`));
  ctx.root.append(host);
  let cleanup = null;
  let loading = null; // AbortController of the request in flight

  function load(adjusted, { refocus = false } = {}) {
    loading?.abort();
    const controller = (loading = new AbortController());
    const signal = controller.signal;
    ctx.signal.addEventListener('abort', () => controller.abort(), { once: true, signal });
    host.setAttribute('aria-busy', 'true');
    fetchTrace(id, signal, adjusted)
      .then((doc) => {
        if (signal.aborted) return;
        performance.mark('trace-fetched');
        const trace = parseTrace(doc, id);
        if (!trace.spans.length) throw new Error(`trace ${id} has no spans`);
        cleanup?.();
        cleanup = null;
        const selectSpan = new URLSearchParams(location.search).get('span');
        cleanup = renderTraceView(host, trace, { ctx, source: 'api', selectSpan, adjusted, setAdjusted, refocus });
      })
      .catch((e) => {
        if (e.name === 'AbortError' || signal.aborted) return;
        cleanup?.();
        cleanup = null;
        host.replaceChildren(h('div', { class: 'page' }, h('h1', { text: `Trace ${id}` }),
          h('div', { class: 'banner error', text: e.status === 404 ? `Trace ${id} was not found. It may have been evicted, or not have arrived yet.` : e.message })));
      })
      .finally(() => {
        if (loading === controller) host.removeAttribute('aria-busy');
      });
  }

  function setAdjusted(adjusted) {
    const url = new URL(location.href);
    if (adjusted) url.searchParams.delete('raw');
    else url.searchParams.set('raw', '1');
    history.replaceState(null, '', url);
    load(adjusted, { refocus: true });
  }

  load(adjustsClockSkew(ctx.query));
  return () => {
    loading?.abort();
    cleanup?.();
  };
}

// The page frame with the final row heights already reserved, shown while loading.
function skeleton(message) {
  return h('div', { class: 'trace' },
    h('div', { class: 'trace-head' }, h('h1', { class: 'muted', text: message })),
    h('div', { class: 'trace-tools' }), h('div', { class: 'minimap' }), h('div', { class: 'ruler' }), h('div', { class: 'rows-wrap' }));
}

// The trace's services with their span counts, most spans first; the rest folded into "+N".
function serviceChips(trace, colors) {
  const counts = trace.serviceSpanCounts;
  const byCount = [...trace.services].sort((a, b) => counts.get(b) - counts.get(a) || (a < b ? -1 : 1));
  const shown = byCount.length > 7 ? byCount.slice(0, 6) : byCount;
  const rest = byCount.slice(shown.length);
  return h('span', { class: 'chips' }, `Services ${formatCount(byCount.length)} `,
    shown.map((svc) => h('span', { class: 'chip', title: `${svc}: ${formatCount(counts.get(svc))} spans` },
      h('span', { class: `dot c${colors.get(svc)}` }), svc, h('span', { class: 'muted', text: formatCount(counts.get(svc)) }))),
    rest.length ? h('span', { class: 'chip', title: rest.map((svc) => `${svc}: ${formatCount(counts.get(svc))} spans`).join('\n'), text: `+${rest.length} more` }) : null);
}

/**
 * Renders `trace` (the model) into `host`. `opts.source` is 'api' (downloads offered) or 'file'.
 * For 'api', `opts.adjusted` says whether clock skew was adjusted, `opts.setAdjusted(on)` reloads
 * the other way, and `opts.refocus` puts the focus back on its switch. Returns a cleanup function.
 */
export function renderTraceView(host, trace, opts) {
  performance.mark('trace-parsed');
  const tree = buildTree(trace.spans);
  const colors = assignColors(trace.services);
  const colorOf = new Uint8Array(tree.n);
  for (let i = 0; i < tree.n; i++) colorOf[i] = colors.get(tree.spans[i].service);
  const state = {
    trace,
    tree,
    colorOf,
    collapsed: newCollapsed(tree),
    rows: null,
    window: [0, trace.duration],
    selected: -1,
    matches: new Int32Array(0),
    matchSet: null,
    matchIndex: -1,
    currentMatch: -1,
    cp: null,
    showCp: true,
  };
  state.rows = visibleRows(tree, state.collapsed);
  const root = mainRoot(tree);
  const rootSpan = tree.spans[root];

  // Header.
  const warnings = [...trace.warnings, ...tree.warnings];
  const adjusted = opts.adjusted !== false;
  const skewToggle = opts.source === 'api'
    ? h('input', { type: 'checkbox', role: 'switch', checked: adjusted, onchange: (e) => opts.setAdjusted(e.target.checked) })
    : null;
  const skewSwitch = skewToggle
    ? h('label', { class: 'switch', title: 'Shift spans of hosts whose clocks disagree so that they fit in their parents (Jaeger\'s adjuster); off shows the timestamps as stored' },
      skewToggle, 'Adjust clock skew')
    : null;
  const header = h('div', { class: 'trace-head' },
    h('h1', {}, h('span', { class: `dot c${colors.get(rootSpan.service)}` }), h('span', { text: rootSpan.service }), h('span', { class: 'op', text: rootSpan.name }),
      opts.source === 'file' ? h('span', { class: 'chip', text: `from file ${opts.fileName ?? ''}` }) : null),
    // Clock skew, beside the title so that the header keeps its height either way.
    h('div', { class: 'skew-bar' },
      trace.adjustedSpanCount ? h('span', { class: 'skew', title: 'Their timestamps were shifted to correct clock skew between hosts; see each span\'s warnings',
        text: `${formatCount(trace.adjustedSpanCount)} ${trace.adjustedSpanCount === 1 ? 'span' : 'spans'} adjusted for clock skew` }) : null,
      skewSwitch),
    h('div', { class: 'facts' },
      h('span', {}, 'Trace ', h('span', { class: 'mono', text: trace.traceId }), copyButton(trace.traceId, 'trace ID')),
      h('span', {}, 'Start ', h('b', { text: formatTimestamp(trace.startUnixMs) })),
      h('span', {}, 'Duration ', h('b', { text: formatDuration(trace.duration) })),
      h('span', {}, 'Spans ', h('b', { text: formatCount(tree.n) })),
      h('span', {}, 'Depth ', h('b', { text: String(tree.maxDepth + 1) })),
      h('span', { class: trace.errorCount ? 'warn' : '' }, 'Errors ', h('b', { class: trace.errorCount ? 'err-text' : '', text: formatCount(trace.errorCount) })),
      serviceChips(trace, colors),
      warnings.length ? h('span', { class: 'warn', title: warnings.join('\n'), text: `⚠ ${warnings.join('; ')}` }) : null));

  // Toolbar.
  const find = h('input', { class: 'find', type: 'search', placeholder: 'Find in trace  ( / )', 'aria-label': 'Find in trace', spellcheck: 'false' });
  const findCount = h('span', { class: 'find-count', 'aria-live': 'polite' });
  const depthOptions = [['', 'Expand to depth…'], ...Array.from({ length: Math.min(tree.maxDepth, 30) }, (_, d) => [String(d + 1), `Depth ${d + 1}`])];
  const depthSelect = select(depthOptions, '', { 'aria-label': 'Expand to depth', onchange: (e) => {
    if (!e.target.value) return;
    expandToDepth(tree, state.collapsed, Number(e.target.value) - 1);
    e.target.value = '';
    rowsChanged();
  } });
  const cpButton = h('button', { type: 'button', 'aria-pressed': 'true', title: 'Highlight the critical path (black stripes)', onclick: () => {
    state.showCp = !state.showCp;
    cpButton.setAttribute('aria-pressed', String(state.showCp));
    rows.refresh();
  } }, 'Critical path');
  const resetZoom = h('button', { type: 'button', title: 'Show the whole trace (0)', onclick: () => setWindow([0, trace.duration]) }, 'Reset zoom');
  const tools = h('div', { class: 'trace-tools' },
    find, findCount,
    h('button', { type: 'button', title: 'Previous match (N)', 'aria-label': 'Previous match', onclick: () => step(-1) }, '↑'),
    h('button', { type: 'button', title: 'Next match (n)', 'aria-label': 'Next match', onclick: () => step(1) }, '↓'),
    h('span', { class: 'sep' }),
    h('button', { type: 'button', onclick: () => {
      collapseAll(tree, state.collapsed);
      rowsChanged();
    } }, 'Collapse all'),
    h('button', { type: 'button', onclick: () => {
      expandAll(tree, state.collapsed);
      rowsChanged();
    } }, 'Expand all'),
    depthSelect,
    h('span', { class: 'sep' }),
    cpButton, resetZoom,
    h('span', { class: 'chip', tabindex: '0', title: KEYS, 'aria-label': `Keyboard: ${KEYS}`, text: 'Keys' }),
    opts.source === 'api'
      ? h('span', { class: 'right' }, 'Download',
        h('a', { href: urls.traceJaeger(trace.traceId, adjusted), download: `trace-${trace.traceId}.jaeger.json`, text: 'Jaeger JSON' }),
        h('a', { href: urls.traceOtlp(trace.traceId, adjusted), download: `trace-${trace.traceId}.otlp.json`, text: 'OTLP JSON' }))
      : null);

  // Ruler, minimap, rows, detail.
  const ticksEl = h('div', { class: 'ticks' });
  const divider = h('div', { class: 'divider', title: 'Drag to resize the names column' });
  const ruler = h('div', { class: 'ruler' }, h('div', { class: 'name-head' }, h('span', { text: 'Service · operation' }), h('span', { text: `${formatCount(tree.n)} spans` }), divider), ticksEl);
  const minimap = createMinimap(state, (w) => setWindow(w));
  const rows = createWaterfall(state, { select: (i) => selectSpan(i, true), toggle: (i) => toggle(i), resized: () => resized() });
  const detail = h('aside', { class: 'detail', hidden: true, 'aria-label': 'Span detail' });
  const page = h('div', { class: 'trace' }, header, tools, minimap.el, ruler, rows.el, detail);
  host.replaceChildren(page);

  // Ruler, grid and rows share one names-column width in pixels, and the ruler leaves room for
  // the rows' scrollbar, so ticks line up with bars. Dragging the column's edge in the ruler
  // resizes it (15% to 70% of the width).
  let nameFraction = 0.34;
  function setColumns() {
    page.style.setProperty('--name-col', `${Math.round(rows.el.clientWidth * nameFraction)}px`);
    page.style.setProperty('--sb', `${rows.viewport.offsetWidth - rows.viewport.clientWidth}px`);
  }
  function sizeColumns() {
    setColumns();
    rows.relayout();
    drawAxis();
  }
  // The observer also reports the first layout: nothing to redo unless the size changed.
  let laidOutFor = '';
  function resized() {
    const size = `${rows.viewport.clientWidth}x${rows.viewport.clientHeight}`;
    if (size === laidOutFor) setColumns();
    else sizeColumns();
    laidOutFor = size;
  }
  divider.addEventListener('pointerdown', (e) => {
    divider.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const rect = rows.el.getBoundingClientRect();
      nameFraction = Math.min(0.7, Math.max(0.15, (ev.clientX - rect.left) / rect.width));
      sizeColumns();
    };
    divider.addEventListener('pointermove', move);
    divider.addEventListener('pointerup', () => divider.removeEventListener('pointermove', move), { once: true });
  });

  function drawAxis() {
    const ticks = rulerTicks(state.window, rows.timelineWidth());
    ticksEl.replaceChildren(...ticks.map((t) => {
      const tick = h('div', { class: 'tick', text: t.label });
      tick.style.left = `${t.fraction * 100}%`;
      return tick;
    }));
    rows.drawGrid();
    minimap.place();
  }

  function setWindow(w) {
    state.window = w;
    resetZoom.disabled = w[0] <= 0 && w[1] >= trace.duration;
    drawAxis();
    rows.refresh();
  }

  function rowsChanged() {
    state.rows = visibleRows(tree, state.collapsed);
    rows.refresh();
  }

  function toggle(i) {
    if (!hasChildren(tree, i)) return;
    state.collapsed[i] ^= 1;
    rowsChanged();
  }

  function selectSpan(i, openDetail = false) {
    state.selected = i;
    if (revealMatch(tree, state.collapsed, i)) state.rows = visibleRows(tree, state.collapsed);
    rows.refresh();
    const k = rowOf(tree, state.rows, i);
    if (k >= 0) rows.scrollToRow(k);
    if (openDetail || !detail.hidden) showDetail(i);
    if (opts.source === 'api') {
      const url = new URL(location.href);
      url.searchParams.set('span', tree.spans[i].spanId);
      history.replaceState(null, '', url);
    }
  }

  function showDetail(i) {
    detail.hidden = false;
    renderSpanDetail(detail, state, i, { select: (j) => selectSpan(j, true), close: closeDetail });
  }

  function closeDetail() {
    detail.hidden = true;
    rows.viewport.focus();
  }

  let foundFor = '';
  function runFind() {
    foundFor = find.value;
    state.matches = findMatches(tree, find.value);
    state.matchSet = state.matches.length ? matchSet(tree, state.matches) : null;
    state.matchIndex = -1;
    state.currentMatch = -1;
    if (state.matches.length) step(1);
    else {
      findCount.textContent = find.value.trim() ? 'no match' : '';
      rows.refresh();
    }
  }

  function step(dir) {
    if (!state.matches.length) return;
    state.matchIndex = stepMatch(state.matches, state.matchIndex, dir);
    state.currentMatch = state.matches[state.matchIndex];
    findCount.textContent = `${formatCount(state.matchIndex + 1)} / ${formatCount(state.matches.length)}`;
    selectSpan(state.currentMatch);
  }

  let findTimer = 0;
  find.addEventListener('input', () => {
    clearTimeout(findTimer);
    findTimer = setTimeout(runFind, tree.n > 20_000 ? 200 : 60);
  });
  find.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(findTimer);
      if (find.value === foundFor) step(e.shiftKey ? -1 : 1);
      else runFind();
    } else if (e.key === 'Escape') {
      find.value = '';
      runFind();
      rows.viewport.focus();
    }
  });

  function onKey(e) {
    // Keys typed into a field, and Enter or Space on a button or link, belong to that control.
    if (e.target.closest?.('input, select, textarea, [contenteditable]')) return;
    if ((e.key === 'Enter' || e.key === ' ') && e.target.closest?.('button, a')) return;
    if (e.metaKey || e.ctrlKey || e.altKey) return;
    const k = state.selected >= 0 ? rowOf(tree, state.rows, state.selected) : -1;
    const move = (to) => {
      const clamped = Math.max(0, Math.min(state.rows.length - 1, to));
      selectSpan(state.rows[clamped]);
    };
    const sel = state.selected;
    switch (e.key) {
      case '/':
        find.focus();
        find.select();
        break;
      case 'ArrowDown':
      case 'j':
        move(k + 1);
        break;
      case 'ArrowUp':
      case 'k':
        move(k < 0 ? 0 : k - 1);
        break;
      case 'PageDown':
        move(k + rows.pageRows());
        break;
      case 'PageUp':
        move(k - rows.pageRows());
        break;
      case 'Home':
        move(0);
        break;
      case 'End':
        move(state.rows.length - 1);
        break;
      case 'ArrowRight':
        if (sel < 0) move(0);
        else if (state.collapsed[sel]) toggle(sel);
        else if (hasChildren(tree, sel)) selectSpan(childrenOf(tree, sel)[0]);
        break;
      case 'ArrowLeft':
        if (sel < 0) break;
        if (hasChildren(tree, sel) && !state.collapsed[sel]) toggle(sel);
        else if (tree.parent[sel] !== -1) selectSpan(tree.parent[sel]);
        break;
      case 'Enter':
        if (sel < 0) move(0);
        else if (detail.hidden) showDetail(sel);
        else closeDetail();
        break;
      case 'Escape':
        if (!detail.hidden) closeDetail();
        break;
      case 'n':
        step(1);
        break;
      case 'N':
        step(-1);
        break;
      case '+':
      case '=':
        setWindow(zoomWindow(state.window, 0.5, 0.5, trace.duration));
        break;
      case '-':
        setWindow(zoomWindow(state.window, 2, 0.5, trace.duration));
        break;
      case '0':
        setWindow([0, trace.duration]);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
  document.addEventListener('keydown', onKey);

  // Ctrl/⌘ + wheel over the rows zooms the time axis around the pointer.
  rows.viewport.addEventListener('wheel', (e) => {
    if (!(e.ctrlKey || e.metaKey)) return;
    e.preventDefault();
    const rect = rows.viewport.getBoundingClientRect();
    const left = rect.right - rows.timelineWidth();
    const anchor = Math.min(1, Math.max(0, (e.clientX - left) / rows.timelineWidth()));
    setWindow(zoomWindow(state.window, e.deltaY > 0 ? 1.25 : 0.8, anchor, trace.duration));
  }, { passive: false });

  setColumns();
  rows.start();
  laidOutFor = `${rows.viewport.clientWidth}x${rows.viewport.clientHeight}`;
  setWindow(state.window);
  const wanted = opts.selectSpan ? tree.byId.get(String(opts.selectSpan).toLowerCase()) : undefined;
  if (wanted !== undefined) selectSpan(wanted, true);
  else if (!opts.refocus) rows.viewport.focus({ preventScroll: true });
  if (opts.refocus) skewToggle?.focus({ preventScroll: true });

  // First frame with rows painted: rAF runs before the paint, the task after it runs after.
  let cancelled = false;
  requestAnimationFrame(() => setTimeout(() => {
    if (cancelled) return;
    performance.mark('waterfall-rendered');
    const at = (name) => performance.getEntriesByName(name).at(-1)?.startTime ?? NaN;
    window.__tracehound.lastRender = {
      traceId: trace.traceId,
      spans: tree.n,
      adjusted,
      fetchedMs: at('trace-fetched') - at('trace-requested'),
      parsedMs: at('trace-parsed') - at('trace-fetched'),
      renderedMs: at('waterfall-rendered') - at('trace-parsed'),
      sinceNavigationMs: at('waterfall-rendered'),
    };
    // The overview and the critical path come after the first paint.
    minimap.draw();
    setTimeout(() => {
      if (cancelled) return;
      state.cp = criticalPath(tree, root);
      rows.refresh();
      if (!detail.hidden && state.selected >= 0) showDetail(state.selected);
      document.documentElement.dataset.criticalPath = 'ready';
    }, 0);
  }, 0));

  return () => {
    cancelled = true;
    document.removeEventListener('keydown', onKey);
    rows.destroy();
    minimap.destroy();
    delete document.documentElement.dataset.criticalPath;
  };
}
