// Test and benchmark traces, sent to tracehound as OTLP/HTTP JSON: a checkout trace across three
// services (typed attributes, events, a link, an error), a trace whose names are HTML/script, a
// trace whose second host's clock runs 1 s ahead, and generated traces of any size with realistic
// shape (several services, depth up to ~20, sequential and parallel children). Also polling the
// search API until a trace is findable.

import { randomBytes } from 'node:crypto';

export const hex = (bytes) => randomBytes(bytes).toString('hex');

// The host.name of a span's resource: its own `host`, else one derived from the service.
const hostOf = (s) => s.host ?? `${s.service.replace(/[^a-z]/gi, '').toLowerCase() || 'svc'}-7f9c`;

/** Spans → one OTLP ExportTraceServiceRequest, grouped by service and host. */
export function otlpRequest(spans, baseNs) {
  const byResource = new Map();
  for (const s of spans) {
    const key = JSON.stringify([s.service, hostOf(s)]);
    if (!byResource.has(key)) byResource.set(key, []);
    byResource.get(key).push({
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId ?? '',
      name: s.name,
      kind: s.kind ?? 1,
      startTimeUnixNano: String(baseNs + BigInt(Math.round(s.start))),
      endTimeUnixNano: String(baseNs + BigInt(Math.round(s.end))),
      attributes: s.attributes ?? [],
      events: (s.events ?? []).map((e) => ({ ...e, timeUnixNano: String(baseNs + BigInt(Math.round(e.at))) })),
      links: s.links ?? [],
      status: s.status ?? {},
    });
  }
  return {
    resourceSpans: [...byResource].map(([key, list]) => ({
      resource: { attributes: [
        { key: 'service.name', value: { stringValue: JSON.parse(key)[0] } },
        { key: 'host.name', value: { stringValue: JSON.parse(key)[1] } },
      ] },
      scopeSpans: [{ scope: { name: 'tracehound.test', version: '1.0.0' }, spans: list }],
    })),
  };
}

/** POSTs spans in chunks of `chunk` spans; throws on a non-2xx answer. */
export async function postSpans(otlpBase, spans, baseNs, chunk = 10_000) {
  for (let i = 0; i < spans.length; i += chunk) {
    const body = JSON.stringify(otlpRequest(spans.slice(i, i + chunk), baseNs));
    const res = await fetch(`${otlpBase}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    if (!res.ok) throw new Error(`OTLP POST failed: ${res.status} ${await res.text()}`);
  }
}

const str = (key, v) => ({ key, value: { stringValue: v } });
const int = (key, v) => ({ key, value: { intValue: String(v) } });
const ms = 1e6;

/** The checkout trace: web → cart → inventory, 7 spans, typed attributes, events, an error. */
export function checkoutTrace(traceId = hex(16)) {
  const id = () => hex(8);
  const [root, cartCall, cartServer, load, dbCall, dbServer, render] = Array.from({ length: 7 }, id);
  const spans = [
    { spanId: root, name: 'GET /checkout', service: 'web', kind: 2, start: 0, end: 120 * ms,
      attributes: [str('http.method', 'GET'), str('http.route', '/checkout'), int('http.status_code', 500),
        { key: 'user.premium', value: { boolValue: true } }, { key: 'cart.total', value: { doubleValue: 99.5 } },
        { key: 'feature.flags', value: { arrayValue: { values: [{ stringValue: 'fast-path' }, { stringValue: 'beta' }] } } }],
      status: { code: 2, message: 'inventory check failed' } },
    { spanId: cartCall, parentSpanId: root, name: 'POST cart/items', service: 'web', kind: 3, start: 5 * ms, end: 80 * ms,
      attributes: [str('peer.service', 'cart')] },
    { spanId: cartServer, parentSpanId: cartCall, name: 'POST /items', service: 'cart', kind: 2, start: 8 * ms, end: 78 * ms,
      attributes: [str('cart.id', 'C-1042'), int('cart.items', 3)],
      events: [{ at: 20 * ms, name: 'cache miss', attributes: [str('cache.key', 'cart:C-1042')] }] },
    { spanId: load, parentSpanId: cartServer, name: 'load cart', service: 'cart', kind: 1, start: 10 * ms, end: 30 * ms },
    { spanId: dbCall, parentSpanId: cartServer, name: 'check stock', service: 'cart', kind: 3, start: 32 * ms, end: 76 * ms },
    { spanId: dbServer, parentSpanId: dbCall, name: 'SELECT stock', service: 'inventory', kind: 2, start: 34 * ms, end: 74 * ms,
      attributes: [str('db.system', 'postgresql'), str('db.statement', 'SELECT qty FROM stock WHERE sku = $1')],
      events: [{ at: 70 * ms, name: 'exception', attributes: [str('exception.type', 'TimeoutError'), str('exception.message', 'lock wait timeout')] }],
      status: { code: 2, message: 'lock wait timeout' },
      links: [{ traceId: hex(16), spanId: hex(8), attributes: [str('link.reason', 'batch')] }] },
    { spanId: render, parentSpanId: root, name: 'render page', service: 'web', kind: 1, start: 85 * ms, end: 115 * ms },
  ].map((s) => ({ traceId, ...s }));
  return { traceId, spans };
}

/** A trace whose span, service and attribute text is markup that must stay text. */
export function hostileTrace(traceId = hex(16)) {
  const root = hex(8);
  return {
    traceId,
    spans: [
      { traceId, spanId: root, name: '<script>window.__pwned=1</script>', service: 'xss<img src=x onerror="window.__pwned=2">', kind: 2, start: 0, end: 10 * ms,
        attributes: [str('html', '<b onmouseover="window.__pwned=3">bold</b>'), str('<i>key</i>', 'v')] },
      { traceId, spanId: hex(8), parentSpanId: root, name: '<img src=x onerror="window.__pwned=4">', service: 'xss<img src=x onerror="window.__pwned=2">', kind: 1, start: 2 * ms, end: 6 * ms },
    ],
  };
}

/**
 * Clock skew: a client span of `front` on host a lasting 100 ms, its server span of `back` on host
 * b stamped 1 s late (from 1,010 ms, 80 ms long) and a child of that on host b. Adjusted, the
 * server is centred in the client (10–90 ms: moved by -1s) and its child moves with it.
 */
export function skewTrace(traceId = hex(16)) {
  const [client, server, child] = [hex(8), hex(8), hex(8)];
  return {
    traceId,
    warning: "This span's timestamps were adjusted by -1s",
    spans: [
      { traceId, spanId: client, name: 'GET /profile', service: 'front', host: 'a', kind: 3, start: 0, end: 100 * ms },
      { traceId, spanId: server, parentSpanId: client, name: 'handle /profile', service: 'back', host: 'b', kind: 2, start: 1010 * ms, end: 1090 * ms,
        attributes: [str('http.route', '/profile')] },
      { traceId, spanId: child, parentSpanId: server, name: 'load profile', service: 'back', host: 'b', kind: 1, start: 1020 * ms, end: 1070 * ms },
    ],
  };
}

// A small deterministic PRNG so generated traces are the same on every run.
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s ^= s + Math.imul(s ^ (s >>> 7), 0x61c88647);
    return ((s ^ (s >>> 14)) >>> 0) / 4294967296;
  };
}

// Services in call order: a span that crosses into another service calls one further down the
// list (at most three steps), so the service graph is a realistic DAG.
const SERVICES = ['frontend', 'gateway', 'users', 'search', 'checkout', 'cart', 'recommendations', 'inventory', 'payments', 'shipping'];
const OPS = ['GET /api/items', 'POST /api/orders', 'resolve', 'SELECT items', 'cache get', 'publish event', 'render', 'authorize', 'compute price', 'serialize'];

/**
 * A trace of `n` spans: each new span attaches to a random earlier one above depth `maxDepth`
 * (random recursive tree: average depth about ln n, maximum bounded), about a third of the
 * edges call a service further down, children run in sequence or in parallel inside their parent.
 */
export function generateTrace(n, { seed = 7, maxDepth = 18, durationMs = 4000 } = {}) {
  const rand = prng(seed + n);
  const traceId = hex(16);
  const parent = new Int32Array(n).fill(-1);
  const depth = new Int32Array(n);
  const service = new Int32Array(n);
  const eligible = [0];
  for (let i = 1; i < n; i++) {
    let p;
    do p = eligible[Math.floor(rand() * eligible.length)];
    while (depth[p] >= maxDepth);
    parent[i] = p;
    depth[i] = depth[p] + 1;
    const down = service[p] + 1 + Math.floor(rand() * 3);
    service[i] = rand() < 0.3 && down < SERVICES.length ? down : service[p];
    if (depth[i] < maxDepth) eligible.push(i);
  }
  const children = Array.from({ length: n }, () => []);
  for (let i = 1; i < n; i++) children[parent[i]].push(i);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  end[0] = durationMs * ms;
  // Top-down: children share their parent's time, in sequence or in parallel.
  for (let i = 0; i < n; i++) {
    const kids = children[i];
    if (!kids.length) continue;
    const s0 = start[i];
    const d = end[i] - start[i];
    if (rand() < 0.5) {
      const slot = (d * 0.92) / kids.length;
      kids.forEach((c, k) => {
        start[c] = s0 + d * 0.04 + k * slot + slot * 0.05 * rand();
        end[c] = start[c] + Math.max(1000, slot * (0.5 + 0.45 * rand()));
      });
    } else {
      for (const c of kids) {
        start[c] = s0 + d * 0.25 * rand();
        end[c] = start[c] + Math.max(1000, (s0 + d - start[c]) * (0.2 + 0.75 * rand()));
      }
    }
  }
  const ids = Array.from({ length: n }, () => hex(8));
  const spans = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    const crossed = p >= 0 && service[p] !== service[i];
    const error = rand() < 0.01;
    spans[i] = {
      traceId,
      spanId: ids[i],
      parentSpanId: p >= 0 ? ids[p] : '',
      name: OPS[Math.floor(rand() * OPS.length)],
      service: SERVICES[service[i]],
      kind: p < 0 || crossed ? 2 : rand() < 0.3 ? 3 : 1,
      start: start[i],
      end: end[i],
      attributes: [str('component', 'bench'), int('item.index', i), str('http.route', `/api/v${1 + (i % 3)}/items`)],
      status: error ? { code: 2, message: 'synthetic failure' } : {},
    };
  }
  return { traceId, spans, maxDepth: Math.max(...depth) };
}

/** Polls the search API until `traceId` is among the results; throws after `timeoutMs`. */
export async function waitForTrace(queryBase, query, traceId, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    const res = await fetch(`${queryBase}/api/v1/traces?${query}`);
    last = `${res.status}`;
    if (res.ok) {
      const body = await res.json();
      if ((body.traces ?? []).some((t) => t.traceId === traceId)) return body;
      last = `200 with ${(body.traces ?? []).length} traces`;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`trace ${traceId} not found by search (${query}) within ${timeoutMs} ms; last answer ${last}`);
}
