//! The statistics endpoints of our REST API: RED figures (calls, errors, rate, latency
//! percentiles) per service, per operation, per root operation (whole traces), over time, and
//! between services. Handlers parse, read [`Stats`] on a blocking thread, and build JSON here.
//!
//! Units everywhere: latencies in milliseconds, rates per second, error rates as a fraction of
//! calls, times RFC 3339 in UTC. A window covers the statistics' buckets it overlaps (see
//! [`super::window`]); `start`/`end` in a response are that effective window.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::{
    parse_query, span_kind_name, SeriesLevel, SeriesQuery, ServiceQuery, SpanKindQuery, Window, WindowQuery,
};
use super::window::{error_rate, latency_ms, now_ms, rfc3339_ms, BucketLayout, Minutes, MINUTE_MS};
use super::{ApiError, ErrorBody};
use crate::model::SpanKind;
use crate::query::QueryState;
use crate::stats::red::{Level, Stats};
use crate::stats::series::Bucket;

/// Points one time series answer may hold.
pub const MAX_POINTS: u64 = 2_000;

/// Calls, errors and latency percentiles of one series over a window.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedFigures {
    /// Spans (or, for root operations, traces) counted.
    pub calls: u64,
    /// Those with error status.
    pub errors: u64,
    /// `errors / calls`, 0 to 1.
    pub error_rate: f64,
    /// Calls per second over the window.
    pub rate_per_second: f64,
    /// Median latency, milliseconds.
    pub p50_ms: Option<f64>,
    /// 95th percentile latency, milliseconds.
    pub p95_ms: Option<f64>,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: Option<f64>,
}

impl RedFigures {
    /// The figures of `bucket` accumulated over `seconds`.
    pub fn of(bucket: &Bucket, seconds: f64) -> Self {
        Self {
            calls: bucket.calls,
            errors: bucket.errors,
            error_rate: error_rate(bucket),
            rate_per_second: bucket.calls as f64 / seconds,
            p50_ms: latency_ms(bucket, 0.5),
            p95_ms: latency_ms(bucket, 0.95),
            p99_ms: latency_ms(bucket, 0.99),
        }
    }
}

/// The window an answer covers.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CoveredWindow {
    /// Start of the buckets read (RFC 3339).
    pub start: String,
    /// End of the buckets read (RFC 3339).
    pub end: String,
    /// Seconds of arrivals those buckets hold (up to now): the divisor of every rate.
    pub window_seconds: f64,
    /// Span kinds counted; empty means every kind.
    pub span_kinds: Vec<&'static str>,
}

impl CoveredWindow {
    fn new(minutes: Minutes, layout: &BucketLayout, kinds: &[SpanKind]) -> Self {
        Self {
            start: rfc3339_ms(minutes.start * MINUTE_MS),
            end: rfc3339_ms(minutes.end * MINUTE_MS),
            window_seconds: layout.seconds(minutes),
            span_kinds: kinds.iter().map(|k| span_kind_name(*k)).collect(),
        }
    }
}

/// One service's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServiceStats {
    /// Service name.
    pub service: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: RedFigures,
}

/// `GET /api/v1/stats/services`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServicesResponse {
    /// The window read.
    #[serde(flatten)]
    pub window: CoveredWindow,
    /// Services with calls in the window, by name.
    pub services: Vec<ServiceStats>,
}

/// One operation's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OperationStats {
    /// Operation (span) name.
    pub operation: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: RedFigures,
}

/// `GET /api/v1/stats/operations`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationsResponse {
    /// The service.
    pub service: String,
    /// The window read.
    #[serde(flatten)]
    pub window: CoveredWindow,
    /// Spans of each operation with calls in the window, by name.
    pub operations: Vec<OperationStats>,
    /// Whole traces rooted at each of the service's operations: `calls` counts traces, latencies
    /// are end-to-end trace durations, `errors` traces whose root span failed. Span kinds do not
    /// apply. A trace counts when it completes (idle for the trace timeout).
    pub root_operations: Vec<OperationStats>,
}

/// One point of a time series.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeriesPoint {
    /// Start of the step (RFC 3339).
    pub time: String,
    /// Calls that arrived in the step.
    pub calls: u64,
    /// Those with error status.
    pub errors: u64,
    /// `errors / calls`, 0 when there was no call.
    pub error_rate: f64,
    /// Calls per second over the step (up to now for the current step).
    pub rate_per_second: f64,
    /// Latency in milliseconds at each quantile asked, keyed by the quantile in shortest decimal
    /// form (`"0.5"`, `"0.99"`, `"1"`); null where the step had no call.
    #[schema(example = json!({"0.5": 12.5, "0.95": 48.0, "0.99": 97.1}))]
    pub quantiles: BTreeMap<String, Option<f64>>,
}

/// `GET /api/v1/stats/timeseries`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesResponse {
    /// The service.
    pub service: String,
    /// The operation, unless the level is `service`.
    pub operation: Option<String>,
    /// `service`, `operation` or `trace`.
    pub level: &'static str,
    /// The window read.
    #[serde(flatten)]
    pub window: CoveredWindow,
    /// Seconds between points: the step asked for, rounded up to whole coarse buckets where the
    /// window reaches before the one-minute buckets.
    pub step_seconds: u64,
    /// One point per step, oldest first, steps without calls included.
    pub points: Vec<SeriesPoint>,
}

/// Calls from one service to another.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DependencyStats {
    /// The calling service.
    pub caller: String,
    /// The called service.
    pub callee: String,
    /// Calls; errors (the callee span failed, or the client or producer span that made the
    /// call did); the callee spans' latencies. Counted when the trace completes.
    #[serde(flatten)]
    pub figures: RedFigures,
}

/// `GET /api/v1/dependencies`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DependenciesResponse {
    /// The window read.
    #[serde(flatten)]
    pub window: CoveredWindow,
    /// Edges with calls in the window, by caller then callee.
    pub dependencies: Vec<DependencyStats>,
}

/// What a time series request asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRequest {
    /// The service.
    pub service: String,
    /// The series.
    pub level: SeriesLevel,
    /// Span kinds (ignored for traces); empty means all.
    pub kinds: Vec<SpanKind>,
    /// Quantiles of each point.
    pub quantiles: Vec<f64>,
    /// Step in minutes, if asked.
    pub step_minutes: Option<u64>,
    /// The window.
    pub window: Window,
}

/// Figures per service over a window.
pub fn services_stats(stats: &Stats, window: Window, kinds: &[SpanKind], now_ms: u64) -> ServicesResponse {
    let layout = BucketLayout::of(stats, now_ms);
    let minutes = layout.widen(Minutes::covering(window.start_ms, window.end_ms));
    let seconds = layout.seconds(minutes);
    let services = stats
        .summaries(None, false, kinds, minutes.start, minutes.end)
        .into_iter()
        .map(|s| ServiceStats { service: s.service, figures: RedFigures::of(&s.bucket, seconds) })
        .collect();
    ServicesResponse { window: CoveredWindow::new(minutes, &layout, kinds), services }
}

/// Figures per operation and per root operation of one service over a window.
pub fn operations_stats(
    stats: &Stats,
    service: String,
    window: Window,
    kinds: &[SpanKind],
    now_ms: u64,
) -> OperationsResponse {
    let layout = BucketLayout::of(stats, now_ms);
    let minutes = layout.widen(Minutes::covering(window.start_ms, window.end_ms));
    let seconds = layout.seconds(minutes);
    let operations = stats
        .summaries(Some(&service), true, kinds, minutes.start, minutes.end)
        .into_iter()
        .filter_map(|s| Some(OperationStats { operation: s.operation?, figures: RedFigures::of(&s.bucket, seconds) }))
        .collect();
    let root_operations = stats
        .root_operations(&service)
        .into_iter()
        .filter_map(|operation| {
            // One step over the whole window: the total.
            let total = stats
                .timeseries(&service, Level::RootOperation(&operation), &[], minutes.start, minutes.end, minutes.len())?
                .into_iter()
                .next()?
                .1;
            (total.calls > 0).then(|| OperationStats { operation, figures: RedFigures::of(&total, seconds) })
        })
        .collect();
    OperationsResponse { service, window: CoveredWindow::new(minutes, &layout, kinds), operations, root_operations }
}

/// One series per step over a window; a 404 when the service or operation has no statistics.
pub fn timeseries_stats(stats: &Stats, request: &SeriesRequest, now_ms: u64) -> Result<TimeseriesResponse, ApiError> {
    let layout = BucketLayout::of(stats, now_ms);
    let asked = Minutes::covering(request.window.start_ms, request.window.end_ms);
    let coarse = layout.coarse_minutes();
    let (minutes, step) = if layout.is_coarse(asked.start) {
        // Coarse buckets count in the step holding their first minute: steps of whole buckets
        // starting on a bucket boundary keep each one where it belongs.
        let step = request.step_minutes.unwrap_or(coarse).div_ceil(coarse) * coarse;
        (layout.widen(asked), step)
    } else {
        (asked, request.step_minutes.unwrap_or(1))
    };
    let points = minutes.len().div_ceil(step);
    if points > MAX_POINTS {
        return Err(ApiError::BadParameter {
            param: "step",
            reason: format!(
                "{points} points of {step} min in the window; at most {MAX_POINTS}: raise step or narrow the window"
            ),
        });
    }
    let (level, kinds, operation) = match &request.level {
        SeriesLevel::Service => (Level::Service, request.kinds.as_slice(), None),
        SeriesLevel::Operation(op) => (Level::Operation(op), request.kinds.as_slice(), Some(op.clone())),
        SeriesLevel::Trace(op) => (Level::RootOperation(op), &[][..], Some(op.clone())),
    };
    let buckets =
        stats.timeseries(&request.service, level, kinds, minutes.start, minutes.end, step).ok_or_else(|| {
            ApiError::NotFound(match &operation {
                None => format!("no statistics for service {:?}", request.service),
                Some(op) => {
                    format!("no {} statistics for {:?} of service {:?}", request.level.name(), op, request.service)
                }
            })
        })?;
    let points = buckets
        .iter()
        .map(|(minute, bucket)| {
            let slot = Minutes { start: *minute, end: (minute + step).min(minutes.end) };
            SeriesPoint {
                time: rfc3339_ms(minute * MINUTE_MS),
                calls: bucket.calls,
                errors: bucket.errors,
                error_rate: error_rate(bucket),
                rate_per_second: bucket.calls as f64 / layout.seconds(slot),
                quantiles: request.quantiles.iter().map(|q| (q.to_string(), latency_ms(bucket, *q))).collect(),
            }
        })
        .collect();
    Ok(TimeseriesResponse {
        service: request.service.clone(),
        operation,
        level: request.level.name(),
        window: CoveredWindow::new(minutes, &layout, kinds),
        step_seconds: step * 60,
        points,
    })
}

/// Calls between services over a window.
pub fn dependencies_stats(stats: &Stats, window: Window, now_ms: u64) -> DependenciesResponse {
    let layout = BucketLayout::of(stats, now_ms);
    let minutes = layout.widen(Minutes::covering(window.start_ms, window.end_ms));
    let seconds = layout.seconds(minutes);
    let dependencies = stats
        .dependencies(minutes.start, minutes.end)
        .into_iter()
        .map(|d| DependencyStats { caller: d.caller, callee: d.callee, figures: RedFigures::of(&d.bucket, seconds) })
        .collect();
    DependenciesResponse { window: CoveredWindow::new(minutes, &layout, &[]), dependencies }
}

fn ensure_enabled(state: &QueryState) -> Result<(), ApiError> {
    if state.stats().settings().enabled {
        Ok(())
    } else {
        Err(ApiError::Disabled)
    }
}

/// RED figures of every service.
#[utoipa::path(
    get,
    path = "/api/v1/stats/services",
    tag = "stats",
    params(WindowQuery, SpanKindQuery),
    responses(
        (status = 200, description = "Figures per service with calls in the window", body = ServicesResponse),
        (status = 400, description = "A parameter is malformed; the message names it", body = ErrorBody),
        (status = 501, description = "Statistics are disabled", body = ErrorBody),
    )
)]
pub async fn services(
    State(state): State<QueryState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ServicesResponse>, ApiError> {
    let now = now_ms();
    let window = parse_query::<WindowQuery>(raw.as_deref())?.window(now)?;
    let kinds = parse_query::<SpanKindQuery>(raw.as_deref())?.kinds()?;
    ensure_enabled(&state)?;
    let response = state.read_stats(move |stats| services_stats(stats, window, &kinds, now)).await?;
    Ok(Json(response))
}

/// RED figures per operation of one service, and whole-trace figures per root operation.
#[utoipa::path(
    get,
    path = "/api/v1/stats/operations",
    tag = "stats",
    params(ServiceQuery, WindowQuery, SpanKindQuery),
    responses(
        (status = 200, description = "Figures per operation and per root operation", body = OperationsResponse),
        (status = 400, description = "A parameter is missing or malformed; the message names it", body = ErrorBody),
        (status = 501, description = "Statistics are disabled", body = ErrorBody),
    )
)]
pub async fn operations(
    State(state): State<QueryState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<OperationsResponse>, ApiError> {
    let now = now_ms();
    let service = parse_query::<ServiceQuery>(raw.as_deref())?.service()?;
    let window = parse_query::<WindowQuery>(raw.as_deref())?.window(now)?;
    let kinds = parse_query::<SpanKindQuery>(raw.as_deref())?.kinds()?;
    ensure_enabled(&state)?;
    let response = state.read_stats(move |stats| operations_stats(stats, service, window, &kinds, now)).await?;
    Ok(Json(response))
}

/// One series (a service, an operation, or whole traces of a root operation) step by step.
#[utoipa::path(
    get,
    path = "/api/v1/stats/timeseries",
    tag = "stats",
    params(ServiceQuery, SeriesQuery, WindowQuery, SpanKindQuery),
    responses(
        (status = 200, description = "One point per step", body = TimeseriesResponse),
        (status = 400, description = "A parameter is missing or malformed; the message names it", body = ErrorBody),
        (status = 404, description = "No statistics for the service or operation", body = ErrorBody),
        (status = 501, description = "Statistics are disabled", body = ErrorBody),
    )
)]
pub async fn timeseries(
    State(state): State<QueryState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TimeseriesResponse>, ApiError> {
    let now = now_ms();
    let series = parse_query::<SeriesQuery>(raw.as_deref())?;
    let request = SeriesRequest {
        service: parse_query::<ServiceQuery>(raw.as_deref())?.service()?,
        level: series.level()?,
        kinds: parse_query::<SpanKindQuery>(raw.as_deref())?.kinds()?,
        quantiles: series.quantiles()?,
        step_minutes: series.step_minutes()?,
        window: parse_query::<WindowQuery>(raw.as_deref())?.window(now)?,
    };
    ensure_enabled(&state)?;
    let response = state.read_stats(move |stats| timeseries_stats(stats, &request, now)).await??;
    Ok(Json(response))
}

/// Calls between services, with the called side's errors and latencies.
#[utoipa::path(
    get,
    path = "/api/v1/dependencies",
    tag = "stats",
    params(WindowQuery),
    responses(
        (status = 200, description = "Edges with calls in the window", body = DependenciesResponse),
        (status = 400, description = "A parameter is malformed; the message names it", body = ErrorBody),
        (status = 501, description = "Statistics are disabled", body = ErrorBody),
    )
)]
pub async fn dependencies(
    State(state): State<QueryState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<DependenciesResponse>, ApiError> {
    let now = now_ms();
    let window = parse_query::<WindowQuery>(raw.as_deref())?.window(now)?;
    ensure_enabled(&state)?;
    let response = state.read_stats(move |stats| dependencies_stats(stats, window, now)).await?;
    Ok(Json(response))
}

#[cfg(test)]
mod tests;
