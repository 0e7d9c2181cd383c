import { test } from 'node:test';
import assert from 'node:assert/strict';
import { criticalPath, mainRoot } from '../js/model/critical-path.js';
import { buildTree } from '../js/model/tree.js';
import { treeOf, idx } from './helpers.mjs';

const ms = 1e6;
// Segments as [name, startMs, endMs].
function path(rows) {
  const { trace, tree } = treeOf(rows);
  const cp = criticalPath(tree);
  return { trace, cp, segs: cp.segments.map((s) => [trace.spans[s.span].name, s.start / ms, s.end / ms]) };
}

test('a lone span is its own critical path', () => {
  assert.deepEqual(path([['r', null, 0, 10]]).segs, [['r', 0, 10]]);
});

test('sequential children are both critical, gaps belong to the parent', () => {
  const { segs } = path([['p', null, 0, 100], ['a', 'p', 10, 40], ['b', 'p', 40, 90]]);
  assert.deepEqual(segs, [['p', 0, 10], ['a', 10, 40], ['b', 40, 90], ['p', 90, 100]]);
});

test('of parallel children the last to finish is critical, then the walk continues from its start', () => {
  const { segs, cp, trace } = path([['p', null, 0, 100], ['a', 'p', 0, 80], ['b', 'p', 10, 90], ['c', 'p', 20, 30]]);
  assert.deepEqual(segs, [['p', 0, 10], ['b', 10, 90], ['p', 90, 100]]);
  assert.equal(cp.onPath[idx(trace, 'a')], 0);
  assert.equal(cp.onPath[idx(trace, 'c')], 0, 'c ends after the cursor (b starts at 10): ignored');
});

test('a child that ends before the cursor is entered after the later one', () => {
  const { segs } = path([['p', null, 0, 100], ['a', 'p', 5, 20], ['b', 'p', 30, 90]]);
  assert.deepEqual(segs, [['p', 0, 5], ['a', 5, 20], ['p', 20, 30], ['b', 30, 90], ['p', 90, 100]]);
});

test('nested: the path descends into grandchildren', () => {
  const { segs } = path([['p', null, 0, 100], ['a', 'p', 10, 90], ['a1', 'a', 20, 50], ['a2', 'a', 55, 80]]);
  assert.deepEqual(segs, [
    ['p', 0, 10], ['a', 10, 20], ['a1', 20, 50], ['a', 50, 55], ['a2', 55, 80], ['a', 80, 90], ['p', 90, 100],
  ]);
});

test('a child overrunning its parent is clipped to the parent end', () => {
  const { segs, cp, trace } = path([['p', null, 0, 100], ['a', 'p', 60, 150], ['a1', 'a', 70, 140]]);
  assert.deepEqual(segs, [['p', 0, 60], ['a', 60, 70], ['a1', 70, 100]]);
  assert.deepEqual(cp.bySpan.get(idx(trace, 'a1')), [{ span: idx(trace, 'a1'), start: 70 * ms, end: 100 * ms }]);
});

test('a child starting before its parent is clipped to the parent start', () => {
  const { segs } = path([['p', null, 10, 100], ['a', 'p', 0, 50]]);
  assert.deepEqual(segs, [['a', 10, 50], ['p', 50, 100]]);
});

test('a child starting after its parent ended is left out', () => {
  const { segs } = path([['p', null, 0, 100], ['a', 'p', 10, 20], ['late', 'p', 120, 200]]);
  assert.deepEqual(segs, [['p', 0, 10], ['a', 10, 20], ['p', 20, 100]]);
});

test('FOLLOWS_FROM children do not block the parent, even when they end after it', () => {
  const { trace, tree } = treeOf([['p', null, 0, 100], ['sync', 'p', 10, 30], ['async', 'p', 20, 300]]);
  trace.spans[idx(trace, 'async')].refType = 'FOLLOWS_FROM';
  const cp = criticalPath(tree);
  const segs = cp.segments.map((s) => [trace.spans[s.span].name, s.start / ms, s.end / ms]);
  assert.deepEqual(segs, [['p', 0, 10], ['sync', 10, 30], ['p', 30, 100]]);
  assert.equal(cp.onPath[idx(trace, 'async')], 0);
});

test('zero-length children terminate and segments cover the root exactly once', () => {
  const { segs } = path([['p', null, 0, 50], ['z1', 'p', 20, 20], ['z2', 'p', 20, 20], ['a', 'p', 0, 20]]);
  const total = segs.reduce((sum, [, a, b]) => sum + (b - a), 0);
  assert.equal(total, 50);
  for (let k = 1; k < segs.length; k++) assert.equal(segs[k][1], segs[k - 1][2], 'contiguous');
});

test('the root is the first real root, not an orphan', () => {
  const { trace, tree } = treeOf([['orphan', 'missing', 0, 5], ['r', null, 1, 10]]);
  assert.equal(mainRoot(tree), idx(trace, 'r'));
  assert.deepEqual(criticalPath(buildTree([])).segments, []);
});

test('a deep chain of 100,000 spans is walked without recursion', () => {
  const n = 100_000;
  const spans = [];
  for (let i = 0; i < n; i++) spans.push({ spanId: `s${i}`, parentId: i ? `s${i - 1}` : '', start: i, end: 2 * n - i, duration: 2 * n - 2 * i, name: '', refType: i ? 'CHILD_OF' : '' });
  const cp = criticalPath(buildTree(spans));
  assert.equal(cp.segments.length, 2 * n - 1);
  assert.equal(cp.segments[0].start, 0);
  assert.equal(cp.segments.at(-1).end, 2 * n);
});

test('from Jaeger JSON: a FOLLOWS_FROM child that outlives its parent is not critical', async () => {
  const { parseJaeger } = await import('../js/model/trace.js');
  const span = (id, start, duration, refs = []) => ({ traceID: 't1', spanID: id, operationName: id, startTime: start, duration, references: refs, processID: 'p', tags: [], logs: [] });
  const trace = parseJaeger({ data: [{ traceID: 't1', processes: { p: { serviceName: 's', tags: [] } }, spans: [
    span('a', 1000, 100),
    span('b', 1010, 30, [{ refType: 'CHILD_OF', traceID: 't1', spanID: 'a' }]),
    span('q', 1050, 500, [{ refType: 'FOLLOWS_FROM', traceID: 't1', spanID: 'a' }]),
  ] }] });
  const tree = buildTree(trace.spans);
  const cp = criticalPath(tree);
  assert.deepEqual(cp.segments.map((s) => [trace.spans[s.span].name, s.start / 1e3, s.end / 1e3]), [['a', 0, 10], ['b', 10, 40], ['a', 40, 100]]);
  assert.equal(tree.depth[2], 1, 'the async span is still shown under its parent');
});
