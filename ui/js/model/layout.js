// Geometry of the waterfall's time axis: the zoom window (a part of [0, trace duration]), the
// time → fraction scale, bar placement, and ruler ticks at "nice" steps (1, 2, 5 × 10^k ns)
// labelled in the unit that reads best. Pure numbers: the views turn fractions into pixels.

import { formatDuration } from './format.js';

/** The smallest window the zoom allows, as a fraction of the trace (and at least 1 µs). */
export const MIN_WINDOW_FRACTION = 1e-5;

/** A window [start, end] within [0, total], at least the minimum width, moved inside if needed. */
export function clampWindow(start, end, total) {
  if (!(total > 0)) return [0, 0];
  const minWidth = Math.max(total * MIN_WINDOW_FRACTION, Math.min(total, 1e3));
  let width = Math.min(total, Math.max(minWidth, end - start));
  let s = Math.min(Math.max(0, start), total - width);
  if (!(width > 0)) width = total;
  if (!(s >= 0)) s = 0;
  return [s, s + width];
}

/** Zooms a window by `factor` (< 1 zooms in) keeping the time under `anchor` (0..1) in place. */
export function zoomWindow([start, end], factor, anchor, total) {
  const width = end - start;
  const at = start + width * anchor;
  const next = width * factor;
  return clampWindow(at - next * anchor, at - next * anchor + next, total);
}

/** Moves a window by `delta` ns, keeping its width. */
export function panWindow([start, end], delta, total) {
  const width = end - start;
  const s = Math.min(Math.max(0, start + delta), Math.max(0, total - width));
  return [s, s + width];
}

/** Fraction (0..1 inside the window) of time `t`. */
export function fractionOf(t, [start, end]) {
  const width = end - start;
  return width > 0 ? (t - start) / width : 0;
}

/**
 * Where a bar for [s, e] sits in the window, as fractions: `left` and `width` clipped to
 * [0, 1], and whether it is cut on either side or entirely outside.
 */
export function barPlacement(s, e, win) {
  const a = fractionOf(s, win);
  const b = fractionOf(e, win);
  const left = Math.min(1, Math.max(0, a));
  const right = Math.min(1, Math.max(0, b));
  return { left, width: Math.max(0, right - left), outside: b < 0 || a > 1, cutLeft: a < 0, cutRight: b > 1 };
}

/** The nice step (1, 2 or 5 × 10^k) nearest above `raw`. */
export function niceStep(raw) {
  if (!(raw > 0)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const base = 10 ** exp;
  const m = raw / base;
  const nice = m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10;
  return nice * base;
}

/**
 * Ruler ticks for a window drawn `widthPx` wide, at least `minSpacingPx` apart:
 * [{t, fraction, label}], first tick at or after the window start.
 */
export function rulerTicks(win, widthPx, minSpacingPx = 90) {
  const [start, end] = win;
  const width = end - start;
  if (!(width > 0) || !(widthPx > 0)) return [{ t: start, fraction: 0, label: formatDuration(start) }];
  const maxTicks = Math.max(1, Math.floor(widthPx / minSpacingPx));
  const step = niceStep(width / maxTicks);
  const ticks = [];
  const first = Math.ceil(start / step - 1e-9) * step;
  for (let i = 0; i <= maxTicks + 1; i++) {
    // Multiply rather than accumulate so labels stay exact (no 0.30000000000000004).
    const t = first + i * step;
    if (t > end + step * 1e-9) break;
    ticks.push({ t, fraction: (t - start) / width, label: t === 0 ? '0' : formatDuration(Number(t.toPrecision(12))) });
  }
  return ticks;
}
