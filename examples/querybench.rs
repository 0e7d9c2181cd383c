//! Query latency with a full store: 100,000 traces of 10 spans (1,000,000 spans over 20 services
//! and 50 operations each) written into the memory store, then each query timed one at a time and
//! reported as p50/p99, twice in one run:
//!
//! 1. In-process: the store, the clock-skew adjustment and the Jaeger JSON encoding, no HTTP.
//! 2. Through a real tracehound serving that same store, over HTTP on loopback, as Jaeger UI and
//!    Grafana ask: `/api/traces/{id}`, `/api/traces?service&operation&tags&minDuration`,
//!    `/api/services`, `/api/services/{service}/operations`.
//!
//! Queries: trace by id; search by service + operation + tag + minimum duration (Jaeger's rule,
//! limit 20); search by service only (many matches, newest 20); search by a tag alone (no service
//! to narrow by: the index cannot help); the service and operation listings.
//!
//! ```text
//! cargo run --release --example querybench
//! ```

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracehound::config::MemoryStoreSettings;
use tracehound::model::query::{MatchRule, TagFilter, TraceQuery};
use tracehound::model::{AnyValue, SpanKind, TraceId, UnixNanos};
use tracehound::query::adjust::{adjust_clock_skew, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT};
use tracehound::query::jaeger::json::trace_to_jaeger;
use tracehound::store::{MemoryStore, Store};
use tracehound::telemetry::Telemetry;
use tracehound::testkit::{splitmix64 as mix, SpanBuilder, BASE_TIME};

const TRACES: u128 = 100_000;
const SPANS_PER_TRACE: u64 = 10;
const SERVICES: u64 = 20;
const OPERATIONS: u64 = 50;
const SAMPLES: usize = 2_000;
const SEARCH_SAMPLES: usize = 200;

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    (at(0.5), at(0.99))
}

fn report(what: &str, samples: Vec<Duration>) {
    let (p50, p99) = percentiles(samples);
    println!("| {what} | {:.1} µs | {:.1} µs |", p50.as_secs_f64() * 1e6, p99.as_secs_f64() * 1e6);
}

fn search_query(i: usize, window: (UnixNanos, UnixNanos)) -> TraceQuery {
    let r = mix(1_000 + i as u64);
    TraceQuery {
        service: Some(format!("service-{}", r % SERVICES)),
        operation: Some(format!("operation-{}", (r >> 8) % OPERATIONS)),
        tags: vec![TagFilter { key: "http.status_code".into(), value: Some("500".into()) }],
        min_duration: Some(Duration::from_millis(20)),
        start_min: window.0,
        start_max: window.1,
        limit: 20,
        rule: MatchRule::SingleSpan,
        ..TraceQuery::default()
    }
}

fn time<T>(samples: usize, mut run: impl FnMut(usize) -> T) -> Vec<Duration> {
    (0..samples)
        .map(|i| {
            let start = Instant::now();
            std::hint::black_box(run(i));
            start.elapsed()
        })
        .collect()
}

fn trace_hex(i: usize) -> String {
    format!("{:032x}", mix(i as u64) as u128 % TRACES + 1)
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
                let status = if (r >> 16).is_multiple_of(50) { 500 } else { 200 };
                let mut b = SpanBuilder::new(&service, &operation, t + 1, i + 1)
                    .kind(if i == 0 { SpanKind::Server } else { SpanKind::Client })
                    .timing(t as u64 * 10_000_000 + i * 1_000, 1_000 + (r >> 24) % 200_000_000)
                    .attr("http.status_code", AnyValue::Int(status))
                    .attr("customer.tier", AnyValue::String(["free", "pro", "enterprise"][(r % 3) as usize].into()));
                if i > 0 {
                    b = b.parent(1);
                }
                Arc::new(b.build())
            })
            .collect::<Vec<_>>();
        store.write(&spans).unwrap();
    }
    eprintln!("loaded {} spans in {:.1} s", TRACES as u64 * SPANS_PER_TRACE, load.elapsed().as_secs_f64());

    let store = Arc::new(store);
    let window = (UnixNanos(BASE_TIME), UnixNanos(BASE_TIME + TRACES as u64 * 10_000_000));

    println!("| In-process, 1,000,000 spans / 100,000 traces in the store | p50 | p99 |");
    println!("|---|---:|---:|");
    report(
        "trace by id, clock-skew adjusted, Jaeger JSON encoded",
        time(SAMPLES, |i| {
            let trace = store.trace(TraceId::from_hex(&trace_hex(i)).unwrap()).unwrap().unwrap();
            serde_json::to_vec(&trace_to_jaeger(&adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT))).unwrap()
        }),
    );
    report(
        "search: service + operation + tag + minDuration, limit 20",
        time(SEARCH_SAMPLES, |i| store.find_traces(&search_query(i, window)).unwrap()),
    );
    report(
        "search: service only, limit 20",
        time(SEARCH_SAMPLES, |i| {
            let query = TraceQuery {
                service: Some(format!("service-{}", i as u64 % SERVICES)),
                start_min: window.0,
                start_max: window.1,
                ..TraceQuery::default()
            };
            store.find_traces(&query).unwrap()
        }),
    );
    report(
        "search: one rare tag, no service (scans), limit 20",
        time(20, |_| {
            let query = TraceQuery {
                tags: vec![TagFilter { key: "customer.tier".into(), value: Some("platinum".into()) }],
                start_min: window.0,
                start_max: window.1,
                ..TraceQuery::default()
            };
            store.find_traces(&query).unwrap()
        }),
    );
    report("services", time(SAMPLES, |_| store.services().unwrap()));
    report(
        "operations of a service",
        time(SAMPLES, |i| store.operations(&format!("service-{}", i as u64 % SERVICES), None).unwrap()),
    );

    // The same store behind a real server, asked over HTTP.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let served: Arc<dyn Store> = store.clone();
        let running = tracehound::server::start_with_store(tracehound::config::Settings::for_tests(), move |_| served)
            .await
            .expect("server starts");
        let base = format!("http://{}", running.addrs.query);
        let client = reqwest::Client::new();
        let get = |url: String| {
            let client = client.clone();
            async move {
                let start = Instant::now();
                let response = client.get(&url).send().await.unwrap();
                assert!(response.status().is_success(), "{url}: {}", response.status());
                std::hint::black_box(response.bytes().await.unwrap());
                start.elapsed()
            }
        };
        let mut by_id = Vec::new();
        for i in 0..SAMPLES {
            by_id.push(get(format!("{base}/api/traces/{}", trace_hex(i))).await);
        }
        let (start_us, end_us) = (window.0 .0 / 1_000, window.1 .0 / 1_000);
        let mut search = Vec::new();
        for i in 0..SEARCH_SAMPLES {
            let q = search_query(i, window);
            search.push(
                get(format!(
                    "{base}/api/traces?service={}&operation={}&tags=%7B%22http.status_code%22%3A%22500%22%7D&minDuration=20ms&start={start_us}&end={end_us}&limit=20",
                    q.service.unwrap(),
                    q.operation.unwrap()
                ))
                .await,
            );
        }
        let mut services = Vec::new();
        let mut operations = Vec::new();
        for i in 0..SAMPLES {
            services.push(get(format!("{base}/api/services")).await);
            operations.push(get(format!("{base}/api/services/service-{}/operations", i as u64 % SERVICES)).await);
        }
        println!();
        println!("| Over HTTP (Jaeger API on loopback), same store | p50 | p99 |");
        println!("|---|---:|---:|");
        report("`/api/traces/{id}` (adjusted, Jaeger JSON, gzip off)", by_id);
        report("`/api/traces?service&operation&tags&minDuration&limit=20`", search);
        report("`/api/services`", services);
        report("`/api/services/{service}/operations`", operations);
        running.shutdown().await;
    });
}
