use super::*;
use crate::model::StatusCode;
use crate::stats::prometheus::ConnectionType;
use crate::stats::red::{ShardStats, SpanSample, StatsSettings};
use crate::stats::service_graph::Call;
use crate::telemetry::Telemetry;

/// 30 s into minute `NOW_MINUTE`.
const NOW_MINUTE: u64 = 28_333_334;
const NOW_MS: u64 = NOW_MINUTE * MINUTE_MS + 30_000;
const MS: u64 = 1_000_000;

fn last(minutes: u64) -> Window {
    Window { start_ms: NOW_MS - minutes * MINUTE_MS, end_ms: NOW_MS }
}

/// Statistics holding:
/// - `api` `GET /items`: 10 server spans of 100 ms this minute (one failed), 4 of 40 ms five
///   minutes ago, 6 of 20 ms two hours ago (now a coarse bucket);
/// - `web` `call api`: 2 client spans of 150 ms this minute;
/// - one trace rooted at `web` `GET /` lasting 200 ms, and the edge web → api.
fn stats() -> Stats {
    let settings = StatsSettings::default();
    let mut shard = ShardStats::default();
    for i in 0..10 {
        shard.record_span(
            &settings,
            NOW_MINUTE,
            SpanSample {
                service: "api",
                operation: "GET /items",
                kind: SpanKind::Server,
                nanos: 100 * MS,
                status: if i == 0 { StatusCode::Error } else { StatusCode::Unset },
            },
        );
    }
    for _ in 0..4 {
        shard.record_span(
            &settings,
            NOW_MINUTE - 5,
            SpanSample {
                service: "api",
                operation: "GET /items",
                kind: SpanKind::Server,
                nanos: 40 * MS,
                status: StatusCode::Unset,
            },
        );
    }
    for _ in 0..6 {
        shard.record_span(
            &settings,
            NOW_MINUTE - 120,
            SpanSample {
                service: "api",
                operation: "GET /items",
                kind: SpanKind::Server,
                nanos: 20 * MS,
                status: StatusCode::Unset,
            },
        );
    }
    for _ in 0..2 {
        shard.record_span(
            &settings,
            NOW_MINUTE,
            SpanSample {
                service: "web",
                operation: "call api",
                kind: SpanKind::Client,
                nanos: 150 * MS,
                status: StatusCode::Unset,
            },
        );
    }
    shard.record_trace(&settings, NOW_MINUTE, "web", "GET /", 200 * MS, false);
    let call = Call {
        caller: "web",
        callee: "api",
        connection: ConnectionType::Direct,
        server_nanos: 100 * MS,
        client_nanos: 150 * MS,
        error: true,
    };
    shard.record_edge(NOW_MINUTE, &call);
    let stats = Stats::new(settings);
    stats.absorb(shard.take(), NOW_MINUTE, &Telemetry::default());
    stats
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() <= expected * 0.011)
}

#[test]
fn services_have_calls_errors_rates_and_percentiles_over_the_window() {
    let stats = stats();
    let answer = services_stats(&stats, last(60), &[], NOW_MS);
    // The 60 latest minute buckets, the current one included.
    assert_eq!(answer.window.start, rfc3339_ms((NOW_MINUTE - 59) * MINUTE_MS));
    assert_eq!(answer.window.window_seconds, 3_570.0);
    assert!(answer.window.span_kinds.is_empty());
    let names: Vec<&str> = answer.services.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    let api = &answer.services[0].figures;
    assert_eq!((api.calls, api.errors), (14, 1));
    assert_eq!(api.error_rate, 1.0 / 14.0);
    assert_eq!(api.rate_per_second, 14.0 / 3_570.0);
    assert!(close(api.p50_ms, 100.0), "{api:?}");
    assert!(close(api.p99_ms, 100.0), "{api:?}");

    let servers = services_stats(&stats, last(60), &[SpanKind::Server], NOW_MS);
    assert_eq!(servers.services.len(), 1);
    assert_eq!(servers.window.span_kinds, ["server"]);
}

#[test]
fn a_window_reaching_into_coarse_buckets_counts_them_whole() {
    let stats = stats();
    let answer = services_stats(&stats, last(3 * 60), &[SpanKind::Server], NOW_MS);
    let api = &answer.services[0].figures;
    assert_eq!(api.calls, 20);
    // Fine from NOW_MINUTE - 60; the window starts in the coarse range, on a 15-minute boundary.
    let start = (NOW_MINUTE - 179) - (NOW_MINUTE - 179) % 15;
    assert_eq!(answer.window.start, rfc3339_ms(start * MINUTE_MS));
    assert_eq!(answer.window.window_seconds, ((NOW_MINUTE - start) * 60 + 30) as f64);
}

#[test]
fn operations_and_root_operations_are_listed_separately() {
    let stats = stats();
    let web = operations_stats(&stats, "web".into(), last(60), &[], NOW_MS);
    assert_eq!(web.operations.len(), 1);
    assert_eq!(web.operations[0].operation, "call api");
    assert_eq!(web.operations[0].figures.calls, 2);
    assert!(close(web.operations[0].figures.p95_ms, 150.0));
    assert_eq!(web.root_operations.len(), 1);
    let root = &web.root_operations[0];
    assert_eq!((root.operation.as_str(), root.figures.calls), ("GET /", 1));
    assert!(close(root.figures.p50_ms, 200.0));
    // Span kinds filter operations, not traces.
    let servers = operations_stats(&stats, "web".into(), last(60), &[SpanKind::Server], NOW_MS);
    assert!(servers.operations.is_empty());
    assert_eq!(servers.root_operations.len(), 1);
    let unknown = operations_stats(&stats, "nobody".into(), last(60), &[], NOW_MS);
    assert!(unknown.operations.is_empty() && unknown.root_operations.is_empty());
}

fn request(level: SeriesLevel, window: Window, step_minutes: Option<u64>) -> SeriesRequest {
    SeriesRequest { service: "api".into(), level, kinds: vec![], quantiles: vec![0.5, 0.99], step_minutes, window }
}

#[test]
fn recent_series_have_one_point_per_minute() {
    let stats = stats();
    let series = timeseries_stats(&stats, &request(SeriesLevel::Service, last(10), None), NOW_MS).unwrap();
    assert_eq!(series.step_seconds, 60);
    // Minutes NOW-9 ..= NOW.
    assert_eq!(series.points.len(), 10);
    let calls: Vec<u64> = series.points.iter().map(|p| p.calls).collect();
    assert_eq!(calls, [0, 0, 0, 0, 4, 0, 0, 0, 0, 10]);
    let earlier = &series.points[4];
    assert_eq!(earlier.time, rfc3339_ms((NOW_MINUTE - 5) * MINUTE_MS));
    assert_eq!(earlier.rate_per_second, 4.0 / 60.0);
    assert!(close(earlier.quantiles["0.5"], 40.0));
    // The current minute has lasted 30 s.
    let current = series.points.last().unwrap();
    assert_eq!(current.rate_per_second, 10.0 / 30.0);
    assert_eq!(current.error_rate, 0.1);
    let empty: Vec<(&str, Option<f64>)> = series.points[0].quantiles.iter().map(|(q, v)| (q.as_str(), *v)).collect();
    assert_eq!(empty, [("0.5", None), ("0.99", None)]);
    assert_eq!(series.level, "service");
    assert_eq!(series.operation, None);

    let five = timeseries_stats(&stats, &request(SeriesLevel::Service, last(10), Some(5)), NOW_MS).unwrap();
    let calls: Vec<u64> = five.points.iter().map(|p| p.calls).collect();
    assert_eq!(calls, [4, 10]);
    // The last step holds four whole minutes and the current one's 30 s.
    assert_eq!(five.points[1].rate_per_second, 10.0 / 270.0);
}

#[test]
fn old_series_use_whole_coarse_buckets() {
    let stats = stats();
    let asked = request(SeriesLevel::Operation("GET /items".into()), last(3 * 60), Some(5));
    let series = timeseries_stats(&stats, &asked, NOW_MS).unwrap();
    assert_eq!(series.step_seconds, 15 * 60);
    assert_eq!(series.points.iter().map(|p| p.calls).sum::<u64>(), 20);
    let old = series.points.iter().find(|p| p.quantiles["0.5"].is_some_and(|l| l < 30.0)).unwrap();
    assert_eq!(old.calls, 6);
    assert_eq!(old.rate_per_second, 6.0 / 900.0);
    let old_minute = NOW_MINUTE - 120;
    assert_eq!(old.time, rfc3339_ms((old_minute - old_minute % 15) * MINUTE_MS));
    assert_eq!(series.operation.as_deref(), Some("GET /items"));
}

#[test]
fn trace_series_read_root_operations() {
    let stats = stats();
    let mut asked = request(SeriesLevel::Trace("GET /".into()), last(5), None);
    asked.service = "web".into();
    asked.kinds = vec![SpanKind::Server];
    let series = timeseries_stats(&stats, &asked, NOW_MS).unwrap();
    assert_eq!(series.level, "trace");
    assert!(series.window.span_kinds.is_empty());
    assert_eq!(series.points.last().unwrap().calls, 1);
    assert!(close(series.points.last().unwrap().quantiles["0.99"], 200.0));
}

#[test]
fn unknown_series_and_too_many_points_are_refused() {
    let stats = stats();
    let mut unknown = request(SeriesLevel::Service, last(10), None);
    unknown.service = "nobody".into();
    assert!(matches!(timeseries_stats(&stats, &unknown, NOW_MS), Err(ApiError::NotFound(_))));
    let no_op = request(SeriesLevel::Operation("nothing".into()), last(10), None);
    let e = timeseries_stats(&stats, &no_op, NOW_MS).unwrap_err();
    assert!(matches!(e, ApiError::NotFound(ref m) if m.contains("nothing")), "{e:?}");
    let forever = request(SeriesLevel::Service, Window { start_ms: 0, end_ms: NOW_MS }, None);
    let e = timeseries_stats(&stats, &forever, NOW_MS).unwrap_err();
    assert!(matches!(e, ApiError::BadParameter { param: "step", .. }), "{e:?}");
}

#[test]
fn dependencies_carry_the_callee_figures() {
    let stats = stats();
    let answer = dependencies_stats(&stats, last(60), NOW_MS);
    assert_eq!(answer.dependencies.len(), 1);
    let edge = &answer.dependencies[0];
    assert_eq!((edge.caller.as_str(), edge.callee.as_str()), ("web", "api"));
    assert_eq!((edge.figures.calls, edge.figures.errors, edge.figures.error_rate), (1, 1, 1.0));
    assert!(close(edge.figures.p50_ms, 100.0));
}

#[test]
fn json_uses_camel_case_and_flattens_figures() {
    let stats = stats();
    let json = serde_json::to_value(services_stats(&stats, last(60), &[], NOW_MS)).unwrap();
    let api = &json["services"][0];
    for key in ["service", "calls", "errors", "errorRate", "ratePerSecond", "p50Ms", "p95Ms", "p99Ms"] {
        assert!(api.get(key).is_some(), "{key} missing in {api}");
    }
    for key in ["start", "end", "windowSeconds", "spanKinds"] {
        assert!(json.get(key).is_some(), "{key} missing in {json}");
    }
}
