// Builders for the unit tests: small traces written as rows of (id, parent, start, end) in
// milliseconds, turned into OTLP/JSON so that the parser is exercised on the way.

import { parseOtlp } from '../js/model/trace.js';
import { buildTree } from '../js/model/tree.js';

export const TRACE_ID = '5b8aa5a2d2c872e8321cf37308d69df2';
const BASE_NS = 1700000000000000000n;

/** A 16-hex span id from a short name. */
export function sid(name) {
  return Buffer.from(String(name)).toString('hex').padStart(16, '0').slice(-16);
}

/**
 * OTLP/JSON for rows [name, parentName|null, startMs, endMs, extra?]; extra may carry
 * service, attributes (OTLP KeyValue list), status, events, kind, links.
 */
export function otlpDoc(rows) {
  const byService = new Map();
  for (const [name, parent, startMs, endMs, extra = {}] of rows) {
    const service = extra.service ?? 'svc';
    if (!byService.has(service)) byService.set(service, []);
    byService.get(service).push({
      traceId: TRACE_ID,
      spanId: sid(name),
      parentSpanId: parent ? sid(parent) : '',
      name: extra.name ?? String(name),
      kind: extra.kind ?? 1,
      startTimeUnixNano: String(BASE_NS + BigInt(Math.round(startMs * 1e6))),
      endTimeUnixNano: String(BASE_NS + BigInt(Math.round(endMs * 1e6))),
      attributes: extra.attributes ?? [],
      events: extra.events ?? [],
      links: extra.links ?? [],
      status: extra.status ?? {},
    });
  }
  return {
    resourceSpans: [...byService].map(([service, spans]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{ scope: { name: 'test' }, spans }],
    })),
  };
}

/** Parsed trace and its tree for rows as in otlpDoc. */
export function treeOf(rows) {
  const trace = parseOtlp(otlpDoc(rows));
  return { trace, tree: buildTree(trace.spans) };
}

/** Span index by name (the operation name). */
export function idx(trace, name) {
  const i = trace.spans.findIndex((s) => s.name === name);
  if (i < 0) throw new Error(`no span ${name}`);
  return i;
}

/** Names of span indices. */
export function names(trace, indices) {
  return Array.from(indices, (i) => trace.spans[i].name);
}
