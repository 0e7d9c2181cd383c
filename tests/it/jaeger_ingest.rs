//! Jaeger ingest over real sockets: collector gRPC (PostSpans, SamplingManager), thrift over HTTP,
//! agent UDP in compact and binary thrift, and remote sampling; spans read back through both
//! query APIs, refusals counted.

use std::time::Duration;

use tracehound::proto::jaeger::api_v2::collector_service_client::CollectorServiceClient;
use tracehound::proto::jaeger::api_v2::sampling_manager_client::SamplingManagerClient;
use tracehound::proto::jaeger::api_v2::{
    Batch, KeyValue, Log, PostSpansRequest, Process, SamplingStrategyParameters, Span, SpanRef, ValueType,
};
use tracehound::receiver::jaeger::thrift::{encode_batch, encode_emit_batch};
use tracehound::receiver::thrift::Protocol;
use tracehound::telemetry::{ReceiverKind, RefusalReason};
use tracehound::testkit::{RawCodec, TestServer};

use crate::common::*;

fn tag_str(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), v_type: ValueType::String as i32, v_str: value.into(), ..KeyValue::default() }
}

fn tag_bool(key: &str, value: bool) -> KeyValue {
    KeyValue { key: key.into(), v_type: ValueType::Bool as i32, v_bool: value, ..KeyValue::default() }
}

fn tag_int(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), v_type: ValueType::Int64 as i32, v_int64: value, ..KeyValue::default() }
}

fn timestamp(micros: u64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: (micros / 1_000_000) as i64, nanos: (micros % 1_000_000 * 1_000) as i32 }
}

/// A two-span batch from `service`: a server root and an erroring client child with a log; trace
/// id `trace` (16 bytes, high half zero when `high` is 0).
fn batch(service: &str, high: u64, low: u64, start_micros: u64) -> Batch {
    let trace_id = [high.to_be_bytes(), low.to_be_bytes()].concat();
    let root = Span {
        trace_id: trace_id.clone(),
        span_id: 1u64.to_be_bytes().to_vec(),
        operation_name: "HTTP GET /dispatch".into(),
        flags: 1,
        start_time: Some(timestamp(start_micros)),
        duration: Some(prost_types::Duration { seconds: 0, nanos: 30_000_000 }),
        tags: vec![tag_str("span.kind", "server"), tag_int("http.status_code", 200)],
        ..Span::default()
    };
    let child = Span {
        trace_id,
        span_id: 2u64.to_be_bytes().to_vec(),
        operation_name: "SQL SELECT".into(),
        references: vec![SpanRef { trace_id: root.trace_id.clone(), span_id: root.span_id.clone(), ref_type: 0 }],
        flags: 1,
        start_time: Some(timestamp(start_micros + 1_000)),
        duration: Some(prost_types::Duration { seconds: 0, nanos: 5_000_000 }),
        tags: vec![tag_str("span.kind", "client"), tag_bool("error", true), tag_str("peer.service", "mysql")],
        logs: vec![Log {
            timestamp: Some(timestamp(start_micros + 2_000)),
            fields: vec![tag_str("event", "retry"), tag_int("attempt", 2)],
        }],
        ..Span::default()
    };
    Batch {
        spans: vec![root, child],
        process: Some(Process {
            service_name: service.into(),
            tags: vec![tag_str("hostname", "host-1"), tag_str("jaeger.version", "Go-2.30.0")],
        }),
    }
}

fn now_micros() -> u64 {
    recent_nanos() / 1_000
}

/// Polls the Jaeger API until the trace exists (UDP ingest has no reply to wait for).
async fn wait_for_trace(server: &TestServer, trace: &str) -> serde_json::Value {
    for _ in 0..100 {
        let (status, json) = get_json(&format!("http://{}/api/traces/{trace}", server.addrs.query)).await;
        if status == 200 {
            return json["data"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("trace {trace} never arrived");
}

/// Checks the batch of [`batch`] reads back in Jaeger's and Zipkin's views.
async fn assert_reads_back(server: &TestServer, trace: &str, service: &str) {
    let jaeger = wait_for_trace(server, trace).await;
    let spans = jaeger["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "{jaeger}");
    let child = spans.iter().find(|s| s["operationName"] == "SQL SELECT").unwrap();
    assert_eq!(child["references"][0]["refType"], "CHILD_OF");
    assert_eq!(child["references"][0]["spanID"], "0000000000000001");
    assert_eq!(child["duration"], 5_000);
    let tags = child["tags"].as_array().unwrap();
    assert!(tags.contains(&serde_json::json!({"key":"error","type":"bool","value":true})), "{tags:?}");
    assert!(tags.contains(&serde_json::json!({"key":"span.kind","type":"string","value":"client"})));
    assert_eq!(child["logs"][0]["fields"][0], serde_json::json!({"key":"event","type":"string","value":"retry"}));
    assert_eq!(child["logs"][0]["fields"][1], serde_json::json!({"key":"attempt","type":"int64","value":2}));
    let process = &jaeger["processes"][child["processID"].as_str().unwrap()];
    assert_eq!(process["serviceName"], service);
    assert_eq!(process["tags"][0], serde_json::json!({"key":"hostname","type":"string","value":"host-1"}));

    let (status, zipkin) = get_json(&format!("http://{}/api/v2/trace/{trace}", server.addrs.zipkin)).await;
    assert_eq!(status, 200);
    let child = zipkin.as_array().unwrap().iter().find(|s| s["name"] == "SQL SELECT").unwrap();
    assert_eq!(child["kind"], "CLIENT");
    assert_eq!(child["remoteEndpoint"]["serviceName"], "mysql");
    assert_eq!(child["localEndpoint"]["serviceName"], service);
    assert_eq!(child["tags"]["error"], "");
    assert_eq!(child["annotations"][0]["value"], "\"retry\": {\"attempt\":2}");
}

#[tokio::test]
async fn grpc_post_spans_with_128_and_64_bit_ids() {
    let server = TestServer::start().await;
    let mut client = CollectorServiceClient::new(channel(server.addrs.jaeger_grpc).await);
    let request = PostSpansRequest { batch: Some(batch("dispatch", 0x1122, 0x3344, now_micros())) };
    client.post_spans(request).await.unwrap();
    assert_reads_back(&server, "00000000000011220000000000003344", "dispatch").await;

    // 8-byte trace ids are the low half; a span's own process beats the batch's.
    let mut short = batch("batch-service", 0, 0x5566, now_micros());
    for span in &mut short.spans {
        span.trace_id = 0x5566u64.to_be_bytes().to_vec();
    }
    for reference in &mut short.spans[1].references {
        reference.trace_id = 0x5566u64.to_be_bytes().to_vec();
    }
    short.spans[1].process = Some(Process { service_name: "own-process".into(), tags: Vec::new() });
    client.post_spans(PostSpansRequest { batch: Some(short) }).await.unwrap();
    let trace = wait_for_trace(&server, "0000000000005566").await;
    let services: std::collections::BTreeSet<_> =
        trace["processes"].as_object().unwrap().values().map(|p| p["serviceName"].as_str().unwrap()).collect();
    assert_eq!(services.into_iter().collect::<Vec<_>>(), ["batch-service", "own-process"]);
    assert_eq!(server.telemetry().receiver(ReceiverKind::JaegerGrpc).spans_accepted.get(), 4);
    server.stop().await;
}

#[tokio::test]
async fn grpc_garbage_is_invalid_argument_and_all_bad_spans_too() {
    let server = TestServer::start().await;
    let mut grpc = tonic::client::Grpc::new(channel(server.addrs.jaeger_grpc).await);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/jaeger.api_v2.CollectorService/PostSpans");
    let status = grpc.unary(tonic::Request::new(b"\x0a\xff\xff".to_vec()), path, RawCodec).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");

    let mut client = CollectorServiceClient::new(channel(server.addrs.jaeger_grpc).await);
    let mut bad = batch("svc", 0, 1, now_micros());
    for span in &mut bad.spans {
        span.span_id = vec![0; 8];
    }
    let status = client.post_spans(PostSpansRequest { batch: Some(bad) }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("span id"), "{}", status.message());
    let counters = server.telemetry().receiver(ReceiverKind::JaegerGrpc);
    assert_eq!(counters.requests_refused[RefusalReason::Malformed as usize].get(), 2);
    server.stop().await;
}

#[tokio::test]
async fn grpc_sampling_manager_serves_the_default_strategy() {
    let server = TestServer::start().await;
    let mut client = SamplingManagerClient::new(channel(server.addrs.jaeger_grpc).await);
    let response = client
        .get_sampling_strategy(SamplingStrategyParameters { service_name: "frontend".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.strategy_type, 0);
    assert_eq!(response.probabilistic_sampling.unwrap().sampling_rate, 0.001);
    server.stop().await;
}

#[tokio::test]
async fn thrift_over_http_is_accepted_with_both_content_types() {
    let server = TestServer::start().await;
    let url = format!("http://{}/api/traces?format=jaeger.thrift", server.addrs.jaeger_http);
    let body = encode_batch(&batch("route", 0xaa, 0xbb, now_micros()));
    let response = post(&url, "application/x-thrift", None, body).await;
    assert_eq!(response.status(), 202);
    assert_reads_back(&server, "00000000000000aa00000000000000bb", "route").await;

    let body = encode_batch(&batch("route", 0, 0xcc, now_micros()));
    let url = format!("http://{}/api/traces", server.addrs.jaeger_http);
    let response = post(&url, "application/vnd.apache.thrift.binary", Some("gzip"), gzip(&body)).await;
    assert_eq!(response.status(), 202);
    wait_for_trace(&server, "00000000000000cc").await;
    assert_eq!(server.telemetry().receiver(ReceiverKind::JaegerThriftHttp).spans_accepted.get(), 4);
    server.stop().await;
}

#[tokio::test]
async fn thrift_over_http_refuses_json_and_garbage() {
    let server = TestServer::start().await;
    let url = format!("http://{}/api/traces", server.addrs.jaeger_http);
    let response = post(&url, "application/json", None, b"{}".to_vec()).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("Unsupported content type"));
    let response = post(&url, "application/x-thrift", None, b"\x0c\x00\x01\x0b\x00\x01\xff\xff\xff\xff".to_vec()).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("thrift"));
    let response = post(&format!("{url}?format=zipkin.thrift"), "application/x-thrift", None, Vec::new()).await;
    assert_eq!(response.status(), 400);
    let counters = server.telemetry().receiver(ReceiverKind::JaegerThriftHttp);
    assert_eq!(counters.requests_refused[RefusalReason::Malformed as usize].get(), 3);
    server.stop().await;
}

#[tokio::test]
async fn agent_udp_compact_and_binary_are_ingested_and_garbage_is_counted() {
    let server = TestServer::start().await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(b"\x82\x81garbage", server.addrs.jaeger_compact).await.unwrap();
    let compact = encode_emit_batch(&batch("udp-compact", 0, 0x6831, now_micros()), Protocol::Compact);
    socket.send_to(&compact, server.addrs.jaeger_compact).await.unwrap();
    let binary = encode_emit_batch(&batch("udp-binary", 0, 0x6832, now_micros()), Protocol::Binary);
    socket.send_to(&binary, server.addrs.jaeger_binary).await.unwrap();
    socket.send_to(b"not thrift at all", server.addrs.jaeger_binary).await.unwrap();

    assert_reads_back(&server, "0000000000006831", "udp-compact").await;
    assert_reads_back(&server, "0000000000006832", "udp-binary").await;
    for kind in [ReceiverKind::JaegerAgentCompact, ReceiverKind::JaegerAgentBinary] {
        let counters = server.telemetry().receiver(kind);
        assert_eq!(counters.spans_accepted.get(), 2, "{kind:?}");
        // The malformed datagram may still be in the queue: wait for it to be counted.
        for _ in 0..100 {
            if counters.requests_refused[RefusalReason::Malformed as usize].get() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(counters.requests_refused[RefusalReason::Malformed as usize].get(), 1, "{kind:?}");
    }
    let metrics = get_text(&format!("http://{}/metrics", server.addrs.query)).await.2;
    assert!(metrics.contains(
        "tracehound_receiver_requests_refused_total{receiver=\"jaeger_agent_compact\",reason=\"malformed\"} 1"
    ));
    server.stop().await;
}

#[tokio::test]
async fn remote_sampling_http_on_the_sampling_and_collector_ports() {
    let server = TestServer::start().await;
    for url in [
        format!("http://{}/sampling?service=frontend", server.addrs.sampling),
        format!("http://{}/api/sampling?service=frontend", server.addrs.sampling),
        format!("http://{}/api/sampling?service=frontend", server.addrs.jaeger_http),
    ] {
        let (status, content_type, body) = get_text(&url).await;
        assert_eq!(status, 200, "{url}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        assert_eq!(body, r#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}"#);
    }
    for query in ["", "?service=a&service=b"] {
        let (status, _, body) = get_text(&format!("http://{}/sampling{query}", server.addrs.sampling)).await;
        assert_eq!(status, 400);
        assert!(body.contains("'service' parameter must be provided once"), "{body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn remote_sampling_serves_a_strategies_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strategies.json");
    std::fs::write(
        &path,
        r#"{"service_strategies":[{"service":"checkout","type":"ratelimiting","param":42}],
            "default_strategy":{"type":"probabilistic","param":0.5}}"#,
    )
    .unwrap();
    let server = TestServer::start_with(|s| s.sampling_strategies = Some(path)).await;
    let (_, json) = get_json(&format!("http://{}/sampling?service=checkout", server.addrs.sampling)).await;
    assert_eq!(
        json,
        serde_json::json!({"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":42}})
    );
    let (_, json) = get_json(&format!("http://{}/sampling?service=other", server.addrs.sampling)).await;
    assert_eq!(json["probabilisticSampling"]["samplingRate"], 0.5);
    server.stop().await;
}

/// A batch of `n` one-tag spans in one trace, small enough for one datagram.
fn many_spans(n: u64, low: u64) -> Batch {
    let spans = (1..=n)
        .map(|i| Span {
            trace_id: [0u64.to_be_bytes(), low.to_be_bytes()].concat(),
            span_id: i.to_be_bytes().to_vec(),
            operation_name: "op".into(),
            flags: 1,
            start_time: Some(timestamp(now_micros())),
            duration: Some(prost_types::Duration { seconds: 0, nanos: 1_000 }),
            ..Span::default()
        })
        .collect();
    Batch { spans, process: Some(Process { service_name: "udp-load".into(), tags: Vec::new() }) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_udp_counts_datagrams_dropped_while_busy_and_keeps_the_queued_ones() {
    let (running, open) = crate::otlp_grpc::gated_server(|_| {}).await;
    let addr = running.addrs.jaeger_compact;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // 300 spans go to a blocking insert that the gated store holds: the decode task waits.
    socket.send_to(&encode_emit_batch(&many_spans(300, 1), Protocol::Compact), addr).await.unwrap();
    while running.telemetry.pipeline_spans_queued.get() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Meanwhile the queue (1,024 datagrams) fills and the rest are dropped, counted.
    let small = encode_emit_batch(&many_spans(1, 2), Protocol::Compact);
    for i in 0..1_500 {
        socket.send_to(&small, addr).await.unwrap();
        // Paced so the kernel's socket buffer never overflows: drops are then all ours, counted.
        if i % 32 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let counters = running.telemetry.receiver(ReceiverKind::JaegerAgentCompact);
    let dropped = || counters.requests_refused[RefusalReason::Overloaded as usize].get();
    for _ in 0..200 {
        if dropped() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        dropped() > 0,
        "a full queue drops datagrams and counts them: {}",
        get_text(&format!("http://{}/metrics", running.addrs.query)).await.2
    );
    drop(open);
    // Every queued datagram is still ingested once the store accepts writes again.
    // Every datagram is ingested or counted as dropped: none is lost unseen.
    for _ in 0..500 {
        if counters.spans_accepted.get() + dropped() >= 300 + 1_500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counters.spans_accepted.get() + dropped(), 300 + 1_500, "dropped {}", dropped());
    assert!(dropped() >= 1_500 - 1_024, "at most the queue's 1,024 datagrams wait");
    running.shutdown().await;
}
