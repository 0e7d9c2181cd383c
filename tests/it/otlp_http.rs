//! OTLP/HTTP receiver over a real socket: protobuf and JSON, gzip, status codes, overload.

use prost::Message;
use tracehound::telemetry::{ReceiverKind, RefusalReason};
use tracehound::testkit::TestServer;

use crate::common::*;
use crate::otlp_grpc::{big_request, gated_server};

fn url(server: &TestServer) -> String {
    format!("http://{}/v1/traces", server.addrs.otlp_http)
}

#[tokio::test]
async fn protobuf_export_gets_empty_protobuf_reply_and_is_stored() {
    let server = TestServer::start().await;
    let response =
        post(&url(&server), "application/x-protobuf", None, seed_request(recent_nanos()).encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    assert!(response.bytes().await.unwrap().is_empty(), "full success: ExportTraceServiceResponse with nothing set");
    let (status, _) = get_json(&format!("http://{}/api/v2/trace/{}", server.addrs.zipkin, hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    assert_eq!(server.telemetry().receiver(ReceiverKind::OtlpHttp).spans_accepted.get(), 4);
    server.stop().await;
}

const JSON_BODY: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
 "scopeSpans":[{"scope":{"name":"io.example.http","version":"1.2.0"},"spans":[{
  "traceId":"6E0C63257DE34C92BF9EFCD03927272E","spanId":"5FB397BE34D26B51","name":"GET /cart","kind":2,
  "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":1700000000250000000,
  "attributes":[{"key":"n","value":{"intValue":"42"}}],"unknownKey":{"x":1},
  "status":{"code":2,"message":"timeout"}}]}]}]}"#;

#[tokio::test]
async fn json_export_gets_empty_object_and_ids_are_lower_cased() {
    let server = TestServer::start().await;
    let response = post(&url(&server), "application/json; charset=utf-8", None, JSON_BODY.into()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), "{}");
    let (status, trace) =
        get_json(&format!("http://{}/api/traces/6e0c63257de34c92bf9efcd03927272e", server.addrs.query)).await;
    assert_eq!(status, 200);
    let span = &trace["data"][0]["spans"][0];
    assert_eq!(span["spanID"], "5fb397be34d26b51");
    assert_eq!(span["duration"], 250_000);
    assert_eq!(span["startTime"], 1_700_000_000_000_000u64);
    server.stop().await;
}

#[tokio::test]
async fn gzip_bodies_are_inflated_for_both_encodings() {
    let server = TestServer::start().await;
    let proto = gzip(&seed_request(recent_nanos()).encode_to_vec());
    assert_eq!(post(&url(&server), "application/x-protobuf", Some("gzip"), proto).await.status(), 200);
    assert_eq!(post(&url(&server), "application/json", Some("gzip"), gzip(JSON_BODY.as_bytes())).await.status(), 200);
    assert_eq!(server.telemetry().receiver(ReceiverKind::OtlpHttp).spans_accepted.get(), 5);
    server.stop().await;
}

#[tokio::test]
async fn one_bad_and_one_good_span_give_partial_success() {
    let server = TestServer::start().await;
    let body = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"6e0c63257de34c92bf9efcd03927272e","spanId":"5fb397be34d26b51","name":"ok","startTimeUnixNano":"1","endTimeUnixNano":"2"},
        {"traceId":"00000000000000000000000000000000","spanId":"5fb397be34d26b52","name":"bad"}]}]}]}"#;
    let response = post(&url(&server), "application/json", None, body.into()).await;
    assert_eq!(response.status(), 200);
    let reply: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(reply["partialSuccess"]["rejectedSpans"], 1);
    assert!(!reply["partialSuccess"]["errorMessage"].as_str().unwrap().is_empty());

    let mut req = seed_request(recent_nanos());
    req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![1, 2];
    let response = post(&url(&server), "application/x-protobuf", None, req.encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    let reply = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse::decode(
        response.bytes().await.unwrap(),
    )
    .unwrap();
    assert_eq!(reply.partial_success.unwrap().rejected_spans, 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_get_the_right_status_codes() {
    let server = TestServer::start_with(|s| s.ingest.max_request_bytes = 64 * 1024).await;
    let url = url(&server);

    let response = post(&url, "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(response.status(), 415);

    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 405);

    let response = post(&url, "application/x-protobuf", None, vec![0xff, 0xff, 0xff]).await;
    assert_eq!(response.status(), 400);
    let status = tonic_types::Status::decode(response.bytes().await.unwrap()).unwrap();
    assert!(status.message.contains("protobuf"), "{}", status.message);

    let response = post(&url, "application/json", None, b"{\"resourceSpans\": [".to_vec()).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(body["message"].as_str().unwrap().contains("JSON"), "{body}");

    let big = big_request(1000).encode_to_vec();
    assert!(big.len() > 64 * 1024);
    assert_eq!(post(&url, "application/x-protobuf", None, big.clone()).await.status(), 413);
    // A small compressed body that inflates past the cap.
    let bomb = gzip(&big);
    assert!(bomb.len() < 64 * 1024);
    assert_eq!(post(&url, "application/x-protobuf", Some("gzip"), bomb).await.status(), 413);

    let response = post(&url, "application/x-protobuf", Some("gzip"), b"not gzip".to_vec()).await;
    assert_eq!(response.status(), 400);
    let response = post(&url, "application/x-protobuf", Some("br"), b"x".to_vec()).await;
    assert_eq!(response.status(), 415);

    let refused = &server.telemetry().receiver(ReceiverKind::OtlpHttp).requests_refused;
    assert_eq!(refused[RefusalReason::UnsupportedMediaType as usize].get(), 2);
    assert_eq!(refused[RefusalReason::Malformed as usize].get(), 3);
    assert_eq!(refused[RefusalReason::TooLarge as usize].get(), 2);
    // Nothing refused reached the store, and the server still takes good data.
    assert_eq!(post(&url, "application/json", None, JSON_BODY.into()).await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn empty_request_is_a_success() {
    let server = TestServer::start().await;
    assert_eq!(post(&url(&server), "application/x-protobuf", None, Vec::new()).await.status(), 200);
    assert_eq!(post(&url(&server), "application/json", None, b"{}".to_vec()).await.status(), 200);
    server.stop().await;
}

/// Posts a 300-span request, which the gated store holds, and waits until it is in the pipeline.
/// Over 256 spans it is inserted on a blocking thread, where the gated store may wait.
async fn send_held_request(running: &tracehound::server::Running, url: &str) -> tokio::task::JoinHandle<u16> {
    let url = url.to_owned();
    let first = tokio::spawn(async move {
        post(&url, "application/x-protobuf", None, big_request(300).encode_to_vec()).await.status().as_u16()
    });
    while running.telemetry.pipeline_spans_queued.get() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    first
}

#[tokio::test]
async fn full_pipeline_answers_503_with_retry_after() {
    let (running, open) = gated_server(|_| {}).await;
    let url = format!("http://{}/v1/traces", running.addrs.otlp_http);
    let first = send_held_request(&running, &url).await;
    let response = post(&url, "application/x-protobuf", None, seed_request(recent_nanos()).encode_to_vec()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    open.send(()).unwrap();
    assert_eq!(first.await.unwrap(), 200);
    drop(open);
    let response = post(&url, "application/x-protobuf", None, seed_request(recent_nanos()).encode_to_vec()).await;
    assert_eq!(response.status(), 200);
    running.shutdown().await;
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_are_refused_as_retryable_on_both_transports() {
    let (running, open) = gated_server(|s| {
        s.ingest.queue_spans = std::num::NonZeroUsize::new(1_000_000).unwrap();
        s.ingest.max_concurrent_requests = std::num::NonZeroUsize::new(1).unwrap();
    })
    .await;
    let url = format!("http://{}/v1/traces", running.addrs.otlp_http);
    let first = send_held_request(&running, &url).await;
    // The only request slot is held by the first request, whose write is gated.
    let response = post(&url, "application/json", None, JSON_BODY.into()).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let status = export_grpc(running.addrs.otlp_grpc, seed_request(recent_nanos()), false).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    open.send(()).unwrap();
    assert_eq!(first.await.unwrap(), 200);
    drop(open);
    assert_eq!(post(&url, "application/json", None, JSON_BODY.into()).await.status(), 200);
    let overloaded = |kind| running.telemetry.receiver(kind).requests_refused[RefusalReason::Overloaded as usize].get();
    assert_eq!((overloaded(ReceiverKind::OtlpHttp), overloaded(ReceiverKind::OtlpGrpc)), (1, 1));
    running.shutdown().await;
}
