//! One logical trace sent through every receiver — OTLP/HTTP, Zipkin v2 JSON and proto3, Zipkin
//! v1 JSON and thrift, Jaeger gRPC, thrift over HTTP and agent UDP (compact and binary) — reads
//! back the same through the Zipkin and the Jaeger query APIs.
//!
//! The trace uses only what every format can express: string tags, client and server kinds, an
//! error with a message, an event without attributes, a peer service, a scope and a host name.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue as OtlpAnyValue, InstrumentationScope, KeyValue as OtlpKeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{
    span::Event as OtlpEvent, ResourceSpans, ScopeSpans, Span as OtlpSpan, Status,
};
use prost::Message;
use tracehound::model::{AnyValue, SpanKind, SpanRecord, StatusCode, Trace, UnixNanos};
use tracehound::proto::jaeger::api_v2::collector_service_client::CollectorServiceClient;
use tracehound::proto::jaeger::api_v2::{Batch, PostSpansRequest};
use tracehound::query::jaeger::proto::trace_to_proto;
use tracehound::query::zipkin::json::trace_to_zipkin;
use tracehound::receiver::jaeger::thrift::{encode_batch, encode_emit_batch};
use tracehound::receiver::thrift::Protocol;
use tracehound::receiver::zipkin::v1::{V1Annotation, V1BinaryAnnotation, V1Span, V1Value};
use tracehound::receiver::zipkin::{span::Endpoint, v1_json, v1_thrift, v2_json, v2_proto};
use tracehound::testkit::{SpanBuilder, TestServer};

use crate::common::*;

/// The logical trace: `web` calls `api` (client span 2 → server span 3) under root span 1.
fn logical_trace(trace: u128, base: u64) -> Vec<SpanRecord> {
    let at = |offset_us: u64, duration_us: u64| {
        (UnixNanos(base + offset_us * 1_000), UnixNanos(base + (offset_us + duration_us) * 1_000))
    };
    let web = |builder: SpanBuilder| {
        builder.resource_attr("host.name", AnyValue::String("web-1".into())).scope("io.example.http", "2.1")
    };
    let (s1, e1) = at(0, 9_000);
    let (s2, e2) = at(1_000, 6_000);
    let (s3, e3) = at(2_000, 4_000);
    vec![
        web(SpanBuilder::new("web", "GET /checkout", trace, 1).kind(SpanKind::Server).at(s1, e1))
            .attr("http.route", AnyValue::String("/checkout".into()))
            .build(),
        web(SpanBuilder::new("web", "POST /pay", trace, 2).parent(1).kind(SpanKind::Client).at(s2, e2))
            .attr("peer.service", AnyValue::String("api".into()))
            .status(StatusCode::Error, "payment declined")
            .event(500_000, "retry", Vec::new())
            .build(),
        SpanBuilder::new("api", "POST /pay", trace, 3)
            .parent(2)
            .kind(SpanKind::Server)
            .at(s3, e3)
            .resource_attr("host.name", AnyValue::String("api-7".into()))
            .attr("db.system", AnyValue::String("postgresql".into()))
            .build(),
    ]
}

fn trace_of(records: &[SpanRecord]) -> Trace {
    Trace { trace_id: records[0].span.trace_id, spans: records.iter().cloned().map(Arc::new).collect() }
}

fn otlp_value(value: &AnyValue) -> Option<OtlpAnyValue> {
    Some(OtlpAnyValue { value: Some(any_value::Value::StringValue(value.to_text())) })
}

/// The trace as an OTLP request, one resource per span.
fn otlp(records: &[SpanRecord]) -> ExportTraceServiceRequest {
    let kv = |k: &str, v: &AnyValue| OtlpKeyValue { key: k.into(), value: otlp_value(v), ..Default::default() };
    let resource_spans = records
        .iter()
        .map(|r| {
            let span = &r.span;
            ResourceSpans {
                resource: Some(OtlpResource {
                    attributes: r.resource.attributes.iter().map(|a| kv(&a.key, &a.value)).collect(),
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: r.scope.name.clone(),
                        version: r.scope.version.clone(),
                        ..Default::default()
                    }),
                    spans: vec![OtlpSpan {
                        trace_id: span.trace_id.as_bytes().to_vec(),
                        span_id: span.span_id.as_bytes().to_vec(),
                        parent_span_id: span.parent_span_id.map(|p| p.as_bytes().to_vec()).unwrap_or_default(),
                        flags: span.flags,
                        name: span.name.clone(),
                        kind: span.kind.to_otlp(),
                        start_time_unix_nano: span.start.0,
                        end_time_unix_nano: span.end.0,
                        attributes: span.attributes.iter().map(|a| kv(&a.key, &a.value)).collect(),
                        events: span
                            .events
                            .iter()
                            .map(|e| OtlpEvent { time_unix_nano: e.time.0, name: e.name.clone(), ..Default::default() })
                            .collect(),
                        status: Some(Status {
                            code: match span.status.code {
                                StatusCode::Unset => 0,
                                StatusCode::Ok => 1,
                                StatusCode::Error => 2,
                            },
                            message: span.status.message.clone(),
                        }),
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// The trace as Zipkin v1 spans: `cs`/`cr` or `sr`/`ss` and an `sa` address give kind and timing.
fn zipkin_v1(records: &[SpanRecord]) -> Vec<V1Span> {
    records
        .iter()
        .map(|r| {
            let span = &r.span;
            let local = Endpoint { service_name: Some(r.service_name().to_owned()), ..Endpoint::default() };
            let (start, end) = (span.start.as_micros(), span.end.as_micros());
            let (first, last) = if span.kind == SpanKind::Client { ("cs", "cr") } else { ("sr", "ss") };
            let annotation =
                |timestamp, value: &str| V1Annotation { timestamp, value: value.into(), endpoint: Some(local.clone()) };
            let tag = |key: &str, value: String| V1BinaryAnnotation {
                key: key.into(),
                value: V1Value::String(value),
                endpoint: Some(local.clone()),
            };
            let mut annotations = vec![annotation(start, first)];
            annotations.extend(span.events.iter().map(|e| annotation(e.time.as_micros(), &e.name)));
            annotations.push(annotation(end, last));
            let mut binary: Vec<_> = span
                .attributes
                .iter()
                .filter(|a| a.key != "peer.service")
                .map(|a| tag(&a.key, a.value.to_text()))
                .collect();
            binary.extend(
                r.resource
                    .attributes
                    .iter()
                    .filter(|a| a.key != "service.name")
                    .map(|a| tag(&a.key, a.value.to_text())),
            );
            if !r.scope.name.is_empty() {
                for (key, value) in [
                    ("otel.scope.name", &r.scope.name),
                    ("otel.library.name", &r.scope.name),
                    ("otel.scope.version", &r.scope.version),
                    ("otel.library.version", &r.scope.version),
                ] {
                    binary.push(tag(key, value.clone()));
                }
            }
            if span.status.code == StatusCode::Error {
                binary.push(tag("error", span.status.message.clone()));
                binary.push(tag("otel.status_code", "ERROR".into()));
            }
            if let Some(peer) = span.attribute("peer.service") {
                binary.push(V1BinaryAnnotation {
                    key: "sa".into(),
                    value: V1Value::Bool(true),
                    endpoint: Some(Endpoint { service_name: Some(peer.to_text()), ..Endpoint::default() }),
                });
            }
            V1Span {
                trace_id: span.trace_id,
                name: span.name.clone(),
                id: span.span_id,
                parent_id: span.parent_span_id,
                timestamp: Some(start),
                duration: Some(end - start),
                annotations,
                binary_annotations: binary,
                debug: false,
            }
        })
        .collect()
}

/// The trace as Jaeger batches, one per service (thrift batches carry one process).
fn jaeger_batches(records: &[SpanRecord]) -> Vec<Batch> {
    let spans = trace_to_proto(&trace_of(records));
    let mut batches: Vec<Batch> = Vec::new();
    for mut span in spans {
        let process = span.process.take();
        span.process_id.clear();
        match batches.iter_mut().find(|b| b.process == process) {
            Some(batch) => batch.spans.push(span),
            None => batches.push(Batch { spans: vec![span], process }),
        }
    }
    batches
}

/// The Zipkin and Jaeger views of a stored trace, normalized for comparison: spans sorted by id,
/// Jaeger process ids replaced by the process itself.
async fn views(server: &TestServer, trace_hex: &str, spans: usize) -> (serde_json::Value, serde_json::Value) {
    let mut zipkin = serde_json::Value::Null;
    for _ in 0..100 {
        let (status, json) = get_json(&format!("http://{}/api/v2/trace/{trace_hex}", server.addrs.zipkin)).await;
        if status == 200 && json.as_array().map(Vec::len) == Some(spans) {
            zipkin = json;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let zipkin_spans = zipkin.as_array_mut().unwrap_or_else(|| panic!("trace {trace_hex} incomplete"));
    zipkin_spans.sort_by_key(|s| s["id"].as_str().unwrap().to_owned());
    let (_, mut jaeger) = get_json(&format!("http://{}/api/traces/{trace_hex}?raw=true", server.addrs.query)).await;
    let trace = &mut jaeger["data"][0];
    let processes = trace["processes"].take();
    let jaeger_spans = trace["spans"].as_array_mut().unwrap();
    for span in jaeger_spans.iter_mut() {
        let id = span["processID"].take();
        span["processID"] = processes[id.as_str().unwrap()].clone();
    }
    jaeger_spans.sort_by_key(|s| s["spanID"].as_str().unwrap().to_owned());
    (zipkin, trace["spans"].take())
}

/// Replaces the trace id everywhere so views of different traces compare.
fn with_trace_id(mut value: serde_json::Value, from: &str, to: &str) -> serde_json::Value {
    if let Ok(text) = serde_json::to_string(&value) {
        value = serde_json::from_str(&text.replace(from, to)).unwrap();
    }
    value
}

#[tokio::test]
async fn one_trace_through_every_receiver_reads_back_the_same() {
    let server = TestServer::start().await;
    let zipkin_url = |path: &str| format!("http://{}{path}", server.addrs.zipkin);
    let mut sent = Vec::new();
    let base = recent_nanos() / 1_000 * 1_000;
    for (n, route) in [
        "otlp_http",
        "zipkin_v2_json",
        "zipkin_v2_proto",
        "zipkin_v1_json",
        "zipkin_v1_thrift",
        "jaeger_grpc",
        "jaeger_thrift_http",
        "jaeger_udp_compact",
        "jaeger_udp_binary",
    ]
    .into_iter()
    .enumerate()
    {
        let trace = 0x0c05_5000_0000_0000_0000_0000_0000_0000u128 + n as u128 + 1;
        let records = logical_trace(trace, base);
        match route {
            "otlp_http" => {
                let url = format!("http://{}/v1/traces", server.addrs.otlp_http);
                let response = post(&url, "application/x-protobuf", None, otlp(&records).encode_to_vec()).await;
                assert_eq!(response.status(), 200);
            }
            "zipkin_v2_json" | "zipkin_v2_proto" => {
                let json = serde_json::to_vec(&trace_to_zipkin(&trace_of(&records))).unwrap();
                let (content_type, body) = if route == "zipkin_v2_json" {
                    ("application/json", json)
                } else {
                    let spans: Vec<_> = v2_json::decode_spans(&json).unwrap().into_iter().map(Result::unwrap).collect();
                    ("application/x-protobuf", v2_proto::encode_spans(&spans))
                };
                assert_eq!(post(&zipkin_url("/api/v2/spans"), content_type, None, body).await.status(), 202);
            }
            "zipkin_v1_json" => {
                let body = v1_json::encode_spans(&zipkin_v1(&records));
                let response = post(&zipkin_url("/api/v1/spans"), "application/json", None, body).await;
                assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
            }
            "zipkin_v1_thrift" => {
                let body = v1_thrift::encode_spans(&zipkin_v1(&records));
                assert_eq!(post(&zipkin_url("/api/v1/spans"), "application/x-thrift", None, body).await.status(), 202);
            }
            "jaeger_grpc" => {
                let mut client = CollectorServiceClient::new(channel(server.addrs.jaeger_grpc).await);
                for batch in jaeger_batches(&records) {
                    client.post_spans(PostSpansRequest { batch: Some(batch) }).await.unwrap();
                }
            }
            "jaeger_thrift_http" => {
                let url = format!("http://{}/api/traces", server.addrs.jaeger_http);
                for batch in jaeger_batches(&records) {
                    assert_eq!(post(&url, "application/x-thrift", None, encode_batch(&batch)).await.status(), 202);
                }
            }
            _ => {
                let (protocol, addr) = if route == "jaeger_udp_compact" {
                    (Protocol::Compact, server.addrs.jaeger_compact)
                } else {
                    (Protocol::Binary, server.addrs.jaeger_binary)
                };
                let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                for batch in jaeger_batches(&records) {
                    socket.send_to(&encode_emit_batch(&batch, protocol), addr).await.unwrap();
                }
            }
        }
        sent.push((route, records[0].span.trace_id.to_hex()));
    }

    let (baseline_route, baseline_id) = &sent[0];
    let (zipkin_base, jaeger_base) = views(&server, baseline_id, 3).await;
    for (route, id) in &sent[1..] {
        let (zipkin, jaeger) = views(&server, id, 3).await;
        assert_eq!(with_trace_id(zipkin, id, baseline_id), zipkin_base, "Zipkin view of {route} vs {baseline_route}");
        assert_eq!(with_trace_id(jaeger, id, baseline_id), jaeger_base, "Jaeger view of {route} vs {baseline_route}");
    }
    server.stop().await;
}
