//! Zipkin ingest on the Zipkin port over a real socket: v2 JSON and proto3, v1 JSON and thrift,
//! gzip, 202s, refusals with messages and counters, and spans read back through both query APIs.

use tracehound::receiver::zipkin::span::{Annotation, Endpoint, ZipkinSpan};
use tracehound::receiver::zipkin::v1::{V1Annotation, V1BinaryAnnotation, V1Span, V1Value};
use tracehound::receiver::zipkin::{v1_thrift, v2_proto};
use tracehound::telemetry::{ReceiverKind, RefusalReason};
use tracehound::testkit::TestServer;

use crate::common::*;

fn v2(server: &TestServer) -> String {
    format!("http://{}/api/v2/spans", server.addrs.zipkin)
}

fn v1(server: &TestServer) -> String {
    format!("http://{}/api/v1/spans", server.addrs.zipkin)
}

fn now_micros() -> u64 {
    recent_nanos() / 1_000
}

/// A client span of `web` calling `orders` and the orders server span, with an error, an
/// annotation and tags; 128-bit trace id.
fn v2_json(ts: u64) -> String {
    format!(
        r#"[{{"traceId":"5af7183fb1d4cf5f4a3b2c1d0e0f1a2b","parentId":"6b221d5bc9e6496c","id":"352bff9a74ca9ad2",
  "kind":"CLIENT","name":"get /orders","timestamp":{ts},"duration":20000,
  "localEndpoint":{{"serviceName":"web","ipv4":"10.0.0.1"}},"remoteEndpoint":{{"serviceName":"orders","port":8080}},
  "annotations":[{{"timestamp":{a},"value":"ws"}}],"tags":{{"http.method":"GET","http.path":"/orders"}}}},
 {{"traceId":"5af7183fb1d4cf5f4a3b2c1d0e0f1a2b","parentId":"352bff9a74ca9ad2","id":"d1e2f3a4b5c6d7e8",
  "kind":"SERVER","name":"get /orders","timestamp":{b},"duration":15000,
  "localEndpoint":{{"serviceName":"orders","ipv4":"10.0.0.2","port":8080}},
  "tags":{{"error":"db timeout","db.system":"postgresql"}}}}]"#,
        a = ts + 10,
        b = ts + 2000
    )
}

const TRACE: &str = "5af7183fb1d4cf5f4a3b2c1d0e0f1a2b";

#[tokio::test]
async fn v2_json_is_accepted_and_reads_back_through_both_apis() {
    let server = TestServer::start().await;
    let ts = now_micros();
    let body = v2_json(ts);
    let response = post(&v2(&server), "application/json", None, body.clone().into_bytes()).await;
    assert_eq!(response.status(), 202);
    assert!(response.text().await.unwrap().is_empty());

    let (status, trace) = get_json(&format!("http://{}/api/v2/trace/{TRACE}", server.addrs.zipkin)).await;
    assert_eq!(status, 200);
    let mut sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The one addition on the way out: the status code tag the specification sets beside `error`.
    sent[1]["tags"]["otel.status_code"] = "ERROR".into();
    assert_eq!(trace, sent);

    let (status, jaeger) = get_json(&format!("http://{}/api/traces/{TRACE}", server.addrs.query)).await;
    assert_eq!(status, 200);
    let spans = jaeger["data"][0]["spans"].as_array().unwrap();
    let server_span = spans.iter().find(|s| s["spanID"] == "d1e2f3a4b5c6d7e8").unwrap();
    let tags = server_span["tags"].as_array().unwrap();
    assert!(tags.contains(&serde_json::json!({"key":"error","type":"bool","value":true})), "{tags:?}");
    assert!(tags.contains(&serde_json::json!({"key":"span.kind","type":"string","value":"server"})));
    let processes = &jaeger["data"][0]["processes"];
    assert_eq!(processes[server_span["processID"].as_str().unwrap()]["serviceName"], "orders");
    let counters = server.telemetry().receiver(ReceiverKind::ZipkinV2Json);
    assert_eq!((counters.spans_received.get(), counters.spans_accepted.get()), (2, 2));
    server.stop().await;
}

#[tokio::test]
async fn v2_proto_and_gzip_are_accepted() {
    let server = TestServer::start().await;
    let ts = now_micros();
    let span = ZipkinSpan {
        trace_id: tracehound::model::TraceId::from_hex("00f067aa0ba902b7").unwrap(),
        parent_id: None,
        id: tracehound::model::SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        kind: tracehound::model::SpanKind::Producer,
        name: "send".into(),
        timestamp: Some(ts),
        duration: Some(7),
        local_endpoint: Some(Endpoint { service_name: Some("queue-writer".into()), ..Endpoint::default() }),
        remote_endpoint: Some(Endpoint { service_name: Some("kafka".into()), ..Endpoint::default() }),
        annotations: vec![Annotation { timestamp: ts + 1, value: "flushed".into() }],
        tags: vec![("topic".into(), "orders".into())],
        debug: true,
        shared: false,
    };
    let body = gzip(&v2_proto::encode_spans(&[span]));
    let response = post(&v2(&server), "application/x-protobuf", Some("gzip"), body).await;
    assert_eq!(response.status(), 202);
    let (status, trace) = get_json(&format!("http://{}/api/v2/trace/00f067aa0ba902b7", server.addrs.zipkin)).await;
    assert_eq!(status, 200);
    assert_eq!(
        trace,
        serde_json::json!([{"traceId":"00f067aa0ba902b7","id":"00f067aa0ba902b7","kind":"PRODUCER","name":"send",
            "timestamp":ts,"duration":7,"localEndpoint":{"serviceName":"queue-writer"},
            "remoteEndpoint":{"serviceName":"kafka"},"annotations":[{"timestamp":ts + 1,"value":"flushed"}],
            "tags":{"topic":"orders"},"debug":true}])
    );
    assert_eq!(server.telemetry().receiver(ReceiverKind::ZipkinV2Proto).spans_accepted.get(), 1);
    server.stop().await;
}

#[tokio::test]
async fn v1_json_rpc_span_becomes_client_and_shared_server() {
    let server = TestServer::start().await;
    let ts = now_micros();
    let body = format!(
        r#"[{{"traceId":"86154a4ba6e91385","name":"get","id":"4d1e00c0db9010db","parentId":"1111111111111111",
  "timestamp":{ts},"duration":500,
  "annotations":[
    {{"timestamp":{ts},"value":"cs","endpoint":{{"serviceName":"frontend","ipv4":"127.0.0.1"}}}},
    {{"timestamp":{sr},"value":"sr","endpoint":{{"serviceName":"backend","ipv4":"192.168.99.101","port":9000}}}},
    {{"timestamp":{ss},"value":"ss","endpoint":{{"serviceName":"backend","ipv4":"192.168.99.101","port":9000}}}},
    {{"timestamp":{cr},"value":"cr","endpoint":{{"serviceName":"frontend","ipv4":"127.0.0.1"}}}}],
  "binaryAnnotations":[{{"key":"http.path","value":"/api","endpoint":{{"serviceName":"backend","ipv4":"192.168.99.101","port":9000}}}}]}}]"#,
        sr = ts + 100,
        ss = ts + 400,
        cr = ts + 500
    );
    assert_eq!(post(&v1(&server), "application/json", None, body.into_bytes()).await.status(), 202);
    let (_, trace) = get_json(&format!("http://{}/api/v2/trace/86154a4ba6e91385", server.addrs.zipkin)).await;
    let spans = trace.as_array().unwrap();
    assert_eq!(spans.len(), 2, "{trace}");
    let client = spans.iter().find(|s| s["kind"] == "CLIENT").unwrap();
    let server_span = spans.iter().find(|s| s["kind"] == "SERVER").unwrap();
    assert_eq!(client["localEndpoint"]["serviceName"], "frontend");
    assert_eq!((client["timestamp"].as_u64(), client["duration"].as_u64()), (Some(ts), Some(500)));
    assert_eq!(server_span["shared"], true);
    assert_eq!(server_span["id"], client["id"]);
    assert_eq!(server_span["localEndpoint"]["serviceName"], "backend");
    assert_eq!((server_span["timestamp"].as_u64(), server_span["duration"].as_u64()), (Some(ts + 100), Some(300)));

    // Jaeger shows the shared server span under its own id, as a child of the client.
    let (_, jaeger) = get_json(&format!("http://{}/api/traces/86154a4ba6e91385", server.addrs.query)).await;
    let spans = jaeger["data"][0]["spans"].as_array().unwrap();
    let ids: std::collections::HashSet<_> = spans.iter().map(|s| s["spanID"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "ids deduplicated: {jaeger}");
    let jaeger_server = spans.iter().find(|s| s["spanID"] != "4d1e00c0db9010db").unwrap();
    assert_eq!(jaeger_server["references"][0]["spanID"], "4d1e00c0db9010db");
    server.stop().await;
}

#[tokio::test]
async fn v1_thrift_is_accepted() {
    let server = TestServer::start().await;
    let ts = now_micros();
    let endpoint = Endpoint {
        service_name: Some("thrift-client".into()),
        ipv4: Some("10.1.2.3".parse().unwrap()),
        ..Endpoint::default()
    };
    let span = V1Span {
        trace_id: tracehound::model::TraceId::from_hex("7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d").unwrap(),
        name: "query".into(),
        id: tracehound::model::SpanId::from_hex("0123456789abcdef").unwrap(),
        parent_id: None,
        timestamp: Some(ts),
        duration: Some(1234),
        annotations: vec![
            V1Annotation { timestamp: ts, value: "cs".into(), endpoint: Some(endpoint.clone()) },
            V1Annotation { timestamp: ts + 1234, value: "cr".into(), endpoint: Some(endpoint.clone()) },
        ],
        binary_annotations: vec![V1BinaryAnnotation {
            key: "sql".into(),
            value: V1Value::String("select 1".into()),
            endpoint: Some(endpoint),
        }],
        debug: false,
    };
    let response = post(&v1(&server), "application/x-thrift", None, v1_thrift::encode_spans(&[span])).await;
    assert_eq!(response.status(), 202);
    let (status, trace) =
        get_json(&format!("http://{}/api/v2/trace/7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d", server.addrs.zipkin)).await;
    assert_eq!(status, 200);
    assert_eq!(trace[0]["kind"], "CLIENT");
    assert_eq!(trace[0]["duration"], 1234);
    assert_eq!(trace[0]["tags"]["sql"], "select 1");
    assert_eq!(server.telemetry().receiver(ReceiverKind::ZipkinV1Thrift).spans_accepted.get(), 1);
    server.stop().await;
}

#[tokio::test]
async fn empty_bodies_are_accepted_and_store_nothing() {
    let server = TestServer::start().await;
    for body in ["", "[]", " \n"] {
        assert_eq!(post(&v2(&server), "application/json", None, body.into()).await.status(), 202);
        assert_eq!(post(&v1(&server), "application/json", None, body.into()).await.status(), 202);
    }
    let (_, services) = get_json(&format!("http://{}/api/v2/services", server.addrs.zipkin)).await;
    assert_eq!(services, serde_json::json!([]));
    server.stop().await;
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_message_and_leave_stored_spans_alone() {
    let server = TestServer::start().await;
    let ts = now_micros();
    assert_eq!(post(&v2(&server), "application/json", None, v2_json(ts).into_bytes()).await.status(), 202);
    let cases: [(&str, &str, Vec<u8>, &str); 6] = [
        ("v2", "application/json", b"[{\"traceId\":".to_vec(), "invalid Zipkin v2 JSON"),
        ("v2", "application/json", br#"[{"traceId":"1","id":"1","binaryAnnotations":[]}]"#.to_vec(), "v1"),
        ("v2", "application/x-protobuf", b"\x0a\x05garbage".to_vec(), "ListOfSpans"),
        ("v1", "application/json", br#"[{"traceId":"1","id":"2","localEndpoint":{}}]"#.to_vec(), "v2"),
        ("v1", "application/x-thrift", b"\x0c\x00\x00\x00\x05\x0b".to_vec(), "thrift"),
        ("v2", "application/json", br#"[{"traceId":"0","id":"1"}]"#.to_vec(), "rejected"),
    ];
    for (path, content_type, body, needle) in cases {
        let url = if path == "v2" { v2(&server) } else { v1(&server) };
        let response = post(&url, content_type, None, body).await;
        assert_eq!(response.status(), 400, "{path} {content_type} {needle}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = response.text().await.unwrap();
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
    }
    let refused = |kind| server.telemetry().receiver(kind).requests_refused[RefusalReason::Malformed as usize].get();
    assert_eq!(refused(ReceiverKind::ZipkinV2Json), 3);
    assert_eq!(refused(ReceiverKind::ZipkinV2Proto), 1);
    assert_eq!(refused(ReceiverKind::ZipkinV1Json) + refused(ReceiverKind::ZipkinV1Thrift), 2);
    let (status, trace) = get_json(&format!("http://{}/api/v2/trace/{TRACE}", server.addrs.zipkin)).await;
    assert_eq!((status, trace.as_array().unwrap().len()), (200, 2));
    server.stop().await;
}

#[tokio::test]
async fn some_bad_spans_keep_the_good_ones() {
    let server = TestServer::start().await;
    let ts = now_micros();
    let body = format!(
        r#"[{{"traceId":"zz","id":"1"}},{{"traceId":"abc","id":"def","name":"kept","timestamp":{ts},"duration":3,"localEndpoint":{{"serviceName":"svc"}}}}]"#
    );
    let response = post(&v2(&server), "application/json", None, body.into_bytes()).await;
    assert_eq!(response.status(), 202);
    assert!(response.text().await.unwrap().contains("1 of 2 spans rejected"));
    let (status, trace) = get_json(&format!("http://{}/api/v2/trace/abc", server.addrs.zipkin)).await;
    assert_eq!((status, trace[0]["name"].as_str()), (200, Some("kept")));
    let counters = server.telemetry().receiver(ReceiverKind::ZipkinV2Json);
    assert_eq!((counters.spans_rejected.get(), counters.spans_accepted.get()), (1, 1));
    server.stop().await;
}

#[tokio::test]
async fn unknown_content_type_is_415() {
    let server = TestServer::start().await;
    let response = post(&v2(&server), "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    assert!(response.text().await.unwrap().contains("application/x-protobuf"));
    let response = post(&v1(&server), "application/x-protobuf", None, b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);
    server.stop().await;
}
