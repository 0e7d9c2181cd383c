// The query API, as the UI uses it: one fetch wrapper that turns error bodies ({"error"} of our
// API, {"errors":[{"msg"}]} of Jaeger's) into Errors with the server's message, and the URLs of
// every endpoint. Short-lived caching for the search form's lists.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function getJson(url, signal) {
  return readJson(fetch(url, { signal, headers: { Accept: 'application/json' } }), url);
}

// The JSON body of a response, or an ApiError with the server's message.
async function readJson(pending, url) {
  let res;
  try {
    res = await pending;
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${e.message}`, 0);
  }
  const text = await res.text();
  if (!res.ok) throw errorFrom(res.status, text);
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(`the server sent something that is not JSON (${url})`, res.status);
  }
}

// The server's message from an error body: ours, Jaeger's, api_v3's, or the text itself.
function errorFrom(status, text) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {}
  const msg = body?.error?.message ?? body?.error ?? body?.errors?.[0]?.msg ?? String(text ?? '').trim();
  return new ApiError(String(msg || `HTTP ${status}`), status);
}

const cache = new Map();
function cached(url, ttlMs, signal) {
  const hit = cache.get(url);
  if (hit && hit.until > Date.now()) return hit.promise;
  const promise = getJson(url, signal).catch((e) => {
    cache.delete(url);
    throw e;
  });
  cache.set(url, { promise, until: Date.now() + ttlMs });
  return promise;
}

const enc = encodeURIComponent;

// A trace comes with clock skew corrected (the server's Jaeger adjuster; moved spans carry
// warnings) unless `adjusted` is false: then as stored. Jaeger's API adjusts unless raw=true.
export const urls = {
  traceOtlp: (id, adjusted = true) => `/api/v1/traces/${enc(id)}${adjusted ? '?adjustClockSkew=true' : ''}`,
  traceJaeger: (id, adjusted = true) => `/api/traces/${enc(id)}${adjusted ? '' : '?raw=true'}`,
};

/**
 * Whether a trace page's query (URLSearchParams) asks for clock-skew adjustment: yes unless it
 * has `raw` (raw=1; raw=0 or raw=false count as absent). main.js reads the URL the same way.
 */
export function adjustsClockSkew(query) {
  const raw = query.get('raw');
  return raw === null || /^(0|false)$/i.test(raw);
}

let early = null;

/**
 * Hands over the trace main.js requested before the app loaded: {url, answer}, the answer
 * resolving to {status, ok, body} with the JSON body when ok, else the text.
 */
export function adoptEarlyTrace(request) {
  early = request;
}

/**
 * A trace as OTLP/JSON, clock skew adjusted unless `adjusted` is false (from the early request
 * when that asked for the same URL, the first time a trace is asked for).
 */
export async function fetchTrace(id, signal, adjusted = true) {
  const url = urls.traceOtlp(id, adjusted);
  const pending = early;
  early = null;
  if (pending?.url === url) {
    const { answer } = pending;
    let res;
    try {
      res = await answer;
    } catch (e) {
      throw new ApiError(`cannot load the trace: ${e.message}`, 0);
    }
    if (res.ok) return res.body;
    throw errorFrom(res.status, res.body);
  }
  performance.mark('trace-requested');
  return getJson(url, signal);
}

/** Search summaries for an API query string. */
export const searchTraces = (query, signal) => getJson(`/api/v1/traces?${query}`, signal);
/** Service names. */
export const fetchServices = (signal) => cached('/api/services', 15_000, signal).then((b) => b?.data ?? []);
/** Operations of a service: [{name, spanKind}]. */
export const fetchOperations = (service, signal) =>
  cached(`/api/operations?service=${enc(service)}`, 15_000, signal).then((b) => b?.data ?? []);
/** Figures per service. */
export const fetchServiceStats = (lookback, signal) => getJson(`/api/v1/stats/services?lookback=${enc(lookback)}`, signal);
/** Figures per operation of a service. */
export const fetchOperationStats = (service, lookback, signal) =>
  getJson(`/api/v1/stats/operations?service=${enc(service)}&lookback=${enc(lookback)}`, signal);
/** Quantile time series. */
export function fetchTimeseries({ service, operation, level, lookback, step }, signal) {
  const p = new URLSearchParams({ service, quantiles: '0.5,0.95,0.99', lookback });
  if (operation) p.set('operation', operation);
  if (level) p.set('level', level);
  if (step) p.set('step', step);
  return getJson(`/api/v1/stats/timeseries?${p}`, signal);
}
/** Service graph edges. */
export const fetchDependencies = (lookback, signal) => getJson(`/api/v1/dependencies?lookback=${enc(lookback)}`, signal);
