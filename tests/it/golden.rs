//! Golden tests: each `tests/fixtures/otlp/<case>.in.json` is exported over OTLP/HTTP JSON and
//! read back through the Zipkin and Jaeger APIs; the answers must equal `<case>.zipkin.json` and
//! `<case>.jaeger.json` exactly (one case per mapping rule).

use std::path::PathBuf;

use tracehound::testkit::TestServer;

use crate::common::*;

fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/otlp");
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(".in.json")?.to_owned();
            Some((name, dir.clone()))
        })
        .collect();
    cases.sort();
    cases
}

fn read_json(path: PathBuf) -> serde_json::Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

#[tokio::test]
async fn otlp_json_converts_to_zipkin_and_jaeger_exactly() {
    let cases = fixtures();
    assert!(cases.len() >= 10, "expected a golden case per mapping rule, found {}", cases.len());
    let server = TestServer::start().await;
    let mut failures = Vec::new();
    for (case, dir) in &cases {
        let input = read_json(dir.join(format!("{case}.in.json")));
        let trace_id = input["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"].as_str().unwrap().to_owned();
        let response = post(
            &format!("http://{}/v1/traces", server.addrs.otlp_http),
            "application/json",
            None,
            input.to_string().into_bytes(),
        )
        .await;
        assert_eq!(response.status(), 200, "{case}: export refused: {}", response.text().await.unwrap());
        let (_, zipkin) = get_json(&format!("http://{}/api/v2/trace/{trace_id}", server.addrs.zipkin)).await;
        let expected = read_json(dir.join(format!("{case}.zipkin.json")));
        if zipkin != expected {
            failures.push(format!("{case} (zipkin):\n  got      {zipkin}\n  expected {expected}"));
        }
        let (_, jaeger) = get_json(&format!("http://{}/api/traces/{trace_id}", server.addrs.query)).await;
        let expected = read_json(dir.join(format!("{case}.jaeger.json")));
        if jaeger["data"][0] != expected {
            failures.push(format!("{case} (jaeger):\n  got      {}\n  expected {expected}", jaeger["data"][0]));
        }
    }
    server.stop().await;
    assert!(failures.is_empty(), "{} golden mismatches:\n{}", failures.len(), failures.join("\n"));
}
