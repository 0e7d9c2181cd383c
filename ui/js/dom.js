// DOM building for every view: elements are created with createElement and filled with
// textContent, never from HTML strings, so span-derived text can only ever be text. Also the
// clipboard helper and the small "copied" toast.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'style') throw new Error('inline style attributes break the CSP; set el.style properties');
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h('a', {href, class, text, onclick}, ...children (nodes or text)). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** An SVG element, same conventions as h(). */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** Removes every child. */
export function clear(el) {
  el.replaceChildren();
  return el;
}

let toastEl = null;
let toastTimer = 0;

/** A short message at the bottom of the page. */
export function toast(message) {
  if (!toastEl) {
    toastEl = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastEl);
  }
  toastEl.textContent = message;
  toastEl.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => toastEl.classList.remove('show'), 1400);
}

/** Copies text to the clipboard (with a fallback where the async API is unavailable). */
export async function copyText(text, what = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h('textarea', { readonly: true, 'aria-hidden': 'true' });
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  toast(`${what}: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`);
}

/** A small "Copy" button for an id. */
export function copyButton(text, label) {
  return h('button', { class: 'copy', type: 'button', title: `Copy ${label}`, onclick: (e) => {
    e.stopPropagation();
    copyText(text, `Copied ${label}`);
  } }, 'Copy');
}

/** A <select> with [value, label] options and the current value chosen. */
export function select(options, value, props = {}) {
  const el = h('select', props, options.map(([v, label]) => h('option', { value: v, text: label })));
  el.value = value;
  return el;
}
