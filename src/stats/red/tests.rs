use super::*;
use crate::model::StatusCode;

fn settings(max_ops: usize) -> StatsSettings {
    StatsSettings { max_operations_per_service: max_ops, ..StatsSettings::default() }
}

#[test]
fn spans_are_counted_per_service_operation_and_kind() {
    let s = settings(100);
    let mut shard = ShardStats::default();
    for i in 0..10u64 {
        shard.record_span(
            &s,
            5,
            SpanSample {
                service: "api",
                operation: "GET /a",
                kind: SpanKind::Server,
                nanos: 1_000_000 * (i + 1),
                status: if i == 0 { StatusCode::Error } else { StatusCode::Unset },
            },
        );
    }
    shard.record_span(
        &s,
        5,
        SpanSample { service: "api", operation: "GET /a", kind: SpanKind::Client, nanos: 7, status: StatusCode::Unset },
    );
    shard.record_span(
        &s,
        6,
        SpanSample {
            service: "api",
            operation: "GET /b",
            kind: SpanKind::Server,
            nanos: 2_000_000,
            status: StatusCode::Unset,
        },
    );
    let stats = Stats::new(s);
    let telemetry = Telemetry::default();
    stats.absorb(shard.take(), 6, &telemetry);
    assert_eq!(stats.services(), ["api"]);
    assert_eq!(stats.operations("api"), ["GET /a", "GET /b"]);
    let server = stats.summaries(Some("api"), true, &[SpanKind::Server], 0, 10);
    let a = &server[0];
    assert_eq!((a.operation.as_deref(), a.bucket.calls, a.bucket.errors), (Some("GET /a"), 10, 1));
    let p50 = a.bucket.latency.quantile(0.5).unwrap();
    assert!((p50 - 5_000_000.0).abs() / 5_000_000.0 <= 0.21, "p50 {p50}");
    let all_kinds = stats.summaries(Some("api"), false, &[], 0, 10);
    assert_eq!(all_kinds[0].bucket.calls, 12);
    let points = stats.timeseries("api", Level::Operation("GET /a"), &[], 4, 7, 1).unwrap();
    let calls: Vec<_> = points.iter().map(|(m, b)| (*m, b.calls)).collect();
    assert_eq!(calls, [(4, 0), (5, 11), (6, 0)]);
}

#[test]
fn operations_beyond_the_cap_go_to_overflow_and_are_counted() {
    let s = settings(3);
    let mut shard = ShardStats::default();
    for op in ["a", "b", "c", "d", "a"] {
        shard.record_span(
            &s,
            1,
            SpanSample { service: "svc", operation: op, kind: SpanKind::Server, nanos: 10, status: StatusCode::Unset },
        );
    }
    let stats = Stats::new(s);
    let telemetry = Telemetry::default();
    stats.absorb(shard.take(), 1, &telemetry);
    assert_eq!(stats.operations("svc"), [OVERFLOW_OPERATION, "a", "b"]);
    assert_eq!(telemetry.stats_operations_overflowed.get(), 2);
    let overflow = stats.summaries(Some("svc"), true, &[], 0, 5);
    let calls: Vec<_> = overflow.iter().map(|s| (s.operation.clone().unwrap(), s.bucket.calls)).collect();
    assert_eq!(calls, [(OVERFLOW_OPERATION.to_owned(), 2), ("a".to_owned(), 2), ("b".to_owned(), 1)]);
}

#[test]
fn services_beyond_the_cap_are_dropped_and_counted() {
    let s = StatsSettings { max_services: 1, ..StatsSettings::default() };
    let mut shard = ShardStats::default();
    shard.record_span(
        &s,
        1,
        SpanSample { service: "one", operation: "op", kind: SpanKind::Server, nanos: 10, status: StatusCode::Unset },
    );
    shard.record_span(
        &s,
        1,
        SpanSample { service: "two", operation: "op", kind: SpanKind::Server, nanos: 10, status: StatusCode::Unset },
    );
    let stats = Stats::new(s);
    let telemetry = Telemetry::default();
    stats.absorb(shard.take(), 1, &telemetry);
    assert_eq!(stats.services(), ["one"]);
    assert_eq!(telemetry.stats_spans_dropped.get(), 1);
}

#[test]
fn shards_merge_into_one_series_and_minutes_stay_apart() {
    let s = settings(100);
    let (mut a, mut b) = (ShardStats::default(), ShardStats::default());
    a.record_span(
        &s,
        10,
        SpanSample { service: "svc", operation: "op", kind: SpanKind::Server, nanos: 100, status: StatusCode::Unset },
    );
    a.record_span(
        &s,
        11,
        SpanSample { service: "svc", operation: "op", kind: SpanKind::Server, nanos: 100, status: StatusCode::Error },
    );
    b.record_span(
        &s,
        11,
        SpanSample { service: "svc", operation: "op", kind: SpanKind::Server, nanos: 300, status: StatusCode::Unset },
    );
    let stats = Stats::new(s);
    let telemetry = Telemetry::default();
    stats.absorb(a.take(), 11, &telemetry);
    stats.absorb(b.take(), 11, &telemetry);
    let points = stats.timeseries("svc", Level::Service, &[SpanKind::Server], 10, 12, 1).unwrap();
    assert_eq!(points.iter().map(|(_, b)| (b.calls, b.errors)).collect::<Vec<_>>(), [(1, 0), (2, 1)]);
    assert_eq!(stats.timeseries("svc", Level::Service, &[], 10, 12, 2).unwrap()[0].1.calls, 3);
    assert!(stats.timeseries("nobody", Level::Service, &[], 10, 12, 1).is_none());
}

#[test]
fn root_operations_count_whole_traces() {
    let s = settings(100);
    let mut shard = ShardStats::default();
    shard.record_trace(&s, 3, "web", "GET /", 50_000_000, false);
    shard.record_trace(&s, 3, "web", "GET /", 70_000_000, true);
    let stats = Stats::new(s);
    stats.absorb(shard.take(), 3, &Telemetry::default());
    assert_eq!(stats.root_operations("web"), ["GET /"]);
    let points = stats.timeseries("web", Level::RootOperation("GET /"), &[], 3, 4, 1).unwrap();
    assert_eq!((points[0].1.calls, points[0].1.errors), (2, 1));
}

#[test]
fn aging_drops_services_past_the_retention() {
    let s = StatsSettings {
        resolution: Resolution { fine_minutes: 2, coarse_minutes: 2, retention_minutes: 4 },
        ..StatsSettings::default()
    };
    let mut shard = ShardStats::default();
    shard.record_span(
        &s,
        0,
        SpanSample { service: "old", operation: "op", kind: SpanKind::Server, nanos: 1, status: StatusCode::Unset },
    );
    let stats = Stats::new(s);
    stats.absorb(shard.take(), 0, &Telemetry::default());
    stats.age(3);
    assert_eq!(stats.services(), ["old"]);
    stats.age(10);
    assert!(stats.services().is_empty());
}

#[test]
fn span_metrics_split_by_status_and_name_overflowed_operations_as_the_series_do() {
    let s = settings(3);
    let mut shard = ShardStats::default();
    for (op, status) in
        [("a", StatusCode::Ok), ("a", StatusCode::Error), ("b", StatusCode::Unset), ("c", StatusCode::Unset)]
    {
        shard.record_span(
            &s,
            1,
            SpanSample { service: "svc", operation: op, kind: SpanKind::Server, nanos: 5, status },
        );
    }
    let stats = Stats::new(s);
    stats.absorb(shard.take(), 1, &Telemetry::default());
    let mut text = String::new();
    stats.render_prometheus(&mut text);
    let calls: Vec<&str> = text.lines().filter(|l| l.starts_with("traces_span_metrics_calls_total{")).collect();
    let series = |op: &str, status: &str| {
        format!(
            "traces_span_metrics_calls_total{{service_name=\"svc\",span_name=\"{op}\",span_kind=\"SPAN_KIND_SERVER\",status_code=\"STATUS_CODE_{status}\"}} 1"
        )
    };
    assert_eq!(calls, [series("__overflow__", "UNSET"), series("a", "OK"), series("a", "ERROR"), series("b", "UNSET")]);
}
