// The services pages, from the statistics API: /services lists every service with rate, error
// rate and p50/p95/p99 over a chosen window; /services/{name} lists its operations and whole-
// trace root operations the same way, with a quantile chart per operation (fetched when it
// scrolls into view). Tables sort by any column (kept in the URL); an operation's name opens a
// search for its slowest traces.

import { h, select } from '../dom.js';
import { fetchServiceStats, fetchOperationStats, fetchTimeseries } from '../api.js';
import { formatMillis, formatPercent, formatRate, formatCount, toGoDuration } from '../model/format.js';
import { writeSearchParams, DEFAULT_FORM } from '../model/search-query.js';
import { assignColors, colorIndex } from '../model/colors.js';
import { lineChart, autoSize } from './charts.js';

export const WINDOWS = [['5m', 'Last 5 minutes'], ['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['6h', 'Last 6 hours'], ['24h', 'Last 24 hours']];
const STEP = { '5m': '1m', '15m': '1m', '1h': '1m', '6h': '15m', '24h': '15m' };
const QUANTILES = [['0.5', 'q50'], ['0.95', 'q95'], ['0.99', 'q99']];

function windowOf(query) {
  const w = query.get('lookback');
  return WINDOWS.some(([k]) => k === w) ? w : '1h';
}

const FIGURES = [
  { key: 'ratePerSecond', label: 'Rate', num: true, text: (r) => formatRate(r.ratePerSecond) },
  { key: 'errorRate', label: 'Errors', num: true, text: (r) => formatPercent(r.errorRate), cls: (r) => (r.errorRate > 0 ? 'num err-text' : 'num') },
  { key: 'p50Ms', label: 'p50', num: true, text: (r) => formatMillis(r.p50Ms) },
  { key: 'p95Ms', label: 'p95', num: true, text: (r) => formatMillis(r.p95Ms) },
  { key: 'p99Ms', label: 'p99', num: true, text: (r) => formatMillis(r.p99Ms) },
  { key: 'calls', label: 'Calls', num: true, text: (r) => formatCount(r.calls) },
];

/**
 * A table sorted by `sort` ({key, dir}) whose header buttons call onSort(key). Columns:
 * {key, label, num, text(row) | cell(row), cls(row)}.
 */
function sortableTable(columns, rows, sort, onSort, label) {
  const col = columns.find((c) => c.key === sort.key) ?? columns[0];
  const sign = sort.dir === 'asc' ? 1 : -1;
  const sorted = [...rows].sort((a, b) => {
    const x = a[col.key] ?? -Infinity;
    const y = b[col.key] ?? -Infinity;
    return (x < y ? -1 : x > y ? 1 : 0) * sign;
  });
  const head = h('tr', {}, columns.map((c) => h('th', {
    class: c.num ? 'num' : '', scope: 'col',
    'aria-sort': c.key === col.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none',
  }, h('button', { type: 'button', onclick: () => onSort(c.key), text: c.label }))));
  const body = sorted.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.cls ? c.cls(r) : c.num ? 'num' : '' }, c.cell ? c.cell(r) : c.text(r)))));
  return h('table', { class: 'grid', 'aria-label': label },
    h('colgroup', {}, columns.map((c, i) => h('col', { class: i === 0 ? 'name' : '' }))),
    h('thead', {}, head), h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: String(columns.length), class: 'empty', text: 'No calls in this window.' }))));
}

// Sort state in the URL: ?sort=key&dir=asc|desc; clicking the sorted column flips it.
function sortFrom(query, prefix, fallback) {
  return { key: query.get(`${prefix}sort`) ?? fallback.key, dir: query.get(`${prefix}dir`) ?? fallback.dir };
}
function nextSort(ctx, prefix, sort, key) {
  const url = new URL(location.href);
  const dir = sort.key === key ? (sort.dir === 'asc' ? 'desc' : 'asc') : key === 'service' || key === 'operation' ? 'asc' : 'desc';
  url.searchParams.set(`${prefix}sort`, key);
  url.searchParams.set(`${prefix}dir`, dir);
  ctx.navigate(url, { replace: true });
}

function windowPicker(ctx, current) {
  return h('label', { class: 'muted' }, 'Window ', select(WINDOWS, current, { 'aria-label': 'Window', onchange: (e) => {
    const url = new URL(location.href);
    url.searchParams.set('lookback', e.target.value);
    ctx.navigate(url);
  } }));
}

function failure(e) {
  return h('div', { class: 'banner error', text: e.status === 501 ? 'Statistics are turned off on this server (--disable-stats).' : `Could not load statistics: ${e.message}` });
}

/** The search for an operation's slowest traces: at least about its p99 in the window. */
export function slowestSearch(service, operation, p99Ms, lookback) {
  const form = { ...DEFAULT_FORM, service, operation, lookback, sort: 'longest' };
  // The sketch's p99 is within 1% of a real duration: search from 2% below it.
  if (p99Ms > 0) form.minDuration = toGoDuration(Math.floor(p99Ms * 0.98 * 1e6 / 1e3) * 1e3);
  return `/search?${writeSearchParams(form)}`;
}

/** Route /services. */
export function mountServiceList(ctx) {
  ctx.setTitle('Services');
  const lookback = windowOf(ctx.query);
  const sort = sortFrom(ctx.query, '', { key: 'ratePerSecond', dir: 'desc' });
  const slot = h('div', { class: 'empty', text: 'Loading…' });
  ctx.root.append(h('div', { class: 'page' }, h('div', { class: 'toolbar-row' }, h('h1', { text: 'Services' }), windowPicker(ctx, lookback)), slot));
  fetchServiceStats(lookback, ctx.signal).then((body) => {
    const colors = assignColors((body.services ?? []).map((r) => r.service));
    const columns = [
      { key: 'service', label: 'Service', cell: (r) => h('a', { href: `/services/${encodeURIComponent(r.service)}?lookback=${lookback}` }, h('span', { class: `dot c${colors.get(r.service)}` }), ' ', r.service) },
      ...FIGURES,
    ];
    slot.replaceWith(sortableTable(columns, body.services ?? [], sort, (key) => nextSort(ctx, '', sort, key), 'Services'));
  }).catch((e) => e.name !== 'AbortError' && slot.replaceWith(failure(e)));
}

/** Route /services/{name}. */
export function mountService(ctx) {
  const service = ctx.params[0];
  ctx.setTitle(service);
  const lookback = windowOf(ctx.query);
  const sort = sortFrom(ctx.query, '', { key: 'ratePerSecond', dir: 'desc' });
  const rootSort = sortFrom(ctx.query, 'root', { key: 'ratePerSecond', dir: 'desc' });
  const ops = h('div', { class: 'empty', text: 'Loading…' });
  const roots = h('div');
  const charts = h('div', { class: 'charts' });
  const disconnects = [];
  ctx.root.append(h('div', { class: 'page' },
    h('div', { class: 'toolbar-row' },
      h('a', { href: `/services?lookback=${lookback}`, text: '← Services' }),
      h('h1', {}, h('span', { class: `dot c${colorIndex(service)}` }), ' ', service),
      windowPicker(ctx, lookback),
      h('a', { href: `/search?${writeSearchParams({ ...DEFAULT_FORM, service, lookback })}`, text: 'Search its traces' }),
      h('span', { class: 'legend' }, QUANTILES.map(([q, cls]) => h('span', {}, h('i', { class: cls }), `p${Number(q) * 100}`)))),
    h('h2', { text: 'Operations (spans)' }), ops,
    roots,
    h('h2', { text: 'Latency over time' }), charts));

  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      entry.target.__load?.();
    }
  }, { rootMargin: '200px' });
  disconnects.push(() => observer.disconnect());

  const chartCard = (title, href, query) => {
    const area = h('div', { class: 'chart-area' });
    const card = h('div', { class: 'chart' }, h('a', { class: 'ctitle', href, title: `${title}: open its slowest traces`, text: title }), area);
    card.__load = () => fetchTimeseries({ ...query, lookback, step: STEP[lookback] }, ctx.signal).then((body) => {
      const points = (body.points ?? []).map((p) => ({ t: Date.parse(p.time), values: p.quantiles ?? {} }));
      disconnects.push(autoSize(area, (w, hgt) => area.replaceChildren(lineChart(w, hgt, points, QUANTILES, { yFormat: formatMillis }))));
    }).catch((e) => e.name !== 'AbortError' && area.replaceChildren(h('div', { class: 'muted', text: e.message })));
    observer.observe(card);
    return card;
  };

  fetchOperationStats(service, lookback, ctx.signal).then((body) => {
    const opColumns = (prefix) => [
      { key: 'operation', label: 'Operation', cell: (r) => h('a', { href: slowestSearch(service, r.operation, r.p99Ms, lookback), title: 'Open its slowest traces' }, r.operation) },
      ...FIGURES,
    ];
    ops.replaceWith(sortableTable(opColumns(''), body.operations ?? [], sort, (key) => nextSort(ctx, '', sort, key), 'Operations'));
    if (body.rootOperations?.length) {
      roots.replaceChildren(h('h2', { text: 'Whole traces rooted here (end-to-end latency)' }),
        sortableTable(opColumns('root'), body.rootOperations, rootSort, (key) => nextSort(ctx, 'root', rootSort, key), 'Root operations'));
    }
    charts.replaceChildren(
      chartCard(`${service} (all spans)`, `/search?${writeSearchParams({ ...DEFAULT_FORM, service, lookback, sort: 'longest' })}`, { service, level: 'service' }),
      ...[...(body.operations ?? [])].sort((a, b) => b.calls - a.calls).map((op) =>
        chartCard(op.operation, slowestSearch(service, op.operation, op.p99Ms, lookback), { service, operation: op.operation, level: 'operation' })));
  }).catch((e) => e.name !== 'AbortError' && ops.replaceWith(failure(e)));
  return () => disconnects.forEach((d) => d());
}
