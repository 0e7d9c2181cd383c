import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOtlp, parseJaeger, otlpWarnings, countAdjusted, isAdjustment, WARNINGS_KEY } from '../js/model/trace.js';
import { buildTree } from '../js/model/tree.js';
import { findMatches } from '../js/model/find.js';
import { adjustsClockSkew, urls } from '../js/api.js';
import { otlpDoc, TRACE_ID, sid } from './helpers.mjs';

const ADJUSTED = "This span's timestamps were adjusted by -1s";
const EXCEEDED = 'max clock skew adjustment delta of 5m0s exceeded; not applying calculated delta of -59m59.996s';
const warningsAttr = (...values) => ({ key: WARNINGS_KEY, value: { arrayValue: { values: values.map((v) => ({ stringValue: v })) } } });

// Client on host a; its server on host b moved back by 1 s, with a child moved along; a span
// whose skew was too large to correct; one without warnings.
function skewed() {
  return parseOtlp(otlpDoc([
    ['client', null, 0, 100, { service: 'front', kind: 3, attributes: [{ key: 'http.method', value: { stringValue: 'GET' } }] }],
    ['server', 'client', 10, 90, { service: 'back', kind: 2, attributes: [{ key: 'http.route', value: { stringValue: '/x' } }, warningsAttr(ADJUSTED)] }],
    ['child', 'server', 20, 50, { service: 'back', attributes: [warningsAttr(ADJUSTED)] }],
    ['far', 'client', 20, 30, { service: 'other', attributes: [warningsAttr(EXCEEDED, 'second warning')] }],
  ]));
}

test('otlpWarnings: an array of strings, a single string, absent', () => {
  assert.deepEqual(otlpWarnings([{ key: 'a', value: { stringValue: 'x' } }, warningsAttr('one', 'two')]), ['one', 'two']);
  assert.deepEqual(otlpWarnings([{ key: WARNINGS_KEY, value: { stringValue: 'only' } }]), ['only']);
  assert.deepEqual(otlpWarnings([warningsAttr()]), []);
  assert.equal(otlpWarnings([{ key: 'a', value: { stringValue: 'x' } }]), null);
  assert.equal(otlpWarnings(undefined), null);
});

test('OTLP: @jaeger@warnings becomes span.warnings and leaves the attributes', () => {
  const t = skewed();
  const [client, server, child, far] = t.spans;
  assert.deepEqual(client.warnings, []);
  assert.deepEqual(server.warnings, [ADJUSTED]);
  assert.deepEqual(child.warnings, [ADJUSTED]);
  assert.deepEqual(far.warnings, [EXCEEDED, 'second warning']);
  assert.deepEqual(server.attributes.map((a) => a.key), ['http.route']);
  assert.deepEqual(child.attributes, []);
  assert.deepEqual(client.attributes.map((a) => a.key), ['http.method']);
  // The raw OTLP span is untouched (downloads and re-parsing keep the attribute).
  assert.equal(server.raw.attributes.length, 2);
});

test('counting spans adjusted for clock skew', () => {
  const t = skewed();
  assert.equal(isAdjustment(ADJUSTED), true);
  assert.equal(isAdjustment(EXCEEDED), false);
  assert.equal(isAdjustment('parent span ID=00000000000000a1 is not in the trace; skipping clock skew adjustment'), false);
  assert.equal(countAdjusted(t.spans), 2);
  assert.equal(t.adjustedSpanCount, 2);
  const plain = parseOtlp(otlpDoc([['a', null, 0, 10], ['b', 'a', 1, 2]]));
  assert.equal(plain.adjustedSpanCount, 0);
});

test('Jaeger JSON: a span\'s warnings field', () => {
  const span = (id, parent, warnings) => ({
    traceID: TRACE_ID, spanID: sid(id), operationName: id, startTime: 1700000000000000, duration: 1000,
    references: parent ? [{ refType: 'CHILD_OF', traceID: TRACE_ID, spanID: sid(parent) }] : [], tags: [], logs: [], processID: 'p1', warnings,
  });
  const t = parseJaeger({ data: [{ traceID: TRACE_ID, processes: { p1: { serviceName: 's', tags: [] } },
    spans: [span('a', null, null), span('b', 'a', [ADJUSTED]), span('c', 'b', [EXCEEDED])] }] });
  assert.deepEqual(t.spans.map((s) => s.warnings), [[], [ADJUSTED], [EXCEEDED]]);
  assert.equal(t.adjustedSpanCount, 1);
});

test('find matches warning text', () => {
  const t = skewed();
  const tree = buildTree(t.spans);
  assert.deepEqual(Array.from(findMatches(tree, 'adjusted by'), (i) => t.spans[i].name), ['server', 'child']);
  assert.deepEqual(Array.from(findMatches(tree, 'exceeded'), (i) => t.spans[i].name), ['far']);
});

test('URL state: clock skew adjusted unless ?raw', () => {
  const q = (s) => new URLSearchParams(s);
  assert.equal(adjustsClockSkew(q('')), true);
  assert.equal(adjustsClockSkew(q('span=00000000000000a1')), true);
  assert.equal(adjustsClockSkew(q('raw=1')), false);
  assert.equal(adjustsClockSkew(q('raw=true&span=a1')), false);
  assert.equal(adjustsClockSkew(q('raw')), false);
  assert.equal(adjustsClockSkew(q('raw=0')), true);
  assert.equal(adjustsClockSkew(q('raw=false')), true);
});

test('trace URLs: adjusted by default, as stored when asked', () => {
  assert.equal(urls.traceOtlp('ab12'), '/api/v1/traces/ab12?adjustClockSkew=true');
  assert.equal(urls.traceOtlp('ab12', false), '/api/v1/traces/ab12');
  assert.equal(urls.traceJaeger('ab12'), '/api/traces/ab12');
  assert.equal(urls.traceJaeger('ab12', false), '/api/traces/ab12?raw=true');
});
