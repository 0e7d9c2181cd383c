use std::num::NonZeroUsize;

use super::*;
use crate::config::MemoryStoreSettings;
use crate::store::MemoryStore;
use crate::testkit::{batch_of, trace_id, SpanBuilder};

fn assembler(max_traces: usize, idle: Duration) -> (Assembler, Arc<MemoryStore>, Arc<Telemetry>) {
    let telemetry = Arc::new(Telemetry::default());
    let store = Arc::new(MemoryStore::new(
        MemoryStoreSettings {
            max_bytes: 1 << 24,
            shards: NonZeroUsize::new(2).unwrap(),
            max_services: 100,
            max_operations_per_service: 100,
            autocomplete_keys: Vec::new(),
        },
        telemetry.clone(),
    ));
    let settings = AssemblerSettings {
        shards: NonZeroUsize::new(2).unwrap(),
        idle_timeout: idle,
        max_traces: NonZeroUsize::new(max_traces).unwrap(),
        stats: crate::stats::red::StatsSettings::default(),
    };
    (Assembler::new(settings, store.clone(), telemetry.clone()), store, telemetry)
}

#[test]
fn groups_spans_by_trace_and_tracks_services_root_and_bounds() {
    let (a, store, _) = assembler(100, Duration::from_secs(10));
    a.insert(batch_of(vec![
        SpanBuilder::new("web", "GET /", 1, 1).timing(0, 100).build(),
        SpanBuilder::new("db", "query", 1, 2).parent(1).timing(10, 200).build(),
        SpanBuilder::new("web", "other", 2, 1).build(),
    ]))
    .unwrap();
    let t = a.in_flight(trace_id(1)).unwrap();
    assert_eq!(t.span_count(), 2);
    assert_eq!(t.services().iter().map(|s| &**s).collect::<Vec<_>>(), vec!["web", "db"]);
    assert_eq!(t.root(), Some(crate::testkit::span_id(1)));
    let (start, end) = t.bounds();
    assert_eq!(end.0 - start.0, 210);
    // Written through: queryable before completion.
    assert_eq!(store.trace(trace_id(1)).unwrap().unwrap().spans.len(), 2);
}

#[test]
fn completes_traces_after_idle_timeout() {
    let (a, _, telemetry) = assembler(100, Duration::from_millis(50));
    a.insert(batch_of(vec![SpanBuilder::new("web", "GET /", 1, 1).build()])).unwrap();
    assert_eq!(a.complete_idle(Instant::now()), 0);
    assert_eq!(a.complete_idle(Instant::now() + Duration::from_millis(60)), 1);
    assert!(a.in_flight(trace_id(1)).is_none());
    assert_eq!(telemetry.assembler_traces_completed.get(), 1);
    assert_eq!(telemetry.assembler_traces_in_flight.get(), 0);
}

#[test]
fn stays_within_trace_limit_by_ending_oldest_early() {
    let (a, store, telemetry) = assembler(4, Duration::from_secs(10));
    for t in 1..=20u128 {
        a.insert(batch_of(vec![SpanBuilder::new("s", "op", t, 1).build()])).unwrap();
    }
    assert!(telemetry.assembler_traces_in_flight.get() <= 4);
    assert_eq!(telemetry.assembler_traces_dropped.get() as i64 + telemetry.assembler_traces_in_flight.get(), 20);
    // Dropping from the in-flight set loses nothing stored.
    assert!(store.trace(trace_id(1)).unwrap().is_some());
}
