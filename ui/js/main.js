// Entry point, with no static imports so it runs as soon as it arrives: on /trace/{id} the
// trace request starts here and its body is parsed as soon as it is complete, overlapping the
// download of the app's modules; then the router (loaded dynamically) takes over and hands the
// early answer to the trace view, which uses it when it asks for the same URL (api.js builds it:
// clock skew adjusted unless the page has ?raw=1, as api.js's adjustsClockSkew reads it).

const trace = /^\/trace\/([^/]+)$/.exec(location.pathname);
let early = null;
if (trace) {
  performance.mark('trace-requested');
  const id = decodeURIComponent(trace[1]).toLowerCase();
  const raw = new URLSearchParams(location.search).get('raw');
  const adjusted = raw === null || /^(0|false)$/i.test(raw);
  const url = `/api/v1/traces/${encodeURIComponent(id)}${adjusted ? '?adjustClockSkew=true' : ''}`;
  const answer = fetch(url, { headers: { Accept: 'application/json' } })
    .then(async (res) => ({ status: res.status, ok: res.ok, body: res.ok ? await res.json() : await res.text() }));
  answer.catch(() => {}); // the view reports failures
  early = { url, answer };
}
import('./router.js').then((router) => router.start(early));
