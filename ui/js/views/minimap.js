// The trace overview: every span drawn on a canvas (rows compressed to its height, time to its
// width) and a viewport box over the time window the waterfall shows. Drag the box to pan, its
// edges to resize, drag elsewhere (or Shift-drag) to pick a new window, double-click to reset. The
// window is reported through `onWindow([start, end])`; zoom lives in the trace view's state.

import { h } from '../dom.js';
import { clampWindow, panWindow } from '../model/layout.js';
import { PALETTE_SIZE } from '../model/colors.js';

/** Creates the minimap for `state` ({tree, colorOf, window, trace}). */
export function createMinimap(state, onWindow) {
  const canvas = h('canvas', { 'aria-hidden': 'true' });
  const shadeL = h('div', { class: 'shade' });
  const shadeR = h('div', { class: 'shade' });
  const handleL = h('div', { class: 'handle l', title: 'Drag to change the start of the window' });
  const handleR = h('div', { class: 'handle r', title: 'Drag to change the end of the window' });
  const box = h('div', { class: 'window', title: 'Drag to pan; double-click to show the whole trace' }, handleL, handleR);
  const el = h('div', { class: 'minimap', role: 'slider', 'aria-label': 'Time window', tabindex: '-1' }, canvas, shadeL, shadeR, box);
  const total = () => state.trace.duration;
  let drawn = false;

  function draw() {
    const width = el.clientWidth;
    const height = el.clientHeight;
    if (!width || !height) return;
    const ratio = Math.min(2, window.devicePixelRatio || 1);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const { tree, colorOf } = state;
    const n = tree.n;
    const dur = total() || 1;
    const css = getComputedStyle(document.documentElement);
    const colors = Array.from({ length: PALETTE_SIZE }, (_, c) => css.getPropertyValue(`--c${c}`).trim() || '#888');
    const rowH = Math.max(1, (height - 4) / Math.max(1, n));
    const pad = 2;
    // Grouped by colour: one fillStyle change per service instead of per span.
    const byColor = Array.from({ length: PALETTE_SIZE }, () => []);
    for (let p = 0; p < n; p++) byColor[colorOf[tree.order[p]]].push(p);
    const scaleX = width / dur;
    const scaleY = (height - pad * 2) / Math.max(1, n);
    for (let c = 0; c < PALETTE_SIZE; c++) {
      const list = byColor[c];
      if (!list.length) continue;
      ctx.fillStyle = colors[c];
      for (const p of list) {
        const s = tree.spans[tree.order[p]];
        ctx.fillRect(s.start * scaleX, pad + p * scaleY, Math.max(1, s.duration * scaleX), Math.min(rowH, 6));
      }
    }
    drawn = true;
  }

  function place() {
    const dur = total() || 1;
    const [a, b] = state.window;
    const left = (a / dur) * 100;
    const right = (b / dur) * 100;
    box.style.left = `${left}%`;
    box.style.width = `${Math.max(0, right - left)}%`;
    shadeL.style.left = '0';
    shadeL.style.width = `${left}%`;
    shadeR.style.left = `${right}%`;
    shadeR.style.right = '0';
    el.setAttribute('aria-valuetext', `${a} to ${b} ns`);
  }

  // One pointer gesture at a time: pan (box), resize (handles) or select (empty area).
  let drag = null;
  const timeAt = (clientX) => {
    const rect = el.getBoundingClientRect();
    return (Math.min(Math.max(0, clientX - rect.left), rect.width) / Math.max(1, rect.width)) * total();
  };
  el.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    el.setPointerCapture(e.pointerId);
    const t = timeAt(e.clientX);
    // Inside the box it pans, unless the box is the whole trace (nothing to pan) or Shift is
    // held: then, as outside it, a drag selects a new window.
    const whole = state.window[1] - state.window[0] >= total() * 0.99;
    const mode = e.target === handleL ? 'left' : e.target === handleR ? 'right' : e.target === box && !whole && !e.shiftKey ? 'pan' : 'select';
    drag = { mode, t0: t, window: [...state.window], moved: false };
  });
  el.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const t = timeAt(e.clientX);
    const dur = total();
    drag.moved = drag.moved || Math.abs(t - drag.t0) > dur * 0.002;
    let next;
    if (drag.mode === 'pan') next = panWindow(drag.window, t - drag.t0, dur);
    else if (drag.mode === 'left') next = clampWindow(Math.min(t, drag.window[1]), drag.window[1], dur);
    else if (drag.mode === 'right') next = clampWindow(drag.window[0], Math.max(t, drag.window[0]), dur);
    else if (drag.moved) next = clampWindow(Math.min(t, drag.t0), Math.max(t, drag.t0), dur);
    if (next) onWindow(next);
  });
  const end = (e) => {
    if (!drag) return;
    if (drag.mode === 'select' && !drag.moved) {
      // A click centres the current window on that time.
      const [a, b] = state.window;
      onWindow(panWindow(state.window, timeAt(e.clientX) - (a + b) / 2, total()));
    }
    drag = null;
  };
  el.addEventListener('pointerup', end);
  el.addEventListener('pointercancel', () => (drag = null));
  el.addEventListener('dblclick', () => onWindow([0, total()]));

  const resize = new ResizeObserver(() => drawn && draw());
  resize.observe(el);
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  const redraw = () => drawn && draw();
  scheme.addEventListener('change', redraw);

  return {
    el,
    draw,
    place,
    destroy() {
      resize.disconnect();
      scheme.removeEventListener('change', redraw);
    },
  };
}
