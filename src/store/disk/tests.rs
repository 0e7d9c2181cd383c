use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::*;
use crate::model::query::MatchRule;
use crate::model::{AnyValue, KeyValue, StatusCode};
use crate::store::search_props::{full_scan, query, records, spans};
use crate::store::MemoryStore;
use crate::store::Operation;
use crate::testkit::{trace_id, SpanBuilder};

fn settings() -> MemoryStoreSettings {
    MemoryStoreSettings {
        max_bytes: 1 << 30,
        shards: NonZeroUsize::new(4).unwrap(),
        max_services: 100,
        max_operations_per_service: 100,
        autocomplete_keys: vec!["http.method".into()],
    }
}

fn open(dir: &Path) -> DiskStore {
    DiskStore::open(dir, &settings(), Durability::Strict, WEEK, Arc::new(Telemetry::default())).unwrap()
}

/// Records in a canonical order, to compare traces whatever order a store returns spans in.
fn sorted(trace: &Trace) -> Vec<SpanRecord> {
    let mut spans: Vec<SpanRecord> = trace.spans.iter().map(|r| SpanRecord::clone(r)).collect();
    spans.sort_by_key(|r| (r.span.span_id, r.span.shared));
    spans
}

fn rich_trace() -> Vec<SpanRecord> {
    vec![
        SpanBuilder::new("web", "GET /", 1, 1)
            .attr("http.method", AnyValue::String("GET".into()))
            .resource_attr("host.name", AnyValue::String("a".into()))
            .event(5, "cache miss", vec![KeyValue::new("key", AnyValue::Int(7))])
            .link(9, 3, vec![KeyValue::new("opentracing.ref_type", AnyValue::String("follows_from".into()))])
            .scope("lib", "1.2")
            .status(StatusCode::Error, "boom")
            .build(),
        SpanBuilder::new("api", "get", 1, 2).parent(1).kind(SpanKind::Client).with(|r| r.span.debug = true).build(),
        SpanBuilder::new("db", "get", 1, 2).kind(SpanKind::Server).with(|r| r.span.shared = true).build(),
    ]
}

#[test]
fn spans_come_back_whole_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let written = rich_trace();
    {
        let store = open(dir.path());
        store.write(written[..1].to_vec()).unwrap();
        store.write(written[1..].to_vec()).unwrap();
        assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 3);
    }
    let store = open(dir.path());
    let trace = store.trace(trace_id(1)).unwrap().unwrap();
    let mut expected = written;
    expected.sort_by_key(|r| (r.span.span_id, r.span.shared));
    assert_eq!(sorted(&trace), expected, "every field, shared and debug included");
    assert!(store.trace(trace_id(2)).unwrap().is_none());
    // The name index is rebuilt from disk.
    assert_eq!(store.services().unwrap(), ["api", "db", "web"]);
    assert_eq!(store.operations("api", None).unwrap(), [Operation { name: "get".into(), kind: SpanKind::Client }]);
    assert_eq!(store.autocomplete_values("http.method").unwrap(), ["GET"]);
    // Writes after the restart continue the sequence instead of overwriting.
    store.write(vec![SpanBuilder::new("web", "late", 1, 4).parent(1).build()]).unwrap();
    assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 4);
}

#[test]
fn a_long_trace_reaching_into_the_window_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.write(vec![SpanBuilder::new("batch", "job", 1, 1).timing(0, 3_600_000_000_000).build()]).unwrap();
    store
        .write(vec![SpanBuilder::new("batch", "step", 1, 2).parent(1).timing(3_000_000_000_000, 1_000).build()])
        .unwrap();
    let q = TraceQuery {
        service: Some("batch".into()),
        operation: Some("job".into()),
        rule: MatchRule::ZipkinJoint,
        start_max: UnixNanos(crate::testkit::BASE_TIME + 10),
        ..TraceQuery::default()
    };
    assert_eq!(store.find_traces(&q).unwrap().len(), 1);
}

#[test]
fn concurrent_writers_share_commits_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()));
    let writers: Vec<_> = (0..8u64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..50u64 {
                    // Every writer adds to trace 1 (so one group may extend it twice) and to its own.
                    let span = w * 100 + i + 1;
                    store.write(vec![SpanBuilder::new("shared", "op", 1, span).timing(span * 10, 5).build()]).unwrap();
                    store.write(vec![SpanBuilder::new("own", "op", u128::from(w) + 2, i + 1).build()]).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 400);
    for w in 0..8u128 {
        assert_eq!(store.trace(trace_id(w + 2)).unwrap().unwrap().spans.len(), 50);
    }
    // The trace's bounds cover every write: a window holding only its last span finds it.
    let last = crate::testkit::BASE_TIME + 750 * 10;
    let q = TraceQuery {
        service: Some("shared".into()),
        start_min: UnixNanos(last),
        start_max: UnixNanos(last),
        ..TraceQuery::default()
    };
    assert_eq!(store.find_traces(&q).unwrap().len(), 1);
}

/// A clock the test moves.
struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now(&self) -> UnixNanos {
        UnixNanos(self.0.load(Ordering::Relaxed))
    }
}

const HOUR: u64 = 3_600_000_000_000;
const WEEK: Limits = Limits { retention: Duration::from_secs(7 * 24 * 3600), max_disk_bytes: None };

fn open_with_clock(dir: &Path, limits: Limits, clock: Arc<ManualClock>) -> DiskStore {
    DiskStore::open_with(dir, &settings(), Durability::Strict, limits, clock, Arc::new(Telemetry::default())).unwrap()
}

fn wait_until_gone(path: &Path) {
    for _ in 0..100 {
        if !path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{} still exists", path.display());
}

#[test]
fn a_trace_spread_over_partitions_reads_back_whole_and_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
    let limits = Limits { retention: Duration::from_secs(7 * 24 * 3600), max_disk_bytes: None };
    {
        let store = open_with_clock(dir.path(), limits, clock.clone());
        store.write(vec![SpanBuilder::new("batch", "job", 1, 1).timing(0, 10 * HOUR).build()]).unwrap();
        // Seven hours later (a 7-day retention makes 6-hour partitions) its step arrives.
        clock.0.fetch_add(7 * HOUR, Ordering::Relaxed);
        store.write(vec![SpanBuilder::new("batch", "step", 1, 2).parent(1).timing(9 * HOUR, 1_000).build()]).unwrap();
        assert_eq!(store.partition_starts().len(), 2);
        assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 2);
    }
    let store = open_with_clock(dir.path(), limits, clock);
    assert_eq!(store.partition_starts().len(), 2, "partitions reopen");
    assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 2);
    assert_eq!(store.operations("batch", None).unwrap().len(), 2, "names come from every partition");
    // A window holding only the step's start finds the trace (Jaeger), and so does one holding
    // only the job's start with the step's name (Zipkin: the root's start decides).
    let base = crate::testkit::BASE_TIME;
    let step = TraceQuery {
        service: Some("batch".into()),
        operation: Some("step".into()),
        start_min: UnixNanos(base + 9 * HOUR),
        start_max: UnixNanos(base + 9 * HOUR),
        ..TraceQuery::default()
    };
    assert_eq!(store.find_traces(&step).unwrap().len(), 1);
    let zipkin = TraceQuery {
        start_min: UnixNanos(base),
        start_max: UnixNanos(base + 1),
        rule: MatchRule::ZipkinJoint,
        ignore_case: true,
        ..step
    };
    assert_eq!(store.find_traces(&zipkin).unwrap().len(), 1);
}

#[test]
fn retention_drops_whole_partitions_and_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
    // 28 hours of retention: 1-hour partitions.
    let limits = Limits { retention: Duration::from_secs(28 * 3600), max_disk_bytes: None };
    let store = open_with_clock(dir.path(), limits, clock.clone());
    store.write(vec![SpanBuilder::new("old", "op", 1, 1).build()]).unwrap();
    let old = dir.path().join(format!("p-{}", 100 * HOUR));
    assert!(old.exists());
    clock.0.fetch_add(20 * HOUR, Ordering::Relaxed);
    store.write(vec![SpanBuilder::new("new", "op", 2, 1).build()]).unwrap();
    assert_eq!(store.expire().unwrap(), 0, "still within retention");
    clock.0.fetch_add(10 * HOUR, Ordering::Relaxed);
    assert_eq!(store.expire().unwrap(), 1);
    assert!(store.trace(trace_id(1)).unwrap().is_none());
    assert!(store.trace(trace_id(2)).unwrap().is_some());
    wait_until_gone(&old);
    // Even far past retention, the newest partition (the one being written) stays.
    clock.0.fetch_add(100 * HOUR, Ordering::Relaxed);
    assert_eq!(store.expire().unwrap(), 0);
    assert!(store.trace(trace_id(2)).unwrap().is_some());
}

#[test]
fn the_disk_cap_drops_the_oldest_partitions_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
    let limits = Limits { retention: Duration::from_secs(28 * 3600), max_disk_bytes: Some(1) };
    let store = open_with_clock(dir.path(), limits, clock.clone());
    for t in 1..=3u128 {
        store.write(vec![SpanBuilder::new("svc", "op", t, 1).build()]).unwrap();
        clock.0.fetch_add(HOUR, Ordering::Relaxed);
    }
    assert_eq!(store.partition_starts().len(), 3);
    assert_eq!(store.expire().unwrap(), 2);
    assert_eq!(store.partition_starts(), [102 * HOUR]);
    assert!(store.trace(trace_id(1)).unwrap().is_none());
    assert!(store.trace(trace_id(3)).unwrap().is_some());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The disk store answers searches as a full scan does, and as the memory store does, with the
        /// trace spread over partitions.
        #[test]
        fn disk_search_equals_a_full_scan_and_the_memory_store(
            spans in spans(),
            batch in 1usize..8,
            queries in proptest::collection::vec(query(), 1..8),
        ) {
            // Each write lands in a new one-hour partition, so searches merge several.
            let dir = tempfile::tempdir().unwrap();
            let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
            let limits = Limits { retention: Duration::from_secs(28 * 3600), max_disk_bytes: None };
            let disk = open_with_clock(dir.path(), limits, clock.clone());
            let memory = MemoryStore::new(settings(), Arc::new(Telemetry::default()));
            for chunk in records(&spans).chunks(batch) {
                disk.write(chunk.to_vec()).unwrap();
                memory.write(chunk.to_vec()).unwrap();
                clock.0.fetch_add(HOUR, Ordering::Relaxed);
            }
            for q in queries {
                let found: Vec<TraceId> = disk.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
                let from_memory: Vec<TraceId> = memory.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
                prop_assert_eq!(&found, &full_scan(&disk, &q), "{:?}", q);
                prop_assert_eq!(&found, &from_memory, "{:?}", q);
            }
        }
    }
}
