// Development server for the UI (node built-ins only): serves ui/ under /ui/ and index.html for
// the SPA routes with the same Content-Security-Policy the binary sends, and proxies /api/* to a
// running tracehound query port: handy while editing, since a release binary embeds ui/ at build
// time. The benchmark also uses it to serve generated traces from memory.
//
//   TRACEHOUND_QUERY=http://127.0.0.1:26686 PORT=26700 node ui/bench/devserver.mjs
//
// Also importable: startDevServer({port, upstream}) → {url, close()} (used by tests and bench).

import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const UI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SPA = [/^\/$/, /^\/search$/, /^\/trace\/[^/]+$/, /^\/services$/, /^\/services\/[^/]+$/, /^\/dependencies$/, /^\/open$/];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.json': 'application/json', '.ico': 'image/x-icon', '.png': 'image/png' };
const EXCLUDED = /^(test|bench|node_modules)(\/|$)|^package(-lock)?\.json$/;

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' });
  res.end(body);
}

function proxy(upstream, req, res) {
  const target = new URL(req.url, upstream);
  const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  up.on('error', (e) => send(res, 502, JSON.stringify({ error: `upstream: ${e.message}` })));
  req.pipe(up);
}

async function serveFile(rel, res) {
  const file = path.join(UI_DIR, rel);
  if (!file.startsWith(UI_DIR + path.sep) || EXCLUDED.test(rel)) return send(res, 404, 'not found', 'text/plain');
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
    const body = await readFile(file);
    return send(res, 200, body, TYPES[path.extname(file)] ?? 'application/octet-stream');
  } catch {
    return send(res, 404, 'not found', 'text/plain');
  }
}

/**
 * Starts the server; resolves to {url, close}. `fixtures` (trace id → OTLP/JSON
 * text) are answered from memory for GET /api/v1/traces/{id}: the benchmark uses this to time
 * the UI alone.
 */
export async function startDevServer({ port = 0, upstream = 'http://127.0.0.1:26686', fixtures = new Map() } = {}) {
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      const p = url.pathname;
      if (p.startsWith('/ui/')) return await serveFile(decodeURIComponent(p.slice(4)), res);
      if (SPA.some((re) => re.test(p))) return await serveFile('index.html', res);
      const fixture = /^\/api\/v1\/traces\/([^/]+)$/.exec(p);
      if (fixture && fixtures.has(fixture[1])) return send(res, 200, fixtures.get(fixture[1]));
      if (p.startsWith('/api/')) return proxy(upstream, req, res);
      return send(res, 404, 'not found', 'text/plain');
    } catch (e) {
      return send(res, 500, JSON.stringify({ error: String(e?.message ?? e) }));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((resolve) => server.close(resolve)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const upstream = process.env.TRACEHOUND_QUERY ?? 'http://127.0.0.1:26686';
  const { url } = await startDevServer({ port: Number(process.env.PORT ?? 26700), upstream });
  console.log(`tracehound UI dev server on ${url} → ${upstream}`);
}
