use std::num::NonZeroUsize;

use super::*;
use crate::model::query::MatchRule;
use crate::model::{AnyValue, KeyValue, StatusCode};
use crate::store::search_props::{full_scan, query, records, spans};
use crate::store::MemoryStore;
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
    DiskStore::open(dir, &settings(), Durability::Strict, Arc::new(Telemetry::default())).unwrap()
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

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// The disk store answers searches as a full scan does, and as the memory store does.
        #[test]
        fn disk_search_equals_a_full_scan_and_the_memory_store(
            spans in spans(),
            batch in 1usize..8,
            queries in proptest::collection::vec(query(), 1..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let disk = open(dir.path());
            let memory = MemoryStore::new(settings(), Arc::new(Telemetry::default()));
            for chunk in records(&spans).chunks(batch) {
                disk.write(chunk.to_vec()).unwrap();
                memory.write(chunk.to_vec()).unwrap();
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
