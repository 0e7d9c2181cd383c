// The dependencies page: the service graph over a chosen window as a directed graph (callers
// left, callees right; layout, edge routing and label placement from model/graph-layout.js) with
// calls and errors on each edge, and the same edges as a table. The drawing is scaled to the
// page's width (down to a legible minimum, then it scrolls sideways). Hovering or focusing a
// node highlights its edges; a node opens its service page.

import { h, svg, select } from '../dom.js';
import { fetchDependencies } from '../api.js';
import { layoutGraph, fitScale } from '../model/graph-layout.js';
import { formatCount, formatMillis, formatPercent } from '../model/format.js';
import { assignColors } from '../model/colors.js';
import { WINDOWS } from './services.js';

const NODE_H = 34;
const NODE_PAD = 22; // horizontal room around a node's name
const NODE_MIN_W = 84;
const LABEL_H = 15;
const MAX_LABELLED = 60; // more edges than this and labels would bury the graph: the table has them
const MIN_SCALE = 0.7; // below this, text gets too small: scroll instead

const shorten = (name, max = 26) => (name.length > max ? `${name.slice(0, max - 1)}…` : name);

// Text widths from a canvas in the page's font (no layout needed).
function textMeasurer(el) {
  const family = getComputedStyle(el).fontFamily || 'sans-serif';
  const ctx = document.createElement('canvas').getContext('2d');
  return (text, font) => {
    if (!ctx) return text.length * 7;
    ctx.font = `${font} ${family}`;
    return ctx.measureText(text).width;
  };
}

const edgeText = (d) => `${formatCount(d.calls)} call${d.calls === 1 ? '' : 's'}${d.errors > 0 ? ` · ${formatCount(d.errors)} err` : ''}`;

/** Route /dependencies. */
export function mountDependencies(ctx) {
  ctx.setTitle('Dependencies');
  const lookback = WINDOWS.some(([k]) => k === ctx.query.get('lookback')) ? ctx.query.get('lookback') : '1h';
  const graph = h('div', { class: 'graph' });
  const note = h('div', { class: 'muted graph-note' });
  const table = h('div');
  ctx.root.append(h('div', { class: 'page' },
    h('div', { class: 'toolbar-row' }, h('h1', { text: 'Dependencies' }),
      h('label', { class: 'muted' }, 'Window ', select(WINDOWS, lookback, { 'aria-label': 'Window', onchange: (e) => ctx.navigate(`/dependencies?lookback=${e.target.value}`) })),
      h('span', { class: 'muted', text: 'Edges count calls from one service to another in completed traces.' })),
    graph, note, table));
  graph.append(h('div', { class: 'empty', text: 'Loading…' }));
  let resize = null;

  fetchDependencies(lookback, ctx.signal).then((body) => {
    const deps = body.dependencies ?? [];
    if (!deps.length) {
      graph.replaceChildren(h('div', { class: 'empty', text: 'No calls between services in this window.' }));
      return;
    }
    const edges = deps.map((d) => ({ from: d.caller, to: d.callee, d }));
    const labelled = deps.length <= MAX_LABELLED;
    const measure = textMeasurer(graph);
    const layout = layoutGraph([], edges, {
      nodeSize: (id) => [Math.max(NODE_MIN_W, Math.ceil(measure(shorten(id), '600 12px')) + NODE_PAD), NODE_H],
      labelSize: (e) => (labelled ? [Math.ceil(measure(edgeText(e.d), '11px')) + 8, LABEL_H] : null),
      labelPad: 10,
      nodeSep: 40,
      laneSep: 22,
    });
    const colors = assignColors(layout.nodes.map((n) => n.id));
    const maxCalls = Math.max(...deps.map((d) => d.calls));
    const root = svg('svg', { viewBox: `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`, preserveAspectRatio: 'xMidYMin meet', role: 'img', 'aria-label': 'Service dependency graph' },
      svg('defs', {},
        svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '9', markerHeight: '9', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0L10,5L0,10z' })),
        svg('marker', { id: 'arrow-err', class: 'err', viewBox: '0 0 10 10', refX: '9', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '9', markerHeight: '9', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0L10,5L0,10z' }))));

    // Paths first, then every label above every path, then the nodes.
    const edgeLayer = svg('g', { class: 'edges' });
    const labelLayer = svg('g', { class: 'labels' });
    const nodeLayer = svg('g', { class: 'nodes' });
    const byNode = new Map(layout.nodes.map((n) => [n.id, []]));
    layout.edges.forEach((le) => {
      const { d } = le.edge;
      const err = d.errors > 0;
      const cls = err ? 'edge err' : 'edge';
      const title = `${d.caller} → ${d.callee}: ${formatCount(d.calls)} calls, ${formatCount(d.errors)} errors, p99 ${formatMillis(d.p99Ms)}`;
      const width = le.self ? 1.5 : 1 + 3 * Math.log10(1 + (9 * d.calls) / maxCalls);
      const line = svg('g', { class: cls }, svg('title', {}, title),
        svg('path', { d: le.path, 'stroke-width': width.toFixed(2), 'marker-end': `url(#${err ? 'arrow-err' : 'arrow'})` }),
        svg('path', { class: 'hit', d: le.path }));
      edgeLayer.append(line);
      const parts = [line];
      if (le.label) {
        const { x, y, w, h: lh, anchor, moved } = le.label;
        const lab = svg('g', { class: `${cls} label` }, svg('title', {}, title),
          moved ? svg('line', { class: 'leader', x1: anchor[0].toFixed(1), y1: anchor[1].toFixed(1), x2: x.toFixed(1), y2: (y + (anchor[1] > y ? lh / 2 : -lh / 2)).toFixed(1) }) : null,
          svg('rect', { x: (x - w / 2).toFixed(1), y: (y - lh / 2).toFixed(1), width: w.toFixed(1), height: lh, rx: '3' }),
          svg('text', { x: x.toFixed(1), y: (y + 4).toFixed(1), 'text-anchor': 'middle' }, edgeText(d)));
        labelLayer.append(lab);
        parts.push(lab);
      }
      const item = { parts, ends: [d.caller, d.callee] };
      byNode.get(d.caller)?.push(item);
      if (d.callee !== d.caller) byNode.get(d.callee)?.push(item);
      for (const p of parts) {
        p.addEventListener('mouseenter', () => highlight(item.ends, [item]));
        p.addEventListener('mouseleave', unhighlight);
      }
    });
    const nodeEls = new Map();
    for (const n of layout.nodes) {
      const a = svg('a', { href: `/services/${encodeURIComponent(n.id)}?lookback=${lookback}`, class: `node c${colors.get(n.id)}`, 'aria-label': `${n.id}: open service` },
        svg('title', {}, n.id),
        svg('rect', { x: n.x - n.w / 2, y: n.y - n.h / 2, width: n.w, height: n.h, rx: '7' }),
        svg('text', { x: n.x, y: n.y + 4, 'text-anchor': 'middle' }, shorten(n.id)));
      const on = () => {
        const items = byNode.get(n.id) ?? [];
        highlight([n.id, ...items.flatMap((it) => it.ends)], items);
      };
      a.addEventListener('mouseenter', on);
      a.addEventListener('focus', on);
      a.addEventListener('mouseleave', unhighlight);
      a.addEventListener('blur', unhighlight);
      nodeEls.set(n.id, a);
      nodeLayer.append(a);
    }
    const lit = [];
    function highlight(nodeIds, items) {
      unhighlight();
      root.classList.add('focusing');
      for (const id of nodeIds) lit.push(nodeEls.get(id));
      for (const it of items) lit.push(...it.parts);
      for (const el of lit) el?.classList.add('hl');
    }
    function unhighlight() {
      root.classList.remove('focusing');
      for (const el of lit) el?.classList.remove('hl');
      lit.length = 0;
    }
    root.append(edgeLayer, labelLayer, nodeLayer);

    // Fit the width: the viewBox scales everything, down to MIN_SCALE, then the box scrolls.
    const fit = () => {
      const { scale, scrolls } = fitScale(layout.width, graph.clientWidth - 2, { min: MIN_SCALE, max: 1 });
      root.setAttribute('width', Math.floor(layout.width * scale));
      root.setAttribute('height', Math.ceil(layout.height * scale));
      note.textContent = [
        labelled ? '' : `${formatCount(deps.length)} edges: labels are hidden in the graph; hover an edge for its counts, or see the table.`,
        scrolls ? 'Scroll sideways for the rest of the graph.' : '',
      ].filter(Boolean).join(' ');
    };
    graph.replaceChildren(root);
    fit();
    resize = new ResizeObserver(fit);
    resize.observe(graph);

    table.replaceChildren(h('h2', { text: 'Edges' }), h('table', { class: 'grid', 'aria-label': 'Dependencies' },
      h('thead', {}, h('tr', {}, ['Caller', 'Callee', 'Calls', 'Errors', 'p50', 'p99'].map((t, i) => h('th', { class: i > 1 ? 'num' : '', text: t })))),
      h('tbody', {}, deps.map((d) => h('tr', {},
        h('td', {}, h('a', { href: `/services/${encodeURIComponent(d.caller)}?lookback=${lookback}`, text: d.caller })),
        h('td', {}, h('a', { href: `/services/${encodeURIComponent(d.callee)}?lookback=${lookback}`, text: d.callee })),
        h('td', { class: 'num', text: formatCount(d.calls) }),
        h('td', { class: d.errors ? 'num err-text' : 'num', text: `${formatCount(d.errors)} (${formatPercent(d.errorRate)})` }),
        h('td', { class: 'num', text: formatMillis(d.p50Ms) }),
        h('td', { class: 'num', text: formatMillis(d.p99Ms) }))))));
  }).catch((e) => {
    if (e.name === 'AbortError') return;
    graph.replaceChildren(h('div', { class: 'banner error', text: `Could not load dependencies: ${e.message}` }));
  });
  return () => resize?.disconnect();
}
