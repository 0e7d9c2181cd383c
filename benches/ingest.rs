//! Ingest hot paths, in spans per second: OTLP protobuf and OTLP/JSON decoding and conversion to
//! the model, and the assembler's insert (tracking plus the write-through to the memory store).
//!
//! Every bench uses the same request: 1,000 spans in 10 traces over 3 services (see
//! `otlp_workload`). Run with `cargo bench --bench ingest -- --noplot`; `docs/performance.md`
//! holds the figures of one run and how they compare.

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

criterion_group!(benches, otlp_decode_convert, otlp_json_decode_convert, assembler_insert);
criterion_main!(benches);
