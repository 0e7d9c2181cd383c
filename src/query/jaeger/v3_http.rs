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

use super::grpc_v3;
use super::params::{parse_go_duration, parse_tags_json, parse_trace_id, span_kind_filter, v3_kind_name};
use crate::model::query::TraceQuery;
use crate::model::UnixNanos;
use crate::proto::jaeger::api_v3::{FindTracesRequest, TraceQueryParameters};
use crate::query::api::traces::TraceSummary;
use crate::query::api::window::parse_rfc3339_nanos as parse_rfc3339;
use crate::query::{otlp, Params, QueryError, QueryState, View};

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

/// Parses an RFC 3339 time, naming the parameter when it is malformed.
fn parse_rfc3339_nanos(name: &str, text: &str) -> Result<UnixNanos, QueryError> {
    parse_rfc3339(text).map(UnixNanos).map_err(|e| bad(format!("malformed {name} {text:?}: {e}")))
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
        let kind = span_kind_filter(param(&params, &["spanKind", "span_kind"]).unwrap_or(""))?;
        let operations = state.operations(service.to_owned(), kind).await?;
        Ok::<_, QueryError>(Operations {
            operations: operations
                .into_iter()
                .map(|o| Operation { name: o.name, span_kind: v3_kind_name(o.kind) })
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
        let raw = params.go_bool("raw_traces")? || params.go_bool("rawTraces")?;
        let id = parse_trace_id(&id)?;
        state.trace(id, View::raw_if(raw)).await?.ok_or_else(|| QueryError::NotFound("trace not found".into()))
    }
    .await;
    match result {
        Ok(trace) => otlp_result(&trace.spans),
        Err(e) => error(e),
    }
}

/// Parses api_v3's `query.*` search parameters into the query and whether raw traces were asked for.
fn parse_search(params: &Params) -> Result<(TraceQuery, bool), QueryError> {
    // Decoding only: the query's rules are the gRPC service's, so both transports answer alike.
    if param(params, &["query.filter"]).is_some() {
        return Err(bad("query.filter is not supported: use the other query.* parameters"));
    }
    let time = |names: [&str; 2]| {
        let text = param(params, &names).ok_or_else(|| bad(format!("{} is required", names[0])))?;
        parse_rfc3339_nanos(names[0], text).map(timestamp)
    };
    let duration = |names: [&str; 2]| {
        param(params, &names)
            .map(|d| {
                let d = parse_go_duration(d).map_err(|e| bad(format!("{}: {e}", names[0])))?;
                prost_types::Duration::try_from(d).map_err(|_| bad(format!("{} is too long", names[0])))
            })
            .transpose()
    };
    let search_depth = match param(params, &["query.searchDepth", "query.search_depth", "query.num_traces"]) {
        None => 0,
        Some(text) => match text.parse::<i32>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad(format!("query.searchDepth {text:?} must be a positive number"))),
        },
    };
    let attributes = param(params, &["query.attributes"])
        .map(|json| parse_tags_json(json).map_err(|e| bad(format!("malformed query.attributes: {e}"))))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect();
    let query = TraceQueryParameters {
        service_name: param(params, &["query.serviceName", "query.service_name"]).unwrap_or_default().to_owned(),
        operation_name: param(params, &["query.operationName", "query.operation_name"]).unwrap_or_default().to_owned(),
        attributes,
        start_time_min: Some(time(["query.startTimeMin", "query.start_time_min"])?),
        start_time_max: Some(time(["query.startTimeMax", "query.start_time_max"])?),
        duration_min: duration(["query.durationMin", "query.duration_min"])?,
        duration_max: duration(["query.durationMax", "query.duration_max"])?,
        search_depth,
        raw_traces: params.go_bool("query.raw_traces")? || params.go_bool("query.rawTraces")?,
        filter: Vec::new(),
    };
    let raw_traces = query.raw_traces;
    Ok((grpc_v3::parse_query(FindTracesRequest { query: Some(query) })?, raw_traces))
}

fn timestamp(nanos: UnixNanos) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: (nanos.0 / 1_000_000_000) as i64, nanos: (nanos.0 % 1_000_000_000) as i32 }
}

async fn search(
    state: &QueryState,
    raw: Option<&str>,
    view: Option<View>,
) -> Result<Vec<crate::model::Trace>, QueryError> {
    let params = Params::parse(raw)?;
    let (query, raw_traces) = parse_search(&params)?;
    let traces = state.find_traces(query, view.unwrap_or(View::raw_if(raw_traces))).await?;
    if traces.is_empty() {
        // Jaeger's api_v3 answers an empty search with 404, unlike its legacy API.
        return Err(QueryError::NotFound("No traces found".into()));
    }
    Ok(traces)
}

/// `GET /api/v3/traces?query.*`: every matching trace's spans in one OTLP/JSON `result`.
pub async fn find_traces(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    match search(&state, raw.as_deref(), None).await {
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
    // Summaries describe the traces as stored.
    match search(&state, raw.as_deref(), Some(View::Raw)).await {
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
