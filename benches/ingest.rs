//! Ingest hot paths, in spans per second: decoding and conversion to the model of every wire format
//! (OTLP protobuf and JSON; Zipkin v2 JSON and proto3, v1 JSON and thrift; Jaeger protobuf and
//! thrift binary and compact), and the assembler's insert (tracking plus the write-through to the
//! memory store).
//!
//! Every bench uses the same request: 1,000 spans in 10 traces over 3 services (see
//! `otlp_workload`). Run with `cargo bench --bench ingest -- --noplot`; `docs/performance.md`
//! holds the figures of one run and how they compare.

mod formats;
mod otlp_workload;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput};
use tracehound::assembler::Assembler;
use tracehound::config::Settings;
use tracehound::model::Batch;
use tracehound::receiver::otlp::convert::{decode_json, decode_protobuf, request_into_model};
use tracehound::store::MemoryStore;
use tracehound::telemetry::Telemetry;

use otlp_workload::{export_request, trace_ids, Shape};

const SHAPE: Shape = Shape { spans: 1_000, traces: 10 };
/// Fixed start time (2023-11-14) so every run encodes the same bytes.
const START: u64 = 1_700_000_000_000_000_000;

/// Short runs: the whole bench should finish in about a minute on a shared 2-core machine.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.throughput(Throughput::Elements(SHAPE.spans as u64));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(5));
}

fn otlp_decode_convert(c: &mut Criterion) {
    use prost::Message;
    let body = export_request(SHAPE, &trace_ids(0, SHAPE), START).encode_to_vec();
    check_converts(request_into_model(decode_protobuf(&body).expect("bench request decodes")).batch);
    let mut group = c.benchmark_group("otlp_decode_convert");
    configure(&mut group);
    // Freeing the result is timed too: the server frees every span in the end. Keeping every
    // result alive to the end of a sample instead (iter_with_large_drop) made decoding alone
    // measure slower than decoding plus conversion.
    group.bench_function("decode_only", |b| b.iter(|| decode_protobuf(black_box(&body))));
    group
        .bench_function("decode_and_convert", |b| b.iter(|| decode_protobuf(black_box(&body)).map(request_into_model)));
    group.finish();
    eprintln!("otlp_decode_convert: request of {} spans is {} bytes of protobuf", SHAPE.spans, body.len());
}

fn otlp_json_decode_convert(c: &mut Criterion) {
    let request = export_request(SHAPE, &trace_ids(0, SHAPE), START);
    let body = serde_json::to_vec(&request).expect("bench request serializes");
    let decoded = decode_json(&body).expect("bench request decodes from OTLP/JSON");
    assert_eq!(decoded, request, "OTLP/JSON round trip of the bench request");
    let mut group = c.benchmark_group("otlp_json_decode_convert");
    configure(&mut group);
    group.bench_function("decode_and_convert", |b| b.iter(|| decode_json(black_box(&body)).map(request_into_model)));
    group.finish();
    eprintln!("otlp_json_decode_convert: request of {} spans is {} bytes of OTLP/JSON", SHAPE.spans, body.len());
}

/// Zipkin and Jaeger decoders on the same 1,000 spans, each decode plus conversion to the model.
fn zipkin_jaeger_decode_convert(c: &mut Criterion) {
    use prost::Message;
    use tracehound::proto::jaeger::api_v2::PostSpansRequest;
    use tracehound::receiver::jaeger::convert::batch_into_model;
    use tracehound::receiver::jaeger::thrift::{decode_batch, decode_emit_batch};
    use tracehound::receiver::thrift::Protocol;
    use tracehound::receiver::zipkin::convert::spans_into_model;
    use tracehound::receiver::zipkin::v1::v1_into_v2;
    use tracehound::receiver::zipkin::{v1_json, v1_thrift, v2_json, v2_proto};

    let bodies = formats::bodies(model_batch(0));
    let v1 = |spans: Vec<Result<tracehound::receiver::zipkin::v1::V1Span, tracehound::model::InvalidSpan>>| {
        spans.into_iter().flat_map(|s| v1_into_v2(s.unwrap()).into_iter().map(Ok)).collect::<Vec<_>>()
    };
    let v2_json_convert = |b: &[u8]| spans_into_model(v2_json::decode_spans(b).unwrap());
    let v2_proto_convert = |b: &[u8]| spans_into_model(v2_proto::decode_spans(b).unwrap());
    assert_eq!(v2_json_convert(&bodies.zipkin_v2_json).batch.span_count(), SHAPE.spans);
    assert_eq!(v2_proto_convert(&bodies.zipkin_proto).batch.span_count(), SHAPE.spans);
    let v1_json_convert = |b: &[u8]| spans_into_model(v1(v1_json::decode_spans(b).unwrap()));
    let v1_thrift_convert = |b: &[u8]| spans_into_model(v1(v1_thrift::decode_spans(b).unwrap()));
    assert_eq!(v1_json_convert(&bodies.zipkin_v1_json).batch.span_count(), SHAPE.spans);
    assert_eq!(v1_thrift_convert(&bodies.zipkin_v1_thrift).batch.span_count(), SHAPE.spans);
    let jaeger_proto = |b: &[u8]| batch_into_model(PostSpansRequest::decode(b).unwrap().batch.unwrap());
    assert_eq!(jaeger_proto(&bodies.jaeger_proto).batch.span_count(), SHAPE.spans);

    let mut group = c.benchmark_group("zipkin_jaeger_decode_convert");
    configure(&mut group);
    group.bench_function("zipkin_v2_json", |b| b.iter(|| v2_json_convert(black_box(&bodies.zipkin_v2_json))));
    group.bench_function("zipkin_proto", |b| b.iter(|| v2_proto_convert(black_box(&bodies.zipkin_proto))));
    group.bench_function("zipkin_v1_json", |b| b.iter(|| v1_json_convert(black_box(&bodies.zipkin_v1_json))));
    group.bench_function("zipkin_v1_thrift", |b| b.iter(|| v1_thrift_convert(black_box(&bodies.zipkin_v1_thrift))));
    group.bench_function("jaeger_proto_span_processes", |b| b.iter(|| jaeger_proto(black_box(&bodies.jaeger_proto))));
    group.finish();

    // Jaeger batches as agents send them, one process each: the first service's share of the spans.
    let mut group = c.benchmark_group("jaeger_batch_decode_convert");
    configure(&mut group);
    group.throughput(Throughput::Elements(bodies.jaeger_thrift_spans as u64));
    let binary = |b: &[u8]| batch_into_model(decode_batch(b).unwrap());
    let compact = |b: &[u8]| batch_into_model(decode_emit_batch(b, Protocol::Compact).unwrap());
    assert_eq!(binary(&bodies.jaeger_thrift_binary).batch.span_count(), bodies.jaeger_thrift_spans);
    assert_eq!(compact(&bodies.jaeger_thrift_compact).batch.span_count(), bodies.jaeger_thrift_spans);
    assert_eq!(jaeger_proto(&bodies.jaeger_proto_batch).batch.span_count(), bodies.jaeger_thrift_spans);
    group.bench_function("proto", |b| b.iter(|| jaeger_proto(black_box(&bodies.jaeger_proto_batch))));
    group.bench_function("thrift_binary", |b| b.iter(|| binary(black_box(&bodies.jaeger_thrift_binary))));
    group.bench_function("thrift_compact", |b| b.iter(|| compact(black_box(&bodies.jaeger_thrift_compact))));
    group.finish();
    eprintln!(
        "zipkin_jaeger_decode_convert: {} spans are {} B zipkin v2 JSON, {} B zipkin proto3, {} B zipkin v1 JSON, \
         {} B zipkin v1 thrift, {} B jaeger protobuf; jaeger batches of {} spans are {} B protobuf, {} B thrift binary, \
         {} B thrift compact",
        SHAPE.spans,
        bodies.zipkin_v2_json.len(),
        bodies.zipkin_proto.len(),
        bodies.zipkin_v1_json.len(),
        bodies.zipkin_v1_thrift.len(),
        bodies.jaeger_proto.len(),
        bodies.jaeger_thrift_spans,
        bodies.jaeger_proto_batch.len(),
        bodies.jaeger_thrift_binary.len(),
        bodies.jaeger_thrift_compact.len(),
    );
}

fn check_converts(batch: Batch) {
    assert_eq!(batch.span_count(), SHAPE.spans, "every bench span is valid");
}

/// The model batch of request number `sequence`: same shape, trace ids never seen before.
fn model_batch(sequence: u64) -> Batch {
    request_into_model(export_request(SHAPE, &trace_ids(sequence, SHAPE), START)).batch
}

fn assembler_over_memory_store(settings: &Settings) -> (Assembler, Arc<Telemetry>) {
    let telemetry = Arc::new(Telemetry::default());
    let store = Arc::new(MemoryStore::new(settings.store.clone(), telemetry.clone()));
    (Assembler::new(settings.assembler.clone(), store, telemetry.clone()), telemetry)
}

fn assembler_insert(c: &mut Criterion) {
    // Test settings: 4 shards, a 256 MiB store, 500,000 traces in flight at most.
    let settings = Settings::for_tests();
    check_converts(model_batch(0));
    let mut group = c.benchmark_group("assembler_insert");
    configure(&mut group);

    // One long-lived assembler and store: the store fills its 256 MiB budget within the warm-up and
    // then evicts its oldest traces on every insert, as a long-running server does. The idle sweep
    // does not run, so traces stay in flight (up to the assembler's limit).
    let (assembler, telemetry) = assembler_over_memory_store(&settings);
    let mut sequence = 0;
    group.bench_function("steady_state_evicting", |b| {
        b.iter_batched(
            || {
                sequence += 1;
                model_batch(sequence)
            },
            |batch| assembler.insert(batch).expect("memory store accepts writes"),
            BatchSize::LargeInput,
        )
    });
    // Skipped when a filter left this bench out.
    if sequence > 0 {
        eprintln!(
            "assembler_insert/steady_state_evicting: {} batches inserted, store holds {} MiB in {} traces, {} traces \
         evicted, {} traces in flight, {} dropped from tracking",
            sequence,
            telemetry.store_bytes.get() >> 20,
            telemetry.store_traces.get(),
            telemetry.store_traces_evicted.get(),
            telemetry.assembler_traces_in_flight.get(),
            telemetry.assembler_traces_dropped.get(),
        );
    }
    drop(assembler);

    // A fresh assembler and store per batch: empty shards, no eviction. The assembler (and the
    // spans it holds) is returned so that dropping it is not timed.
    group.bench_function("fresh_assembler", |b| {
        b.iter_batched(
            || (assembler_over_memory_store(&settings).0, model_batch(1)),
            |(assembler, batch)| {
                assembler.insert(batch).expect("memory store accepts writes");
                assembler
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    otlp_decode_convert,
    otlp_json_decode_convert,
    zipkin_jaeger_decode_convert,
    assembler_insert
);
criterion_main!(benches);
