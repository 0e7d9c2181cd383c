//! Query latency with a full store: 100,000 traces of 10 spans (1,000,000 spans over 20 services
//! and 50 operations each) written into the memory store, or with `--disk DIR` into the disk store
//! (`--traces N` sets the number of traces), then each query timed one at a time and reported as
//! p50/p99, twice in one run:
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
//! With `--disk`, it also reports the load rate, bytes on disk per span against the OTLP protobuf
//! size of the same spans, and the restart: reopening the store and restoring the statistics from
//! a checkpoint taken after the load. A directory that already holds data is reused (not loaded
//! again), so the queries can be timed on a store written earlier.
//!
//! ```text
//! cargo run --release --example querybench
//! cargo run --release --example querybench -- --disk /var/tmp/qb --traces 1000000
//! ```

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tracehound::assembler::Assembler;
use tracehound::config::{Durability, MemoryStoreSettings, Settings};
use tracehound::model::query::{MatchRule, TagFilter, TraceQuery};
use tracehound::model::{AnyValue, SpanKind, SpanRecord, TraceId, UnixNanos};
use tracehound::query::adjust::{adjust_clock_skew, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT};
use tracehound::query::jaeger::json::trace_to_jaeger;
use tracehound::store::{DiskLimits, DiskStore, MemoryStore, Store};
use tracehound::telemetry::Telemetry;
use tracehound::testkit::{splitmix64 as mix, SpanBuilder, BASE_TIME};

const DEFAULT_TRACES: u128 = 100_000;
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

fn trace_hex(i: usize, traces: u128) -> String {
    format!("{:032x}", mix(i as u64) as u128 % traces + 1)
}

/// The spans of trace `t` (from 0).
fn trace_spans(t: u128) -> Vec<Arc<SpanRecord>> {
    let seed = mix(t as u64);
    (0..SPANS_PER_TRACE)
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
        .collect()
}

fn store_settings() -> MemoryStoreSettings {
    MemoryStoreSettings {
        max_bytes: 8 << 30,
        shards: NonZeroUsize::new(16).unwrap(),
        max_services: 1_000,
        max_operations_per_service: 10_000,
        autocomplete_keys: Vec::new(),
    }
}

fn open_disk(dir: &Path) -> DiskStore {
    let limits = DiskLimits { retention: Duration::from_secs(7 * 86_400), max_disk_bytes: None };
    DiskStore::open(dir, &store_settings(), Durability::Strict, limits, Arc::new(Telemetry::default())).unwrap()
}

fn assembler(store: Arc<dyn Store>) -> Assembler {
    Assembler::new(Settings::for_tests().assembler, store, Arc::new(Telemetry::default()))
}

/// Writes `traces` traces from `threads` writers, 100 traces per write.
fn load(store: &Arc<dyn Store>, traces: u128, threads: u128) -> u64 {
    let otlp_bytes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for w in 0..threads {
            let (store, otlp_bytes) = (store.clone(), &otlp_bytes);
            scope.spawn(move || {
                let mut t = w * 100;
                while t < traces {
                    let spans: Vec<Arc<SpanRecord>> = (t..(t + 100).min(traces)).flat_map(trace_spans).collect();
                    let size = tracehound::query::otlp::encode_spans(&spans).encoded_len() as u64;
                    otlp_bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
                    store.write(&spans).unwrap();
                    t += threads * 100;
                }
            });
        }
    });
    otlp_bytes.into_inner()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let traces: u128 = flag("--traces").map_or(DEFAULT_TRACES, |n| n.parse().expect("--traces N"));
    let spans = traces as u64 * SPANS_PER_TRACE;
    let store: Arc<dyn Store> = match flag("--disk") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.join("VERSION").exists() {
                eprintln!("reusing the store in {}", dir.display());
            } else {
                let store: Arc<dyn Store> = Arc::new(open_disk(&dir));
                let started = Instant::now();
                let otlp = load(&store, traces, 4);
                let took = started.elapsed().as_secs_f64();
                // A checkpoint after the load, as the server keeps one at most 30 s old.
                assembler(store.clone()).checkpoint().unwrap();
                drop(store);
                println!(
                    "| load | {spans} spans in {took:.1} s: {:.0} spans/s (4 writers, 1,000 spans per write) |",
                    spans as f64 / took
                );
                let on_disk = open_disk(&dir).disk_bytes();
                println!(
                    "| bytes on disk | {:.0} B/span ({:.2}× the {:.0} B/span of the same spans as OTLP protobuf) |",
                    on_disk as f64 / spans as f64,
                    on_disk as f64 / otlp as f64,
                    otlp as f64 / spans as f64
                );
            }
            let started = Instant::now();
            let store = Arc::new(open_disk(&dir));
            let opened = started.elapsed();
            let recovered = assembler(store.clone()).recover().unwrap();
            println!(
                "| restart | open {:.0} ms, then statistics restored ({recovered:?}) at {:.0} ms |",
                opened.as_secs_f64() * 1e3,
                started.elapsed().as_secs_f64() * 1e3
            );
            store
        }
        None => {
            let store: Arc<dyn Store> = Arc::new(MemoryStore::new(store_settings(), Arc::new(Telemetry::default())));
            let started = Instant::now();
            load(&store, traces, 1);
            eprintln!("loaded {spans} spans in {:.1} s", started.elapsed().as_secs_f64());
            store
        }
    };
    run_queries(store, traces);
}

fn run_queries(store: Arc<dyn Store>, traces: u128) {
    let spans = traces as u64 * SPANS_PER_TRACE;
    let trace_hex = |i: usize| trace_hex(i, traces);
    let window = (UnixNanos(BASE_TIME), UnixNanos(BASE_TIME + traces as u64 * 10_000_000));

    println!("| In-process, {spans} spans / {traces} traces in the store | p50 | p99 |");
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
    // A full scan: a few samples are enough, and at 10,000,000 spans each takes seconds.
    let scans = if traces > DEFAULT_TRACES { 2 } else { 20 };
    report(
        "search: one rare tag, no service (scans), limit 20",
        time(scans, |_| {
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
