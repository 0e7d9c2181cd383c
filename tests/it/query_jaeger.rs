//! Jaeger HTTP query API over a real socket, in the envelope and trace JSON Jaeger UI renders.

use tracehound::testkit::TestServer;

use crate::common::*;

#[tokio::test]
async fn services_envelope_has_empty_array_not_null() {
    let server = TestServer::start().await;
    let (status, body) = get_json(&format!("http://{}/api/services", server.addrs.query)).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"data": [], "total": 0, "limit": 0, "offset": 0, "errors": null}));
    server.stop().await;
}

#[tokio::test]
async fn services_and_operations() {
    let (server, _) = seeded().await;
    let base = format!("http://{}/api", server.addrs.query);
    let (_, services) = get_json(&format!("{base}/services")).await;
    assert_eq!(services["data"], serde_json::json!(["cart", "frontend"]));
    assert_eq!(services["total"], 2);
    let (_, ops) = get_json(&format!("{base}/services/frontend/operations")).await;
    assert_eq!(ops["data"], serde_json::json!(["GET /cart", "GET /health", "call cart"]));
    let (_, servers) = get_json(&format!("{base}/operations?service=frontend&spanKind=server")).await;
    assert_eq!(
        servers["data"],
        serde_json::json!([{"name": "GET /cart", "spanKind": "server"}, {"name": "GET /health", "spanKind": "server"}])
    );
    let (status, missing) = get_json(&format!("{base}/operations")).await;
    assert_eq!(status, 400);
    assert_eq!(missing["errors"][0]["code"], 400);
    assert_eq!(missing["errors"][0]["msg"], "parameter 'service' is required");
    server.stop().await;
}

#[tokio::test]
async fn trace_by_id_has_the_ui_model() {
    let (server, start) = seeded().await;
    let (status, body) = get_json(&format!("http://{}/api/traces/{}", server.addrs.query, hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    let trace = &body["data"][0];
    assert_eq!(trace["traceID"], hex(&CHECKOUT));
    let spans = trace["spans"].as_array().unwrap();
    let client = spans.iter().find(|s| s["spanID"] == "0000000000000002").unwrap();
    assert_eq!(client["operationName"], "call cart");
    assert_eq!(
        client["references"][0],
        serde_json::json!({"refType": "CHILD_OF", "traceID": hex(&CHECKOUT), "spanID": "0000000000000001"})
    );
    assert_eq!(client["startTime"], (start + 1_000_000) / 1000);
    assert_eq!(client["duration"], 20_000);
    let tags = client["tags"].as_array().unwrap();
    let tag = |k: &str| tags.iter().find(|t| t["key"] == k).cloned().unwrap_or_else(|| panic!("tag {k} in {tags:?}"));
    assert_eq!(tag("span.kind"), serde_json::json!({"key": "span.kind", "type": "string", "value": "client"}));
    assert_eq!(tag("error"), serde_json::json!({"key": "error", "type": "bool", "value": true}));
    assert_eq!(tag("otel.status_code")["value"], "ERROR");
    assert_eq!(tag("otel.status_description")["value"], "upstream timeout");
    assert_eq!(tag("otel.scope.name")["value"], "it");
    let log = &client["logs"][0];
    assert_eq!(log["timestamp"], (start + 2_000_000) / 1000);
    let fields = log["fields"].as_array().unwrap();
    assert!(fields.contains(&serde_json::json!({"key": "event", "type": "string", "value": "retry"})));
    assert!(fields.contains(&serde_json::json!({"key": "attempt", "type": "int64", "value": 2})));
    let process = &trace["processes"][client["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], "frontend");
    assert_eq!(process["tags"], serde_json::json!([{"key": "host.name", "type": "string", "value": "box-1"}]));
    assert_eq!(trace["processes"].as_object().unwrap().len(), 2);
    let root = spans.iter().find(|s| s["spanID"] == "0000000000000001").unwrap();
    assert_eq!(root["references"], serde_json::json!([]));
    assert_eq!(root["warnings"], serde_json::Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn unknown_trace_is_404_in_the_envelope() {
    let server = TestServer::start().await;
    let (status, body) = get_json(&format!("http://{}/api/traces/abc", server.addrs.query)).await;
    assert_eq!(status, 404);
    assert_eq!(body["data"], serde_json::Value::Null);
    assert_eq!(body["errors"], serde_json::json!([{"code": 404, "msg": "trace not found"}]));
    let (status, _) = get_json(&format!("http://{}/api/traces/xyz", server.addrs.query)).await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn several_trace_ids_return_found_traces_and_name_missing_ones() {
    let (server, _) = seeded().await;
    let url = format!("http://{}/api/traces?traceID={}&traceID=abc", server.addrs.query, hex(&CHECKOUT));
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["errors"], serde_json::json!([{"msg": "trace not found", "traceID": "abc"}]));
    // The same as comma-separated ids in the path.
    let url = format!("http://{}/api/traces/{},{},abc", server.addrs.query, hex(&CHECKOUT), hex(&HEALTH));
    let (status, body) = get_json(&url).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|t| t["traceID"].as_str().unwrap()).collect();
    assert_eq!(ids, [hex(&CHECKOUT).as_str(), "00f067aa0ba902b7"]);
    assert_eq!(body["errors"], serde_json::json!([{"msg": "trace not found", "traceID": "abc"}]));
    server.stop().await;
}

#[tokio::test]
async fn search_honours_jaeger_parameters() {
    let (server, start) = seeded().await;
    let base = format!("http://{}/api/traces", server.addrs.query);
    let ids = |body: &serde_json::Value| -> Vec<String> {
        body["data"].as_array().unwrap().iter().map(|t| t["traceID"].as_str().unwrap().to_owned()).collect()
    };
    let (_, all) = get_json(&format!("{base}?service=frontend&minDuration=&maxDuration=&lookback=1h")).await;
    assert_eq!(ids(&all), vec!["00f067aa0ba902b7".to_string(), hex(&CHECKOUT)]);
    let (_, slow) = get_json(&format!("{base}?service=frontend&minDuration=40ms")).await;
    assert_eq!(ids(&slow), vec![hex(&CHECKOUT)]);
    let (_, fast) = get_json(&format!("{base}?service=frontend&maxDuration=1.5ms")).await;
    assert_eq!(ids(&fast), vec!["00f067aa0ba902b7".to_string()]);
    // One span must carry the service and all tags: db.system is only on a cart span.
    let (_, redis) = get_json(&format!("{base}?service=cart&tags=%7B%22db.system%22%3A%22redis%22%7D")).await;
    assert_eq!(ids(&redis), vec![hex(&CHECKOUT)]);
    let (_, none) = get_json(&format!("{base}?service=frontend&tag=db.system:redis")).await;
    assert_eq!(ids(&none), Vec::<String>::new());
    let (_, errors) = get_json(&format!("{base}?tag=error:true")).await;
    assert_eq!(ids(&errors), vec![hex(&CHECKOUT)]);
    let (_, op) = get_json(&format!("{base}?service=frontend&operation=GET%20/health")).await;
    assert_eq!(ids(&op), vec!["00f067aa0ba902b7".to_string()]);
    // start/end are µs.
    let end_us = start / 1000 - 1;
    let (_, before) = get_json(&format!("{base}?service=frontend&start={}&end={end_us}", end_us - 60_000_000)).await;
    assert_eq!(ids(&before), Vec::<String>::new());
    let (_, one) = get_json(&format!("{base}?limit=1")).await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    let (status, bad) = get_json(&format!("{base}?service=frontend&minDuration=fast")).await;
    assert_eq!(status, 400);
    assert_eq!(bad["errors"][0]["code"], 400);
    assert_eq!(get_json(&format!("{base}?tag=nocolon")).await.0, 400);
    server.stop().await;
}

#[tokio::test]
async fn metrics_endpoint_exposes_receiver_assembler_and_store_figures() {
    let (server, _) = seeded().await;
    let (status, content_type, body) = get_text(&format!("http://{}/metrics", server.addrs.query)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    for line in [
        "tracehound_receiver_spans_accepted_total{receiver=\"otlp_grpc\"} 4",
        "tracehound_receiver_spans_received_total{receiver=\"otlp_http\"} 0",
        "tracehound_assembler_traces_in_flight 2",
        "tracehound_store_traces 2",
        "tracehound_store_traces_evicted_total 0",
    ] {
        assert!(body.lines().any(|l| l == line), "missing {line:?} in:\n{body}");
    }
    server.stop().await;
}
