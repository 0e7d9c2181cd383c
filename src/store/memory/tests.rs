use std::num::NonZeroUsize;

use super::*;
use crate::model::query::MatchRule;
use crate::model::AnyValue;
use crate::model::SpanKind;
use crate::store::Operation;
use crate::testkit::{trace_id, SpanBuilder, WriteOwned, BASE_TIME};

fn store(max_bytes: usize) -> MemoryStore {
    sharded_store(max_bytes, 1)
}

/// What a one-span trace costs against the budget: the span, plus its entries in the search index.
fn one_span_trace_bytes() -> usize {
    let s = store(1 << 20);
    s.write_owned(vec![SpanBuilder::new("svc", "op", 1, 1).build()]).unwrap();
    s.bytes.load(Ordering::Relaxed)
}

fn sharded_store(max_bytes: usize, shards: usize) -> MemoryStore {
    MemoryStore::new(
        MemoryStoreSettings {
            max_bytes,
            shards: NonZeroUsize::new(shards).unwrap(),
            max_services: 3,
            max_operations_per_service: 2,
            autocomplete_keys: vec!["environment".into(), "http.method".into()],
        },
        Arc::new(Telemetry::default()),
    )
}

#[test]
fn spans_of_one_trace_from_several_writes_come_back_together() {
    let s = store(1 << 20);
    s.write_owned(vec![SpanBuilder::new("a", "root", 7, 1).build()]).unwrap();
    s.write_owned(vec![SpanBuilder::new("b", "child", 7, 2).parent(1).build()]).unwrap();
    let trace = s.trace(trace_id(7)).unwrap().unwrap();
    assert_eq!(trace.spans.len(), 2);
    assert!(s.trace(trace_id(8)).unwrap().is_none());
}

#[test]
fn evicts_oldest_traces_first_and_counts_them() {
    let one = one_span_trace_bytes();
    let s = store(one * 3);
    for t in 1..=5u128 {
        s.write_owned(vec![SpanBuilder::new("svc", "op", t, 1).build()]).unwrap();
    }
    assert!(s.trace(trace_id(1)).unwrap().is_none());
    assert!(s.trace(trace_id(2)).unwrap().is_none());
    assert!(s.trace(trace_id(5)).unwrap().is_some());
    assert_eq!(s.telemetry.store_traces_evicted.get(), 2);
    assert_eq!(s.telemetry.store_traces.get(), 3);
    assert!(s.telemetry.store_bytes.get() as usize <= one * 3);
}

#[test]
fn find_returns_newest_first_within_limit() {
    let s = store(1 << 20);
    for t in 1..=5u64 {
        s.write_owned(vec![SpanBuilder::new("svc", "op", t as u128, 1).timing(t * 1_000, 10).build()]).unwrap();
    }
    let q = TraceQuery { service: Some("svc".into()), limit: 2, ..TraceQuery::default() };
    let found: Vec<_> = s.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
    assert_eq!(found, vec![trace_id(5), trace_id(4)]);
    let q = TraceQuery { start_max: UnixNanos(BASE_TIME + 2_500), limit: 10, ..TraceQuery::default() };
    assert_eq!(s.find_traces(&q).unwrap().len(), 2);
}

#[test]
fn name_index_lists_services_operations_and_remote_services() {
    let s = store(1 << 20);
    s.write_owned(vec![
        SpanBuilder::new("web", "GET /", 1, 1).build(),
        SpanBuilder::new("web", "call", 1, 2)
            .kind(SpanKind::Client)
            .attr("peer.service", AnyValue::String("db".into()))
            .build(),
        SpanBuilder::new("api", "x", 2, 1).build(),
    ])
    .unwrap();
    assert_eq!(s.services().unwrap(), vec!["api".to_string(), "web".to_string()]);
    let ops = s.operations("web", None).unwrap();
    assert_eq!(ops.len(), 2);
    let clients = s.operations("web", Some(SpanKind::Client)).unwrap();
    assert_eq!(clients, vec![Operation { name: "call".into(), kind: SpanKind::Client }]);
    assert_eq!(s.remote_services("web").unwrap(), vec!["db".to_string()]);
    assert!(s.operations("nope", None).unwrap().is_empty());
}

#[test]
fn name_index_limits_are_enforced_and_counted() {
    let s = store(1 << 20);
    for (i, svc) in ["a", "b", "c", "d"].iter().enumerate() {
        s.write_owned(vec![SpanBuilder::new(svc, "op", i as u128 + 1, 1).build()]).unwrap();
    }
    for op in ["o1", "o2", "o3"] {
        s.write_owned(vec![SpanBuilder::new("a", op, 9, 1).build()]).unwrap();
    }
    assert_eq!(s.services().unwrap().len(), 3);
    assert_eq!(s.operations("a", None).unwrap().len(), 2);
    assert_eq!(s.telemetry.store_names_dropped.get(), 3);
    // The spans themselves are still stored and searchable.
    let q = TraceQuery { service: Some("d".into()), rule: MatchRule::SingleSpan, ..TraceQuery::default() };
    assert_eq!(s.find_traces(&q).unwrap().len(), 1);
}

#[test]
fn one_trace_may_use_the_whole_budget_whatever_the_shard_count() {
    let one = SpanBuilder::new("svc", "op", 1, 1).build().estimated_bytes();
    // 16 shards, room for 100 spans (less a few index entries): one trace of 90 spans is kept whole.
    let s = sharded_store(one * 100, 16);
    s.write_owned((1..=90u64).map(|i| SpanBuilder::new("svc", "op", 1, i).build()).collect()).unwrap();
    assert_eq!(s.trace(trace_id(1)).unwrap().unwrap().spans.len(), 90);
    assert_eq!(s.telemetry.store_traces_evicted.get(), 0);
    // The next big trace pushes it out, oldest first.
    s.write_owned((1..=20u64).map(|i| SpanBuilder::new("svc", "op", 2, i).build()).collect()).unwrap();
    assert!(s.trace(trace_id(1)).unwrap().is_none());
    assert_eq!(s.trace(trace_id(2)).unwrap().unwrap().spans.len(), 20);
    assert_eq!(s.telemetry.store_spans_evicted.get(), 90);
}

#[test]
fn concurrent_writers_keep_the_byte_count_exact_and_within_budget() {
    let one = one_span_trace_bytes();
    let s = std::sync::Arc::new(sharded_store(one * 50, 4));
    let writers: Vec<_> = (0..4u128)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                for t in 0..200u128 {
                    // Each trace gets spans in two writes, so traces grow while others are evicted.
                    let trace = w * 1_000 + t + 1;
                    s.write_owned(vec![SpanBuilder::new("svc", "op", trace, 1).build()]).unwrap();
                    s.write_owned(vec![SpanBuilder::new("svc", "op", trace, 2).build()]).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let held: usize =
        s.shards.iter().map(|sh| sh.lock().unwrap().traces.values().map(|t| t.bytes).sum::<usize>()).sum();
    assert_eq!(s.bytes.load(Ordering::Relaxed), held);
    assert!(held <= one * 50, "{held} bytes held, budget {}", one * 50);
    assert_eq!(s.telemetry.store_bytes.get() as usize, held);
    let queued = s.arrival.lock().unwrap().len();
    let stored: usize = s.shards.iter().map(|sh| sh.lock().unwrap().traces.len()).sum();
    assert_eq!(queued, stored, "one arrival entry per stored trace");
}

#[test]
fn autocomplete_values_are_indexed_for_the_configured_keys_only() {
    let s = store(1 << 20);
    s.write_owned(vec![
        SpanBuilder::new("svc", "op", 1, 1).attr("http.method", AnyValue::String("GET".into())).build(),
        SpanBuilder::new("svc", "op", 1, 2)
            .attr("http.method", AnyValue::String("POST".into()))
            .attr("user.id", AnyValue::String("42".into()))
            .resource_attr("environment", AnyValue::String("prod".into()))
            .build(),
        SpanBuilder::new("svc", "op", 2, 1).attr("http.method", AnyValue::String("GET".into())).build(),
    ])
    .unwrap();
    assert_eq!(s.autocomplete_keys(), ["environment", "http.method"]);
    assert_eq!(s.autocomplete_values("http.method").unwrap(), ["GET", "POST"]);
    assert_eq!(s.autocomplete_values("environment").unwrap(), ["prod"]);
    assert!(s.autocomplete_values("user.id").unwrap().is_empty());
}

/// Checks the search index holds exactly the stored traces under their current first starts.
fn assert_index_consistent(s: &MemoryStore) {
    for shard in s.shards.iter() {
        let shard = shard.lock().unwrap();
        assert_eq!(shard.index.traces(), shard.traces.len());
        assert_eq!(shard.index.key_entries(), shard.traces.values().map(|t| t.keys.len()).sum::<usize>());
        for (id, trace) in &shard.traces {
            let everything = TraceQuery { limit: usize::MAX, ..TraceQuery::default() };
            assert!(shard.index.candidates(&everything).any(|(start, i)| i == *id && start == trace.first_start));
        }
    }
}

#[test]
fn a_root_arriving_after_its_children_refiles_the_trace_under_its_start() {
    let s = sharded_store(1 << 20, 4);
    // Children (later starts) first, as SDKs export them; trace 2 sits between.
    s.write_owned(vec![SpanBuilder::new("web", "child", 1, 2).parent(1).timing(5_000, 10).build()]).unwrap();
    s.write_owned(vec![SpanBuilder::new("web", "root", 2, 1).timing(3_000, 10).build()]).unwrap();
    let q = TraceQuery { service: Some("web".into()), limit: 10, ..TraceQuery::default() };
    let ids =
        |s: &MemoryStore, q: &TraceQuery| s.find_traces(q).unwrap().into_iter().map(|t| t.trace_id).collect::<Vec<_>>();
    assert_eq!(ids(&s, &q), [trace_id(1), trace_id(2)]);
    s.write_owned(vec![SpanBuilder::new("web", "root", 1, 1).timing(1_000, 10_000).build()]).unwrap();
    assert_eq!(ids(&s, &q), [trace_id(2), trace_id(1)]);
    let by_op = TraceQuery { operation: Some("root".into()), ..q.clone() };
    assert_eq!(ids(&s, &by_op), [trace_id(2), trace_id(1)]);
    assert_index_consistent(&s);
}

#[test]
fn a_long_trace_starting_before_the_window_is_still_found() {
    let s = store(1 << 20);
    s.write_owned(vec![
        SpanBuilder::new("batch", "job", 1, 1).timing(0, 3_600_000_000_000).build(),
        SpanBuilder::new("batch", "step", 1, 2).parent(1).timing(3_000_000_000_000, 1_000).build(),
    ])
    .unwrap();
    let q = TraceQuery {
        operation: Some("step".into()),
        service: Some("batch".into()),
        start_min: UnixNanos(BASE_TIME + 2_000_000_000_000),
        ..TraceQuery::default()
    };
    assert_eq!(s.find_traces(&q).unwrap().len(), 1);
}

#[test]
fn the_index_follows_evictions_and_ignores_name_case_for_zipkin() {
    let one = one_span_trace_bytes();
    let s = sharded_store(one * 20, 4);
    for t in 1..=100u128 {
        s.write_owned(vec![SpanBuilder::new("Web", "GET /Users", t, 1).timing(t as u64 * 1_000, 10).build()]).unwrap();
    }
    assert_index_consistent(&s);
    let zipkin = TraceQuery {
        service: Some("web".into()),
        operation: Some("get /users".into()),
        rule: MatchRule::ZipkinJoint,
        ignore_case: true,
        limit: 5,
        ..TraceQuery::default()
    };
    let found: Vec<_> = s.find_traces(&zipkin).unwrap().into_iter().map(|t| t.trace_id).collect();
    assert_eq!(found, (96..=100u128).rev().map(trace_id).collect::<Vec<_>>());
    // Jaeger compares names exactly: the index narrows, the query decides.
    let jaeger = TraceQuery { rule: MatchRule::SingleSpan, ignore_case: false, ..zipkin };
    assert!(s.find_traces(&jaeger).unwrap().is_empty());
}

mod props {
    use super::*;
    use crate::store::search_props::{full_scan, query, records, spans};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The indexed search answers exactly as a scan of every stored trace would.
        #[test]
        fn indexed_search_equals_a_full_scan(spans in spans(), batch in 1usize..8, queries in proptest::collection::vec(query(), 1..8)) {
            let s = sharded_store(1 << 24, 4);
            for chunk in records(&spans).chunks(batch) {
                s.write_owned(chunk.to_vec()).unwrap();
            }
            assert_index_consistent(&s);
            for q in queries {
                let found: Vec<TraceId> = s.find_traces(&q).unwrap().into_iter().map(|t| t.trace_id).collect();
                prop_assert_eq!(found, full_scan(&s, &q), "{:?}", q);
            }
        }
    }
}
