//! Query latency with a full store: 100,000 traces of 10 spans (1,000,000 spans over 20 services
//! and 50 operations each) written into the memory store, then each query timed one at a time and
//! reported as p50/p99: trace by id (with the Jaeger JSON encoding the API does), search by service
//! + operation + tag + minimum duration (Jaeger's rule), and the service and operation listings.
//!
//! ```text
//! cargo run --release --example querybench
//! ```
//!
//! It measures the store and the encoder in-process, without HTTP, whose cost on loopback is a
//! fixed tens of microseconds per request.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracehound::config::MemoryStoreSettings;
use tracehound::model::query::{MatchRule, TagFilter, TraceQuery};
use tracehound::model::{AnyValue, SpanKind, TraceId, UnixNanos};
use tracehound::query::jaeger::json::trace_to_jaeger;
use tracehound::store::{MemoryStore, Store};
use tracehound::telemetry::Telemetry;
use tracehound::testkit::{SpanBuilder, BASE_TIME};

const TRACES: u128 = 100_000;
const SPANS_PER_TRACE: u64 = 10;
const SERVICES: u64 = 20;
const OPERATIONS: u64 = 50;
const SAMPLES: usize = 2_000;
const SEARCH_SAMPLES: usize = 200;

/// splitmix64: a fixed, dependency-free sequence.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

fn report(what: &str, samples: Vec<Duration>) {
    let (p50, p99) = percentiles(samples);
    println!("| {what} | {:.1} µs | {:.1} µs |", p50.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6);
}

fn main() {
    let telemetry = Arc::new(Telemetry::default());
    let store = MemoryStore::new(
        MemoryStoreSettings {
            max_bytes: 8 << 30,
            shards: NonZeroUsize::new(16).unwrap(),
            max_services: 10_000,
            max_operations_per_service: 10_000,
            autocomplete_keys: Vec::new(),
        },
        telemetry,
    );
    let load = Instant::now();
    for t in 0..TRACES {
        let seed = mix(t as u64);
        let spans = (0..SPANS_PER_TRACE)
            .map(|i| {
                let r = mix(seed ^ i);
                let service = format!("service-{}", r % SERVICES);
                let operation = format!("operation-{}", (r >> 8) % OPERATIONS);
                let status = if (r >> 16) % 50 == 0 { 500 } else { 200 };
                let mut b = SpanBuilder::new(&service, &operation, t + 1, i + 1)
                    .kind(if i == 0 { SpanKind::Server } else { SpanKind::Client })
                    .timing(t as u64 * 10_000_000 + i * 1_000, 1_000 + (r >> 24) % 200_000_000)
                    .attr("http.status_code", AnyValue::Int(status))
                    .attr("customer.tier", AnyValue::String(["free", "pro", "enterprise"][(r % 3) as usize].into()));
                if i > 0 {
                    b = b.parent(1);
                }
                b.build()
            })
            .collect();
        store.write(spans).unwrap();
    }
    eprintln!("loaded {} spans in {:.1} s", TRACES as u64 * SPANS_PER_TRACE, load.elapsed().as_secs_f64());

    println!("| Query, 1,000,000 spans / 100,000 traces in the store | p50 | p99 |");
    println!("|---|---:|---:|");
    let by_id: Vec<Duration> = (0..SAMPLES)
        .map(|i| {
            let id = TraceId::from_hex(&format!("{:x}", mix(i as u64) as u128 % TRACES + 1)).unwrap();
            let start = Instant::now();
            let trace = store.trace(id).unwrap().unwrap();
            let json = serde_json::to_vec(&trace_to_jaeger(&trace)).unwrap();
            std::hint::black_box(json);
            start.elapsed()
        })
        .collect();
    report("trace by id, Jaeger JSON encoded", by_id);

    let window = (UnixNanos(BASE_TIME), UnixNanos(BASE_TIME + TRACES as u64 * 10_000_000));
    let search: Vec<Duration> = (0..SEARCH_SAMPLES)
        .map(|i| {
            let r = mix(1_000 + i as u64);
            let query = TraceQuery {
                service: Some(format!("service-{}", r % SERVICES)),
                operation: Some(format!("operation-{}", (r >> 8) % OPERATIONS)),
                tags: vec![TagFilter { key: "http.status_code".into(), value: Some("500".into()) }],
                min_duration: Some(Duration::from_millis(20)),
                start_min: window.0,
                start_max: window.1,
                limit: 20,
                rule: MatchRule::SingleSpan,
                ..TraceQuery::default()
            };
            let start = Instant::now();
            std::hint::black_box(store.find_traces(&query).unwrap());
            start.elapsed()
        })
        .collect();
    report("search: service + operation + tag + minDuration, limit 20", search);

    let services: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(store.services().unwrap());
            start.elapsed()
        })
        .collect();
    report("services", services);
    let operations: Vec<Duration> = (0..SAMPLES)
        .map(|i| {
            let start = Instant::now();
            std::hint::black_box(store.operations(&format!("service-{}", i as u64 % SERVICES), None).unwrap());
            start.elapsed()
        })
        .collect();
    report("operations of a service", operations);
}
