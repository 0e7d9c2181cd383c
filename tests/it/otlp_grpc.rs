//! OTLP/gRPC receiver over a real socket: round trip, gzip, partial success, bad input, limits, overload.

use std::sync::Arc;

use prost::Message;
use tracehound::telemetry::{ReceiverKind, RefusalReason};
use tracehound::testkit::{GatedStore, TestServer};

use crate::common::*;

#[tokio::test]
async fn export_is_acknowledged_and_readable_through_both_apis_at_once() {
    let server = TestServer::start().await;
    let response = export_grpc(server.addrs.otlp_grpc, seed_request(recent_nanos()), false).await.unwrap();
    assert_eq!(response.partial_success, None, "full success leaves partial_success unset");
    // Visible right after the acknowledgement, before the trace is complete.
    let (status, zipkin) = get_json(&format!("http://{}/api/v2/trace/{}", server.addrs.zipkin, hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    assert_eq!(zipkin.as_array().unwrap().len(), 3);
    let (status, jaeger) = get_json(&format!("http://{}/api/traces/{}", server.addrs.query, hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    assert_eq!(jaeger["data"][0]["spans"].as_array().unwrap().len(), 3);
    let counters = server.telemetry().receiver(ReceiverKind::OtlpGrpc);
    assert_eq!(counters.spans_received.get(), 4);
    assert_eq!(counters.spans_accepted.get(), 4);
    server.stop().await;
}

#[tokio::test]
async fn gzip_compressed_export_is_accepted() {
    let server = TestServer::start().await;
    export_grpc(server.addrs.otlp_grpc, seed_request(recent_nanos()), true).await.unwrap();
    let (status, _) = get_json(&format!("http://{}/api/v2/trace/{}", server.addrs.zipkin, hex(&HEALTH))).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn invalid_spans_are_rejected_in_partial_success_and_valid_ones_kept() {
    let server = TestServer::start().await;
    let good = span(CHECKOUT, 1, None, "good", 2, recent_nanos(), 10);
    let zero_id = span([0; 16], 2, None, "zero trace id", 2, recent_nanos(), 10);
    let backwards = span(CHECKOUT, 3, None, "ends before start", 2, recent_nanos(), 0);
    let mut backwards = backwards;
    backwards.end_time_unix_nano = backwards.start_time_unix_nano - 1;
    let response = export_grpc(
        server.addrs.otlp_grpc,
        request(vec![resource_spans("svc", vec![good, zero_id, backwards])]),
        false,
    )
    .await
    .unwrap();
    let partial = response.partial_success.expect("partial success set");
    assert_eq!(partial.rejected_spans, 2);
    assert!(!partial.error_message.is_empty());
    let (_, trace) = get_json(&format!("http://{}/api/v2/trace/{}", server.addrs.zipkin, hex(&CHECKOUT))).await;
    assert_eq!(trace.as_array().unwrap().len(), 1);
    let counters = server.telemetry().receiver(ReceiverKind::OtlpGrpc);
    assert_eq!((counters.spans_accepted.get(), counters.spans_rejected.get()), (1, 2));
    server.stop().await;
}

#[tokio::test]
async fn undecodable_message_is_invalid_argument_and_counted() {
    let server = TestServer::start().await;
    let status = export_raw_grpc(server.addrs.otlp_grpc, vec![0xff, 0xff, 0xff, 0x0f]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let refused = &server.telemetry().receiver(ReceiverKind::OtlpGrpc).requests_refused;
    assert_eq!(refused[RefusalReason::Malformed as usize].get(), 1);
    // The server keeps serving.
    export_grpc(server.addrs.otlp_grpc, seed_request(recent_nanos()), false).await.unwrap();
    server.stop().await;
}

pub fn big_request(spans: usize) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let start = recent_nanos();
    let spans = (1..=spans as u64)
        .map(|i| {
            let mut s = span(CHECKOUT, i, None, "x", 1, start, 1);
            s.attributes = vec![attr("payload", crate::common::s(&"a".repeat(200)))];
            s
        })
        .collect();
    request(vec![resource_spans("big", spans)])
}

#[tokio::test]
async fn oversized_message_is_resource_exhausted_compressed_or_not() {
    let server = TestServer::start_with(|s| s.ingest.max_request_bytes = 64 * 1024).await;
    let req = big_request(1000);
    assert!(req.encoded_len() > 64 * 1024);
    let plain = export_grpc(server.addrs.otlp_grpc, req.clone(), false).await.unwrap_err();
    assert_eq!(plain.code(), tonic::Code::ResourceExhausted, "{plain:?}");
    // Compressed it fits the cap on the wire, but not once inflated.
    let gz = export_grpc(server.addrs.otlp_grpc, req, true).await.unwrap_err();
    assert_eq!(gz.code(), tonic::Code::ResourceExhausted, "{gz:?}");
    let refused = &server.telemetry().receiver(ReceiverKind::OtlpGrpc).requests_refused;
    assert_eq!(refused[RefusalReason::TooLarge as usize].get(), 2);
    server.stop().await;
}

#[tokio::test]
async fn large_export_within_cap_is_fully_stored() {
    use prost::Message;
    // PROTOCOLS §9.1: a gzip Export of 16 MiB is answered OK and every span is stored.
    let server = TestServer::start().await;
    let request = big_request(62_000);
    assert!(request.encoded_len() > 16 << 20, "{} bytes", request.encoded_len());
    export_grpc(server.addrs.otlp_grpc, request, true).await.unwrap();
    assert_eq!(server.telemetry().receiver(ReceiverKind::OtlpGrpc).spans_accepted.get(), 62_000);
    let (_, trace) = get_json(&format!("http://{}/api/traces/{}?raw=true", server.addrs.query, hex(&CHECKOUT))).await;
    assert_eq!(trace["data"][0]["spans"].as_array().unwrap().len(), 62_000);
    server.stop().await;
}

/// A server whose store holds every write until the test lets it through, with a 300-span queue
/// and whatever else `edit` sets.
pub async fn gated_server(
    edit: impl FnOnce(&mut tracehound::config::Settings),
) -> (tracehound::server::Running, std::sync::mpsc::Sender<()>) {
    let (store, open) = GatedStore::new();
    let mut settings = tracehound::config::Settings::for_tests();
    settings.ingest.queue_spans = std::num::NonZeroUsize::new(300).unwrap();
    edit(&mut settings);
    let running = tracehound::server::start_with_store(settings, move |_| Arc::new(store)).await.unwrap();
    (running, open)
}

#[tokio::test]
async fn full_pipeline_answers_unavailable_with_retry_info_and_loses_nothing() {
    use tonic_types::StatusExt;
    let (running, open) = gated_server(|_| {}).await;
    let addr = running.addrs.otlp_grpc;
    let first = tokio::spawn(async move { export_grpc(addr, big_request(300), false).await });
    while running.telemetry.pipeline_spans_queued.get() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let status = export_grpc(addr, seed_request(recent_nanos()), false).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.get_details_retry_info().and_then(|r| r.retry_delay).is_some(), "RetryInfo attached");
    open.send(()).unwrap();
    first.await.unwrap().expect("the held batch is acknowledged, not dropped");
    drop(open);
    // Once drained, the retried batch goes through.
    export_grpc(addr, seed_request(recent_nanos()), false).await.unwrap();
    let counters = running.telemetry.receiver(ReceiverKind::OtlpGrpc);
    assert_eq!(counters.requests_refused[RefusalReason::Overloaded as usize].get(), 1);
    assert_eq!(counters.spans_accepted.get(), 304);
    running.shutdown().await;
}
