import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatDuration, formatMillis, formatPercent, formatRate, formatCount, toGoDuration, parseGoDuration, formatAgo,
  formatTimestamp,
} from '../js/model/format.js';

test('durations pick the unit and keep three significant figures', () => {
  assert.equal(formatDuration(0), '0ns');
  assert.equal(formatDuration(850), '850ns');
  assert.equal(formatDuration(1000), '1µs');
  assert.equal(formatDuration(12_500), '12.5µs');
  assert.equal(formatDuration(3_271_000), '3.27ms');
  assert.equal(formatDuration(250_000_000), '250ms');
  assert.equal(formatDuration(1_500_000_000), '1.5s');
  assert.equal(formatDuration(125e9), '2m 5s');
  assert.equal(formatDuration(3720e9), '1h 2m');
  assert.equal(formatDuration(-2e6), '-2ms');
  assert.equal(formatDuration(NaN), '–');
});

test('rounding up to the next unit shows the next unit', () => {
  assert.equal(formatDuration(999_700), '1ms');
  assert.equal(formatDuration(999_990_000), '1s');
});

test('statistics figures', () => {
  assert.equal(formatMillis(12.5), '12.5ms');
  assert.equal(formatMillis(null), '–');
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatPercent(0.5), '50%');
  assert.equal(formatPercent(0.01234), '1.23%');
  assert.equal(formatPercent(0.00000001), '<0.01%');
  assert.equal(formatRate(12.345), '12.3/s');
  assert.equal(formatRate(0.5), '0.5/s');
  assert.equal(formatRate(0.001), '0.06/min');
  assert.equal(formatCount(100000), '100,000');
});

test('Go durations round-trip', () => {
  assert.equal(toGoDuration(100e6), '100ms');
  assert.equal(toGoDuration(1.5e9), '1.5s');
  assert.equal(toGoDuration(2e9), '2s');
  assert.equal(toGoDuration(250e3), '250us');
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(parseGoDuration('1.5s'), 1.5e9);
  assert.equal(parseGoDuration('250us'), 250e3);
  assert.equal(parseGoDuration('250µs'), 250e3);
  assert.equal(parseGoDuration('2d'), 172800e9);
  assert.equal(parseGoDuration('100'), null);
  assert.equal(parseGoDuration('1x'), null);
  assert.equal(parseGoDuration(''), null);
  for (const ns of [1e3, 5e6, 12.5e6, 3e9, 1.25e9]) assert.equal(parseGoDuration(toGoDuration(ns)), ns);
});

test('relative and absolute times', () => {
  const now = 1_700_000_000_000;
  assert.equal(formatAgo(now - 500, now), 'just now');
  assert.equal(formatAgo(now - 30_000, now), '30s ago');
  assert.equal(formatAgo(now - 5 * 60_000, now), '5m ago');
  assert.equal(formatAgo(now - 3 * 3600_000, now), '3h ago');
  assert.equal(formatAgo(now - 72 * 3600_000, now), '3d ago');
  assert.match(formatTimestamp(now), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000$/);
});
