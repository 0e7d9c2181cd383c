import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutGraph, pack, fitScale, boxesOverlap, countCrossings, pointOnSegment } from '../js/model/graph-layout.js';

const byId = (g) => Object.fromEntries(g.nodes.map((n) => [n.id, n]));

test('callers are left of callees, by longest path', () => {
  const g = layoutGraph(['web', 'cart', 'db', 'cache'], [
    { from: 'web', to: 'cart' }, { from: 'cart', to: 'db' }, { from: 'web', to: 'db' }, { from: 'cart', to: 'cache' },
  ]);
  const n = byId(g);
  assert.equal(n.web.layer, 0);
  assert.equal(n.cart.layer, 1);
  assert.equal(n.db.layer, 2);
  assert.ok(n.web.x < n.cart.x && n.cart.x < n.db.x);
  const skip = g.edges.find((e) => e.edge.from === 'web' && e.edge.to === 'db');
  assert.equal(skip.points.length, 3, 'an edge skipping a layer routes through a dummy point');
  assert.deepEqual(skip.points[0], [n.web.x, n.web.y]);
  assert.deepEqual(skip.points.at(-1), [n.db.x, n.db.y]);
});

test('cycles are broken and every edge is still drawn in its direction', () => {
  const g = layoutGraph([], [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'a', to: 'a' }]);
  assert.equal(g.nodes.length, 3);
  assert.equal(g.edges.length, 4);
  const n = byId(g);
  const back = g.edges.find((e) => e.reversed);
  assert.ok(back);
  assert.deepEqual(back.points[0], [n[back.edge.from].x, n[back.edge.from].y]);
  assert.deepEqual(back.points.at(-1), [n[back.edge.to].x, n[back.edge.to].y]);
  assert.ok(g.edges.some((e) => e.self));
});

test('barycentre ordering removes an avoidable crossing', () => {
  const g = layoutGraph(['a', 'b', 'x', 'y'], [{ from: 'a', to: 'y' }, { from: 'b', to: 'x' }]);
  const n = byId(g);
  assert.equal(Math.sign(n.a.y - n.b.y), Math.sign(n.y.y - n.x.y));
});

test('nodes in a layer do not overlap and the size covers them', () => {
  const edges = Array.from({ length: 8 }, (_, i) => ({ from: 'root', to: `s${i}` }));
  const g = layoutGraph([], edges);
  const ys = g.nodes.filter((n) => n.layer === 1).map((n) => n.y).sort((a, b) => a - b);
  for (let i = 1; i < ys.length; i++) assert.ok(ys[i] - ys[i - 1] >= 70);
  for (const n of g.nodes) assert.ok(n.x <= g.width && n.y <= g.height);
});

// --- Fit, routing and labels ------------------------------------------------------------------

const boxOf = (n) => ({ x: n.x, y: n.y, w: n.w, h: n.h });
const label = () => [96, 15];

// Points along an edge's drawn path (curves sampled, lanes at both ends).
function samples(le) {
  const pts = [];
  for (const s of le.segments) {
    if (s.kind === 'L') pts.push(s.from, s.to, [(s.from[0] + s.to[0]) / 2, (s.from[1] + s.to[1]) / 2]);
    else if (!s.c1) for (let t = 0; t <= 1; t += 0.05) pts.push(pointOnSegment(s, t));
  }
  return pts;
}

// A service graph like the generated test traces: a chain of tiers, each calling up to three
// tiers further on (so many edges skip layers), an entry point calling deep, and a cycle.
function realistic() {
  const svc = ['frontend', 'gateway', 'users', 'search', 'checkout', 'cart', 'recommendations', 'inventory', 'payments', 'shipping'];
  const edges = [];
  for (let i = 0; i < svc.length; i++) for (let k = 1; k <= 3 && i + k < svc.length; k++) if ((i * 7 + k * 3) % 5 !== 0) edges.push({ from: svc[i], to: svc[i + k] });
  edges.push({ from: 'web', to: 'cart' }, { from: 'cart', to: 'web' }, { from: 'shipping', to: 'shipping' });
  return edges;
}

test('pack keeps order and separations and stays as close as it can to the wishes', () => {
  assert.deepEqual(pack([0, 0, 0], [10, 10]), [-10, 0, 10]);
  assert.deepEqual(pack([0, 100, 5], [10, 10]), [0, 47.5, 57.5]);
  assert.deepEqual(pack([0, 50, 100], [10, 10]), [0, 50, 100], 'already separated: unchanged');
  const p = pack([3, 3, 3, 40, 41], [5, 5, 5, 5]);
  for (let i = 1; i < p.length; i++) assert.ok(p[i] - p[i - 1] >= 5 - 1e-9);
});

test('fitScale shrinks to the container, never enlarges, and scrolls below the minimum', () => {
  assert.deepEqual(fitScale(2000, 1400, { min: 0.5 }), { scale: 0.7, width: 1400, scrolls: false });
  assert.deepEqual(fitScale(700, 1400), { scale: 1, width: 700, scrolls: false });
  const tight = fitScale(4000, 1400, { min: 0.7 });
  assert.equal(tight.scale, 0.7);
  assert.equal(tight.width, 2800);
  assert.equal(tight.scrolls, true);
  assert.equal(fitScale(1000, 0).scale, 1, 'an unmeasured container leaves the natural size');
});

test('the drawing covers every node, path and label (nothing clipped at any side)', () => {
  const g = layoutGraph([], realistic(), { labelSize: label, nodeSize: (id) => [id.length * 7 + 22, 34] });
  for (const n of g.nodes) {
    assert.ok(n.x - n.w / 2 >= 0 && n.x + n.w / 2 <= g.width, `${n.id} inside horizontally`);
    assert.ok(n.y - n.h / 2 >= 0 && n.y + n.h / 2 <= g.height, `${n.id} inside vertically`);
  }
  for (const le of g.edges) {
    for (const [x, y] of samples(le)) assert.ok(x >= 0 && x <= g.width && y >= 0 && y <= g.height, `${le.edge.from}→${le.edge.to} inside`);
    const l = le.label;
    assert.ok(l.x - l.w / 2 >= 0 && l.x + l.w / 2 <= g.width && l.y - l.h / 2 >= 0 && l.y + l.h / 2 <= g.height, 'label inside');
  }
  // A self loop's label sits above its node: the drawing grows to hold it.
  const loop = layoutGraph([], [{ from: 'a', to: 'a' }], { labelSize: label, margin: 0 });
  const l = loop.edges[0].label;
  assert.ok(l.y - l.h / 2 >= 0 && l.x - l.w / 2 >= 0 && l.x + l.w / 2 <= loop.width, 'self-loop label inside');
  assert.ok(l.y < loop.nodes[0].y - loop.nodes[0].h / 2, 'above its node');
  // Scaled to a 1,398 px container the right-most node still ends inside it.
  const { scale } = fitScale(g.width, 1398, { min: 0.1 });
  const right = Math.max(...g.nodes.map((n) => n.x + n.w / 2));
  assert.ok(right * scale <= 1398);
});

test('edge labels overlap no other label and no node', () => {
  for (const edges of [realistic(), [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }, { from: 'a', to: 'c' }, { from: 'c', to: 'b' }]]) {
    const g = layoutGraph([], edges, { labelSize: label });
    const labels = g.edges.map((e) => e.label);
    assert.equal(labels.filter(Boolean).length, edges.length, 'every edge labelled');
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) assert.ok(!boxesOverlap(labels[i], labels[j]), `labels ${i} and ${j} overlap`);
      for (const n of g.nodes) assert.ok(!boxesOverlap(labels[i], boxOf(n)), `label ${i} overlaps ${n.id}`);
    }
  }
});

test('labels sit on their edge (at the middle of the curve when it is free)', () => {
  const g = layoutGraph([], [{ from: 'a', to: 'b' }], { labelSize: label });
  const [le] = g.edges;
  const [a, b] = [le.segments[0].from, le.segments[0].to];
  assert.equal(le.label.moved, false);
  assert.ok(Math.abs(le.label.x - (a[0] + b[0]) / 2) < 1e-6 && Math.abs(le.label.y - (a[1] + b[1]) / 2) < 1e-6);
  // A pair of opposite edges has (almost) the same curve: one label has to give way, the other
  // stays on the middle of its curve.
  const pair = layoutGraph([], [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }], { labelSize: label });
  const [p, q] = pair.edges.map((e) => e.label);
  assert.ok(!boxesOverlap(p, q));
  assert.ok(Math.abs(p.y - q.y) >= 15 || Math.abs(p.x - q.x) >= 96);
});

test('a long edge runs straight through the columns it skips and no edge passes through a node', () => {
  const edges = realistic();
  const g = layoutGraph([], edges, { labelSize: label });
  const n = byId(g);
  for (const le of g.edges) {
    if (le.self) continue;
    const ends = new Set([le.edge.from, le.edge.to]);
    for (const [x, y] of samples(le)) {
      for (const node of g.nodes) {
        if (ends.has(node.id)) continue;
        const inside = Math.abs(x - node.x) < node.w / 2 && Math.abs(y - node.y) < node.h / 2;
        assert.ok(!inside, `${le.edge.from}→${le.edge.to} passes through ${node.id} at ${x.toFixed(1)},${y.toFixed(1)}`);
      }
    }
    for (const s of le.segments) if (s.kind === 'L') assert.equal(s.from[1], s.to[1], 'lanes are horizontal');
  }
  // The callee's side carries the arrow end; a skip edge has a lane in each layer it skips.
  const skip = g.edges.find((e) => e.edge.from === 'frontend' && e.edge.to === 'search');
  const layers = n.search.layer - n.frontend.layer;
  assert.ok(layers >= 2);
  assert.equal(skip.segments.filter((s) => s.kind === 'L').length, layers - 1);
  assert.ok(skip.segments.at(-1).to[0] < n.search.x - n.search.w / 2, 'arrow ends before the callee');
});

test('crossing reduction untangles a ladder given in the worst order', () => {
  // a→z, b→y, c→x given so the initial order crosses every pair; sweeps find the planar order.
  const g = layoutGraph(['a', 'b', 'c', 'x', 'y', 'z'], [{ from: 'a', to: 'z' }, { from: 'b', to: 'y' }, { from: 'c', to: 'x' }, { from: 'a', to: 'y' }]);
  assert.equal(g.crossings, 0);
  const n = byId(g);
  assert.ok(Math.sign(n.a.y - n.b.y) === Math.sign(n.z.y - n.y.y) && Math.sign(n.b.y - n.c.y) === Math.sign(n.y.y - n.x.y));
  assert.equal(countCrossings([[0, 1], [1, 0]]), 1);
  assert.equal(countCrossings([[0, 0], [1, 1], [1, 2]]), 0);
});
