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
mod tests;
