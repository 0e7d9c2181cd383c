//! The embedded web UI over real sockets: `index.html` for every view's route (deep links), the
//! files under `/ui/`, gzip and ETag revalidation, and the Content-Security-Policy on each.

use tracehound::testkit::TestServer;
use tracehound::ui::CONTENT_SECURITY_POLICY;

async fn get(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn every_view_route_serves_the_page_with_a_strict_policy() {
    let server = TestServer::start().await;
    let base = format!("http://{}", server.addrs.query);
    for path in [
        "/",
        "/search?service=a&lookback=1h",
        "/trace/4bf92f3577b34da6a3ce929d0e0e4736",
        "/services",
        "/services/checkout",
        "/dependencies",
        "/open",
    ] {
        let response = get(&format!("{base}{path}"), &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        let h = response.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(h["content-security-policy"], CONTENT_SECURITY_POLICY, "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        let body = response.text().await.unwrap();
        assert!(body.starts_with("<!doctype html>"), "{path}");
        assert!(body.contains("/ui/"), "{path}: assets are referenced under /ui/");
    }
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self'") && !CONTENT_SECURITY_POLICY.contains("unsafe"));
}

#[tokio::test]
async fn assets_are_typed_gzipped_and_revalidated() {
    let server = TestServer::start().await;
    let url = format!("http://{}/ui/app.css", server.addrs.query);
    let plain = get(&url, &[]).await;
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    let css = plain.bytes().await.unwrap();

    let zipped = get(&url, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped.bytes().await.unwrap()[..]), &mut inflated)
        .unwrap();
    assert_eq!(inflated, css);

    let cached = get(&url, &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status(), 304);

    let script = get(&format!("http://{}/ui/js/main.js", server.addrs.query), &[]).await;
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");

    for missing in ["/ui/nope.js", "/ui/package.json", "/ui/test/tree.test.mjs", "/trace", "/api/nothing"] {
        let response = get(&format!("http://{}{missing}", server.addrs.query), &[]).await;
        assert_eq!(response.status(), 404, "{missing}");
    }
}
