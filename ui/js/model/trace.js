// The one trace model of the UI and its two parsers: OTLP/JSON (ExportTraceServiceRequest, also
// api_v3's {"result": …}) and Jaeger's UI JSON ({"data":[trace]}, a bare trace or an array).
// Times are nanosecond offsets from the trace's earliest start, exact to the nanosecond for
// OTLP (64-bit decimal strings are split, never rounded through a double); the absolute start is
// kept once, in epoch milliseconds. Attributes keep their type. The server's clock-skew warnings
// (OTLP attribute `@jaeger@warnings`, Jaeger JSON's `warnings`) become `span.warnings`, not an
// attribute. No DOM here.

/** @typedef {{key: string, type: string, value: any}} Attribute  type: string|int|double|bool|bytes|array|kvlist|empty */

export const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS = ['unset', 'ok', 'error'];
const HEX = /^[0-9a-f]*$/;

const ZEROS = { 16: '0'.repeat(16), 32: '0'.repeat(32) };

/** The span attribute in which the server's adjusted OTLP carries a span's warnings. */
export const WARNINGS_KEY = '@jaeger@warnings';
const NONE = Object.freeze([]);

/** Lower-case hex id padded to `length` characters ('' for none); base64 ids are decoded. */
export function normalizeId(raw, length) {
  // Fast path: lower-case hex of the right length, as the API sends.
  if (typeof raw === 'string' && raw.length === length && HEX.test(raw)) return raw === ZEROS[length] ? '' : raw;
  let id = String(raw ?? '').trim();
  if (!HEX.test(id.toLowerCase()) && /^[A-Za-z0-9+/_-]+=*$/.test(id)) {
    try {
      const bin = atob(id.replace(/-/g, '+').replace(/_/g, '/'));
      id = [...bin].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
    } catch {}
  }
  id = id.toLowerCase();
  return /^0*$/.test(id) ? '' : id.padStart(length, '0');
}

// A 64-bit nanosecond time as [seconds, nanoseconds] so that offsets stay exact.
function splitNanos(v, out, i) {
  if (typeof v === 'string' && v.length > 9) {
    out.sec[i] = Number(v.slice(0, -9));
    out.ns[i] = Number(v.slice(-9));
  } else {
    const n = Number(v ?? 0) || 0;
    const sec = Math.floor(n / 1e9);
    out.sec[i] = sec;
    out.ns[i] = n - sec * 1e9;
  }
}

/** One OTLP AnyValue as {type, value}. */
export function otlpValue(v) {
  if (v === null || typeof v !== 'object') return { type: 'empty', value: null };
  if ('stringValue' in v) return { type: 'string', value: String(v.stringValue) };
  if ('intValue' in v) return { type: 'int', value: String(v.intValue) };
  if ('doubleValue' in v) return { type: 'double', value: Number(v.doubleValue) };
  if ('boolValue' in v) return { type: 'bool', value: v.boolValue === true || v.boolValue === 'true' };
  if ('bytesValue' in v) return { type: 'bytes', value: String(v.bytesValue) };
  if ('arrayValue' in v) return { type: 'array', value: (v.arrayValue?.values ?? []).map(otlpValue) };
  if ('kvlistValue' in v) return { type: 'kvlist', value: otlpAttributes(v.kvlistValue?.values) };
  return { type: 'empty', value: null };
}

/** OTLP KeyValue list as typed attributes. */
export function otlpAttributes(list) {
  if (!Array.isArray(list) || list.length === 0) return [];
  const out = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    const { type, value } = otlpValue(kv?.value);
    out[i] = { key: String(kv?.key ?? ''), type, value };
  }
  return out;
}

/** An attribute value as display text (arrays and maps as compact JSON-like text). */
export function valueText(attr) {
  if (attr.type === 'array') return `[${attr.value.map(quoted).join(', ')}]`;
  if (attr.type === 'kvlist') return `{${attr.value.map((kv) => `${kv.key}: ${quoted(kv)}`).join(', ')}}`;
  return attr.type === 'empty' ? '' : String(attr.value);
}

function quoted(v) {
  return v.type === 'string' ? JSON.stringify(v.value) : valueText(v);
}

// One span. OTLP attributes, events and links are converted on first use (the detail panel,
// find): opening a 100,000-span trace then costs one pass over the fields the waterfall needs.
class Span {
  constructor() {
    this.index = 0;
    this.traceId = '';
    this.spanId = '';
    this.parentId = '';
    this.refType = '';
    this.name = '';
    this.service = '';
    this.kind = 'unspecified';
    this.start = 0;
    this.duration = 0;
    this.end = 0;
    this.resource = null;
    this.scope = null;
    this.status = 'unset';
    this.statusMessage = '';
    this.error = false;
    this.traceState = '';
    this.dropped = null;
    this.warnings = NONE; // strings: clock-skew adjustment and other warnings of the server
    this.raw = null; // the OTLP span, until its lists are converted
    this.zero = null; // {sec, ns}: the trace's time zero, for event offsets
    this._attributes = null;
    this._events = null;
    this._links = null;
  }

  get attributes() {
    if (this._attributes) return this._attributes;
    const list = otlpAttributes(this.raw?.attributes);
    return (this._attributes = this.warnings === NONE ? list : list.filter((a) => a.key !== WARNINGS_KEY));
  }

  set attributes(list) {
    this._attributes = list;
  }

  get events() {
    if (this._events) return this._events;
    const zero = this.zero;
    const t = { sec: [0], ns: [0] };
    return (this._events = (this.raw?.events ?? []).map((e) => {
      splitNanos(e?.timeUnixNano, t, 0);
      return { offset: (t.sec[0] - zero.sec) * 1e9 + (t.ns[0] - zero.ns), name: String(e?.name ?? ''), attributes: otlpAttributes(e?.attributes) };
    }));
  }

  set events(list) {
    this._events = list;
  }

  get links() {
    return (this._links ??= (this.raw?.links ?? []).map((l) => ({
      traceId: normalizeId(l?.traceId, 32),
      spanId: normalizeId(l?.spanId, 16),
      traceState: String(l?.traceState ?? ''),
      attributes: otlpAttributes(l?.attributes),
    })));
  }

  set links(list) {
    this._links = list;
  }
}

/**
 * The warnings in an OTLP span's attribute list (`@jaeger@warnings`: an array of strings, or one
 * string), or null when it has none. Only the keys are looked at for spans without it.
 */
export function otlpWarnings(list) {
  if (!Array.isArray(list)) return null;
  for (let i = 0; i < list.length; i++) {
    if (list[i]?.key !== WARNINGS_KEY) continue;
    const v = otlpValue(list[i].value);
    const values = v.type === 'array' ? v.value : [v];
    return values.filter((x) => x.type !== 'empty').map((x) => (x.type === 'string' ? x.value : valueText(x)));
  }
  return null;
}

/** The warnings of a Jaeger JSON span (its `warnings` field), or null. */
function jaegerWarnings(s) {
  return Array.isArray(s?.warnings) && s.warnings.length ? s.warnings.map(String) : null;
}

/** Whether a warning says the span's timestamps were shifted to correct clock skew. */
export const isAdjustment = (warning) => warning.includes('were adjusted by');

/** How many spans the server moved to correct clock skew. */
export function countAdjusted(spans) {
  let n = 0;
  for (const s of spans) if (s.warnings.length && s.warnings.some(isAdjustment)) n++;
  return n;
}

function serviceOf(attributes) {
  for (const a of attributes) if (a.key === 'service.name' && a.type === 'string' && a.value) return a.value;
  return 'unknown_service';
}

/** Which format a parsed JSON document is: 'otlp', 'jaeger', or null. */
export function detectFormat(doc) {
  if (!doc || typeof doc !== 'object') return null;
  if (Array.isArray(doc.resourceSpans) || Array.isArray(doc.result?.resourceSpans)) return 'otlp';
  if (Array.isArray(doc.data) && doc.data.some((t) => Array.isArray(t?.spans))) return 'jaeger';
  if (Array.isArray(doc.spans) && doc.processes) return 'jaeger';
  if (Array.isArray(doc) && doc.some((t) => Array.isArray(t?.spans))) return 'jaeger';
  return null;
}

/**
 * Parses a trace document of either format. `traceId` picks one trace when the document holds
 * several (default: the first seen). Throws an Error with a readable message otherwise.
 */
export function parseTrace(doc, traceId = '') {
  const format = detectFormat(doc);
  if (format === 'otlp') return parseOtlp(doc.result ?? doc, traceId);
  if (format === 'jaeger') return parseJaeger(doc, traceId);
  throw new Error('not a trace: expected OTLP JSON ("resourceSpans") or Jaeger JSON ("data": [{"spans": …}])');
}

/** Parses OTLP/JSON into the model. */
export function parseOtlp(doc, wantedTraceId = '') {
  const raw = [];
  const warnings = [];
  for (const rs of doc.resourceSpans ?? []) {
    const resAttrs = otlpAttributes(rs?.resource?.attributes);
    const resource = { attributes: resAttrs, service: serviceOf(resAttrs) };
    for (const ss of rs?.scopeSpans ?? rs?.instrumentationLibrarySpans ?? []) {
      const sc = ss?.scope ?? ss?.instrumentationLibrary ?? {};
      const scope = { name: String(sc.name ?? ''), version: String(sc.version ?? ''), attributes: otlpAttributes(sc.attributes) };
      for (const s of ss?.spans ?? []) raw.push({ s, resource, scope });
    }
  }
  const chosen = pickTrace(raw, (r) => normalizeId(r.s.traceId, 32), wantedTraceId, warnings);
  const n = chosen.length;
  const start = { sec: new Float64Array(n), ns: new Float64Array(n) };
  const end = { sec: new Float64Array(n), ns: new Float64Array(n) };
  const spans = new Array(n);
  for (let i = 0; i < n; i++) {
    const { s, resource, scope } = chosen[i];
    const span = new Span();
    span.index = i;
    span.traceId = normalizeId(s.traceId, 32);
    span.spanId = normalizeId(s.spanId, 16);
    span.parentId = normalizeId(s.parentSpanId, 16);
    span.refType = span.parentId ? 'CHILD_OF' : '';
    span.name = String(s.name ?? '');
    span.service = resource.service;
    span.kind = KINDS[Number(s.kind) | 0] ?? 'unspecified';
    span.resource = resource;
    span.scope = scope;
    const code = Number(s.status?.code) | 0;
    span.status = STATUS[code] ?? 'unset';
    span.statusMessage = String(s.status?.message ?? '');
    span.error = code === 2;
    span.traceState = String(s.traceState ?? '');
    const dropped = [s.droppedAttributesCount, s.droppedEventsCount, s.droppedLinksCount].map((x) => Number(x) || 0);
    if (dropped[0] || dropped[1] || dropped[2]) span.dropped = { attributes: dropped[0], events: dropped[1], links: dropped[2] };
    splitNanos(s.startTimeUnixNano, start, i);
    splitNanos(s.endTimeUnixNano ?? s.startTimeUnixNano, end, i);
    span.warnings = otlpWarnings(s.attributes) ?? NONE;
    span.raw = s;
    spans[i] = span;
  }
  // Earliest start: the zero of every offset.
  let sec0 = Infinity;
  let ns0 = 0;
  for (let i = 0; i < n; i++) {
    if (start.sec[i] < sec0 || (start.sec[i] === sec0 && start.ns[i] < ns0)) {
      sec0 = start.sec[i];
      ns0 = start.ns[i];
    }
  }
  if (n === 0) sec0 = 0;
  const zero = { sec: sec0, ns: ns0 };
  let traceEnd = 0;
  for (let i = 0; i < n; i++) {
    const span = spans[i];
    span.zero = zero;
    span.start = (start.sec[i] - sec0) * 1e9 + (start.ns[i] - ns0);
    span.end = Math.max(span.start, (end.sec[i] - sec0) * 1e9 + (end.ns[i] - ns0));
    span.duration = span.end - span.start;
    if (span.end > traceEnd) traceEnd = span.end;
  }
  return finish(spans, sec0 * 1e3 + ns0 / 1e6, traceEnd, 'otlp', warnings, wantedTraceId);
}

// Groups raw spans by trace id and keeps one trace: the one asked for, else the first seen.
function pickTrace(raw, idOf, wanted, warnings) {
  if (raw.length === 0) return raw;
  const want = normalizeId(wanted, 32);
  const first = want || idOf(raw[0]);
  let others = 0;
  const seen = new Set();
  const out = [];
  for (const r of raw) {
    const id = idOf(r);
    if (id === first) out.push(r);
    else if (!seen.has(id)) {
      seen.add(id);
      others++;
    }
  }
  if (others) warnings.push(`the document holds ${others + 1} traces; showing ${first}`);
  return out;
}

const JAEGER_TYPES = { string: 'string', bool: 'bool', int64: 'int', float64: 'double', binary: 'bytes' };

function jaegerTag(t) {
  const type = JAEGER_TYPES[String(t?.type ?? 'string').toLowerCase()] ?? 'string';
  let value = t?.value;
  if (type === 'bool') value = value === true || value === 'true';
  else if (type === 'double') value = Number(value);
  else value = String(value ?? '');
  return { key: String(t?.key ?? ''), type, value };
}

// Tags the OTLP → Jaeger mapping derives from span fields; they go back into those fields.
const CONSUMED = new Set([
  'span.kind',
  'otel.status_code',
  'otel.status_description',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
  'w3c.tracestate',
]);

/** Parses Jaeger UI JSON into the model. */
export function parseJaeger(doc, wantedTraceId = '') {
  const traces = Array.isArray(doc) ? doc : Array.isArray(doc.data) ? doc.data : [doc];
  const warnings = [];
  const raw = [];
  for (const t of traces) {
    for (const s of t?.spans ?? []) raw.push({ s, processes: t.processes ?? {} });
  }
  const chosen = pickTrace(raw, (r) => normalizeId(r.s.traceID, 32), wantedTraceId, warnings);
  const n = chosen.length;
  const resources = new Map();
  let t0 = Infinity;
  for (const { s } of chosen) t0 = Math.min(t0, Number(s.startTime) || 0);
  if (n === 0) t0 = 0;
  const spans = new Array(n);
  let traceEnd = 0;
  for (let i = 0; i < n; i++) {
    const { s, processes } = chosen[i];
    const span = new Span();
    span.index = i;
    span.traceId = normalizeId(s.traceID, 32);
    span.spanId = normalizeId(s.spanID, 16);
    span.name = String(s.operationName ?? '');
    const proc = s.process ?? processes[s.processID] ?? { serviceName: 'unknown_service', tags: [] };
    let resource = resources.get(proc);
    if (!resource) {
      const service = String(proc.serviceName || 'unknown_service');
      const attributes = [{ key: 'service.name', type: 'string', value: service }, ...(proc.tags ?? []).map(jaegerTag)];
      resource = { attributes, service };
      resources.set(proc, resource);
    }
    span.resource = resource;
    span.service = resource.service;
    // Parent: the first CHILD_OF reference within the trace, else the first FOLLOWS_FROM one.
    const refs = Array.isArray(s.references) ? s.references : [];
    let parentRef = refs.find((r) => r?.refType === 'CHILD_OF' && normalizeId(r.traceID, 32) === span.traceId);
    parentRef ??= refs.find((r) => r?.refType === 'FOLLOWS_FROM' && normalizeId(r.traceID, 32) === span.traceId);
    if (!parentRef && s.parentSpanID) parentRef = { refType: 'CHILD_OF', spanID: s.parentSpanID };
    if (parentRef) {
      span.parentId = normalizeId(parentRef.spanID, 16);
      span.refType = span.parentId ? parentRef.refType : '';
    }
    span.links = refs
      .filter((r) => r && r !== parentRef)
      .map((r) => ({
        traceId: normalizeId(r.traceID, 32),
        spanId: normalizeId(r.spanID, 16),
        traceState: '',
        attributes: [{ key: 'opentracing.ref_type', type: 'string', value: String(r.refType ?? '').toLowerCase() }],
      }));
    const scope = { name: '', version: '', attributes: [] };
    const attributes = [];
    let errorTag = false;
    for (const t of s.tags ?? []) {
      const tag = jaegerTag(t);
      const text = String(tag.value);
      switch (tag.key) {
        case 'span.kind':
          span.kind = KINDS.includes(text) ? text : 'unspecified';
          break;
        case 'otel.status_code':
          span.status = text.toUpperCase().includes('ERROR') ? 'error' : text.toUpperCase().includes('OK') ? 'ok' : 'unset';
          break;
        case 'otel.status_description':
          span.statusMessage = text;
          break;
        case 'otel.scope.name':
        case 'otel.library.name':
          scope.name = text;
          break;
        case 'otel.scope.version':
        case 'otel.library.version':
          scope.version = text;
          break;
        case 'w3c.tracestate':
          span.traceState = text;
          break;
        case 'error':
          if (tag.value === true || text === 'true') errorTag = true;
          else attributes.push(tag);
          break;
        default:
          if (!CONSUMED.has(tag.key)) attributes.push(tag);
      }
    }
    if (errorTag) span.status = 'error';
    span.error = span.status === 'error';
    span.warnings = jaegerWarnings(s) ?? NONE;
    span.attributes = attributes;
    span.scope = scope;
    span.start = ((Number(s.startTime) || 0) - t0) * 1e3;
    span.duration = Math.max(0, Number(s.duration) || 0) * 1e3;
    span.end = span.start + span.duration;
    if (span.end > traceEnd) traceEnd = span.end;
    span.events = (s.logs ?? []).map((log) => {
      let name = 'log';
      const attrs = [];
      for (const f of log?.fields ?? []) {
        const tag = jaegerTag(f);
        if (tag.key === 'event' && tag.type === 'string' && name === 'log') name = tag.value;
        else attrs.push(tag);
      }
      return { offset: ((Number(log?.timestamp) || 0) - t0) * 1e3, name, attributes: attrs };
    });
    spans[i] = span;
  }
  return finish(spans, t0 / 1e3, traceEnd, 'jaeger', warnings, wantedTraceId);
}

function finish(spans, startUnixMs, duration, format, warnings, wanted) {
  const traceId = spans[0]?.traceId ?? normalizeId(wanted, 32);
  const services = new Map();
  let errors = 0;
  for (const s of spans) {
    services.set(s.service, (services.get(s.service) ?? 0) + 1);
    if (s.error) errors++;
  }
  return {
    traceId,
    spans,
    startUnixMs,
    duration,
    format,
    warnings,
    errorCount: errors,
    // Spans the server moved to correct clock skew (their warnings say so).
    adjustedSpanCount: countAdjusted(spans),
    // Services in order of first appearance by start time get stable colours.
    services: [...services.keys()].sort(),
    serviceSpanCounts: services,
  };
}
