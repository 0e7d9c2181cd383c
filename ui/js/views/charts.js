// SVG charts: the search scatter plot (trace duration against start time) and the quantile
// line charts of the services page. Drawn at the container's pixel size and redrawn when it
// changes; labels and tooltips are text nodes.

import { svg } from '../dom.js';
import { niceStep } from '../model/layout.js';
import { formatClock } from '../model/format.js';

/** Calls draw(width, height) now and whenever `container` is resized; returns a disconnect. */
export function autoSize(container, draw) {
  let last = '';
  const run = () => {
    const w = container.clientWidth;
    const hgt = container.clientHeight;
    const key = `${w}x${hgt}`;
    if (!w || !hgt || key === last) return;
    last = key;
    draw(w, hgt);
  };
  const ro = new ResizeObserver(run);
  ro.observe(container);
  run();
  return () => ro.disconnect();
}

/** Ticks from 0 to the first step at or above `max` (so every value is on the chart). */
export function valueTicks(max, count = 4) {
  const step = niceStep((max > 0 ? max : 1) / count);
  const ticks = [0];
  for (let k = 1; ticks.length < 2 || ticks.at(-1) < max; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** Ticks for an epoch-ms time range: about `count` at a round clock step. */
export function timeTicks(t0, t1, count = 5) {
  const steps = [1e3, 5e3, 15e3, 30e3, 60e3, 300e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3];
  const span = Math.max(1, t1 - t0);
  const step = steps.find((s) => span / s <= count) ?? 86400e3;
  const ticks = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  return { ticks, withSeconds: step < 60e3 };
}

const M = { left: 62, right: 14, top: 10, bottom: 22 };

function axes(g, w, hgt, yTicks, yLabel, xTicks, xLabel, yMax, x0, x1) {
  const plotW = w - M.left - M.right;
  const plotH = hgt - M.top - M.bottom;
  for (const v of yTicks) {
    const y = M.top + plotH - (v / yMax) * plotH;
    g.append(svg('line', { class: 'gridline', x1: M.left, x2: w - M.right, y1: y, y2: y }));
    g.append(svg('text', { class: 'axis', x: M.left - 6, y: y + 3, 'text-anchor': 'end' }, yLabel(v)));
  }
  for (const t of xTicks) {
    const x = M.left + ((t - x0) / Math.max(1, x1 - x0)) * plotW;
    g.append(svg('text', { class: 'axis', x, y: hgt - 6, 'text-anchor': 'middle' }, xLabel(t)));
  }
  return { plotW, plotH };
}

/**
 * Scatter plot: points {t (epoch ms), y (duration ns), size (span count), err, label, id};
 * `onPick(point)` on click. `yFormat` formats durations.
 */
export function scatterPlot(w, hgt, points, { onPick, yFormat }) {
  const root = svg('svg', { viewBox: `0 0 ${w} ${hgt}`, role: 'img', 'aria-label': 'Trace durations over time' });
  if (!points.length) return root;
  let t0 = Math.min(...points.map((p) => p.t));
  let t1 = Math.max(...points.map((p) => p.t));
  if (t1 - t0 < 1000) {
    t0 -= 500;
    t1 += 500;
  }
  const pad = (t1 - t0) * 0.03;
  t0 -= pad;
  t1 += pad;
  const yTicks = valueTicks(Math.max(...points.map((p) => p.y)) * 1.08);
  const yMax = yTicks.at(-1);
  const { ticks, withSeconds } = timeTicks(t0, t1);
  const { plotW, plotH } = axes(root, w, hgt, yTicks, yFormat, ticks, (t) => formatClock(t, withSeconds), yMax, t0, t1);
  const maxSize = Math.max(...points.map((p) => p.size));
  for (const p of points) {
    const cx = M.left + ((p.t - t0) / (t1 - t0)) * plotW;
    const cy = M.top + plotH - (p.y / yMax) * plotH;
    const r = 3.5 + 6 * Math.sqrt(p.size / Math.max(1, maxSize));
    const dot = svg('circle', { cx: cx.toFixed(1), cy: cy.toFixed(1), r: r.toFixed(1), class: p.err ? 'err' : '', tabindex: '0', role: 'link', 'data-trace': p.id }, svg('title', {}, p.label));
    dot.addEventListener('click', () => onPick(p));
    dot.addEventListener('keydown', (e) => e.key === 'Enter' && onPick(p));
    root.append(dot);
  }
  return root;
}

/**
 * Line chart of quantile series: `points` [{t (epoch ms), values: {key: number|null}}], one
 * path per key in `series` ([key, cssClass]); gaps where a value is null.
 */
export function lineChart(w, hgt, points, series, { yFormat }) {
  const root = svg('svg', { viewBox: `0 0 ${w} ${hgt}`, role: 'img', 'aria-label': 'Latency quantiles over time' });
  if (!points.length) return root;
  const t0 = points[0].t;
  const t1 = Math.max(points.at(-1).t, t0 + 1);
  let max = 0;
  for (const p of points) for (const [key] of series) if (p.values[key] > max) max = p.values[key];
  const yTicks = valueTicks(max * 1.1 || 1, 3);
  const yMax = yTicks.at(-1);
  const { ticks, withSeconds } = timeTicks(t0, t1, 4);
  const { plotW, plotH } = axes(root, w, hgt, yTicks, yFormat, ticks, (t) => formatClock(t, withSeconds), yMax, t0, t1);
  for (const [key, cls] of series) {
    let d = '';
    const value = (k) => points[k]?.values[key] ?? null;
    for (let k = 0; k < points.length; k++) {
      const v = value(k);
      if (v === null) continue;
      const x = M.left + ((points[k].t - t0) / (t1 - t0)) * plotW;
      const y = M.top + plotH - (v / yMax) * plotH;
      const joined = value(k - 1) !== null;
      d += `${joined ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
      // A point with no neighbour would be invisible as a line: mark it with a dot.
      if (!joined && value(k + 1) === null) root.append(svg('circle', { class: cls, cx: x.toFixed(1), cy: y.toFixed(1), r: '2.2' }));
    }
    root.append(svg('path', { class: cls, d }));
  }
  return root;
}
