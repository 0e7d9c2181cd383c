// The router: every view has its own URL (history API), links inside the app navigate without
// reloading, back/forward re-render the view of the URL, and each view gets an AbortSignal and
// a cleanup hook so leaving it cancels its requests and listeners. Loaded by main.js.

import { h } from './dom.js';
import { adoptEarlyTrace } from './api.js';

// Each view's module is loaded when its route is first shown; index.html preloads the ones
// the trace page needs, the page that has to open fast with 100,000 spans.
const ROUTES = [
  [/^\/search$/, () => import('./views/search.js').then((m) => m.mountSearch), '/search'],
  [/^\/trace\/([^/]+)$/, () => import('./views/trace.js').then((m) => m.mountTrace), '/search'],
  [/^\/services$/, () => import('./views/services.js').then((m) => m.mountServiceList), '/services'],
  [/^\/services\/([^/]+)$/, () => import('./views/services.js').then((m) => m.mountService), '/services'],
  [/^\/dependencies$/, () => import('./views/dependencies.js').then((m) => m.mountDependencies), '/dependencies'],
  [/^\/open$/, () => import('./views/open.js').then((m) => m.mountOpen), '/open'],
];

const root = document.getElementById('view');
let current = null; // {controller, cleanup, path}

/** Goes to an app URL; `replace` rewrites the current history entry instead of adding one. */
export function navigate(url, { replace = false } = {}) {
  const target = new URL(url, location.href);
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  render();
}

function render() {
  if (location.pathname === '/' || location.pathname === '') {
    history.replaceState(null, '', '/search');
  }
  if (current) {
    current.controller.abort();
    try {
      current.cleanup?.();
    } catch (e) {
      console.warn('view cleanup failed', e);
    }
  }
  const path = location.pathname;
  const route = ROUTES.find(([re]) => re.test(path));
  const controller = new AbortController();
  current = { controller, cleanup: null };
  root.replaceChildren();
  for (const a of document.querySelectorAll('.nav a')) {
    if (route && a.getAttribute('href') === route[2]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!route) {
    document.title = 'Not found · Tracehound';
    root.append(h('div', { class: 'page' }, h('h1', { text: 'Page not found' }), h('p', {}, h('a', { href: '/search', text: 'Search traces' }))));
    return;
  }
  const params = route[0].exec(path).slice(1).map(decodeURIComponent);
  const ctx = {
    root,
    params,
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    navigate,
    setTitle: (t) => (document.title = t ? `${t} · Tracehound` : 'Tracehound'),
  };
  const mine = current;
  route[1]().then((mount) => {
    if (current !== mine) return; // navigated on while the module loaded
    const cleanup = mount(ctx);
    mine.cleanup = typeof cleanup === 'function' ? cleanup : null;
  }).catch((e) => {
    console.error(e);
    root.append(h('div', { class: 'banner error', text: `This view failed: ${e.message}` }));
  });
}

// Same-origin links navigate in the app unless a modifier asks for a new tab or a download.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest?.('a[href]');
  // getAttribute: SVG links have no string .href or .target.
  const target = a?.getAttribute('target');
  if (!a || a.hasAttribute('download') || (target && target !== '_self')) return;
  const url = new URL(a.getAttribute('href'), location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/ui/')) return;
  e.preventDefault();
  if (url.href !== location.href) navigate(url);
});

window.addEventListener('popstate', render);

document.getElementById('jump').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = e.currentTarget.elements.id;
  const id = input.value.trim().toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(id)) {
    input.setCustomValidity('a trace id is 1 to 32 hex digits');
    input.reportValidity();
    return;
  }
  input.setCustomValidity('');
  input.value = '';
  navigate(`/trace/${id}`);
});
document.getElementById('jump').elements.id.addEventListener('input', (e) => e.target.setCustomValidity(''));

/** Called once by main.js with the early trace request, if any. */
export function start(early) {
  if (early) adoptEarlyTrace(early);
  window.__tracehound = { navigate, lastRender: null };
  render();
}
