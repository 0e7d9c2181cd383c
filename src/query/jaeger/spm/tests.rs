use super::*;
use crate::model::StatusCode;
use crate::stats::red::{ShardStats, SpanSample, StatsSettings};
use crate::telemetry::Telemetry;

const NOW_MINUTE: u64 = 28_333_334;
const NOW_MS: u64 = NOW_MINUTE * MINUTE_MS + 30_000;
const MS: u64 = 1_000_000;

fn params(raw: &str) -> Params {
    Params::parse(Some(raw)).unwrap()
}

fn message(e: QueryError) -> String {
    assert!(matches!(e, QueryError::BadRequest(_)), "{e:?}");
    e.to_string()
}

#[test]
fn defaults_are_jaegers_with_minute_steps() {
    let q = parse_metrics_query(&params("service=api"), NOW_MS).unwrap();
    assert_eq!(q.services, ["api"]);
    assert!(!q.group_by_operation);
    assert_eq!(q.span_kinds, [SpanKind::Server]);
    assert_eq!((q.end_ms, q.lookback_ms), (NOW_MS, 3_600_000));
    // 5 s and 10 min, rounded up to whole minutes.
    assert_eq!((q.step_ms, q.rate_per_ms), (60_000, 600_000));
    let q = parse_metrics_query(
        &params(
            "service=a&service=b&service=a&groupByOperation=1&endTs=1000000&lookback=600000&step=90000&ratePer=30000",
        ),
        NOW_MS,
    )
    .unwrap();
    assert_eq!(q.services, ["a", "b"]);
    assert!(q.group_by_operation);
    assert_eq!((q.end_ms, q.lookback_ms, q.step_ms, q.rate_per_ms), (1_000_000, 600_000, 120_000, 60_000));
}

#[test]
fn span_kinds_repeat_in_either_spelling() {
    let q = parse_metrics_query(&params("service=a&spanKind=client&spanKind=SPAN_KIND_PRODUCER"), 0).unwrap();
    assert_eq!(q.span_kinds, [SpanKind::Client, SpanKind::Producer]);
    let e = parse_metrics_query(&params("service=a&spanKind=SPAN_KIND_SEVER"), 0).unwrap_err();
    assert_eq!(message(e), "unable to parse param 'spanKind': unsupported span kind: 'SPAN_KIND_SEVER'");
}

#[test]
fn bad_parameters_are_refused_in_jaegers_words() {
    let e = parse_metrics_query(&params("spanKind=server"), 0).unwrap_err();
    assert_eq!(message(e), "unable to parse param 'service': please provide at least one service name");
    for (raw, param) in [
        ("service=a&groupByOperation=yes", "groupByOperation"),
        ("service=a&endTs=now", "endTs"),
        ("service=a&lookback=-5", "lookback"),
        ("service=a&step=0", "step"),
        ("service=a&ratePer=1.5", "ratePer"),
        ("service=a&lookback=86400000000&step=1", "step"),
    ] {
        let e = parse_metrics_query(&params(raw), NOW_MS).unwrap_err();
        assert!(message(e).starts_with(&format!("unable to parse param '{param}'")), "{raw}");
    }
}

#[test]
fn quantile_is_required_and_in_range() {
    assert_eq!(parse_quantile(&params("quantile=0.95")).unwrap(), 0.95);
    assert_eq!(parse_quantile(&params("quantile=1")).unwrap(), 1.0);
    for raw in ["", "quantile=", "quantile=0", "quantile=1.5", "quantile=p95", "quantile=NaN"] {
        let e = parse_quantile(&params(raw)).unwrap_err();
        assert!(message(e).starts_with("unable to parse param 'quantile'"), "{raw}");
    }
}

/// `api`: `GET /a` server spans, 6 of 100 ms (2 failed) two minutes ago and 3 of 10 ms now;
/// `GET /b` one client span now. `web`: one server span long ago.
fn stats() -> Stats {
    let settings = StatsSettings::default();
    let mut shard = ShardStats::default();
    for i in 0..6 {
        shard.record_span(
            &settings,
            NOW_MINUTE - 2,
            SpanSample {
                service: "api",
                operation: "GET /a",
                kind: SpanKind::Server,
                nanos: 100 * MS,
                status: if i < 2 { StatusCode::Error } else { StatusCode::Unset },
            },
        );
    }
    for _ in 0..3 {
        shard.record_span(
            &settings,
            NOW_MINUTE,
            SpanSample {
                service: "api",
                operation: "GET /a",
                kind: SpanKind::Server,
                nanos: 10 * MS,
                status: StatusCode::Unset,
            },
        );
    }
    shard.record_span(
        &settings,
        NOW_MINUTE,
        SpanSample {
            service: "api",
            operation: "GET /b",
            kind: SpanKind::Client,
            nanos: 5 * MS,
            status: StatusCode::Unset,
        },
    );
    shard.record_span(
        &settings,
        NOW_MINUTE - 600,
        SpanSample {
            service: "web",
            operation: "GET /",
            kind: SpanKind::Server,
            nanos: 5 * MS,
            status: StatusCode::Unset,
        },
    );
    let stats = Stats::new(settings);
    stats.absorb(shard.take(), NOW_MINUTE, &Telemetry::default());
    stats
}

fn query(raw: &str) -> MetricsQuery {
    parse_metrics_query(&params(raw), NOW_MS).unwrap()
}

fn values(family: &MetricFamily, series: usize) -> Vec<f64> {
    family.metrics[series].metric_points.iter().map(|p| p.gauge_value.double_value).collect()
}

#[test]
fn call_rates_average_over_rate_per_up_to_each_point() {
    let stats = stats();
    let family = metric_family(
        &stats,
        &query("service=api&lookback=300000&step=60000&ratePer=120000"),
        MetricKind::CallRate,
        NOW_MS,
    );
    assert_eq!(family.name, "service_call_rate");
    assert_eq!(family.help, "calls/sec, grouped by service");
    assert_eq!(family.metrics.len(), 1);
    assert_eq!(family.metrics[0].labels, [Label { name: "service_name", value: "api".into() }]);
    // Points at now-5m .. now; each covers the two minutes up to its own.
    let points = &family.metrics[0].metric_points;
    assert_eq!(points.len(), 6);
    assert_eq!(points[5].timestamp, rfc3339_ms(NOW_MS));
    assert_eq!(points[0].timestamp, rfc3339_ms(NOW_MS - 300_000));
    // The last window holds minute now-1 (60 s) and the 30 s of now; client spans not counted.
    assert_eq!(values(&family, 0), [0.0, 0.0, 0.0, 6.0 / 120.0, 6.0 / 120.0, 3.0 / 90.0]);
}

#[test]
fn latencies_and_error_rates_per_operation() {
    let stats = stats();
    let q = query("service=api&groupByOperation=true&lookback=120000&step=60000&ratePer=60000");
    let latencies = metric_family(&stats, &q, MetricKind::Latencies { quantile: 0.95 }, NOW_MS);
    assert_eq!(latencies.name, "service_operation_latencies");
    assert_eq!(latencies.help, "0.95th quantile latency, grouped by service & operation");
    // Server spans only: GET /b (client) has no series.
    assert_eq!(latencies.metrics.len(), 1);
    assert_eq!(
        latencies.metrics[0].labels,
        [Label { name: "service_name", value: "api".into() }, Label { name: "operation", value: "GET /a".into() }]
    );
    let ms = values(&latencies, 0);
    assert!((ms[0] - 100.0).abs() < 1.0 && ms[1] == 0.0 && (ms[2] - 10.0).abs() < 0.1, "{ms:?}");
    let errors = metric_family(&stats, &q, MetricKind::ErrorRate, NOW_MS);
    assert_eq!(errors.name, "service_operation_error_rate");
    assert_eq!(values(&errors, 0), [2.0 / 6.0, 0.0, 0.0]);
    let clients = query("service=api&groupByOperation=true&spanKind=client&lookback=0");
    let family = metric_family(&stats, &clients, MetricKind::CallRate, NOW_MS);
    assert_eq!(family.metrics[0].labels[1].value, "GET /b");
    assert_eq!(values(&family, 0).len(), 1);
}

#[test]
fn services_without_calls_in_range_have_no_series() {
    let stats = stats();
    let family = metric_family(&stats, &query("service=web&service=nobody&service=api"), MetricKind::CallRate, NOW_MS);
    assert_eq!(family.metrics.len(), 1);
    assert_eq!(family.metrics[0].labels[0].value, "api");
    // Sixty-one points over the default hour, zeros where nothing came.
    assert_eq!(family.metrics[0].metric_points.len(), 61);
    let json =
        serde_json::to_value(metric_family(&stats, &query("service=nobody"), MetricKind::ErrorRate, NOW_MS)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"name": "service_error_rate", "type": "GAUGE",
            "help": "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service", "metrics": []})
    );
}

#[test]
fn json_is_protobuf_json() {
    let stats = stats();
    let family = metric_family(&stats, &query("service=api&lookback=0"), MetricKind::CallRate, NOW_MS);
    let json = serde_json::to_value(&family).unwrap();
    assert_eq!(json["type"], "GAUGE");
    let point = &json["metrics"][0]["metricPoints"][0];
    assert_eq!(point["timestamp"], rfc3339_ms(NOW_MS));
    assert_eq!(point["gaugeValue"]["doubleValue"], 9.0 / 570.0);
    assert_eq!(json["metrics"][0]["labels"][0], serde_json::json!({"name": "service_name", "value": "api"}));
}
