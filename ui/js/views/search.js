// The search page: the form (service, operation filtered by service, tags, durations, time
// range presets or custom, limit), whose state is the URL (/search?…) so every search is a deep
// link; results as a duration-over-time scatter plot and a sortable list with per-service span
// counts and a duration bar relative to the slowest.

import { h, select } from '../dom.js';
import { searchTraces, fetchServices, fetchOperations } from '../api.js';
import { readSearchParams, writeSearchParams, apiQuery, validateForm, sortResults, resultStartMs, LOOKBACKS, SORTS } from '../model/search-query.js';
import { formatDuration, formatTimestamp, formatAgo, formatCount } from '../model/format.js';
import { assignColors } from '../model/colors.js';
import { scatterPlot, autoSize } from './charts.js';

// datetime-local works in local time without a zone; the URL keeps RFC 3339 UTC.
const toLocalInput = (iso) => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : '');

/** Route /search. */
export function mountSearch(ctx) {
  const form = readSearchParams(ctx.query);
  ctx.setTitle(form.service ? `Search ${form.service}` : 'Search');
  const disconnects = [];

  const service = select([['', 'All services']], form.service, { name: 'service', 'aria-label': 'Service' });
  const operation = select([['', 'All operations']], form.operation, { name: 'operation', 'aria-label': 'Operation' });
  const tags = h('input', { name: 'tags', placeholder: 'http.status_code=500 error=true', spellcheck: 'false' });
  tags.value = form.tags;
  const minDuration = h('input', { name: 'minDuration', placeholder: 'e.g. 100ms' });
  minDuration.value = form.minDuration;
  const maxDuration = h('input', { name: 'maxDuration', placeholder: 'e.g. 1.5s' });
  maxDuration.value = form.maxDuration;
  const lookback = select(LOOKBACKS, form.lookback, { name: 'lookback' });
  const start = h('input', { type: 'datetime-local', name: 'start', step: '1' });
  start.value = toLocalInput(form.start);
  const end = h('input', { type: 'datetime-local', name: 'end', step: '1' });
  end.value = toLocalInput(form.end);
  const custom = h('div', { class: 'pair' }, h('label', {}, 'From', start), h('label', {}, 'To', end));
  custom.hidden = form.lookback !== 'custom';
  lookback.addEventListener('change', () => {
    custom.hidden = lookback.value !== 'custom';
    if (lookback.value === 'custom' && !start.value) {
      start.value = toLocalInput(new Date(Date.now() - 3600e3).toISOString());
      end.value = toLocalInput(new Date().toISOString());
    }
  });
  const limit = h('input', { name: 'limit', type: 'number', min: '1', max: '1000' });
  limit.value = String(form.limit);
  const problems = h('div', { class: 'problems', role: 'alert' });
  const formEl = h('form', { class: 'search-form', 'aria-label': 'Search traces' },
    h('label', {}, 'Service', service),
    h('label', {}, 'Operation', operation),
    h('label', {}, 'Tags', tags, h('span', { class: 'hint', text: 'key=value pairs, space separated; quote values with spaces' })),
    h('label', {}, 'Time range', lookback),
    custom,
    h('div', { class: 'pair' }, h('label', {}, 'Min duration', minDuration), h('label', {}, 'Max duration', maxDuration)),
    h('label', {}, 'Limit', limit),
    problems,
    h('button', { class: 'primary', type: 'submit' }, 'Find traces'));

  const plot = h('div', { class: 'scatter' });
  const countEl = h('span', { class: 'count' });
  const sortSelect = select(SORTS, form.sort, { 'aria-label': 'Sort results' });
  const list = h('ol', { class: 'results', 'aria-label': 'Traces found' });
  const status = h('div', { class: 'banner', hidden: true });
  const results = h('section', { 'aria-label': 'Results' }, plot, status,
    h('div', { class: 'results-head' }, countEl, h('label', {}, 'Sort', sortSelect)), list);
  ctx.root.append(h('div', { class: 'search' }, formEl, results));

  const readForm = () => ({
    service: service.value,
    operation: operation.value,
    tags: tags.value.trim(),
    minDuration: minDuration.value.trim(),
    maxDuration: maxDuration.value.trim(),
    lookback: lookback.value,
    start: lookback.value === 'custom' ? fromLocalInput(start.value) : '',
    end: lookback.value === 'custom' ? fromLocalInput(end.value) : '',
    limit: Number(limit.value) || 20,
    sort: sortSelect.value,
  });

  formEl.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = readForm();
    const bad = validateForm(next);
    problems.textContent = bad.join('; ');
    if (bad.length) return;
    ctx.navigate(`/search?${writeSearchParams(next)}`);
  });

  // The service list, then the chosen service's operations.
  fetchServices(ctx.signal).then((names) => {
    const wanted = form.service;
    service.replaceChildren(...[['', 'All services'], ...names.map((n) => [n, n])].map(([v, l]) => h('option', { value: v, text: l })));
    if (wanted && !names.includes(wanted)) service.append(h('option', { value: wanted, text: wanted }));
    service.value = wanted;
  }).catch((e) => e.name !== 'AbortError' && (problems.textContent = `services: ${e.message}`));
  const loadOperations = (svc, keep) => {
    operation.replaceChildren(h('option', { value: '', text: 'All operations' }));
    if (!svc) return;
    fetchOperations(svc, ctx.signal).then((ops) => {
      const names = [...new Set(ops.map((o) => o.name))].sort();
      operation.append(...names.map((n) => h('option', { value: n, text: n })));
      if (keep && !names.includes(keep)) operation.append(h('option', { value: keep, text: keep }));
      operation.value = keep ?? '';
    }).catch((e) => e.name !== 'AbortError' && (problems.textContent = `operations: ${e.message}`));
  };
  loadOperations(form.service, form.operation);
  service.addEventListener('change', () => loadOperations(service.value, ''));

  // Results: fetched when the URL holds a search (any parameter), kept for re-sorting.
  let found = null;
  const hasSearch = [...ctx.query.keys()].length > 0;
  const render = () => {
    const sorted = sortResults(found, sortSelect.value);
    countEl.textContent = `${formatCount(found.length)} trace${found.length === 1 ? '' : 's'}`;
    renderList(list, sorted);
  };
  sortSelect.addEventListener('change', () => {
    const url = new URL(location.href);
    if (sortSelect.value === 'recent') url.searchParams.delete('sort');
    else url.searchParams.set('sort', sortSelect.value);
    history.replaceState(null, '', url);
    if (found) render();
  });

  if (!hasSearch) {
    countEl.textContent = '';
    list.append(h('li', { class: 'empty', text: 'Choose a service (or all) and press Find traces.' }));
  } else {
    const bad = validateForm(form);
    if (bad.length) {
      problems.textContent = bad.join('; ');
    } else {
      countEl.textContent = 'Searching…';
      searchTraces(apiQuery(form), ctx.signal).then((body) => {
        found = body?.traces ?? [];
        render();
        if (!found.length) list.append(h('li', { class: 'empty', text: 'No traces match. Widen the time range or remove filters.' }));
        const points = found.map((t) => ({
          t: resultStartMs(t),
          y: t.durationNanos,
          size: t.spanCount,
          err: t.errorCount > 0,
          id: t.traceId,
          label: `${t.rootService}: ${t.rootOperation}\n${formatDuration(t.durationNanos)} · ${t.spanCount} spans${t.errorCount ? ` · ${t.errorCount} errors` : ''}\n${formatTimestamp(resultStartMs(t))}`,
        }));
        disconnects.push(autoSize(plot, (w, hgt) => plot.replaceChildren(scatterPlot(w, hgt, points, {
          yFormat: formatDuration,
          onPick: (p) => ctx.navigate(`/trace/${p.id}`),
        }))));
      }).catch((e) => {
        if (e.name === 'AbortError') return;
        countEl.textContent = '';
        status.hidden = false;
        status.className = 'banner error';
        status.textContent = `Search failed: ${e.message}`;
      });
    }
  }
  return () => disconnects.forEach((d) => d());
}

function renderList(list, traces) {
  const slowest = Math.max(1, ...traces.map((t) => t.durationNanos));
  const colors = assignColors(traces.flatMap((t) => (t.services ?? []).map((s) => s.name)));
  const now = Date.now();
  list.replaceChildren(...traces.map((t) => {
    const startMs = resultStartMs(t);
    const bar = h('div');
    bar.style.width = `${Math.max(0.5, (t.durationNanos / slowest) * 100)}%`;
    const services = [...(t.services ?? [])].sort((a, b) => b.spanCount - a.spanCount);
    return h('li', {}, h('a', { class: 'result', href: `/trace/${t.traceId}`, 'data-trace': t.traceId },
      h('div', { class: 'title' }, `${t.rootService || '?'}: ${t.rootOperation || '?'}`, h('span', { class: 'mono', text: t.traceId.slice(0, 12) })),
      h('div', { class: 'dur num', text: formatDuration(t.durationNanos) }),
      h('div', { class: t.errorCount ? 'durbar err' : 'durbar' }, bar),
      h('div', { class: 'meta' },
        h('span', { class: 'chip', text: `${formatCount(t.spanCount)} span${t.spanCount === 1 ? '' : 's'}` }),
        t.errorCount ? h('span', { class: 'chip err', text: `${formatCount(t.errorCount)} error${t.errorCount === 1 ? '' : 's'}` }) : null,
        services.map((s) => h('span', { class: s.errorCount ? 'chip err' : 'chip', title: `${s.name}: ${s.spanCount} spans, ${s.errorCount} errors` },
          h('span', { class: `dot c${colors.get(s.name)}` }), s.name, h('span', { class: 'muted', text: String(s.spanCount) })))),
      h('div', { class: 'when' }, formatTimestamp(startMs), h('br'), h('span', { class: 'muted', text: formatAgo(startMs, now) }))));
  }));
}
