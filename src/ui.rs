//! Serves the web UI from the binary: the files under `ui/` (ES modules, CSS, `index.html`) are
//! embedded at compile time (read from disk in debug builds) and served under `/ui/`, and
//! `index.html` answers every route the UI handles itself (`/`, `/search`, `/trace/{id}`,
//! `/services`, `/services/{name}`, `/dependencies`, `/open`), so deep links and reloads work.
//!
//! Every response carries a strict Content-Security-Policy: scripts, styles and fetches only from
//! this origin, no inline script or style, no framing. Each file is gzipped once, on first use,
//! and revalidated by ETag.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

/// The UI's files; tests, benchmarks and npm's files stay out of the binary.
#[derive(RustEmbed)]
#[folder = "ui/"]
#[exclude = "test/*"]
#[exclude = "bench/*"]
#[exclude = "node_modules/*"]
#[exclude = "test-output/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
#[exclude = "*.md"]
struct UiFiles;

/// The policy on every UI response: nothing but this origin's own scripts, styles and API.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// One file ready to serve.
struct Asset {
    content_type: &'static str,
    etag: HeaderValue,
    body: Vec<u8>,
    /// The body gzipped, when that is smaller.
    gzip: Option<Vec<u8>>,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn assets() -> &'static HashMap<String, Asset> {
    static ASSETS: OnceLock<HashMap<String, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        UiFiles::iter()
            .filter_map(|path| {
                let file = UiFiles::get(&path)?;
                let body = file.data.into_owned();
                let etag =
                    HeaderValue::from_str(&format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]))).ok()?;
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                let gzip =
                    encoder.write_all(&body).and_then(|()| encoder.finish()).ok().filter(|z| z.len() < body.len());
                Some((path.to_string(), Asset { content_type: content_type(&path), etag, body, gzip }))
            })
            .collect()
    })
}

/// Bytes of every embedded file, uncompressed and gzipped (the UI's page weight).
pub fn page_weight() -> (usize, usize) {
    assets()
        .values()
        .fold((0, 0), |(raw, gz), a| (raw + a.body.len(), gz + a.gzip.as_ref().map_or(a.body.len(), Vec::len)))
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = assets().get(path) else {
        return with_policy((StatusCode::NOT_FOUND, "not found").into_response());
    };
    if headers.get(header::IF_NONE_MATCH).is_some_and(|tag| tag == asset.etag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, asset.etag.clone());
        return with_policy(response);
    }
    let accepts_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = match asset.gzip.as_ref().filter(|_| accepts_gzip) {
        Some(gzip) => ([(header::CONTENT_ENCODING, "gzip")], gzip.clone()).into_response(),
        None => asset.body.clone().into_response(),
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::ETAG, asset.etag.clone());
    // Names carry no content hash, so browsers revalidate (a 304 when unchanged).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    with_policy(response)
}

fn with_policy(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn index_for(_: Path<String>, headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The UI's routes: its files under `/ui/` and `index.html` for each of its views.
pub fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/search", get(index))
        .route("/services", get(index))
        .route("/dependencies", get(index))
        .route("/open", get(index))
        .route("/trace/{id}", get(index_for))
        .route("/services/{name}", get(index_for))
        .route("/ui/{*path}", get(asset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_is_embedded_without_tests_or_npm_files() {
        let assets = assets();
        assert!(assets.contains_key("index.html"), "{:?}", assets.keys().collect::<Vec<_>>());
        assert!(assets.contains_key("app.css"));
        assert!(assets.keys().any(|k| k.starts_with("js/") && k.ends_with(".js")));
        for key in assets.keys() {
            assert!(
                !key.starts_with("test/") && !key.starts_with("node_modules/") && !key.starts_with("bench/"),
                "{key} should not be embedded"
            );
            assert!(!key.starts_with("package"), "{key} should not be embedded");
        }
        assert_eq!(assets["index.html"].content_type, "text/html; charset=utf-8");
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("js/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("app.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("favicon.svg"), "image/svg+xml");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }
}
