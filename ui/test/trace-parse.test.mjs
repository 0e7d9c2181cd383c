import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrace, parseOtlp, parseJaeger, detectFormat, normalizeId, valueText } from '../js/model/trace.js';
import { otlpDoc, TRACE_ID, sid } from './helpers.mjs';

const otlp = {
  resourceSpans: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cart' } }, { key: 'host.name', value: { stringValue: 'h1' } }] },
    scopeSpans: [{
      scope: { name: 'io.lib', version: '1.2' },
      spans: [
        {
          traceId: TRACE_ID.toUpperCase(), spanId: '00000000000000a1', name: 'GET /cart', kind: 2,
          // Beyond 2^53 ns: offsets must stay exact to the nanosecond.
          startTimeUnixNano: '1700000000000000001', endTimeUnixNano: '1700000000250000003',
          attributes: [
            { key: 's', value: { stringValue: 'x' } },
            { key: 'i', value: { intValue: '9007199254740993' } },
            { key: 'd', value: { doubleValue: 1.5 } },
            { key: 'b', value: { boolValue: true } },
            { key: 'bytes', value: { bytesValue: 'AQI=' } },
            { key: 'arr', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
            { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: false } }] } } },
          ],
          events: [{ timeUnixNano: '1700000000100000001', name: 'retry', attributes: [{ key: 'n', value: { intValue: 1 } }] }],
          links: [{ traceId: 'ff'.repeat(16), spanId: 'ee'.repeat(8), attributes: [{ key: 'l', value: { stringValue: 'v' } }] }],
          status: { code: 2, message: 'boom' },
          traceState: 'a=b',
          droppedAttributesCount: 3,
        },
        {
          traceId: TRACE_ID, spanId: '00000000000000a2', parentSpanId: '00000000000000a1', name: 'db', kind: 3,
          startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000000999',
        },
      ],
    }],
  }],
};

test('OTLP: ids, kinds, status, scope and resource', () => {
  assert.equal(detectFormat(otlp), 'otlp');
  const t = parseTrace(otlp);
  assert.equal(t.format, 'otlp');
  assert.equal(t.traceId, TRACE_ID);
  const [a, b] = t.spans;
  assert.equal(a.spanId, '00000000000000a1');
  assert.equal(b.parentId, a.spanId);
  assert.equal(a.kind, 'server');
  assert.equal(b.kind, 'client');
  assert.equal(a.service, 'cart');
  assert.equal(a.status, 'error');
  assert.equal(a.statusMessage, 'boom');
  assert.equal(a.error, true);
  assert.equal(b.error, false);
  assert.deepEqual(a.scope, { name: 'io.lib', version: '1.2', attributes: [] });
  assert.equal(a.resource, b.resource, 'spans of one resource share it');
  assert.equal(a.resource.attributes[1].value, 'h1');
  assert.equal(a.traceState, 'a=b');
  assert.deepEqual(a.dropped, { attributes: 3, events: 0, links: 0 });
  assert.deepEqual(t.services, ['cart']);
  assert.equal(t.errorCount, 1);
});

test('OTLP: nanosecond offsets from the earliest start are exact', () => {
  const t = parseOtlp(otlp);
  const [a, b] = t.spans;
  assert.equal(b.start, 0);
  assert.equal(b.duration, 999);
  assert.equal(a.start, 1);
  assert.equal(a.end, 250_000_003);
  assert.equal(a.duration, 250_000_002);
  assert.equal(t.duration, 250_000_003);
  assert.equal(t.startUnixMs, 1_700_000_000_000);
  assert.equal(a.events[0].offset, 100_000_001);
});

test('OTLP: attributes keep their type', () => {
  const attrs = parseOtlp(otlp).spans[0].attributes;
  const by = Object.fromEntries(attrs.map((x) => [x.key, x]));
  assert.deepEqual(by.s, { key: 's', type: 'string', value: 'x' });
  assert.deepEqual(by.i, { key: 'i', type: 'int', value: '9007199254740993' }, 'int64 kept as text, not rounded');
  assert.equal(by.d.type, 'double');
  assert.equal(by.b.value, true);
  assert.equal(by.bytes.type, 'bytes');
  assert.equal(valueText(by.arr), '["a", 2]');
  assert.equal(valueText(by.map), '{k: false}');
  const ev = parseOtlp(otlp).spans[0].events[0];
  assert.equal(ev.name, 'retry');
  assert.deepEqual(ev.attributes, [{ key: 'n', type: 'int', value: '1' }]);
  const link = parseOtlp(otlp).spans[0].links[0];
  assert.equal(link.traceId, 'ff'.repeat(16));
  assert.equal(link.attributes[0].value, 'v');
});

test('OTLP: api_v3 envelope, base64 ids and empty parent', () => {
  const doc = { result: otlpDoc([['a', null, 0, 1]]) };
  doc.result.resourceSpans[0].scopeSpans[0].spans[0].spanId = Buffer.from('0102030405060708', 'hex').toString('base64');
  const t = parseTrace(doc);
  assert.equal(t.spans[0].spanId, '0102030405060708');
  assert.equal(t.spans[0].parentId, '');
  assert.equal(normalizeId('ABC', 16), '0000000000000abc');
  assert.equal(normalizeId('0000', 16), '');
});

test('a document with several traces shows one and says so', () => {
  const doc = otlpDoc([['a', null, 0, 1]]);
  doc.resourceSpans[0].scopeSpans[0].spans.push({ ...doc.resourceSpans[0].scopeSpans[0].spans[0], traceId: '1'.repeat(32), spanId: sid('z') });
  const t = parseTrace(doc);
  assert.equal(t.spans.length, 1);
  assert.match(t.warnings[0], /2 traces/);
  assert.equal(parseTrace(doc, '1'.repeat(32)).spans[0].spanId, sid('z'));
});

test('unknown documents are refused with a readable error', () => {
  assert.throws(() => parseTrace({ hello: 1 }), /not a trace/);
  assert.throws(() => parseTrace(null), /not a trace/);
});

const jaeger = {
  data: [{
    traceID: 'abc',
    spans: [
      {
        traceID: 'abc', spanID: '1', operationName: 'root', references: [], startTime: 1700000000000000, duration: 2000,
        tags: [
          { key: 'span.kind', type: 'string', value: 'server' },
          { key: 'error', type: 'bool', value: true },
          { key: 'otel.status_description', type: 'string', value: 'bad' },
          { key: 'otel.scope.name', type: 'string', value: 'lib' },
          { key: 'otel.library.name', type: 'string', value: 'lib' },
          { key: 'n', type: 'int64', value: 7 },
          { key: 'f', type: 'float64', value: 0.25 },
          { key: 'bin', type: 'binary', value: 'AQI=' },
        ],
        logs: [{ timestamp: 1700000000000500, fields: [{ key: 'event', type: 'string', value: 'cache miss' }, { key: 'k', type: 'string', value: 'v' }] }],
        processID: 'p1', warnings: null,
      },
      {
        traceID: 'abc', spanID: '2', operationName: 'child', startTime: 1700000000000100, duration: 500, tags: [], logs: [],
        references: [
          { refType: 'FOLLOWS_FROM', traceID: 'abc', spanID: '9' },
          { refType: 'CHILD_OF', traceID: 'abc', spanID: '1' },
        ],
        processID: 'p2',
      },
      {
        traceID: 'abc', spanID: '3', operationName: 'async', startTime: 1700000000001000, duration: 5000, tags: [], logs: [],
        references: [{ refType: 'FOLLOWS_FROM', traceID: 'abc', spanID: '1' }], processID: 'p2',
      },
    ],
    processes: {
      p1: { serviceName: 'web', tags: [{ key: 'hostname', type: 'string', value: 'h' }] },
      p2: { serviceName: 'db', tags: [] },
    },
  }],
};

test('Jaeger: spans, processes, references, tags and logs', () => {
  assert.equal(detectFormat(jaeger), 'jaeger');
  const t = parseTrace(jaeger);
  assert.equal(t.format, 'jaeger');
  assert.equal(t.traceId, '0'.repeat(29) + 'abc');
  const [root, child, async] = t.spans;
  assert.equal(root.kind, 'server');
  assert.equal(root.status, 'error');
  assert.equal(root.error, true);
  assert.equal(root.statusMessage, 'bad');
  assert.equal(root.scope.name, 'lib');
  assert.deepEqual(root.attributes.map((a) => [a.key, a.type, a.value]), [['n', 'int', '7'], ['f', 'double', 0.25], ['bin', 'bytes', 'AQI=']]);
  assert.equal(root.service, 'web');
  assert.deepEqual(root.resource.attributes.map((a) => a.key), ['service.name', 'hostname']);
  assert.equal(child.parentId, root.spanId, 'CHILD_OF wins over an earlier FOLLOWS_FROM');
  assert.equal(child.refType, 'CHILD_OF');
  assert.equal(child.links.length, 1);
  assert.equal(child.links[0].attributes[0].value, 'follows_from');
  assert.equal(async.parentId, root.spanId);
  assert.equal(async.refType, 'FOLLOWS_FROM');
  assert.equal(child.start, 100_000);
  assert.equal(child.duration, 500_000);
  assert.equal(async.end, 6_000_000);
  assert.equal(t.duration, 6_000_000);
  assert.equal(t.startUnixMs, 1_700_000_000_000);
  assert.deepEqual(root.events, [{ offset: 500_000, name: 'cache miss', attributes: [{ key: 'k', type: 'string', value: 'v' }] }]);
  assert.deepEqual(t.services, ['db', 'web']);
});

test('Jaeger: a bare trace and an array of traces parse too', () => {
  assert.equal(parseTrace(jaeger.data[0]).spans.length, 3);
  assert.equal(parseJaeger(jaeger.data).spans.length, 3);
});
