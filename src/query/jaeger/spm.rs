//! Jaeger's Service Performance Monitoring (SPM) API, `/api/metrics/{latencies,calls,errors}` and
//! `/api/metrics/minstep`, as Jaeger UI's Monitor tab reads it, answered from the live statistics.
//!
//! Parameters, defaults and messages are Jaeger query's (`parseMetricsQueryParams`,
//! `default_params.go`); values follow its Prometheus backend, which evaluates at each step `t`
//! over the window `(t - ratePer, t]`: `sum(rate(calls[ratePer]))` (calls per second),
//! `histogram_quantile(q, …)` of the durations in that window (milliseconds), and errors / calls
//! (a fraction). The answer is the protobuf JSON of `jaeger.api_v2.metrics.MetricFamily`, bare
//! (no envelope). Our buckets are one minute long, so `step` and `ratePer` are rounded up to whole
//! minutes and `minstep` is 60000; older than an hour, windows widen to whole 15-minute buckets.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::http::{error, error_with_status, ok};
use crate::model::SpanKind;
use crate::query::api::parse_span_kind;
use crate::query::api::window::{error_rate, latency_ms, now_ms, rfc3339_ms, BucketLayout, Minutes, MINUTE_MS};
use crate::query::{Params, QueryError, QueryState};
use crate::stats::red::{Level, Stats};
use crate::stats::series::Bucket;

/// Jaeger's `defaultMetricsQueryLookbackDuration`: one hour.
const DEFAULT_LOOKBACK_MS: u64 = 3_600_000;
/// Jaeger's `defaultMetricsQueryStepDuration`: five seconds (one minute here, after rounding).
const DEFAULT_STEP_MS: u64 = 5_000;
/// Jaeger's `defaultMetricsQueryRateDuration`: ten minutes.
const DEFAULT_RATE_PER_MS: u64 = 600_000;
/// Prometheus' limit on points per series, which Jaeger's Prometheus backend answers with.
const MAX_POINTS: u64 = 11_000;
/// What Jaeger answers when no metrics backend is configured (501).
const DISABLED: &str = "trace metrics are currently disabled - no metrics backend configured";

/// The parameters every metrics endpoint shares.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    /// Services, in the order asked, without repeats.
    pub services: Vec<String>,
    /// One series per operation instead of per service.
    pub group_by_operation: bool,
    /// Span kinds counted.
    pub span_kinds: Vec<SpanKind>,
    /// Time of the last point, milliseconds since the epoch.
    pub end_ms: u64,
    /// The first point is this long before the last.
    pub lookback_ms: u64,
    /// Between points; whole minutes.
    pub step_ms: u64,
    /// Length of the window each point's value covers; whole minutes.
    pub rate_per_ms: u64,
}

/// Which figure a metrics endpoint reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricKind {
    /// The `quantile` latency in milliseconds.
    Latencies {
        /// In `(0, 1]`.
        quantile: f64,
    },
    /// Calls per second.
    CallRate,
    /// Errors as a fraction of calls.
    ErrorRate,
}

impl MetricKind {
    fn name(self, by_operation: bool) -> &'static str {
        match (self, by_operation) {
            (Self::Latencies { .. }, false) => "service_latencies",
            (Self::Latencies { .. }, true) => "service_operation_latencies",
            (Self::CallRate, false) => "service_call_rate",
            (Self::CallRate, true) => "service_operation_call_rate",
            (Self::ErrorRate, false) => "service_error_rate",
            (Self::ErrorRate, true) => "service_operation_error_rate",
        }
    }

    fn help(self, by_operation: bool) -> String {
        let help = match self {
            Self::Latencies { quantile } => format!("{quantile:.2}th quantile latency, grouped by service"),
            Self::CallRate => "calls/sec, grouped by service".to_owned(),
            Self::ErrorRate => {
                "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service".to_owned()
            }
        };
        if by_operation {
            help + " & operation"
        } else {
            help
        }
    }

    fn value(self, bucket: &Bucket, seconds: f64) -> f64 {
        match self {
            // Where nothing happened the value is 0, not NaN: Jaeger UI cannot plot NaN.
            Self::Latencies { quantile } => latency_ms(bucket, quantile).unwrap_or(0.0),
            Self::CallRate => bucket.calls as f64 / seconds,
            Self::ErrorRate => error_rate(bucket),
        }
    }
}

/// `jaeger.api_v2.metrics.MetricFamily` in protobuf JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricFamily {
    name: &'static str,
    /// Always `GAUGE`.
    #[serde(rename = "type")]
    metric_type: &'static str,
    help: String,
    /// Emitted even when empty (protobuf JSON would drop it): Jaeger UI indexes into it.
    metrics: Vec<Metric>,
}

/// One series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Metric {
    labels: Vec<Label>,
    metric_points: Vec<MetricPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct Label {
    name: &'static str,
    value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricPoint {
    gauge_value: GaugeValue,
    /// RFC 3339 in UTC.
    timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct GaugeValue {
    double_value: f64,
}

fn parse_error(param: &str, reason: impl std::fmt::Display) -> QueryError {
    QueryError::BadRequest(format!("unable to parse param '{param}': {reason}"))
}

/// Go's `strconv.ParseBool`, which Jaeger uses.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// An integer number of milliseconds, `default` when absent or empty.
fn millis(params: &Params, key: &str, default: u64) -> Result<u64, QueryError> {
    match params.non_empty(key) {
        None => Ok(default),
        Some(text) => {
            text.trim().parse().map_err(|_| parse_error(key, format!("invalid number of milliseconds {text:?}")))
        }
    }
}

fn whole_minutes(ms: u64) -> u64 {
    ms.div_ceil(MINUTE_MS).max(1) * MINUTE_MS
}

/// Parses the parameters every metrics endpoint shares, with Jaeger's defaults.
pub fn parse_metrics_query(params: &Params, now_ms: u64) -> Result<MetricsQuery, QueryError> {
    let mut services: Vec<String> = Vec::new();
    for service in params.all("service").map(str::trim).filter(|s| !s.is_empty()) {
        if !services.iter().any(|s| s == service) {
            services.push(service.to_owned());
        }
    }
    if services.is_empty() {
        return Err(parse_error("service", "please provide at least one service name"));
    }
    let group_by_operation = match params.non_empty("groupByOperation") {
        None => false,
        Some(text) => parse_go_bool(text.trim())
            .ok_or_else(|| parse_error("groupByOperation", format!("invalid boolean {text:?}")))?,
    };
    let mut span_kinds = Vec::new();
    for text in params.all("spanKind").filter(|k| !k.trim().is_empty()) {
        let kind =
            parse_span_kind(text).ok_or_else(|| parse_error("spanKind", format!("unsupported span kind: '{text}'")))?;
        if !span_kinds.contains(&kind) {
            span_kinds.push(kind);
        }
    }
    if span_kinds.is_empty() {
        span_kinds.push(SpanKind::Server);
    }
    let end_ms = millis(params, "endTs", now_ms)?;
    let lookback_ms = millis(params, "lookback", DEFAULT_LOOKBACK_MS)?;
    let step_ms = millis(params, "step", DEFAULT_STEP_MS)?;
    let rate_per_ms = millis(params, "ratePer", DEFAULT_RATE_PER_MS)?;
    if step_ms == 0 {
        return Err(parse_error("step", "must be positive"));
    }
    if rate_per_ms == 0 {
        return Err(parse_error("ratePer", "must be positive"));
    }
    let step_ms = whole_minutes(step_ms);
    if lookback_ms / step_ms + 1 > MAX_POINTS {
        return Err(parse_error(
            "step",
            "exceeded maximum resolution of 11,000 points per timeseries: raise step or lower lookback",
        ));
    }
    Ok(MetricsQuery {
        services,
        group_by_operation,
        span_kinds,
        end_ms,
        lookback_ms: lookback_ms.min(end_ms),
        step_ms,
        rate_per_ms: whole_minutes(rate_per_ms),
    })
}

/// The `quantile` of `/api/metrics/latencies`: required, in `(0, 1]`.
pub fn parse_quantile(params: &Params) -> Result<f64, QueryError> {
    let text =
        params.non_empty("quantile").ok_or_else(|| parse_error("quantile", "a quantile in (0, 1] is required"))?;
    let quantile: f64 = text.trim().parse().map_err(|_| parse_error("quantile", format!("invalid number {text:?}")))?;
    if !(quantile > 0.0 && quantile <= 1.0) {
        return Err(parse_error("quantile", format!("{quantile} is outside (0, 1]")));
    }
    Ok(quantile)
}

/// An operation (`None` for the whole service) and its one-minute buckets.
type OperationBuckets = (Option<String>, Vec<(u64, Bucket)>);

/// The family of one metric over the query's points, from the statistics as of `now_ms`: a series
/// for each requested service (or each of its operations) that had calls, zeros where none came.
pub fn metric_family(stats: &Stats, query: &MetricsQuery, kind: MetricKind, now_ms: u64) -> MetricFamily {
    let layout = BucketLayout::of(stats, now_ms);
    let times: Vec<u64> =
        (0..=query.lookback_ms / query.step_ms).map(|k| query.end_ms - query.lookback_ms + k * query.step_ms).collect();
    let rate_minutes = query.rate_per_ms / MINUTE_MS;
    // Each point's value covers the `ratePer` minutes up to the one holding its time.
    let windows: Vec<Minutes> = times
        .iter()
        .map(|t| {
            let end = t.div_ceil(MINUTE_MS).max(1);
            layout.widen(Minutes { start: end.saturating_sub(rate_minutes), end })
        })
        .collect();
    let span = match (windows.first(), windows.last()) {
        (Some(first), Some(last)) => Minutes { start: first.start, end: last.end },
        _ => Minutes { start: 0, end: 0 },
    };
    let by_operation = query.group_by_operation;
    let mut metrics = Vec::new();
    for service in &query.services {
        let series: Vec<OperationBuckets> = if by_operation {
            stats
                .operations(service)
                .into_iter()
                .filter_map(|op| {
                    let buckets =
                        stats.timeseries(service, Level::Operation(&op), &query.span_kinds, span.start, span.end, 1)?;
                    Some((Some(op), buckets))
                })
                .collect()
        } else {
            stats
                .timeseries(service, Level::Service, &query.span_kinds, span.start, span.end, 1)
                .map(|buckets| (None, buckets))
                .into_iter()
                .collect()
        };
        for (operation, buckets) in series {
            if buckets.iter().all(|(_, b)| b.calls == 0) {
                continue;
            }
            let mut labels = vec![Label { name: "service_name", value: service.clone() }];
            labels.extend(operation.map(|op| Label { name: "operation", value: op }));
            let metric_points = times
                .iter()
                .zip(&windows)
                .map(|(t, window)| {
                    let mut total = Bucket::default();
                    for (_, bucket) in
                        buckets.iter().filter(|(minute, b)| b.calls > 0 && (window.start..window.end).contains(minute))
                    {
                        total.merge(bucket);
                    }
                    MetricPoint {
                        gauge_value: GaugeValue { double_value: kind.value(&total, layout.seconds(*window)) },
                        timestamp: rfc3339_ms(*t),
                    }
                })
                .collect();
            metrics.push(Metric { labels, metric_points });
        }
    }
    MetricFamily { name: kind.name(by_operation), metric_type: "GAUGE", help: kind.help(by_operation), metrics }
}

async fn answer(
    state: QueryState,
    raw: Option<String>,
    kind: impl FnOnce(&Params) -> Result<MetricKind, QueryError>,
) -> Response {
    let now = now_ms();
    let parsed =
        Params::parse(raw.as_deref()).and_then(|params| Ok((kind(&params)?, parse_metrics_query(&params, now)?)));
    let (kind, query) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => return error(e),
    };
    if !state.stats().settings().enabled {
        return error_with_status(StatusCode::NOT_IMPLEMENTED, DISABLED.to_owned());
    }
    match state.read_stats(move |stats| metric_family(stats, &query, kind, now)).await {
        Ok(family) => Json(family).into_response(),
        Err(e) => error(e),
    }
}

/// `GET /api/metrics/latencies?service=&quantile=…`: `service_latencies` in milliseconds.
pub(super) async fn latencies(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    answer(state, raw, |params| Ok(MetricKind::Latencies { quantile: parse_quantile(params)? })).await
}

/// `GET /api/metrics/calls?service=…`: `service_call_rate` in calls per second.
pub(super) async fn calls(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    answer(state, raw, |_| Ok(MetricKind::CallRate)).await
}

/// `GET /api/metrics/errors?service=…`: `service_error_rate` as a fraction of calls.
pub(super) async fn errors(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    answer(state, raw, |_| Ok(MetricKind::ErrorRate)).await
}

/// `GET /api/metrics/minstep`: the smallest step between points, in milliseconds, in Jaeger's
/// envelope (`{"data": 60000, ...}`): one minute, our bucket size.
pub(super) async fn minstep(State(state): State<QueryState>) -> Response {
    if !state.stats().settings().enabled {
        return error_with_status(StatusCode::NOT_IMPLEMENTED, DISABLED.to_owned());
    }
    ok(MINUTE_MS, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            &params("service=a&service=b&service=a&groupByOperation=1&endTs=1000000&lookback=600000&step=90000&ratePer=30000"),
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
                    error: i < 2,
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
                    error: false,
                },
            );
        }
        shard.record_span(
            &settings,
            NOW_MINUTE,
            SpanSample { service: "api", operation: "GET /b", kind: SpanKind::Client, nanos: 5 * MS, error: false },
        );
        shard.record_span(
            &settings,
            NOW_MINUTE - 600,
            SpanSample { service: "web", operation: "GET /", kind: SpanKind::Server, nanos: 5 * MS, error: false },
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
        let family =
            metric_family(&stats, &query("service=web&service=nobody&service=api"), MetricKind::CallRate, NOW_MS);
        assert_eq!(family.metrics.len(), 1);
        assert_eq!(family.metrics[0].labels[0].value, "api");
        // Sixty-one points over the default hour, zeros where nothing came.
        assert_eq!(family.metrics[0].metric_points.len(), 61);
        let json = serde_json::to_value(metric_family(&stats, &query("service=nobody"), MetricKind::ErrorRate, NOW_MS))
            .unwrap();
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
}
