//! The trace endpoints of our REST API: one trace as OTLP (JSON, or protobuf on request), and a
//! search that answers with one summary per trace (root, duration, span and error counts per
//! service), which is what a result list needs without shipping every span.
//!
//! Search follows Jaeger's rules (one span must match the service, operation, every tag and the
//! duration bounds) with this API's units: RFC 3339 or `lookback` windows, Go-style durations.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::params::{parse_query, parse_span_kind, WindowQuery};
use super::window::now_ms;
use super::{ApiError, ErrorBody};
use crate::model::query::{MatchRule, TraceQuery};
use crate::model::{root_of, StatusCode, Trace, TraceId, UnixNanos};
use crate::query::jaeger::params::{parse_go_duration, parse_tags_json};
use crate::query::otlp;
use crate::query::{QueryState, View};

/// Traces one search may return.
pub const MAX_LIMIT: usize = 1_000;
/// Traces a search returns when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 20;

/// `GET /api/v1/traces/{traceId}`: one trace as an OTLP `ExportTraceServiceRequest`.
#[utoipa::path(
    get,
    path = "/api/v1/traces/{traceId}",
    tag = "traces",
    params(
        ("traceId" = String, Path, description = "Trace id, 1 to 32 hex digits (64-bit ids may omit the leading zeros)", example = "4bf92f3577b34da6a3ce929d0e0e4736"),
        TraceViewQuery
    ),
    responses(
        (status = 200, description = "The trace in OTLP/JSON (`ExportTraceServiceRequest`: hex ids, 64-bit integers as strings), or OTLP protobuf when the request accepts `application/x-protobuf`", content_type = "application/json"),
        (status = 400, description = "Malformed trace id", body = ErrorBody),
        (status = 404, description = "No such trace", body = ErrorBody)
    )
)]
pub async fn trace(
    State(state): State<QueryState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let view = match parse_query::<TraceViewQuery>(raw.as_deref()) {
        Ok(q) => View::raw_if(!q.adjust_clock_skew.unwrap_or(false)),
        Err(e) => return e.into_response(),
    };
    match read_trace(&state, &id, view).await {
        Ok(trace) => {
            let protobuf = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|accept| accept.contains("application/x-protobuf"));
            if protobuf {
                use prost::Message;
                let body = otlp::encode_spans(&trace.spans).encode_to_vec();
                ([(header::CONTENT_TYPE, "application/x-protobuf")], body).into_response()
            } else {
                ([(header::CONTENT_TYPE, "application/json")], otlp::encode_spans_json(&trace.spans)).into_response()
            }
        }
        Err(e) => e.into_response(),
    }
}

/// How `GET /api/v1/traces/{traceId}` shows the trace.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TraceViewQuery {
    /// `true`: correct clock skew between hosts by Jaeger's rules, as the web UI shows traces; each
    /// moved span gets a `@jaeger@warnings` attribute saying by how much. Default: as stored.
    pub adjust_clock_skew: Option<bool>,
}

async fn read_trace(state: &QueryState, id: &str, view: View) -> Result<Trace, ApiError> {
    let trace_id = TraceId::from_hex(id.trim())
        .map_err(|e| ApiError::BadParameter { param: "traceId", reason: format!("{e}: use 1 to 32 hex digits") })?;
    state.trace(trace_id, view).await?.ok_or_else(|| ApiError::NotFound(format!("trace {trace_id} not found")))
}

/// Search parameters of `GET /api/v1/traces`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TraceSearchQuery {
    /// Service a matching span belongs to.
    #[param(example = "checkout")]
    pub service: Option<String>,
    /// Operation (span name) of the matching span.
    #[param(example = "GET /cart")]
    pub operation: Option<String>,
    /// Span kind of the matching span: `server`, `client`, `producer`, `consumer`, `internal`.
    pub span_kind: Option<String>,
    /// Tags the matching span (or its resource) carries, as a JSON object of keys and values.
    #[param(example = r#"{"http.status_code":"500"}"#)]
    pub tags: Option<String>,
    /// Shortest duration of the matching span, Go-style (`100ms`, `1.5s`, `250us`).
    #[param(example = "100ms")]
    pub min_duration: Option<String>,
    /// Longest duration of the matching span, Go-style.
    #[param(example = "2s")]
    pub max_duration: Option<String>,
    /// Start of the window the matching span starts in, RFC 3339. Give `start` or `lookback`.
    pub start: Option<String>,
    /// End of that window, RFC 3339; default now.
    pub end: Option<String>,
    /// Length of the window before `end` (`15m`, `1h`, `2d`); default `1h`.
    pub lookback: Option<String>,
    /// Most traces to return, newest first: 1 to 1000, default 20.
    pub limit: Option<String>,
}

fn bad(param: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::BadParameter { param, reason: reason.into() }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl TraceSearchQuery {
    /// The search as a [`TraceQuery`] with Jaeger's single-span rule.
    pub fn to_query(&self, now_ms: u64) -> Result<TraceQuery, ApiError> {
        let window = WindowQuery { start: self.start.clone(), end: self.end.clone(), lookback: self.lookback.clone() }
            .window(now_ms)?;
        let duration = |param: &'static str, value: &Option<String>| {
            non_empty(value).map(|v| parse_go_duration(v).map_err(|e| bad(param, e))).transpose()
        };
        let min_duration = duration("minDuration", &self.min_duration)?;
        let max_duration = duration("maxDuration", &self.max_duration)?;
        if let (Some(min), Some(max)) = (min_duration, max_duration) {
            if max < min {
                return Err(bad("maxDuration", "must not be shorter than minDuration"));
            }
        }
        let limit = match non_empty(&self.limit) {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(bad("limit", format!("{text:?} is not a number from 1 to {MAX_LIMIT}"))),
            },
        };
        let span_kind = non_empty(&self.span_kind)
            .map(|k| parse_span_kind(k).ok_or_else(|| bad("spanKind", format!("unknown span kind {k:?}"))))
            .transpose()?;
        let tags = non_empty(&self.tags)
            .map(|json| parse_tags_json(json).map_err(|e| bad("tags", format!("{e}: give a JSON object"))))
            .transpose()?
            .unwrap_or_default();
        Ok(TraceQuery {
            service: non_empty(&self.service).map(str::to_owned),
            operation: non_empty(&self.operation).map(str::to_owned),
            span_kind,
            remote_service: None,
            tags,
            min_duration,
            max_duration,
            start_min: UnixNanos::from_millis(window.start_ms),
            start_max: UnixNanos::from_millis(window.end_ms),
            limit,
            rule: MatchRule::SingleSpan,
            ignore_case: false,
        })
    }
}

/// A trace found by a search.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Service of the root span (the earliest span when the root has not arrived).
    pub root_service: String,
    /// Operation of that span.
    pub root_operation: String,
    /// Whether the root span (a span without parent) is in the trace.
    pub has_root: bool,
    /// Earliest span start, Unix nanoseconds as a decimal string.
    pub start_time_unix_nano: String,
    /// Latest span end, Unix nanoseconds as a decimal string.
    pub end_time_unix_nano: String,
    /// Earliest start to latest end, nanoseconds.
    pub duration_nanos: u64,
    /// Spans in the trace.
    pub span_count: usize,
    /// Spans with error status.
    pub error_count: usize,
    /// Spans whose parent is not in the trace (yet).
    pub orphan_count: usize,
    /// Span and error counts per service, by name.
    pub services: Vec<ServiceSpans>,
}

/// One service's share of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpans {
    /// Service name.
    pub name: String,
    /// Its spans in the trace.
    pub span_count: usize,
    /// Those with error status.
    pub error_count: usize,
}

/// Answer of `GET /api/v1/traces`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TraceSearchResponse {
    /// Matching traces, newest first.
    pub traces: Vec<TraceSummary>,
}

impl TraceSummary {
    /// The summary of a trace with at least one span.
    pub fn of(trace: &Trace) -> Option<Self> {
        let root = root_of(&trace.spans)?;
        let start = trace.spans.iter().map(|r| r.span.start).min()?;
        let end = trace.spans.iter().map(|r| r.span.end).max()?;
        let ids: std::collections::HashSet<_> = trace.spans.iter().map(|r| r.span.span_id).collect();
        let orphan_count =
            trace.spans.iter().filter(|r| r.span.parent_span_id.is_some_and(|p| !ids.contains(&p))).count();
        let mut services: BTreeMap<&str, ServiceSpans> = BTreeMap::new();
        for record in &trace.spans {
            let name = record.service_name();
            let entry = services.entry(name).or_insert_with(|| ServiceSpans {
                name: name.to_owned(),
                span_count: 0,
                error_count: 0,
            });
            entry.span_count += 1;
            entry.error_count += usize::from(record.span.status.code == StatusCode::Error);
        }
        Some(Self {
            trace_id: trace.trace_id.to_string(),
            root_service: root.service_name().to_owned(),
            root_operation: root.span.name.clone(),
            has_root: root.span.parent_span_id.is_none(),
            start_time_unix_nano: start.0.to_string(),
            end_time_unix_nano: end.0.to_string(),
            duration_nanos: end.0.saturating_sub(start.0),
            span_count: trace.spans.len(),
            error_count: services.values().map(|s| s.error_count).sum(),
            orphan_count,
            services: services.into_values().collect(),
        })
    }
}

/// `GET /api/v1/traces`: traces matching a search, one summary each.
#[utoipa::path(
    get,
    path = "/api/v1/traces",
    tag = "traces",
    params(TraceSearchQuery),
    responses(
        (status = 200, description = "Matching traces, newest first", body = TraceSearchResponse),
        (status = 400, description = "A parameter is malformed; the message names it", body = ErrorBody)
    )
)]
pub async fn search(
    State(state): State<QueryState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TraceSearchResponse>, ApiError> {
    let params: TraceSearchQuery = parse_query(raw.as_deref())?;
    let query = params.to_query(now_ms())?;
    let traces = state.find_traces(query, View::Raw).await?;
    Ok(Json(TraceSearchResponse { traces: traces.iter().filter_map(TraceSummary::of).collect() }))
}

#[cfg(test)]
mod tests;
