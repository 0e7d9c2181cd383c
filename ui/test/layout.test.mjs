import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceStep, rulerTicks, clampWindow, zoomWindow, panWindow, barPlacement, fractionOf } from '../js/model/layout.js';

test('nice steps are 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(0.7), 1);
  assert.equal(niceStep(1.3), 2);
  assert.equal(niceStep(3), 5);
  assert.equal(niceStep(7), 10);
  assert.equal(niceStep(2300), 5000);
  assert.equal(niceStep(2e6), 2e6);
});

test('ruler ticks are evenly spaced, inside the window and labelled in nice units', () => {
  const ticks = rulerTicks([0, 10e6], 1000, 100);
  assert.deepEqual(ticks.map((t) => t.label), ['0', '1ms', '2ms', '3ms', '4ms', '5ms', '6ms', '7ms', '8ms', '9ms', '10ms']);
  assert.equal(ticks[5].fraction, 0.5);
  const zoomed = rulerTicks([1.23e6, 1.31e6], 800, 100);
  for (const t of zoomed) assert.ok(t.t >= 1.23e6 && t.t <= 1.31e6);
  assert.deepEqual(zoomed.map((t) => t.label).slice(0, 3), ['1.23ms', '1.24ms', '1.25ms']);
  assert.ok(zoomed.length <= 9);
  const sub = rulerTicks([0, 0.3e3], 600, 100);
  assert.deepEqual(sub.map((t) => t.label), ['0', '50ns', '100ns', '150ns', '200ns', '250ns', '300ns']);
});

test('windows stay inside the trace and keep a minimum width', () => {
  const k = 1e3; // windows in ns; the minimum width is 1 µs
  assert.deepEqual(clampWindow(-10 * k, 50 * k, 100 * k), [0, 60 * k]);
  assert.deepEqual(clampWindow(80 * k, 150 * k, 100 * k), [30 * k, 100 * k]);
  assert.deepEqual(clampWindow(10, 20, 100), [0, 100]);
  const [a, b] = clampWindow(5e9, 5e9, 10e9);
  assert.ok(b - a >= 99_999 && b - a <= 100_001);
  assert.deepEqual(zoomWindow([0, 100 * k], 0.5, 0.5, 100 * k), [25 * k, 75 * k]);
  assert.deepEqual(zoomWindow([0, 100 * k], 0.5, 0, 100 * k), [0, 50 * k]);
  assert.deepEqual(zoomWindow([25 * k, 75 * k], 4, 0.5, 100 * k), [0, 100 * k]);
  assert.deepEqual(panWindow([20, 40], 70, 100), [80, 100]);
  assert.deepEqual(panWindow([20, 40], -70, 100), [0, 20]);
});

test('bars are placed by start and duration and clipped to the window', () => {
  assert.equal(fractionOf(25, [0, 100]), 0.25);
  assert.deepEqual(barPlacement(25, 50, [0, 100]), { left: 0.25, width: 0.25, outside: false, cutLeft: false, cutRight: false });
  const cut = barPlacement(40, 120, [50, 100]);
  assert.equal(cut.left, 0);
  assert.equal(cut.width, 1);
  assert.ok(cut.cutLeft && cut.cutRight);
  assert.equal(barPlacement(0, 10, [50, 100]).outside, true);
});
