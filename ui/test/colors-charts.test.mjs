import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignColors, colorIndex, PALETTE_SIZE } from '../js/model/colors.js';
import { valueTicks, timeTicks } from '../js/views/charts.js';

test('service colours are stable and distinct within a set while the palette lasts', () => {
  assert.equal(colorIndex('cart'), colorIndex('cart'));
  const names = Array.from({ length: PALETTE_SIZE }, (_, i) => `svc-${i}`);
  const colors = assignColors(names);
  assert.equal(new Set(colors.values()).size, PALETTE_SIZE);
  assert.deepEqual(assignColors([...names].reverse()), colors, 'independent of order');
  const many = assignColors(Array.from({ length: 30 }, (_, i) => `s${i}`));
  for (const c of many.values()) assert.ok(c >= 0 && c < PALETTE_SIZE);
});

test('chart value ticks start at zero and cover the maximum', () => {
  assert.deepEqual(valueTicks(95, 4), [0, 50, 100]);
  assert.deepEqual(valueTicks(0.8, 4), [0, 0.2, 0.4, 0.6, 0.8]);
  assert.deepEqual(valueTicks(0, 4), [0, 0.5], 'an empty chart still has a scale');
  // A maximum just above a step gets one more tick rather than being drawn off the chart.
  assert.deepEqual(valueTicks(0.63, 3), [0, 0.5, 1]);
  assert.deepEqual(valueTicks(77, 3), [0, 50, 100]);
  for (const max of [0.001, 3.3, 17, 999, 12345]) assert.ok(valueTicks(max, 4).at(-1) >= max);
});

test('time ticks fall on round clock steps', () => {
  const t0 = Date.UTC(2026, 0, 1, 10, 0, 7);
  const { ticks, withSeconds } = timeTicks(t0, t0 + 3600e3, 5);
  assert.equal(withSeconds, false);
  assert.ok(ticks.length >= 3 && ticks.length <= 5);
  for (const t of ticks) assert.equal(t % 900e3, 0);
  assert.equal(timeTicks(t0, t0 + 20e3, 5).withSeconds, true);
});
