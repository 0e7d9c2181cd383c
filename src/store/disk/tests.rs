use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::*;
use crate::model::query::MatchRule;
use crate::model::{AnyValue, KeyValue, StatusCode};
use crate::store::search_props::{full_scan, query, records, spans};
use crate::store::MemoryStore;
use crate::store::Operation;
use crate::testkit::{trace_id, SpanBuilder, WriteOwned};

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
        store.write_owned(written[..1].to_vec()).unwrap();
        store.write_owned(written[1..].to_vec()).unwrap();
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
    store.write_owned(vec![SpanBuilder::new("web", "late", 1, 4).parent(1).build()]).unwrap();
    assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 4);
}

#[test]
fn a_long_trace_reaching_into_the_window_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.write_owned(vec![SpanBuilder::new("batch", "job", 1, 1).timing(0, 3_600_000_000_000).build()]).unwrap();
    store
        .write_owned(vec![SpanBuilder::new("batch", "step", 1, 2).parent(1).timing(3_000_000_000_000, 1_000).build()])
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
                    store
                        .write_owned(vec![SpanBuilder::new("shared", "op", 1, span).timing(span * 10, 5).build()])
                        .unwrap();
                    store.write_owned(vec![SpanBuilder::new("own", "op", u128::from(w) + 2, i + 1).build()]).unwrap();
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
/// 28 hours of retention: one-hour partitions.
const HOURLY: Limits = Limits { retention: Duration::from_secs(28 * 3600), max_disk_bytes: None };

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
        store.write_owned(vec![SpanBuilder::new("batch", "job", 1, 1).timing(0, 10 * HOUR).build()]).unwrap();
        // Seven hours later (a 7-day retention makes 6-hour partitions) its step arrives.
        clock.0.fetch_add(7 * HOUR, Ordering::Relaxed);
        store
            .write_owned(vec![SpanBuilder::new("batch", "step", 1, 2).parent(1).timing(9 * HOUR, 1_000).build()])
            .unwrap();
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
    let limits = HOURLY;
    let store = open_with_clock(dir.path(), limits, clock.clone());
    store.write_owned(vec![SpanBuilder::new("old", "op", 1, 1).build()]).unwrap();
    let old = dir.path().join(format!("p-{}", 100 * HOUR));
    assert!(old.exists());
    clock.0.fetch_add(20 * HOUR, Ordering::Relaxed);
    store.write_owned(vec![SpanBuilder::new("new", "op", 2, 1).build()]).unwrap();
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
        store.write_owned(vec![SpanBuilder::new("svc", "op", t, 1).build()]).unwrap();
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
            steps in proptest::collection::vec(0u8..4, 1..8),
            queries in proptest::collection::vec(query(), 1..8),
        ) {
            // After each write: a new one-hour partition (so searches merge several), the same
            // partition (postings of several commits buffered together), the buffer written to the
            // index, or a crash that loses the buffer (indexed again when the store reopens).
            let dir = tempfile::tempdir().unwrap();
            let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
            let limits = HOURLY;
            let mut disk = open_with_clock(dir.path(), limits, clock.clone());
            let memory = MemoryStore::new(settings(), Arc::new(Telemetry::default()));
            for (chunk, step) in records(&spans).chunks(batch).zip(steps.iter().cycle()) {
                disk.write_owned(chunk.to_vec()).unwrap();
                memory.write_owned(chunk.to_vec()).unwrap();
                match step {
                    0 => {
                        clock.0.fetch_add(HOUR, Ordering::Relaxed);
                    }
                    1 => {}
                    2 => disk.flush_index(),
                    _ => {
                        disk.lose_index();
                        drop(disk);
                        disk = open_with_clock(dir.path(), limits, clock.clone());
                    }
                }
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

mod restart {
    use std::time::Instant;

    use super::*;
    use crate::assembler::{Assembler, Recovered};
    use crate::config::AssemblerSettings;
    use crate::stats::red::{minute_of, KINDS};
    use crate::testkit::batch_of;

    fn assembler(store: Arc<DiskStore>) -> Assembler {
        let settings = AssemblerSettings {
            shards: NonZeroUsize::new(2).unwrap(),
            idle_timeout: Duration::from_secs(10),
            max_traces: NonZeroUsize::new(1_000).unwrap(),
            stats: crate::stats::red::StatsSettings::default(),
        };
        Assembler::new(settings, store, Arc::new(Telemetry::default()))
    }

    /// Everything the UI and `/metrics` show, once every trace has completed.
    fn figures(a: &Assembler) -> (String, Vec<crate::stats::red::Summary>, Vec<crate::stats::red::Dependency>) {
        a.complete_idle(Instant::now() + Duration::from_secs(3600));
        a.flush_stats();
        let stats = a.stats();
        let mut text = String::new();
        stats.render_prometheus(&mut text);
        let end = minute_of(UnixNanos::now().0) + 10;
        let mut summaries = stats.summaries(None, true, &KINDS, 0, end);
        summaries.extend(stats.summaries(None, false, &KINDS, 0, end));
        (text, summaries, stats.dependencies(0, end))
    }

    fn call(trace: u128, at: u64) -> Vec<SpanRecord> {
        vec![
            SpanBuilder::new("web", "GET /", trace, 1).kind(SpanKind::Server).timing(at, 9_000_000).build(),
            SpanBuilder::new("web", "call db", trace, 2)
                .parent(1)
                .kind(SpanKind::Client)
                .timing(at + 1_000, 5_000_000)
                .build(),
            SpanBuilder::new("db", "query", trace, 3)
                .parent(2)
                .kind(SpanKind::Server)
                .timing(at + 2_000, 4_000_000)
                .status(StatusCode::Error, "deadlock")
                .build(),
        ]
    }

    #[test]
    fn statistics_and_traces_in_flight_are_the_same_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let store = Arc::new(open(dir.path()));
            let a = assembler(store.clone());
            for t in 1..=20u128 {
                a.insert(batch_of(call(t, t as u64 * 1_000_000))).unwrap();
            }
            // Trace 21 is in flight at the checkpoint: its root came before, its children after.
            let late = call(21, 50_000_000);
            a.insert(batch_of(late[..1].to_vec())).unwrap();
            assert!(a.checkpoint().unwrap());
            a.insert(batch_of(late[1..].to_vec())).unwrap();
            for t in 22..=30u128 {
                a.insert(batch_of(call(t, t as u64 * 1_000_000))).unwrap();
            }
            figures(&a)
            // Dropped without a final checkpoint, as a crash would leave it.
        };
        let store = Arc::new(open(dir.path()));
        let a = assembler(store);
        let recovered = a.recover().unwrap();
        assert_eq!(recovered, Recovered { checkpoint: true, traces_rebuilt: 21, spans_replayed: 2 + 9 * 3 });
        let rebuilt = a.in_flight(trace_id(21)).expect("trace 21 is in flight again");
        assert_eq!(rebuilt.span_count(), 3, "rebuilt from every stored span of the trace");
        assert!(a.in_flight(trace_id(25)).is_some(), "a trace written after the checkpoint is in flight");
        let got = figures(&a);
        assert_eq!(got.0, expected.0, "span metrics and service-graph metrics");
        assert_eq!(got.1, expected.1, "RED figures and latency sketches");
        assert_eq!(got.2, expected.2, "dependencies");
        assert!(got.0.contains("traces_service_graph_request_total"), "{}", got.0);
    }

    #[test]
    fn after_a_clean_stop_nothing_is_replayed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let a = assembler(Arc::new(open(dir.path())));
            a.insert(batch_of(call(1, 0))).unwrap();
            a.checkpoint().unwrap();
        }
        let a = assembler(Arc::new(open(dir.path())));
        assert_eq!(a.recover().unwrap(), Recovered { checkpoint: true, traces_rebuilt: 1, spans_replayed: 0 });
        let (text, _, _) = figures(&a);
        assert!(text.contains(r#"service_name="db""#), "{text}");
    }

    #[test]
    fn without_a_checkpoint_every_span_is_counted_again() {
        let dir = tempfile::tempdir().unwrap();
        let expected = {
            let a = assembler(Arc::new(open(dir.path())));
            a.insert(batch_of(call(1, 0))).unwrap();
            a.insert(batch_of(call(2, 0))).unwrap();
            figures(&a).1
        };
        std::fs::write(dir.path().join("checkpoint"), b"garbage").unwrap();
        let a = assembler(Arc::new(open(dir.path())));
        assert_eq!(a.recover().unwrap(), Recovered { checkpoint: false, traces_rebuilt: 0, spans_replayed: 6 });
        assert_eq!(figures(&a).1, expected);
    }
}

#[test]
fn a_failing_disk_refuses_writes_then_resumes_without_losing_acknowledged_spans() {
    let dir = tempfile::tempdir().unwrap();
    let telemetry = Arc::new(Telemetry::default());
    let store = DiskStore::open(dir.path(), &settings(), Durability::Strict, WEEK, telemetry.clone()).unwrap();
    store.write_owned(vec![SpanBuilder::new("svc", "before", 1, 1).build()]).unwrap();
    store.shared.fail_writes.store(true, Ordering::Relaxed);
    let refused = store.write_owned(vec![SpanBuilder::new("svc", "during", 2, 1).build()]).unwrap_err();
    assert!(refused.to_string().contains("No space left on device"), "{refused}");
    store.shared.fail_writes.store(false, Ordering::Relaxed);
    // Within the retry interval the store refuses at once, without touching the disk.
    assert!(store.operations("svc", None).unwrap().iter().all(|o| o.name != "during"), "a refused write lists nothing");
    let early = store.write_owned(vec![SpanBuilder::new("svc", "during", 3, 1).build()]).unwrap_err();
    assert!(early.to_string().contains("retry later"), "{early}");
    std::thread::sleep(RETRY_INTERVAL + Duration::from_millis(100));
    store.write_owned(vec![SpanBuilder::new("svc", "after", 4, 1).build()]).unwrap();
    assert_eq!(telemetry.store_write_failures.get(), 2);
    drop(store);
    let store = open(dir.path());
    assert!(store.trace(trace_id(1)).unwrap().is_some());
    assert!(store.trace(trace_id(4)).unwrap().is_some());
    assert!(store.trace(trace_id(2)).unwrap().is_none() && store.trace(trace_id(3)).unwrap().is_none());
}

#[test]
fn a_damaged_partition_is_moved_aside_and_the_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
    let limits = HOURLY;
    {
        let store = open_with_clock(dir.path(), limits, clock.clone());
        store.write_owned(vec![SpanBuilder::new("svc", "old", 1, 1).build()]).unwrap();
        clock.0.fetch_add(2 * HOUR, Ordering::Relaxed);
        store.write_owned(vec![SpanBuilder::new("svc", "new", 2, 1).build()]).unwrap();
    }
    let damaged = dir.path().join(format!("p-{}", 100 * HOUR));
    damage(&damaged);
    let telemetry = Arc::new(Telemetry::default());
    let store =
        DiskStore::open_with(dir.path(), &settings(), Durability::Strict, limits, clock, telemetry.clone()).unwrap();
    assert!(!damaged.exists());
    let aside: Vec<_> = std::fs::read_dir(dir.path().join("quarantine")).unwrap().flatten().collect();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].file_name().to_string_lossy().starts_with(&format!("p-{}-", 100 * HOUR)));
    assert_eq!(telemetry.store_partitions_quarantined.get(), 1);
    assert!(store.trace(trace_id(2)).unwrap().is_some(), "the undamaged partition is served");
    store.write_owned(vec![SpanBuilder::new("svc", "more", 3, 1).build()]).unwrap();
}

/// Overwrites the start of every file fjall keeps at the top of a partition with garbage.
fn damage(partition: &Path) {
    for entry in std::fs::read_dir(partition).unwrap().flatten() {
        let path = entry.path();
        if path.is_file() && std::fs::metadata(&path).unwrap().len() > 0 && !path.ends_with("lock") {
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            std::fs::write(&path, vec![0xA5; len.min(64)]).unwrap();
        }
    }
}

#[test]
fn the_data_directory_format_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    assert_eq!(std::fs::read_to_string(dir.path().join("VERSION")).unwrap().trim(), FORMAT_VERSION.to_string());
    std::fs::write(dir.path().join("VERSION"), "9\n").unwrap();
    let refused = DiskStore::open(dir.path(), &settings(), Durability::Strict, WEEK, Arc::new(Telemetry::default()))
        .err()
        .expect("a newer format is refused");
    assert!(refused.to_string().contains("format version 9"), "{refused}");
    // Partitions from before VERSION files existed are format 1.
    std::fs::remove_file(dir.path().join("VERSION")).unwrap();
    std::fs::create_dir(dir.path().join("p-0")).unwrap();
    let refused = DiskStore::open(dir.path(), &settings(), Durability::Strict, WEEK, Arc::new(Telemetry::default()))
        .err()
        .expect("an older format is refused");
    assert!(refused.to_string().contains("format version 1"), "{refused}");
}

#[test]
fn a_tag_search_walks_only_traces_carrying_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let spans: Vec<SpanRecord> = (1..=2_000u128)
        .map(|t| {
            let status = if t == 7 { "503" } else { "200" };
            SpanBuilder::new("web", "GET /", t, 1)
                .timing(t as u64 * 1_000, 10)
                .attr("http.status_code", AnyValue::String(status.into()))
                .build()
        })
        .collect();
    store.write_owned(spans).unwrap();
    let q = TraceQuery {
        service: Some("web".into()),
        tags: vec![crate::model::query::TagFilter { key: "http.status_code".into(), value: Some("503".into()) }],
        limit: 20,
        ..TraceQuery::default()
    };
    let found: Vec<TraceId> = store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
    assert_eq!(found, vec![trace_id(7)]);
    // Once written from the buffer, the index holds one entry for the rare value, so the search
    // loads one candidate.
    store.flush_index();
    let key = tag_key("web", "http.status_code", "503").to_be_bytes();
    let (_, partition) = store.shared.partitions().pop().unwrap();
    assert_eq!(partition.by_tag.prefix(key).count(), 1);
    let found: Vec<TraceId> = store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
    assert_eq!(found, vec![trace_id(7)]);
}

#[test]
fn a_broad_search_stops_inside_a_posting_once_it_has_its_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // 40 traces of one service in one commit and one posting range, written out of start order
    // (trace t starts at ((17 t) mod 40 + 1) entry-start units): one posting, its entries newest
    // start first.
    let start = |t: u128| ((t * 17) % 40 + 1) as u64 * ENTRY_START_UNIT;
    store
        .write_owned(
            (1..=40u128).map(|t| SpanBuilder::new("web", "GET /", t, 1).timing(start(t), 10).build()).collect(),
        )
        .unwrap();
    let mut by_start: Vec<u128> = (1..=40).collect();
    by_start.sort_by_key(|t| std::cmp::Reverse(start(*t)));
    let newest: Vec<TraceId> = by_start.iter().take(3).map(|t| trace_id(*t)).collect();
    let q = TraceQuery { service: Some("web".into()), limit: 3, ..TraceQuery::default() };
    let search = |store: &DiskStore| {
        let before = store.loaded.load(Ordering::Relaxed);
        let found = store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect::<Vec<_>>();
        (found, store.loaded.load(Ordering::Relaxed) - before)
    };
    assert_eq!(search(&store), (newest.clone(), 3), "from the buffer");
    store.flush_index();
    let (_, partition) = store.shared.partitions().pop().unwrap();
    let postings: Vec<_> =
        partition.by_service.prefix(service_key("web").to_be_bytes()).map(|i| i.into_inner().unwrap()).collect();
    assert_eq!(postings.len(), 1);
    let (key, entries) = &postings[0];
    let (latest, base) = (u64::MAX - read_u64(&key[8..]), read_u64(&key[16..]));
    let mut bytes: &[u8] = entries;
    let (mut listed, mut at) = (Vec::new(), latest / ENTRY_START_UNIT);
    let mut logs = LogReader::default();
    while !bytes.is_empty() {
        let mut next = || prost::encoding::decode_varint(&mut bytes).unwrap();
        let (offset, earlier, _, _) = (next(), next(), next(), next());
        at -= earlier;
        let id = logs.trace_at(0, &partition, base + offset).unwrap().unwrap();
        listed.push((id, at * ENTRY_START_UNIT));
    }
    let expected: Vec<(TraceId, u64)> =
        by_start.iter().map(|t| (trace_id(*t), crate::testkit::BASE_TIME + start(*t))).collect();
    assert_eq!(listed, expected);
    assert_eq!(search(&store), (newest, 3), "from the index");
}

#[test]
fn a_search_stops_only_when_no_other_posting_can_rank_higher() {
    // Partition one holds traces starting at 100, 90 and 10 µs in one posting; partition two, a
    // trace at 95 µs and one at 90 µs with a higher id (ranked first among equal starts). The newest
    // two are found only if the walk of partition one looks past its own next entry.
    for flushed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
        let store = open_with_clock(dir.path(), HOURLY, clock.clone());
        let span = |t: u128, micros: u64| SpanBuilder::new("web", "GET /", t, 1).timing(micros * 1_000, 10).build();
        store.write_owned(vec![span(1, 100), span(2, 90), span(3, 10)]).unwrap();
        store.flush_index();
        clock.0.fetch_add(HOUR, Ordering::Relaxed);
        store.write_owned(vec![span(4, 95), span(5, 90)]).unwrap();
        if flushed {
            store.flush_index();
        }
        let ids = |limit: usize| {
            let q = TraceQuery { service: Some("web".into()), limit, ..TraceQuery::default() };
            store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect::<Vec<_>>()
        };
        assert_eq!(ids(2), vec![trace_id(1), trace_id(4)], "flushed: {flushed}");
        assert_eq!(ids(3), vec![trace_id(1), trace_id(4), trace_id(5)], "flushed: {flushed}");
    }
}

#[test]
fn among_equal_starts_a_search_loads_only_what_it_returns() {
    // 200 traces starting at the same nanosecond (a load generator's, or a coarse clock's), ranked
    // by trace id among themselves: the newest three are known from the index and the trace
    // bounds, so three traces are loaded, in the buffer and in the index alike.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for chunk in (1..=200u128).collect::<Vec<_>>().chunks(50) {
        store
            .write_owned(
                chunk.iter().map(|t| SpanBuilder::new("web", "GET /", *t, 1).timing(5_000, 10).build()).collect(),
            )
            .unwrap();
    }
    let mut ids: Vec<TraceId> = (1..=200u128).map(trace_id).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    for flushed in [false, true] {
        if flushed {
            store.flush_index();
        }
        for q in [
            TraceQuery { service: Some("web".into()), limit: 3, ..TraceQuery::default() },
            TraceQuery { limit: 3, ..TraceQuery::default() },
        ] {
            let before = store.loaded.load(Ordering::Relaxed);
            let found: Vec<TraceId> = store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
            assert_eq!(found, ids[..3], "flushed: {flushed}, {q:?}");
            assert_eq!(store.loaded.load(Ordering::Relaxed) - before, 3, "flushed: {flushed}, {q:?}");
        }
    }
}

#[test]
fn a_trace_whose_first_spans_expired_ranks_by_the_spans_left() {
    // Trace 1 starts at 10 µs in a partition that retention drops, and goes on at 100 µs in the
    // newest one; trace 2 starts at 50 µs. Its bounds still say 10 µs, but what is left starts at
    // 100 µs, so trace 1 is the newest, as the memory store would answer after evicting those spans.
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(100 * HOUR)));
    let store = open_with_clock(dir.path(), HOURLY, clock.clone());
    let span = |t: u128, i: u64, micros: u64| SpanBuilder::new("web", "GET /", t, i).timing(micros * 1_000, 10).build();
    store.write_owned(vec![span(1, 1, 10)]).unwrap();
    clock.0.fetch_add(31 * HOUR, Ordering::Relaxed);
    store.write_owned(vec![span(1, 2, 100), span(2, 1, 50)]).unwrap();
    assert_eq!(store.expire().unwrap(), 1);
    for flushed in [false, true] {
        if flushed {
            store.flush_index();
        }
        let q = TraceQuery { service: Some("web".into()), limit: 1, ..TraceQuery::default() };
        let found: Vec<TraceId> = store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
        assert_eq!(found, vec![trace_id(1)], "flushed: {flushed}");
    }
}

#[test]
fn postings_a_crash_kept_from_the_index_are_rebuilt_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let tagged = |t: u128, value: &str| {
        SpanBuilder::new("web", "GET /", t, 1)
            .timing(t as u64 * 1_000, 10)
            .attr("region", AnyValue::String(value.into()))
            .build()
    };
    let search = |store: &DiskStore, value: &str| -> Vec<TraceId> {
        let q = TraceQuery {
            service: Some("web".into()),
            tags: vec![crate::model::query::TagFilter { key: "region".into(), value: Some(value.into()) }],
            limit: 20,
            ..TraceQuery::default()
        };
        store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect()
    };
    let region_key = |value: &str| tag_key("web", "region", value).to_be_bytes();
    {
        let store = open(dir.path());
        store.write_owned(vec![tagged(1, "eu")]).unwrap();
        store.flush_index();
        // Two commits whose postings are only buffered when the process dies.
        store.write_owned(vec![tagged(2, "us")]).unwrap();
        store.write_owned(vec![tagged(3, "us"), tagged(4, "eu")]).unwrap();
        assert_eq!(search(&store, "us"), vec![trace_id(3), trace_id(2)]);
        let (_, partition) = store.shared.partitions().pop().unwrap();
        assert_eq!(partition.by_tag.prefix(region_key("us")).count(), 0, "still buffered");
        store.lose_index();
    }
    let store = open(dir.path());
    let (_, partition) = store.shared.partitions().pop().unwrap();
    assert_eq!(partition.by_tag.prefix(region_key("us")).count(), 1, "indexed again at start");
    assert_eq!(search(&store, "us"), vec![trace_id(3), trace_id(2)]);
    assert_eq!(search(&store, "eu"), vec![trace_id(4), trace_id(1)]);
    // Writes after the restart count on from the rebuilt index.
    store.write_owned(vec![tagged(5, "us")]).unwrap();
    assert_eq!(search(&store, "us"), vec![trace_id(5), trace_id(3), trace_id(2)]);
    store.flush_index();
    assert_eq!(search(&store, "us"), vec![trace_id(5), trace_id(3), trace_id(2)]);
    drop(partition);
    drop(store);
    // A clean stop writes the buffer: nothing is indexed twice.
    let store = open(dir.path());
    let (_, partition) = store.shared.partitions().pop().unwrap();
    assert_eq!(partition.reindex().unwrap(), 0);
    assert_eq!(search(&store, "us"), vec![trace_id(5), trace_id(3), trace_id(2)]);
}

#[test]
fn a_data_directory_serves_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let second = DiskStore::open(dir.path(), &settings(), Durability::Strict, WEEK, Arc::new(Telemetry::default()));
    let refused = second.err().expect("a second store on the same directory is refused");
    assert!(refused.to_string().contains("in use by another tracehound"), "{refused}");
    drop(first);
    open(dir.path());
}

#[test]
fn a_posting_reaching_past_the_window_still_yields_its_earlier_entries() {
    // Two traces written together, 10 s apart within one posting range: the posting is filed under
    // the later start, which lies beyond a window holding only the earlier trace.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let range_start = (crate::testkit::BASE_TIME / POSTING_SPAN + 1) * POSTING_SPAN;
    let at = |seconds: u64| range_start + seconds * 1_000_000_000 - crate::testkit::BASE_TIME;
    store
        .write_owned(vec![
            SpanBuilder::new("web", "GET /", 1, 1).timing(at(5), 10).build(),
            SpanBuilder::new("web", "GET /", 2, 1).timing(at(15), 10).build(),
        ])
        .unwrap();
    let window = |from: u64, to: u64| TraceQuery {
        service: Some("web".into()),
        start_min: UnixNanos(range_start + from * 1_000_000_000),
        start_max: UnixNanos(range_start + to * 1_000_000_000),
        ..TraceQuery::default()
    };
    let ids = |q: TraceQuery| store.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect::<Vec<_>>();
    assert_eq!(ids(window(4, 6)), vec![trace_id(1)]);
    assert_eq!(ids(TraceQuery { service: None, ..window(4, 6) }), vec![trace_id(1)]);
    assert_eq!(ids(window(14, 16)), vec![trace_id(2)]);
    assert_eq!(ids(window(0, 59)), vec![trace_id(2), trace_id(1)]);
}
