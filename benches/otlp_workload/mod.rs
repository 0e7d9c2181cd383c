//! The one synthetic OTLP workload shared by the `ingest` bench and `examples/loadgen.rs`, so that
//! the micro-benchmarks and the end-to-end run measure requests of the same shape.
//!
//! A request holds `traces` traces of `spans / traces` spans each, spread over three services (one
//! resource and one scope per service). Every span has eight attributes of mixed types (strings,
//! ints, a bool, a double, a string array); every 4th span has a `cache.lookup` event and every
//! 10th span fails with an `exception` event. Trace ids are 16 random-looking bytes derived from
//! `(sequence, trace index)`, so each sequence number yields traces the server has not seen.

// Each including target uses a different subset.
#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::Event, status::StatusCode, ResourceSpans, ScopeSpans, Span, Status};

/// Services the spans are spread over; a trace's root is in the first.
pub const SERVICES: [&str; 3] = ["frontend", "checkout", "inventory"];

/// How many spans and traces one request holds.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Spans in the request.
    pub spans: usize,
    /// Traces the spans belong to (at least 1).
    pub traces: usize,
}

impl Shape {
    /// `spans` spans in traces of about 100 spans each.
    pub fn with_spans(spans: usize) -> Self {
        Self { spans, traces: spans.div_ceil(100).max(1) }
    }
}

/// SplitMix64, so ids spread over shards like real random ids.
pub use tracehound::testkit::splitmix64 as mix;

/// The trace id of trace `index` in request number `sequence`: never zero, never repeated.
pub fn trace_id(sequence: u64, index: usize) -> [u8; 16] {
    let high = mix(sequence) | 1;
    let low = mix(sequence.wrapping_mul(1 << 20).wrapping_add(index as u64) ^ 0x5eed);
    let mut id = [0; 16];
    id[..8].copy_from_slice(&high.to_be_bytes());
    id[8..].copy_from_slice(&low.to_be_bytes());
    id
}

/// Trace ids of every trace in request number `sequence`.
pub fn trace_ids(sequence: u64, shape: Shape) -> Vec<[u8; 16]> {
    (0..shape.traces).map(|t| trace_id(sequence, t)).collect()
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn string(v: &str) -> Value {
    Value::StringValue(v.into())
}

fn resource(service: &str, instance: usize) -> Resource {
    Resource {
        attributes: vec![
            kv("service.name", string(service)),
            kv("service.version", string("2.14.1")),
            kv("service.instance.id", string(&format!("{service}-7d9f8c6b5-{instance:05}"))),
            kv("host.name", string(&format!("node-{instance}.cluster.local"))),
            kv("deployment.environment.name", string("production")),
            kv("telemetry.sdk.name", string("opentelemetry")),
            kv("telemetry.sdk.language", string("java")),
            kv("telemetry.sdk.version", string("1.38.0")),
        ],
        ..Default::default()
    }
}

const ROUTES: [&str; 4] = ["/api/v1/cart/{id}", "/api/v1/items", "/api/v1/checkout", "/api/v1/items/{sku}/stock"];

fn span(trace_id: [u8; 16], trace: usize, position: usize, shape: Shape, start: u64) -> Span {
    // Span ids are unique within a request; the parent forms a binary tree under the root.
    let id = |position: usize| (mix((position * shape.traces + trace) as u64) | 1).to_be_bytes().to_vec();
    let parent_span_id = if position == 0 { Vec::new() } else { id((position - 1) / 2) };
    let n = position * shape.traces + trace;
    let offset = position as u64 * 250_000;
    let duration = 40_000_000 / (position as u64 + 1) + (n as u64 % 7) * 10_000;
    let failed = n % 10 == 9;
    let status_code = if failed {
        500
    } else if n.is_multiple_of(13) {
        404
    } else {
        200
    };
    let mut events = Vec::new();
    if n.is_multiple_of(4) {
        events.push(Event {
            time_unix_nano: start + offset + duration / 3,
            name: "cache.lookup".into(),
            attributes: vec![kv("cache.hit", Value::BoolValue(n.is_multiple_of(8)))],
            dropped_attributes_count: 0,
        });
    }
    if failed {
        events.push(Event {
            time_unix_nano: start + offset + duration / 2,
            name: "exception".into(),
            attributes: vec![
                kv("exception.type", string("java.net.SocketTimeoutException")),
                kv("exception.message", string("Read timed out after 5000 ms")),
                kv(
                    "exception.stacktrace",
                    string(
                        "java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl\
                         .timedRead(NioSocketImpl.java:288)\n\tat com.example.inventory.StockClient.fetch(StockClient\
                         .java:71)",
                    ),
                ),
            ],
            dropped_attributes_count: 0,
        });
    }
    Span {
        trace_id: trace_id.to_vec(),
        span_id: id(position),
        parent_span_id,
        name: format!("{} {}", if n.is_multiple_of(3) { "POST" } else { "GET" }, ROUTES[n % ROUTES.len()]),
        // Root is a server span; below it client, server and internal spans alternate.
        kind: if position == 0 { 2 } else { [3, 2, 1][position % 3] },
        start_time_unix_nano: start + offset,
        end_time_unix_nano: start + offset + duration,
        attributes: vec![
            kv("http.request.method", string(if n.is_multiple_of(3) { "POST" } else { "GET" })),
            kv("http.route", string(ROUTES[n % ROUTES.len()])),
            kv("http.response.status_code", Value::IntValue(status_code)),
            kv("server.address", string(SERVICES[(position + 1) % SERVICES.len()])),
            kv("server.port", Value::IntValue(8080)),
            kv("app.cache_hit", Value::BoolValue(n.is_multiple_of(2))),
            kv("app.queue_ms", Value::DoubleValue((n % 97) as f64 * 0.25)),
            kv(
                "app.feature_flags",
                Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue { value: Some(string("new-checkout")) },
                        AnyValue { value: Some(string("stock-cache")) },
                    ],
                }),
            ),
        ],
        events,
        status: failed.then(|| Status { code: StatusCode::Error as i32, message: "upstream timeout".into() }),
        ..Default::default()
    }
}

/// An export request of `shape`, with the given trace ids (one per trace) and spans starting at
/// `start` (unix nanoseconds).
pub fn export_request(shape: Shape, trace_ids: &[[u8; 16]], start: u64) -> ExportTraceServiceRequest {
    assert_eq!(trace_ids.len(), shape.traces, "one trace id per trace");
    let per_trace = shape.spans.div_ceil(shape.traces);
    let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES.len()];
    let mut made = 0;
    'spans: for position in 0..per_trace {
        for (trace, id) in trace_ids.iter().enumerate() {
            if made == shape.spans {
                break 'spans;
            }
            by_service[position % SERVICES.len()].push(span(*id, trace, position, shape, start));
            made += 1;
        }
    }
    let resource_spans = SERVICES
        .iter()
        .zip(by_service)
        .enumerate()
        .map(|(i, (service, spans))| ResourceSpans {
            resource: Some(resource(service, i)),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "io.opentelemetry.spring-webmvc-6.0".into(),
                    version: "2.4.0-alpha".into(),
                    ..Default::default()
                }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.24.0".into(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}
