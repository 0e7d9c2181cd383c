// The waterfall's rows, virtualised: a spacer gives the scroll height of every visible row, and
// only the rows in (or near) the viewport exist as elements, from a pool reused as the view
// scrolls (row k always lives in pool slot k mod size, so scrolling by one row re-renders one
// element). Rows have a fixed height. Also the ruler ticks and grid lines of the time axis.

import { h } from '../dom.js';
import { barPlacement, rulerTicks } from '../model/layout.js';
import { formatDuration, formatCount } from '../model/format.js';
import { hasChildren } from '../model/tree.js';

export const ROW_HEIGHT = 24;
const OVERSCAN = 6;

/**
 * Creates the rows area. `state` is the trace view's state ({tree, rows, collapsed, colorOf,
 * window, selected, matchSet, currentMatch, cp, showCp}); `on.select(i)` and `on.toggle(i)`
 * report clicks. Returns {el, viewport, refresh, scrollToRow, rowAt, destroy}.
 */
export function createWaterfall(state, on) {
  const spacer = h('div', { class: 'spacer' });
  const viewport = h('div', { class: 'rows', tabindex: '0', role: 'tree', 'aria-label': 'Spans' }, spacer);
  const grid = h('div', { class: 'gridlines', 'aria-hidden': 'true' });
  const el = h('div', { class: 'rows-wrap' }, grid, viewport);
  let pool = [];
  let height = 0;
  let timelineWidth = 0;
  let indentStep = 14;

  function makeRow() {
    const toggle = h('button', { class: 'tg', type: 'button', tabindex: '-1', 'aria-label': 'Expand or collapse' });
    const dot = h('span', { class: 'dot' });
    const svc = h('span', { class: 'svc' });
    const op = h('span', { class: 'op' });
    const kids = h('span', { class: 'kids' });
    const bang = h('span', { class: 'bang', text: '!', title: 'Error' });
    // The server's warnings (clock skew), named in full by the title and the accessible name.
    const warn = h('span', { class: 'wn', role: 'img', text: '⚠\uFE0E' });
    warn.hidden = true;
    const name = h('div', { class: 'rn' }, toggle, dot, svc, op, kids, bang, warn);
    const bar = h('div', { class: 'bar' });
    const label = h('span', { class: 'lbl' });
    const time = h('div', { class: 'rt' }, bar, label);
    const row = h('div', { class: 'row', role: 'treeitem' }, name, time);
    row.hidden = true;
    viewport.append(row);
    return { row, name, toggle, dot, svc, op, kids, bang, warn, warned: null, bar, label, time, cps: [], k: -1, span: -1 };
  }

  function layoutPool() {
    height = viewport.clientHeight;
    const want = Math.ceil(height / ROW_HEIGHT) + OVERSCAN * 2;
    while (pool.length < want) pool.push(makeRow());
    while (pool.length > want) pool.pop().row.remove();
    for (const r of pool) r.k = -1;
    timelineWidth = Math.max(1, viewport.clientWidth - (pool[0]?.name.offsetWidth ?? 0));
    // Indentation shrinks for deep trees so names stay readable.
    const nameWidth = pool[0]?.name.offsetWidth ?? 300;
    indentStep = Math.max(3, Math.min(14, (nameWidth * 0.45) / Math.max(1, state.tree.maxDepth)));
  }

  function renderRow(r, k) {
    const { tree } = state;
    const i = state.rows[k];
    r.k = k;
    r.span = i;
    const s = tree.spans[i];
    const color = state.colorOf[i];
    r.row.hidden = false;
    r.row.style.transform = `translateY(${k * ROW_HEIGHT}px)`;
    let cls = 'row';
    if (i === state.selected) cls += ' sel';
    if (state.matchSet?.[i]) cls += i === state.currentMatch ? ' match cur' : ' match';
    if (s.error) cls += ' err';
    r.row.className = cls;
    r.row.setAttribute('aria-level', String(tree.depth[i] + 1));
    r.row.setAttribute('aria-selected', i === state.selected ? 'true' : 'false');
    r.name.style.paddingLeft = `${4 + tree.depth[i] * indentStep}px`;
    const parent = tree.parent[i];
    const leaf = !hasChildren(tree, i);
    const collapsed = state.collapsed[i] === 1;
    r.toggle.className = leaf ? 'tg leaf' : 'tg';
    r.toggle.textContent = leaf ? '' : collapsed ? '▸' : '▾';
    if (!leaf) r.row.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
    else r.row.removeAttribute('aria-expanded');
    r.dot.className = `dot c${color}`;
    // The service is named where it changes, as a call crosses into another service.
    r.svc.textContent = parent === -1 || tree.spans[parent].service !== s.service ? s.service : '';
    r.op.textContent = s.name;
    r.name.title = `${s.service}: ${s.name}`; // names cut by the column show in full on hover
    r.kids.textContent = collapsed ? `+${formatCount(tree.size[i] - 1)}` : '';
    r.bang.hidden = !s.error;
    if (r.warned !== s.warnings) {
      r.warned = s.warnings;
      r.warn.hidden = s.warnings.length === 0;
      if (s.warnings.length) {
        const text = s.warnings.join('\n');
        r.warn.title = text;
        r.warn.setAttribute('aria-label', `Warning: ${s.warnings.join('; ')}`);
      }
    }
    const place = barPlacement(s.start, s.end, state.window);
    r.bar.className = `bar c${color}`;
    r.bar.hidden = place.outside;
    r.bar.style.left = `${place.left * 100}%`;
    r.bar.style.width = `${place.width * 100}%`;
    // The label goes after the bar, else before it, else inside its right end; for a bar
    // outside the zoomed window, an arrow at that edge says where it is.
    const right = place.left + place.width;
    const text = formatDuration(s.duration);
    r.label.className = 'lbl';
    r.label.textContent = place.outside ? (place.cutLeft ? `◂ ${text}` : `${text} ▸`) : text;
    if (place.outside) {
      r.label.style.left = place.cutLeft ? '4px' : '';
      r.label.style.right = place.cutLeft ? '' : '4px';
    } else if (right < 0.85) {
      r.label.style.right = '';
      r.label.style.left = `calc(${right * 100}% + 5px)`;
    } else if (place.left > 0.15) {
      r.label.style.left = '';
      r.label.style.right = `calc(${(1 - place.left) * 100}% + 5px)`;
    } else {
      r.label.className = 'lbl in';
      r.label.style.left = '';
      r.label.style.right = `calc(${(1 - right) * 100}% + 9px)`;
    }
    const segs = state.showCp && state.cp ? state.cp.bySpan.get(i) : undefined;
    const count = segs ? segs.length : 0;
    while (r.cps.length < count) {
      const cp = h('div', { class: 'cp' });
      r.time.append(cp);
      r.cps.push(cp);
    }
    for (let c = 0; c < r.cps.length; c++) {
      const el = r.cps[c];
      if (c >= count) {
        el.hidden = true;
        continue;
      }
      const p = barPlacement(segs[c].start, segs[c].end, state.window);
      el.hidden = p.outside;
      el.style.left = `${p.left * 100}%`;
      el.style.width = `${p.width * 100}%`;
    }
  }

  /** Renders the rows in view; `force` re-renders rows already in place (data changed). */
  function update(force = false) {
    const total = state.rows.length;
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total - 1, first + pool.length - 1);
    const size = pool.length;
    for (let k = first; k <= last; k++) {
      const r = pool[k % size];
      if (force || r.k !== k) renderRow(r, k);
    }
    // Slots without a row in range are hidden (short lists, or the end of the list).
    for (const r of pool) {
      if (r.k < first || r.k > last) {
        r.row.hidden = true;
        r.k = -1;
      }
    }
  }

  function refresh() {
    spacer.style.height = `${state.rows.length * ROW_HEIGHT}px`;
    update(true);
  }

  function drawGrid() {
    const ticks = rulerTicks(state.window, timelineWidth);
    grid.replaceChildren(...ticks.map((t) => {
      const line = h('div');
      line.style.left = `${t.fraction * 100}%`;
      return line;
    }));
    return ticks;
  }

  // Time spent placing rows on scroll, for the benchmark (window.__tracehound.scrollWork).
  const work = { events: 0, totalMs: 0, maxMs: 0 };
  if (window.__tracehound) window.__tracehound.scrollWork = work;
  const onScroll = () => {
    const t0 = performance.now();
    update(false);
    const ms = performance.now() - t0;
    work.events++;
    work.totalMs += ms;
    if (ms > work.maxMs) work.maxMs = ms;
  };
  viewport.addEventListener('scroll', onScroll, { passive: true });
  viewport.addEventListener('click', (e) => {
    const rowEl = e.target.closest('.row');
    const r = rowEl && pool.find((p) => p.row === rowEl);
    if (!r || r.span < 0) return;
    // Keep keyboard focus on the list (a clicked toggle button would otherwise take it).
    viewport.focus({ preventScroll: true });
    if (e.target.closest('.tg')) on.toggle(r.span);
    else on.select(r.span);
  });
  viewport.addEventListener('dblclick', (e) => {
    const rowEl = e.target.closest('.row');
    const r = rowEl && pool.find((p) => p.row === rowEl);
    if (r && r.span >= 0 && hasChildren(state.tree, r.span) && !e.target.closest('.tg')) on.toggle(r.span);
  });
  const resize = new ResizeObserver(() => on.resized());
  resize.observe(viewport);

  return {
    el,
    viewport,
    /** Lays out the pool for the current size; call once the element is in the document. */
    start() {
      layoutPool();
      refresh();
    },
    refresh,
    drawGrid,
    /** Re-measures after the names column changed width. */
    relayout() {
      layoutPool();
      update(true);
    },
    timelineWidth: () => timelineWidth,
    /** Scrolls so that row k is visible (centred when it was far away). */
    scrollToRow(k) {
      const top = k * ROW_HEIGHT;
      const view = viewport.clientHeight;
      if (top < viewport.scrollTop) viewport.scrollTop = top - Math.min(view / 3, top);
      else if (top + ROW_HEIGHT > viewport.scrollTop + view) viewport.scrollTop = top - view + ROW_HEIGHT + view / 3;
      update(false);
    },
    /** Rows that fit in the viewport, for page up/down. */
    pageRows: () => Math.max(1, Math.floor(viewport.clientHeight / ROW_HEIGHT) - 1),
    destroy() {
      resize.disconnect();
      viewport.removeEventListener('scroll', onScroll);
    },
  };
}
