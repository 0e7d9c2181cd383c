// The search form's state and its three spellings: the tag text a user types (logfmt-like
// `key=value key2="a b"`, as Jaeger UI takes it), the page URL (`/search?...`, so every search is
// a deep link), and the search API's query (`/api/v1/traces?...`, tags as a JSON object).
// Also the result ordering of the list.

import { parseGoDuration } from './format.js';

/** Time range presets: [lookback, label]. */
export const LOOKBACKS = [
  ['5m', 'Last 5 minutes'],
  ['15m', 'Last 15 minutes'],
  ['1h', 'Last hour'],
  ['2h', 'Last 2 hours'],
  ['6h', 'Last 6 hours'],
  ['12h', 'Last 12 hours'],
  ['24h', 'Last 24 hours'],
  ['2d', 'Last 2 days'],
  ['custom', 'Custom range'],
];

/** Result orderings: [key, label]. */
export const SORTS = [
  ['recent', 'Most recent'],
  ['longest', 'Longest first'],
  ['shortest', 'Shortest first'],
  ['spans', 'Most spans'],
  ['errors', 'Most errors'],
];

export const DEFAULT_FORM = Object.freeze({
  service: '',
  operation: '',
  tags: '',
  minDuration: '',
  maxDuration: '',
  lookback: '1h',
  start: '',
  end: '',
  limit: 20,
  sort: 'recent',
});

const MAX_LIMIT = 1000;

/**
 * Parses tag text into an object: whitespace-separated `key=value` pairs; a value (or key) may
 * be double-quoted with `\"` and `\\` escapes. Throws an Error naming the problem.
 */
export function parseTags(text) {
  const src = String(text ?? '');
  const tags = {};
  let i = 0;
  const skipSpace = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const readPart = (stopAtEquals) => {
    if (src[i] === '"') {
      let out = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        out += src[i++];
      }
      if (src[i] !== '"') throw new Error(`unclosed quote in tags: ${src}`);
      i++;
      return out;
    }
    const from = i;
    while (i < src.length && !/\s/.test(src[i]) && !(stopAtEquals && src[i] === '=')) i++;
    return src.slice(from, i);
  };
  skipSpace();
  while (i < src.length) {
    const at = i;
    const key = readPart(true);
    if (src[i] !== '=') throw new Error(`expected key=value in tags, got "${src.slice(at, i) || src[i]}"`);
    if (!key) throw new Error('a tag has an empty key');
    i++;
    tags[key] = readPart(false);
    if (i < src.length && !/\s/.test(src[i])) throw new Error(`expected a space after the value of "${key}"`);
    skipSpace();
  }
  return tags;
}

/** Tags object back to text, quoting what needs it. */
export function formatTags(tags) {
  const part = (s) => (s === '' || /[\s"=\\]/.test(s) ? `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"` : s);
  return Object.entries(tags)
    .map(([k, v]) => `${part(k)}=${part(String(v))}`)
    .join(' ');
}

/** The form state from a page URL's query string. */
export function readSearchParams(search) {
  const p = new URLSearchParams(search);
  const form = { ...DEFAULT_FORM };
  for (const key of ['service', 'operation', 'tags', 'minDuration', 'maxDuration', 'start', 'end']) {
    form[key] = p.get(key) ?? '';
  }
  const lookback = p.get('lookback');
  if (lookback && LOOKBACKS.some(([k]) => k === lookback)) form.lookback = lookback;
  else if (form.start) form.lookback = 'custom';
  const limit = Number.parseInt(p.get('limit') ?? '', 10);
  if (limit > 0) form.limit = Math.min(limit, MAX_LIMIT);
  const sort = p.get('sort');
  if (sort && SORTS.some(([k]) => k === sort)) form.sort = sort;
  return form;
}

/** The page URL query string for a form state (defaults left out, keys in a stable order). */
export function writeSearchParams(form) {
  const p = new URLSearchParams();
  for (const key of ['service', 'operation', 'tags', 'minDuration', 'maxDuration']) {
    const v = String(form[key] ?? '').trim();
    if (v) p.set(key, v);
  }
  p.set('lookback', form.lookback || DEFAULT_FORM.lookback);
  if (form.lookback === 'custom') {
    if (form.start) p.set('start', form.start);
    if (form.end) p.set('end', form.end);
  }
  if (Number(form.limit) !== DEFAULT_FORM.limit) p.set('limit', String(form.limit));
  if (form.sort && form.sort !== DEFAULT_FORM.sort) p.set('sort', form.sort);
  return p.toString();
}

/** Problems with a form state, as readable messages (empty when it can be searched). */
export function validateForm(form) {
  const problems = [];
  try {
    parseTags(form.tags);
  } catch (e) {
    problems.push(e.message);
  }
  const min = form.minDuration ? parseGoDuration(form.minDuration) : 0;
  const max = form.maxDuration ? parseGoDuration(form.maxDuration) : Infinity;
  if (min === null) problems.push(`min duration "${form.minDuration}" is not a duration like 100ms, 1.5s, 250us`);
  if (max === null) problems.push(`max duration "${form.maxDuration}" is not a duration like 100ms, 1.5s, 250us`);
  if (min !== null && max !== null && max < min) problems.push('max duration is below min duration');
  if (form.lookback === 'custom') {
    if (!form.start || Number.isNaN(Date.parse(form.start))) problems.push('custom range needs a start time');
    if (form.end && Number.isNaN(Date.parse(form.end))) problems.push('custom range end is not a time');
    if (form.start && form.end && Date.parse(form.end) <= Date.parse(form.start)) problems.push('custom range ends before it starts');
  }
  return problems;
}

/** The search API query string for a valid form state. */
export function apiQuery(form) {
  const p = new URLSearchParams();
  if (form.service) p.set('service', form.service);
  if (form.operation) p.set('operation', form.operation);
  const tags = parseTags(form.tags);
  if (Object.keys(tags).length) p.set('tags', JSON.stringify(tags));
  if (form.minDuration) p.set('minDuration', form.minDuration.trim());
  if (form.maxDuration) p.set('maxDuration', form.maxDuration.trim());
  if (form.lookback === 'custom') {
    p.set('start', new Date(Date.parse(form.start)).toISOString());
    if (form.end) p.set('end', new Date(Date.parse(form.end)).toISOString());
  } else {
    p.set('lookback', form.lookback || DEFAULT_FORM.lookback);
  }
  p.set('limit', String(Math.min(MAX_LIMIT, Math.max(1, Number(form.limit) || DEFAULT_FORM.limit))));
  return p.toString();
}

/** Start of a search result in epoch milliseconds (the API gives nanoseconds as a string). */
export function resultStartMs(t) {
  const s = t.startTimeUnixNano;
  if (typeof s === 'string' && s.length > 6) return Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
  return Number(s ?? 0) / 1e6 || 0;
}

/** Search results in the order `sort` names; a new array, ties broken by trace id. */
export function sortResults(traces, sort) {
  const key = {
    recent: (a, b) => resultStartMs(b) - resultStartMs(a),
    longest: (a, b) => b.durationNanos - a.durationNanos,
    shortest: (a, b) => a.durationNanos - b.durationNanos,
    spans: (a, b) => b.spanCount - a.spanCount,
    errors: (a, b) => b.errorCount - a.errorCount || b.durationNanos - a.durationNanos,
  }[sort] ?? ((a, b) => resultStartMs(b) - resultStartMs(a));
  return [...traces].sort((a, b) => key(a, b) || (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0));
}
