//! The service graph through Zipkin's and Jaeger's dependency endpoints: edges appear once a
//! trace completes (after the idle timeout), with call and error counts.

use std::time::Duration;

use tracehound::testkit::TestServer;

use crate::common::*;

fn now_ms() -> u64 {
    recent_nanos() / 1_000_000 + 60_000
}

/// Polls Zipkin's dependencies until they are non-empty.
async fn zipkin_links(server: &TestServer) -> serde_json::Value {
    for _ in 0..100 {
        let url = format!("http://{}/api/v2/dependencies?endTs={}", server.addrs.zipkin, now_ms() + 60_000);
        let (status, json) = get_json(&url).await;
        assert_eq!(status, 200);
        if json.as_array().is_some_and(|links| !links.is_empty()) {
            return json;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no dependency links appeared");
}

#[tokio::test]
async fn completed_traces_feed_both_dependency_apis() {
    // The seeded checkout trace: frontend's client span calls cart (and fails), cart serves it.
    let (server, _) = seeded().await;
    let links = zipkin_links(&server).await;
    // The client span failed, so the call counts as an error (Zipkin's rule).
    assert_eq!(links, serde_json::json!([{"parent": "frontend", "child": "cart", "callCount": 1, "errorCount": 1}]));

    let (status, jaeger) =
        get_json(&format!("http://{}/api/dependencies?endTs={}&lookback=3600000", server.addrs.query, now_ms())).await;
    assert_eq!(status, 200);
    assert_eq!(jaeger["data"], serde_json::json!([{"parent": "frontend", "child": "cart", "callCount": 1}]));

    // A window before the spans arrived has no links.
    let (_, empty) = get_json(&format!(
        "http://{}/api/v2/dependencies?endTs={}&lookback=60000",
        server.addrs.zipkin,
        now_ms() - 3_600_000
    ))
    .await;
    assert_eq!(empty, serde_json::json!([]));
    server.stop().await;
}

#[tokio::test]
async fn zipkin_dependencies_need_end_ts() {
    let server = TestServer::start().await;
    let (status, _, body) = get_text(&format!("http://{}/api/v2/dependencies", server.addrs.zipkin)).await;
    assert_eq!(status, 400);
    assert!(body.contains("endTs"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn jaeger_dependencies_refuse_a_bad_end_ts_in_the_envelope() {
    let server = TestServer::start().await;
    let (status, json) = get_json(&format!("http://{}/api/dependencies?endTs=yesterday", server.addrs.query)).await;
    assert_eq!(status, 400);
    assert_eq!(json["errors"][0]["code"], 400, "{json}");
    assert!(json["errors"][0]["msg"].as_str().unwrap_or_default().contains("endTs"), "{json}");
    server.stop().await;
}

#[tokio::test]
async fn calls_between_two_services_merge_into_one_link_without_error_count() {
    // Two traces, each with a successful frontend → cart call (client span and server span).
    let server = TestServer::start().await;
    let start = recent_nanos();
    let call = |trace: [u8; 16]| {
        vec![
            resource_spans("frontend", vec![span(trace, 1, None, "call cart", 3, start, 20_000_000)]),
            resource_spans("cart", vec![span(trace, 2, Some(1), "GET /items", 2, start + 1_000_000, 10_000_000)]),
        ]
    };
    let groups = [call([0x11; 16]), call([0x22; 16])].concat();
    export_grpc(server.addrs.otlp_grpc, request(groups), false).await.unwrap();
    let mut links = serde_json::Value::Null;
    for _ in 0..100 {
        links = zipkin_links(&server).await;
        if links[0]["callCount"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Zipkin writes errorCount only when there were errors.
    assert_eq!(links, serde_json::json!([{"parent": "frontend", "child": "cart", "callCount": 2}]));
    let (_, jaeger) =
        get_json(&format!("http://{}/api/dependencies?endTs={}&lookback=3600000", server.addrs.query, now_ms())).await;
    assert_eq!(jaeger["data"], serde_json::json!([{"parent": "frontend", "child": "cart", "callCount": 2}]));
    server.stop().await;
}
