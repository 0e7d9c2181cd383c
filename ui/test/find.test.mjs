import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findMatches, stepMatch, revealMatch, matchSet } from '../js/model/find.js';
import { newCollapsed, collapseAll, visibleRows } from '../js/model/tree.js';
import { treeOf, idx, names } from './helpers.mjs';

const rows = [
  ['GET /cart', null, 0, 100, { service: 'web' }],
  ['load cart', 'GET /cart', 10, 50, { service: 'cart', attributes: [{ key: 'cart.id', value: { stringValue: 'C-42' } }] }],
  ['SELECT', 'load cart', 12, 40, { service: 'db', attributes: [{ key: 'db.statement', value: { stringValue: 'select * from carts' } }], events: [{ timeUnixNano: '0', name: 'slow query' }] }],
  ['render', 'GET /cart', 60, 90, { service: 'web', status: { code: 2, message: 'template missing' } }],
];

test('matches name, service, attribute keys and values, events and status, case-insensitively', () => {
  const { trace, tree } = treeOf(rows);
  assert.deepEqual(names(trace, findMatches(tree, 'CART')), ['GET /cart', 'load cart', 'SELECT']);
  assert.deepEqual(names(trace, findMatches(tree, 'db')), ['SELECT']);
  assert.deepEqual(names(trace, findMatches(tree, 'c-42')), ['load cart']);
  assert.deepEqual(names(trace, findMatches(tree, 'db.statement')), ['SELECT']);
  assert.deepEqual(names(trace, findMatches(tree, 'slow')), ['SELECT']);
  assert.deepEqual(names(trace, findMatches(tree, 'template')), ['render']);
  assert.deepEqual(names(trace, findMatches(tree, trace.spans[idx(trace, 'render')].spanId)), ['render']);
  assert.equal(findMatches(tree, '  ').length, 0);
  assert.equal(findMatches(tree, 'nothing-like-this').length, 0);
});

test('key=value matches one attribute by key and value', () => {
  const { trace, tree } = treeOf(rows);
  assert.deepEqual(names(trace, findMatches(tree, 'cart.id=C-4')), ['load cart']);
  assert.deepEqual(names(trace, findMatches(tree, 'service.name=db')), ['SELECT'], 'resource attributes too');
  assert.equal(findMatches(tree, 'cart.id=zzz').length, 0);
});

test('stepping wraps around in both directions', () => {
  const m = Int32Array.from([5, 7, 9]);
  assert.equal(stepMatch(m, -1, 1), 0);
  assert.equal(stepMatch(m, -1, -1), 2);
  assert.equal(stepMatch(m, 2, 1), 0);
  assert.equal(stepMatch(m, 0, -1), 2);
  assert.equal(stepMatch(new Int32Array(0), -1, 1), -1);
});

test('revealing a match expands its collapsed ancestors', () => {
  const { trace, tree } = treeOf(rows);
  const collapsed = newCollapsed(tree);
  collapseAll(tree, collapsed);
  const hit = findMatches(tree, 'select')[0];
  assert.ok(revealMatch(tree, collapsed, hit));
  assert.deepEqual(names(trace, visibleRows(tree, collapsed)), ['GET /cart', 'load cart', 'SELECT', 'render']);
  assert.equal(matchSet(tree, [hit])[hit], 1);
});
