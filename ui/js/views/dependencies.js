// The dependencies page: the service graph over a chosen window as a directed graph (callers
// left, callees right; layout from model/graph-layout.js) with calls and errors on each edge,
// and the same edges as a table. A node opens its service page.

import { h, svg, select } from '../dom.js';
import { fetchDependencies } from '../api.js';
import { layoutGraph } from '../model/graph-layout.js';
import { formatCount, formatMillis, formatPercent } from '../model/format.js';
import { assignColors } from '../model/colors.js';
import { WINDOWS } from './services.js';

const NODE_W = 150;
const NODE_H = 34;

const shorten = (name, max = 20) => (name.length > max ? `${name.slice(0, max - 1)}…` : name);

// A smooth path through the layout points, leaving and entering nodes at their sides.
function edgePath(points, reversedPair) {
  const pts = points.map(([x, y]) => [x, y]);
  const [sx, sy] = pts[0];
  const [tx, ty] = pts.at(-1);
  const forward = tx >= sx;
  pts[0] = [sx + (forward ? NODE_W / 2 : -NODE_W / 2), sy + (reversedPair ? 6 : 0)];
  pts[pts.length - 1] = [tx + (forward ? -NODE_W / 2 - 4 : NODE_W / 2 + 4), ty + (reversedPair ? 6 : 0)];
  let d = `M${pts[0][0]},${pts[0][1]}`;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1];
    const [x1, y1] = pts[i];
    const mx = (x0 + x1) / 2;
    d += ` C${mx},${y0} ${mx},${y1} ${x1},${y1}`;
  }
  const mid = pts[Math.floor((pts.length - 1) / 2)];
  const next = pts[Math.floor((pts.length - 1) / 2) + 1] ?? mid;
  return { d, label: [(mid[0] + next[0]) / 2, (mid[1] + next[1]) / 2] };
}

/** Route /dependencies. */
export function mountDependencies(ctx) {
  ctx.setTitle('Dependencies');
  const lookback = WINDOWS.some(([k]) => k === ctx.query.get('lookback')) ? ctx.query.get('lookback') : '1h';
  const graph = h('div', { class: 'graph' });
  const table = h('div');
  ctx.root.append(h('div', { class: 'page' },
    h('div', { class: 'toolbar-row' }, h('h1', { text: 'Dependencies' }),
      h('label', { class: 'muted' }, 'Window ', select(WINDOWS, lookback, { 'aria-label': 'Window', onchange: (e) => ctx.navigate(`/dependencies?lookback=${e.target.value}`) })),
      h('span', { class: 'muted', text: 'Edges count calls from one service to another in completed traces.' })),
    graph, table));
  graph.append(h('div', { class: 'empty', text: 'Loading…' }));

  fetchDependencies(lookback, ctx.signal).then((body) => {
    const deps = body.dependencies ?? [];
    if (!deps.length) {
      graph.replaceChildren(h('div', { class: 'empty', text: 'No calls between services in this window.' }));
      return;
    }
    const edges = deps.map((d) => ({ from: d.caller, to: d.callee, d }));
    // Layers move closer together to fit the page, down to a gap an edge label fits in; beyond
    // that the graph scrolls sideways rather than shrinking its text.
    const opts = { layerGap: NODE_W + 120, rowGap: NODE_H + 44, margin: NODE_W / 2 + 20 };
    let layout = layoutGraph([], edges, opts);
    const layers = Math.max(...layout.nodes.map((n) => n.layer)) + 1;
    const room = (graph.clientWidth || 1200) - 2 * opts.margin;
    if (layers > 1 && layout.width > room + 2 * opts.margin) {
      layout = layoutGraph([], edges, { ...opts, layerGap: Math.max(NODE_W + 100, room / (layers - 1)) });
    }
    const colors = assignColors(layout.nodes.map((n) => n.id));
    const pairs = new Set(edges.map((e) => `${e.from}\u0000${e.to}`));
    const maxCalls = Math.max(...deps.map((d) => d.calls));
    const labelled = deps.length <= 40;
    // Labels only where they can be read.
    const root = svg('svg', { width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`, role: 'img', 'aria-label': 'Service dependency graph' },
      svg('defs', {},
        svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '10', markerHeight: '10', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0L10,5L0,10z' })),
        svg('marker', { id: 'arrow-err', class: 'err', viewBox: '0 0 10 10', refX: '9', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '10', markerHeight: '10', orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0L10,5L0,10z' }))));
    for (const le of layout.edges) {
      const { d } = le.edge;
      const err = d.errors > 0;
      const text = `${formatCount(d.calls)} call${d.calls === 1 ? '' : 's'}${err ? ` · ${formatCount(d.errors)} err` : ''}`;
      const g = svg('g', { class: err ? 'edge err' : 'edge' }, svg('title', {}, `${d.caller} → ${d.callee}: ${formatCount(d.calls)} calls, ${formatCount(d.errors)} errors, p99 ${formatMillis(d.p99Ms)}`));
      if (le.self) {
        const [x, y] = le.points[0];
        g.append(svg('path', { d: `M${x + 20},${y - NODE_H / 2} C${x + 40},${y - 70} ${x - 40},${y - 70} ${x - 20},${y - NODE_H / 2 - 3}`, 'marker-end': `url(#${err ? 'arrow-err' : 'arrow'})`, 'stroke-width': '1.5' }),
          svg('text', { x, y: y - 58, 'text-anchor': 'middle' }, text));
      } else {
        const both = pairs.has(`${d.callee}\u0000${d.caller}`) && d.caller > d.callee;
        const { d: path, label } = edgePath(le.points, both);
        const width = 1 + 3 * Math.log10(1 + (9 * d.calls) / maxCalls);
        g.append(svg('path', { d: path, 'stroke-width': width.toFixed(2), 'marker-end': `url(#${err ? 'arrow-err' : 'arrow'})` }),
          labelled ? svg('text', { x: label[0], y: label[1] - 6 + (both ? 14 : 0), 'text-anchor': 'middle' }, text) : null);
      }
      root.append(g);
    }
    for (const n of layout.nodes) {
      const a = svg('a', { href: `/services/${encodeURIComponent(n.id)}?lookback=${lookback}`, class: `node c${colors.get(n.id)}` },
        svg('title', {}, n.id),
        svg('rect', { x: n.x - NODE_W / 2, y: n.y - NODE_H / 2, width: NODE_W, height: NODE_H, rx: '7' }),
        svg('text', { x: n.x, y: n.y + 4, 'text-anchor': 'middle' }, shorten(n.id)));
      root.append(a);
    }
    graph.replaceChildren(root);
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
}
