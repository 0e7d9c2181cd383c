//! Jaeger's api_v3 over HTTP (`/api/v3/...`), which current Jaeger UI and Grafana's Jaeger data
//! source in api_v3 mode call: services, operations, one trace and trace search as OTLP/JSON
//! (`{"result":{"resourceSpans":[…]}}`), and trace summaries. Parameters come in camelCase or
//! snake_case (`query.startTimeMin` or `query.start_time_min`); times are RFC 3339 with up to
//! nanoseconds; errors are `{"error":{"grpcCode","httpCode","httpStatus","message"}}`.
//!
//! Search uses the same store query as the legacy `/api/traces` (one span must match the service,
//! operation, every attribute and the duration bounds) over `[startTimeMin, startTimeMax)`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::params::{parse_go_duration, parse_tags_json, parse_trace_id};
use crate::model::query::{MatchRule, TraceQuery};
use crate::model::{SpanKind, UnixNanos};
use crate::query::api::traces::TraceSummary;
use crate::query::{otlp, Params, QueryError, QueryState};

/// Traces a search returns when `query.searchDepth` is absent, as Jaeger.
const DEFAULT_SEARCH_DEPTH: usize = 100;

/// api_v3's error body.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetail {
    grpc_code: u8,
    http_code: u16,
    http_status: &'static str,
    message: String,
}

fn error(e: QueryError) -> Response {
    let status = e.http_status();
    // gRPC codes as Jaeger's gateway maps them: INVALID_ARGUMENT 3, NOT_FOUND 5, INTERNAL 13.
    let grpc_code = match status {
        StatusCode::BAD_REQUEST => 3,
        StatusCode::NOT_FOUND => 5,
        _ => 13,
    };
    let body = ErrorBody {
        error: ErrorDetail {
            grpc_code,
            http_code: status.as_u16(),
            http_status: status.canonical_reason().unwrap_or(""),
            message: e.to_string(),
        },
    };
    (status, Json(body)).into_response()
}

fn bad(message: impl Into<String>) -> QueryError {
    QueryError::BadRequest(message.into())
}

/// The first non-empty value of a parameter under its camelCase or snake_case name.
fn param<'a>(params: &'a Params, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| params.non_empty(name)).map(str::trim)
}

/// Parses RFC 3339 with up to nanosecond precision and a `Z` or numeric offset.
fn parse_rfc3339_nanos(name: &str, text: &str) -> Result<UnixNanos, QueryError> {
    let invalid = || bad(format!("malformed {name} {text:?}: use RFC 3339, e.g. 2026-11-20T10:00:00.000000000Z"));
    // Grafana sends these times unescaped, so a `+hh:mm` offset arrives as ` hh:mm`.
    let repaired;
    let text = match text.len().checked_sub(6).filter(|&i| text.as_bytes()[i] == b' ') {
        Some(i) => {
            repaired = format!("{}+{}", &text[..i], &text[i + 1..]);
            repaired.as_str()
        }
        None => text,
    };
    // humantime reads UTC only: move a numeric offset into the result ourselves.
    let (base, offset_secs) = match text.len().checked_sub(6).map(|i| text.split_at(i)) {
        Some((base, offset))
            if (offset.starts_with('+') || offset.starts_with('-')) && offset.as_bytes().get(3) == Some(&b':') =>
        {
            let hours: i64 = offset[1..3].parse().map_err(|_| invalid())?;
            let minutes: i64 = offset[4..].parse().map_err(|_| invalid())?;
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            (format!("{base}Z"), sign * (hours * 3600 + minutes * 60))
        }
        _ => (text.to_owned(), 0),
    };
    let time = humantime::parse_rfc3339(&base).map_err(|_| invalid())?;
    let nanos = time.duration_since(std::time::UNIX_EPOCH).map_err(|_| invalid())?.as_nanos() as i128;
    // 10:00+02:00 is 08:00Z.
    let utc = nanos - i128::from(offset_secs) * 1_000_000_000;
    u64::try_from(utc).map(UnixNanos).map_err(|_| invalid())
}

/// `GET /api/v3/services`.
pub async fn services(State(state): State<QueryState>) -> Response {
    #[derive(Serialize)]
    struct Services {
        services: Vec<String>,
    }
    match state.services().await {
        Ok(services) => Json(Services { services }).into_response(),
        Err(e) => error(e),
    }
}

/// api_v3's name of a span kind; an unspecified kind shows as `internal`, as Jaeger shows it.
fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified | SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// `GET /api/v3/operations?service=&spanKind=`.
pub async fn operations(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Operation {
        name: String,
        span_kind: &'static str,
    }
    #[derive(Serialize)]
    struct Operations {
        operations: Vec<Operation>,
    }
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let service = param(&params, &["service"]).ok_or_else(|| bad("parameter 'service' is required"))?;
        let kind = param(&params, &["spanKind", "span_kind"])
            .map(|k| SpanKind::from_lower_str(k).ok_or_else(|| bad(format!("unsupported span kind {k:?}"))))
            .transpose()?;
        let operations = state.operations(service.to_owned(), kind).await?;
        Ok::<_, QueryError>(Operations {
            operations: operations
                .into_iter()
                .map(|o| Operation { name: o.name, span_kind: kind_name(o.kind) })
                .collect(),
        })
    }
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => error(e),
    }
}

fn otlp_result(spans: &[std::sync::Arc<crate::model::SpanRecord>]) -> Response {
    // `{"result": <TracesData>}` around the OTLP/JSON the encoder writes.
    let mut body = Vec::with_capacity(spans.len() * 512 + 16);
    body.extend_from_slice(b"{\"result\":");
    body.extend_from_slice(&otlp::encode_spans_json(spans));
    body.push(b'}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /api/v3/traces/{trace_id}`: one trace as OTLP/JSON.
pub async fn trace(State(state): State<QueryState>, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        // The time bounds only narrow where Jaeger's storage looks; an id finds its trace anyway,
        // but malformed bounds are still refused.
        for names in [["startTime", "start_time"], ["endTime", "end_time"]] {
            if let Some(text) = param(&params, &names) {
                parse_rfc3339_nanos(names[0], text)?;
            }
        }
        let id = parse_trace_id(&id)?;
        state.trace(id).await?.ok_or_else(|| QueryError::NotFound("trace not found".into()))
    }
    .await;
    match result {
        Ok(trace) => otlp_result(&trace.spans),
        Err(e) => error(e),
    }
}

/// Parses api_v3's `query.*` search parameters.
fn parse_search(params: &Params) -> Result<TraceQuery, QueryError> {
    if param(params, &["query.filter"]).is_some() {
        return Err(bad("query.filter is not supported: use the other query.* parameters"));
    }
    let time = |names: [&str; 2]| {
        let text = param(params, &names).ok_or_else(|| bad(format!("{} is required", names[0])))?;
        parse_rfc3339_nanos(names[0], text)
    };
    let start_min = time(["query.startTimeMin", "query.start_time_min"])?;
    let start_max = time(["query.startTimeMax", "query.start_time_max"])?;
    if start_max <= start_min {
        return Err(bad("query.startTimeMax must be after query.startTimeMin"));
    }
    let duration = |names: [&str; 2]| {
        param(params, &names).map(|d| parse_go_duration(d).map_err(|e| bad(format!("{}: {e}", names[0])))).transpose()
    };
    let min_duration = duration(["query.durationMin", "query.duration_min"])?;
    let max_duration = duration(["query.durationMax", "query.duration_max"])?;
    if let (Some(min), Some(max)) = (min_duration, max_duration) {
        if max < min {
            return Err(bad("query.durationMax must not be shorter than query.durationMin"));
        }
    }
    let limit = match param(params, &["query.searchDepth", "query.search_depth", "query.num_traces"]) {
        None => DEFAULT_SEARCH_DEPTH,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad(format!("query.searchDepth {text:?} must be a positive number"))),
        },
    };
    let tags = param(params, &["query.attributes"])
        .map(|json| parse_tags_json(json).map_err(|e| bad(format!("malformed query.attributes: {e}"))))
        .transpose()?
        .unwrap_or_default();
    Ok(TraceQuery {
        service: param(params, &["query.serviceName", "query.service_name"]).map(str::to_owned),
        operation: param(params, &["query.operationName", "query.operation_name"]).map(str::to_owned),
        span_kind: None,
        remote_service: None,
        tags,
        min_duration,
        max_duration,
        start_min,
        // api_v3: the upper bound is exclusive.
        start_max: UnixNanos(start_max.0 - 1),
        limit,
        rule: MatchRule::SingleSpan,
        ignore_case: false,
    })
}

async fn search(state: &QueryState, raw: Option<&str>) -> Result<Vec<crate::model::Trace>, QueryError> {
    let params = Params::parse(raw)?;
    let query = parse_search(&params)?;
    let traces = state.find_traces(query).await?;
    if traces.is_empty() {
        // Jaeger's api_v3 answers an empty search with 404, unlike its legacy API.
        return Err(QueryError::NotFound("No traces found".into()));
    }
    Ok(traces)
}

/// `GET /api/v3/traces?query.*`: every matching trace's spans in one OTLP/JSON `result`.
pub async fn find_traces(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    match search(&state, raw.as_deref()).await {
        Ok(traces) => {
            let spans: Vec<_> = traces.into_iter().flat_map(|t| t.spans).collect();
            otlp_result(&spans)
        }
        Err(e) => error(e),
    }
}

/// `GET /api/v3/trace-summaries?query.*`: one summary per matching trace.
pub async fn trace_summaries(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Service {
        name: String,
        span_count: usize,
        error_span_count: usize,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Summary {
        trace_id: String,
        root_service_name: String,
        root_operation_name: String,
        min_start_time_unix_nano: String,
        max_end_time_unix_nano: String,
        span_count: usize,
        error_span_count: usize,
        orphan_span_count: usize,
        services: Vec<Service>,
    }
    #[derive(Serialize)]
    struct Summaries {
        summaries: Vec<Summary>,
    }
    match search(&state, raw.as_deref()).await {
        Ok(traces) => {
            let summaries = traces
                .iter()
                .filter_map(TraceSummary::of)
                .map(|s| Summary {
                    trace_id: s.trace_id,
                    root_service_name: s.root_service,
                    root_operation_name: s.root_operation,
                    min_start_time_unix_nano: s.start_time_unix_nano,
                    max_end_time_unix_nano: s.end_time_unix_nano,
                    span_count: s.span_count,
                    error_span_count: s.error_count,
                    orphan_span_count: s.orphan_count,
                    services: s
                        .services
                        .into_iter()
                        .map(|svc| Service {
                            name: svc.name,
                            span_count: svc.span_count,
                            error_span_count: svc.error_count,
                        })
                        .collect(),
                })
                .collect();
            Json(Summaries { summaries }).into_response()
        }
        Err(e) => error(e),
    }
}

#[cfg(test)]
mod tests;
