use std::num::NonZeroUsize;

use super::*;
use crate::model::query::MatchRule;
use crate::model::AnyValue;
use crate::testkit::{trace_id, SpanBuilder, BASE_TIME};

fn store(max_bytes: usize) -> MemoryStore {
    sharded_store(max_bytes, 1)
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
    s.write(vec![SpanBuilder::new("a", "root", 7, 1).build()]).unwrap();
    s.write(vec![SpanBuilder::new("b", "child", 7, 2).parent(1).build()]).unwrap();
    let trace = s.trace(trace_id(7)).unwrap().unwrap();
    assert_eq!(trace.spans.len(), 2);
    assert!(s.trace(trace_id(8)).unwrap().is_none());
}

#[test]
fn evicts_oldest_traces_first_and_counts_them() {
    let one = SpanBuilder::new("svc", "op", 1, 1).build().estimated_bytes();
    let s = store(one * 3);
    for t in 1..=5u128 {
        s.write(vec![SpanBuilder::new("svc", "op", t, 1).build()]).unwrap();
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
        s.write(vec![SpanBuilder::new("svc", "op", t as u128, 1).timing(t * 1_000, 10).build()]).unwrap();
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
    s.write(vec![
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
        s.write(vec![SpanBuilder::new(svc, "op", i as u128 + 1, 1).build()]).unwrap();
    }
    for op in ["o1", "o2", "o3"] {
        s.write(vec![SpanBuilder::new("a", op, 9, 1).build()]).unwrap();
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
    // 16 shards, room for 100 spans: one trace of 90 spans is kept whole.
    let s = sharded_store(one * 100, 16);
    s.write((1..=90u64).map(|i| SpanBuilder::new("svc", "op", 1, i).build()).collect()).unwrap();
    assert_eq!(s.trace(trace_id(1)).unwrap().unwrap().spans.len(), 90);
    assert_eq!(s.telemetry.store_traces_evicted.get(), 0);
    // The next big trace pushes it out, oldest first.
    s.write((1..=20u64).map(|i| SpanBuilder::new("svc", "op", 2, i).build()).collect()).unwrap();
    assert!(s.trace(trace_id(1)).unwrap().is_none());
    assert_eq!(s.trace(trace_id(2)).unwrap().unwrap().spans.len(), 20);
    assert_eq!(s.telemetry.store_spans_evicted.get(), 90);
}

#[test]
fn concurrent_writers_keep_the_byte_count_exact_and_within_budget() {
    let one = SpanBuilder::new("svc", "op", 1, 1).build().estimated_bytes();
    let s = std::sync::Arc::new(sharded_store(one * 50, 4));
    let writers: Vec<_> = (0..4u128)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                for t in 0..200u128 {
                    // Each trace gets spans in two writes, so traces grow while others are evicted.
                    let trace = w * 1_000 + t + 1;
                    s.write(vec![SpanBuilder::new("svc", "op", trace, 1).build()]).unwrap();
                    s.write(vec![SpanBuilder::new("svc", "op", trace, 2).build()]).unwrap();
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
    s.write(vec![
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
