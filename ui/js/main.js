// Entry point, with no static imports so it runs as soon as it arrives: on /trace/{id} the
// trace request starts here and its body is parsed as soon as it is complete, overlapping the
// download of the app's modules; then the router (loaded dynamically) takes over and hands the
// early answer to the trace view.

const trace = /^\/trace\/([^/]+)$/.exec(location.pathname);
let early = null;
if (trace) {
  performance.mark('trace-requested');
  const id = decodeURIComponent(trace[1]).toLowerCase();
  const answer = fetch(`/api/v1/traces/${encodeURIComponent(id)}`, { headers: { Accept: 'application/json' } })
    .then(async (res) => ({ status: res.status, ok: res.ok, body: res.ok ? await res.json() : await res.text() }));
  answer.catch(() => {}); // the view reports failures
  early = { id, answer };
}
import('./router.js').then((router) => router.start(early));
