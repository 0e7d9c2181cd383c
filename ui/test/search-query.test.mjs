import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseTags, formatTags, readSearchParams, writeSearchParams, apiQuery, validateForm, sortResults, DEFAULT_FORM,
  resultStartMs,
} from '../js/model/search-query.js';

test('parses key=value pairs, quoted values and escapes', () => {
  assert.deepEqual(parseTags(''), {});
  assert.deepEqual(parseTags('  error=true  http.status_code=500 '), { error: 'true', 'http.status_code': '500' });
  assert.deepEqual(parseTags('msg="hello world" path=/a=b'), { msg: 'hello world', path: '/a=b' });
  assert.deepEqual(parseTags('q="say \\"hi\\"" e=""'), { q: 'say "hi"', e: '' });
  assert.deepEqual(parseTags('"odd key"=1'), { 'odd key': '1' });
});

test('rejects malformed tags with a message', () => {
  assert.throws(() => parseTags('error'), /expected key=value/);
  assert.throws(() => parseTags('=x'), /empty key/);
  assert.throws(() => parseTags('a="open'), /unclosed quote/);
  assert.throws(() => parseTags('a="x"b'), /expected a space/);
});

test('formatTags quotes what needs it and parses back', () => {
  const tags = { a: 'b', msg: 'two words', q: 'say "hi"', e: '' };
  assert.equal(formatTags({ a: 'b' }), 'a=b');
  assert.deepEqual(parseTags(formatTags(tags)), tags);
});

test('page URL round-trips the form and leaves defaults out', () => {
  const form = { ...DEFAULT_FORM, service: 'cart', operation: 'GET /x', tags: 'error=true', minDuration: '100ms', limit: 50, sort: 'longest' };
  const qs = writeSearchParams(form);
  assert.equal(qs, 'service=cart&operation=GET+%2Fx&tags=error%3Dtrue&minDuration=100ms&lookback=1h&limit=50&sort=longest');
  assert.deepEqual(readSearchParams(qs), form);
  assert.equal(writeSearchParams(DEFAULT_FORM), 'lookback=1h');
  const custom = readSearchParams('start=2026-01-01T00:00:00Z&end=2026-01-01T01:00:00Z');
  assert.equal(custom.lookback, 'custom');
  assert.equal(readSearchParams('limit=99999').limit, 1000);
  assert.equal(readSearchParams('sort=bogus&lookback=nope').sort, 'recent');
});

test('API query has tags as JSON and the window', () => {
  const q = new URLSearchParams(apiQuery({ ...DEFAULT_FORM, service: 'web', tags: 'error=true a="b c"', lookback: '15m' }));
  assert.equal(q.get('service'), 'web');
  assert.deepEqual(JSON.parse(q.get('tags')), { error: 'true', a: 'b c' });
  assert.equal(q.get('lookback'), '15m');
  assert.equal(q.get('limit'), '20');
  assert.equal(q.get('operation'), null);
  const c = new URLSearchParams(apiQuery({ ...DEFAULT_FORM, lookback: 'custom', start: '2026-01-01T00:00:00Z', end: '2026-01-01T01:00:00Z' }));
  assert.equal(c.get('start'), '2026-01-01T00:00:00.000Z');
  assert.equal(c.get('end'), '2026-01-01T01:00:00.000Z');
  assert.equal(c.get('lookback'), null);
});

test('validation names each problem', () => {
  assert.deepEqual(validateForm(DEFAULT_FORM), []);
  const problems = validateForm({ ...DEFAULT_FORM, tags: 'x', minDuration: '2s', maxDuration: '1s' });
  assert.equal(problems.length, 2);
  assert.match(problems[1], /below min/);
  assert.match(validateForm({ ...DEFAULT_FORM, minDuration: '5' })[0], /not a duration/);
  assert.match(validateForm({ ...DEFAULT_FORM, lookback: 'custom' })[0], /start/);
});

test('results sort by each key with a stable tie-break', () => {
  const r = (id, startMs, dur, spans, errors) => ({
    traceId: id, startTimeUnixNano: `${startMs}000000`, durationNanos: dur, spanCount: spans, errorCount: errors,
  });
  const list = [r('a', 1000, 5, 3, 0), r('b', 3000, 9, 1, 2), r('c', 2000, 1, 7, 2)];
  const ids = (sort) => sortResults(list, sort).map((t) => t.traceId).join('');
  assert.equal(ids('recent'), 'bca');
  assert.equal(ids('longest'), 'bac');
  assert.equal(ids('shortest'), 'cab');
  assert.equal(ids('spans'), 'cab');
  assert.equal(ids('errors'), 'bca');
  assert.equal(resultStartMs({ startTimeUnixNano: '1700000000123456789' }), 1700000000123.4568);
});
