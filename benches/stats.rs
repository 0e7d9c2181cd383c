//! Latency sketch hot paths, ours ([`LatencySketch`]) against the `sketches-ddsketch` crate at the
//! same 1% relative accuracy: inserting durations, merging an hour of one-minute sketches, and the
//! p99 of the merged sketch. Before timing, both are checked against the exact quantiles of the
//! same durations.
//!
//! Durations are log-normal around 2 ms (σ = 1.2 in log space, so most fall between 50 µs and
//! 100 ms), from a fixed seed. Run with `cargo bench --bench stats -- --noplot`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use sketches_ddsketch::{Config, DDSketch};
use tracehound::stats::sketch::{LatencySketch, RELATIVE_ACCURACY};

/// Values per one-minute sketch, and minutes merged.
const PER_MINUTE: usize = 1_000;
const MINUTES: usize = 60;

/// Short runs: the whole bench should finish in well under a minute on a shared 2-core machine.
fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
}

/// `n` log-normal durations in nanoseconds (splitmix64 and Box-Muller: no rand dependency).
fn durations(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let mut uniform = move || {
        let z = tracehound::testkit::splitmix64(state);
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        // 53 random bits in (0, 1].
        (z >> 11) as f64 / (1u64 << 53) as f64 + f64::EPSILON
    };
    (0..n)
        .map(|_| {
            let normal = (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
            (2e6f64.ln() + 1.2 * normal).exp() as u64
        })
        .collect()
}

fn ddsketch() -> DDSketch {
    // Same accuracy; 4,096 bins so that the crate never collapses bins in these runs.
    DDSketch::new(Config::new(RELATIVE_ACCURACY, 4_096, 1.0))
}

fn ours_of(values: &[u64]) -> LatencySketch {
    let mut sketch = LatencySketch::new();
    for &v in values {
        sketch.add(v);
    }
    sketch
}

fn crate_of(values: &[u64]) -> DDSketch {
    let mut sketch = ddsketch();
    for &v in values {
        sketch.add(v as f64);
    }
    sketch
}

/// One hour of minute sketches, closed (shrunk) as the stats keep them.
fn minutes() -> (Vec<u64>, Vec<LatencySketch>, Vec<DDSketch>) {
    let all = durations(PER_MINUTE * MINUTES, 7);
    let ours = all
        .chunks(PER_MINUTE)
        .map(|minute| {
            let mut sketch = ours_of(minute);
            sketch.shrink();
            sketch
        })
        .collect();
    let theirs = all.chunks(PER_MINUTE).map(crate_of).collect();
    (all, ours, theirs)
}

/// Prints the worst relative error of each sketch against the exact quantiles (the sample element
/// of rank `floor(q·(n-1))`, the definition both use) and fails if ours is beyond 1%.
fn check_accuracy(all: &[u64], ours: &LatencySketch, theirs: &DDSketch) {
    let mut sorted = all.to_vec();
    sorted.sort_unstable();
    let (mut worst_ours, mut worst_theirs) = (0f64, 0f64);
    for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999] {
        let exact = sorted[(q * (sorted.len() - 1) as f64).floor() as usize] as f64;
        let ours = ours.quantile(q).expect("sketch is not empty");
        let theirs = theirs.quantile(q).expect("q is within [0, 1]").expect("sketch is not empty");
        worst_ours = worst_ours.max((ours - exact).abs() / exact);
        worst_theirs = worst_theirs.max((theirs - exact).abs() / exact);
    }
    assert!(worst_ours <= RELATIVE_ACCURACY, "our sketch is off by {worst_ours}");
    eprintln!(
        "accuracy over {} values: worst relative error ours {:.4}%, sketches-ddsketch {:.4}%; ours holds {} heap bytes",
        all.len(),
        worst_ours * 100.0,
        worst_theirs * 100.0,
        ours.heap_bytes(),
    );
}

fn sketch_insert(c: &mut Criterion) {
    let values = durations(10_000, 42);
    let mut group = c.benchmark_group("sketch_insert");
    configure(&mut group);
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("ours", |b| b.iter(|| ours_of(black_box(&values))));
    group.bench_function("sketches_ddsketch", |b| b.iter(|| crate_of(black_box(&values))));
    group.finish();
}

fn sketch_merge_60(c: &mut Criterion) {
    let (all, ours, theirs) = minutes();
    let merge_ours = || {
        let mut total = LatencySketch::new();
        for minute in &ours {
            total.merge(black_box(minute));
        }
        total
    };
    let merge_theirs = || {
        let mut total = ddsketch();
        for minute in &theirs {
            total.merge(black_box(minute)).expect("same configuration");
        }
        total
    };
    assert_eq!(merge_ours(), ours_of(&all), "merging minutes is inserting everything");
    let minute_bytes = ours.iter().map(LatencySketch::heap_bytes).sum::<usize>() / ours.len();
    eprintln!("sketch_merge_60: a closed minute of {PER_MINUTE} values holds {minute_bytes} heap bytes on average");
    check_accuracy(&all, &merge_ours(), &merge_theirs());
    let mut group = c.benchmark_group("sketch_merge_60");
    configure(&mut group);
    group.bench_function("ours", |b| b.iter(merge_ours));
    group.bench_function("sketches_ddsketch", |b| b.iter(merge_theirs));
    group.finish();
}

fn sketch_quantile(c: &mut Criterion) {
    let all = durations(PER_MINUTE * MINUTES, 7);
    let (ours, theirs) = (ours_of(&all), crate_of(&all));
    let mut group = c.benchmark_group("sketch_quantile");
    configure(&mut group);
    // Ours walks the bins from the nearer end, so the median is its slowest quantile.
    for (name, q) in [("p99", 0.99), ("p50", 0.5)] {
        group.bench_function(format!("ours_{name}"), |b| b.iter(|| black_box(&ours).quantile(black_box(q))));
        group.bench_function(format!("sketches_ddsketch_{name}"), |b| {
            b.iter(|| black_box(&theirs).quantile(black_box(q)))
        });
    }
    group.finish();
}

/// Memory of one (service, operation) series kept for 24 hours: every minute of the day holds
/// `per_minute` spans, aged as the server ages them (one-minute buckets for the last hour,
/// 15-minute buckets before). Not timed; printed for `docs/performance.md`.
fn series_memory(_: &mut Criterion) {
    use tracehound::stats::series::{Bucket, Resolution, TimeSeries};
    let resolution = Resolution::default();
    for per_minute in [10usize, 1_000, 10_000] {
        let mut series = TimeSeries::default();
        let day = 24 * 60u64;
        for minute in 0..day {
            let mut bucket = Bucket::default();
            for &nanos in &durations(per_minute, minute) {
                bucket.record(nanos, false);
            }
            bucket.latency.shrink();
            series.add(minute, &bucket, resolution, minute);
        }
        eprintln!(
            "series_memory: {per_minute} spans/minute for 24 h: {} KiB per (service, operation, kind) series",
            series.heap_bytes() / 1024
        );
    }
}

/// What the assembler adds per span for the statistics: `ShardStats::record_span` (service and
/// operation sketches, calls and errors, the span-metrics histogram) for spans spread over 20
/// services of 50 operations each, with mixed kinds and status codes, in one minute's accumulator.
fn record_span(c: &mut Criterion) {
    use tracehound::model::{SpanKind, StatusCode};
    use tracehound::stats::red::{ShardStats, SpanSample, StatsSettings};
    let names: Vec<(String, String)> =
        (0..1_000).map(|i| (format!("service-{}", i % 20), format!("operation-{}", i % 50))).collect();
    let values = durations(names.len(), 11);
    let settings = StatsSettings::default();
    let statuses = [StatusCode::Unset, StatusCode::Unset, StatusCode::Ok, StatusCode::Error];
    let kinds = [SpanKind::Server, SpanKind::Client, SpanKind::Internal];
    let mut shard = ShardStats::default();
    let mut group = c.benchmark_group("record_span");
    configure(&mut group);
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("shard_stats", |b| {
        b.iter(|| {
            for (i, ((service, operation), &nanos)) in names.iter().zip(&values).enumerate() {
                let sample = SpanSample {
                    service,
                    operation,
                    kind: kinds[i % kinds.len()],
                    nanos,
                    status: statuses[i % statuses.len()],
                };
                shard.record_span(&settings, 1, black_box(sample));
            }
        })
    });
    group.finish();
    black_box(shard.take());
}

criterion_group!(benches, sketch_insert, sketch_merge_60, sketch_quantile, record_span, series_memory);
criterion_main!(benches);
