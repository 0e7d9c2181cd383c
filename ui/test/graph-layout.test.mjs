import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutGraph } from '../js/model/graph-layout.js';

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
