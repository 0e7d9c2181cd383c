import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildTree, visibleRows, newCollapsed, collapseAll, expandAll, expandToDepth, expandAncestors, rowOf, selfTime,
  hasChildren, childrenOf, pathTo,
} from '../js/model/tree.js';
import { treeOf, idx, names } from './helpers.mjs';

const rows = [
  ['root', null, 0, 100],
  ['b', 'root', 30, 60],
  ['a', 'root', 10, 50],
  ['a1', 'a', 12, 20],
  ['a2', 'a', 25, 45],
  ['b1', 'b', 31, 40],
];

test('nests spans and orders siblings by start time', () => {
  const { trace, tree } = treeOf(rows);
  assert.deepEqual(names(trace, tree.order), ['root', 'a', 'a1', 'a2', 'b', 'b1']);
  assert.deepEqual(names(trace, tree.roots), ['root']);
  assert.deepEqual(names(trace, childrenOf(tree, idx(trace, 'root'))), ['a', 'b']);
  assert.equal(tree.depth[idx(trace, 'a2')], 2);
  assert.equal(tree.maxDepth, 2);
  assert.equal(tree.size[idx(trace, 'root')], 6);
  assert.equal(tree.size[idx(trace, 'a')], 3);
  assert.ok(hasChildren(tree, idx(trace, 'b')));
  assert.ok(!hasChildren(tree, idx(trace, 'b1')));
  assert.deepEqual(names(trace, pathTo(tree, idx(trace, 'a2'))), ['root', 'a', 'a2']);
  assert.deepEqual(tree.warnings, []);
});

test('equal start times are ordered by span id, independent of arrival order', () => {
  const forward = treeOf([['p', null, 0, 10], ['x', 'p', 1, 2], ['c', 'p', 1, 3], ['m', 'p', 1, 4]]);
  const backward = treeOf([['m', 'p', 1, 4], ['c', 'p', 1, 3], ['x', 'p', 1, 2], ['p', null, 0, 10]]);
  assert.deepEqual(names(forward.trace, forward.tree.order), ['p', 'c', 'm', 'x']);
  assert.deepEqual(names(backward.trace, backward.tree.order), ['p', 'c', 'm', 'x']);
});

test('a child starting before its parent (clock skew) keeps its place under the parent', () => {
  const { trace, tree } = treeOf([['p', null, 10, 20], ['early', 'p', 5, 12], ['q', null, 0, 30]]);
  assert.deepEqual(names(trace, tree.order), ['q', 'p', 'early']);
  assert.equal(tree.depth[idx(trace, 'early')], 1);
});

test('orphans become top-level rows in start order', () => {
  const { trace, tree } = treeOf([['root', null, 5, 100], ['lost', 'missing', 0, 10], ['late', 'gone', 50, 60], ['c', 'root', 6, 7]]);
  assert.deepEqual(names(trace, tree.roots), ['lost', 'root', 'late']);
  assert.deepEqual(names(trace, tree.order), ['lost', 'root', 'c', 'late']);
  assert.equal(tree.orphan[idx(trace, 'lost')], 1);
  assert.equal(tree.orphan[idx(trace, 'root')], 0);
  assert.match(tree.warnings[0], /2 spans whose parent is not in the trace/);
});

test('parent cycles are broken and every span still appears once', () => {
  const { trace, tree } = treeOf([['a', 'c', 0, 10], ['b', 'a', 1, 9], ['c', 'b', 2, 8], ['self', 'self', 3, 4], ['d', 'b', 5, 6]]);
  const order = names(trace, tree.order);
  assert.equal(order.length, 5);
  assert.equal(new Set(order).size, 5);
  assert.equal(tree.roots.length, 2, 'one span of the cycle and the self-parented span are top-level');
  assert.ok(tree.orphan[idx(trace, 'self')]);
  assert.ok(tree.warnings.some((w) => /cycle/.test(w)));
  for (const i of tree.order) if (tree.parent[i] !== -1) assert.equal(tree.depth[i], tree.depth[tree.parent[i]] + 1);
});

test('duplicate span ids: children attach to the first, both spans are shown', () => {
  const { trace } = treeOf([['p', null, 0, 10], ['c', 'p', 1, 2]]);
  const dup = { ...trace.spans[0], index: 2, name: 'p-again', start: 3, end: 4 };
  const tree = buildTree([...trace.spans, dup]);
  assert.equal(tree.n, 3);
  assert.deepEqual(names({ spans: tree.spans }, tree.order), ['p', 'c', 'p-again']);
  assert.match(tree.warnings[0], /duplicate/);
});

test('collapsing hides descendants; visible rows are pre-order', () => {
  const { trace, tree } = treeOf(rows);
  const collapsed = newCollapsed(tree);
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['root', 'a', 'a1', 'a2', 'b', 'b1']);
  collapsed[idx(trace, 'a')] = 1;
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['root', 'a', 'b', 'b1']);
  collapseAll(tree, collapsed);
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['root']);
  expandToDepth(tree, collapsed, 1);
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['root', 'a', 'b']);
  expandToDepth(tree, collapsed, 0);
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['root']);
  assert.ok(expandAncestors(tree, collapsed, idx(trace, 'b1')));
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['root', 'a', 'b', 'b1']);
  assert.equal(expandAncestors(tree, collapsed, idx(trace, 'b1')), false);
  expandAll(tree, collapsed);
  const visible = visibleRows(tree, collapsed);
  assert.equal(visible.length, 6);
  assert.equal(rowOf(tree, visible, idx(trace, 'b')), 4);
  collapsed[idx(trace, 'a')] = 1;
  assert.equal(rowOf(tree, visibleRows(tree, collapsed), idx(trace, 'a2')), -1);
});

test('self time subtracts the union of children clipped to the span', () => {
  const { trace, tree } = treeOf([
    ['p', null, 0, 100],
    ['x', 'p', 10, 40],
    ['y', 'p', 30, 50], // overlaps x: 10..50 covered once
    ['z', 'p', 90, 130], // overruns p: only 90..100 counts
    ['w', 'p', -5, 5], // starts before p: 0..5 counts
  ]);
  const ms = 1e6;
  assert.equal(selfTime(tree, idx(trace, 'p')), (100 - 40 - 10 - 5) * ms);
  assert.equal(selfTime(tree, idx(trace, 'x')), 30 * ms);
});

test('100,000 spans in one chain and one fan-out build without recursion and fast', () => {
  const n = 100_000;
  const chain = [];
  for (let i = 0; i < n; i++) chain.push({ spanId: `c${i}`, parentId: i ? `c${i - 1}` : '', start: i, end: 2 * n - i, duration: 2 * n - 2 * i, name: '' });
  const t0 = performance.now();
  const deep = buildTree(chain);
  assert.equal(deep.maxDepth, n - 1);
  const collapsed = newCollapsed(deep);
  assert.equal(visibleRows(deep, collapsed).length, n);
  collapsed[0] = 1;
  assert.equal(visibleRows(deep, collapsed).length, 1);
  const fan = [{ spanId: 'r', parentId: '', start: 0, end: n, name: '' }];
  for (let i = 1; i < n; i++) fan.push({ spanId: `f${i}`, parentId: 'r', start: n - i, end: n, name: '' });
  const wide = buildTree(fan);
  assert.equal(wide.spans[wide.order[1]].spanId, `f${n - 1}`);
  assert.ok(performance.now() - t0 < 3000, 'builds in well under a few seconds');
});
