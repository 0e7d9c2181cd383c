//! Jaeger HTTP query endpoints (`/api/...`) with Jaeger's `{data, total, limit, offset, errors}`
//! envelope, as Jaeger UI and Grafana's Jaeger data source read them; the api_v3 endpoints
//! (`/api/v3/...`) are routed here too and live in [`super::v3_http`].

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::json::{trace_to_jaeger, JaegerTrace};
use super::params::{parse_trace_id, parse_trace_query, span_kind_filter};
use super::{spm, v3_http};
use crate::model::UnixNanos;
use crate::query::{Params, QueryError, QueryState, View};

/// The Jaeger HTTP API routes.
pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/api/services", get(services))
        .route("/api/services/{service}/operations", get(service_operations))
        .route("/api/operations", get(operations))
        .route("/api/traces", get(traces))
        .route("/api/traces/{trace_id}", get(trace))
        .route("/api/dependencies", get(dependencies))
        .route("/api/metrics/latencies", get(spm::latencies))
        .route("/api/metrics/calls", get(spm::calls))
        .route("/api/metrics/errors", get(spm::errors))
        .route("/api/metrics/minstep", get(spm::minstep))
        .route("/api/v3/services", get(v3_http::services))
        .route("/api/v3/operations", get(v3_http::operations))
        .route("/api/v3/traces", get(v3_http::find_traces))
        .route("/api/v3/traces/{trace_id}", get(v3_http::trace))
        .route("/api/v3/trace-summaries", get(v3_http::trace_summaries))
        .with_state(state)
}

/// Jaeger's response envelope.
#[derive(Debug, Serialize)]
struct Envelope<T: Serialize> {
    data: T,
    total: usize,
    limit: usize,
    offset: usize,
    errors: Option<Vec<EnvelopeError>>,
}

/// One entry of the envelope's `errors`.
#[derive(Debug, Serialize)]
struct EnvelopeError {
    #[serde(skip_serializing_if = "is_zero")]
    code: u16,
    msg: String,
    #[serde(rename = "traceID", skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

/// Jaeger's envelope around `data`.
pub(super) fn ok<T: Serialize>(data: T, total: usize) -> Response {
    Json(Envelope { data, total, limit: 0, offset: 0, errors: None }).into_response()
}

/// Jaeger's error envelope for `e`, with its status.
pub(super) fn error(e: QueryError) -> Response {
    let msg = match &e {
        QueryError::NotFound(_) => "trace not found".to_owned(),
        other => other.to_string(),
    };
    error_with_status(e.http_status(), msg)
}

/// Jaeger's error envelope with `status` and `msg`.
pub(super) fn error_with_status(status: StatusCode, msg: String) -> Response {
    let body = Envelope::<Option<()>> {
        data: None,
        total: 0,
        limit: 0,
        offset: 0,
        errors: Some(vec![EnvelopeError { code: status.as_u16(), msg, trace_id: None }]),
    };
    (status, Json(body)).into_response()
}

async fn services(State(state): State<QueryState>) -> Response {
    match state.services().await {
        Ok(names) => {
            let total = names.len();
            ok(names, total)
        }
        Err(e) => error(e),
    }
}

async fn service_operations(State(state): State<QueryState>, Path(service): Path<String>) -> Response {
    match state.operations(service, None).await {
        Ok(ops) => {
            let mut names: Vec<String> = ops.into_iter().map(|o| o.name).collect();
            names.dedup();
            let total = names.len();
            ok(names, total)
        }
        Err(e) => error(e),
    }
}

/// `{"name","spanKind"}` as `/api/operations` returns it.
#[derive(Debug, Serialize)]
struct OperationJson {
    name: String,
    #[serde(rename = "spanKind")]
    span_kind: &'static str,
}

async fn operations(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let service = params
            .non_empty("service")
            .ok_or_else(|| QueryError::BadRequest("parameter 'service' is required".into()))?
            .to_owned();
        let kind = span_kind_filter(params.get("spanKind").unwrap_or(""))?;
        state.operations(service, kind).await
    }
    .await;
    match result {
        Ok(ops) => {
            let data: Vec<OperationJson> =
                ops.into_iter().map(|o| OperationJson { name: o.name, span_kind: o.kind.as_lower_str() }).collect();
            let total = data.len();
            ok(data, total)
        }
        Err(e) => error(e),
    }
}

async fn traces(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let params = match Params::parse(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    let view = raw_view(&params);
    let ids: Vec<&str> = params.all("traceID").filter(|v| !v.is_empty()).collect();
    if !ids.is_empty() {
        return traces_by_id(&state, &ids, view).await;
    }
    let result = async {
        let query = parse_trace_query(&params, UnixNanos::now())?;
        state.find_traces(query, view).await
    }
    .await;
    match result {
        Ok(found) => ok(found.iter().map(trace_to_jaeger).collect::<Vec<JaegerTrace>>(), 0),
        Err(e) => error(e),
    }
}

/// `raw=true` asks for traces as stored; otherwise they are clock-skew adjusted. Like Jaeger, a
/// value that is not a boolean counts as false.
fn raw_view(params: &Params) -> View {
    View::raw_if(params.go_bool("raw").unwrap_or(false))
}

/// `/api/traces?traceID=a&traceID=b`: the traces found, and an error entry for each missing id.
async fn traces_by_id(state: &QueryState, ids: &[&str], view: View) -> Response {
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for text in ids {
        let id = match parse_trace_id(text) {
            Ok(id) => id,
            Err(e) => return error(e),
        };
        match state.trace(id, view).await {
            Ok(Some(trace)) => data.push(trace_to_jaeger(&trace)),
            Ok(None) => {
                errors.push(EnvelopeError { code: 0, msg: "trace not found".into(), trace_id: Some(text.to_string()) })
            }
            Err(e) => return error(e),
        }
    }
    let errors = (!errors.is_empty()).then_some(errors);
    Json(Envelope { data, total: 0, limit: 0, offset: 0, errors }).into_response()
}

/// `/api/traces/{id}`; several comma-separated ids answer as `?traceID=` does.
async fn trace(State(state): State<QueryState>, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let params = match Params::parse(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    let view = raw_view(&params);
    if id.contains(',') {
        let ids: Vec<&str> = id.split(',').map(str::trim).filter(|v| !v.is_empty()).collect();
        return traces_by_id(&state, &ids, view).await;
    }
    let result = async {
        let trace_id = parse_trace_id(&id)?;
        state.trace(trace_id, view).await?.ok_or_else(|| QueryError::NotFound(id.clone()))
    }
    .await;
    match result {
        Ok(trace) => ok(vec![trace_to_jaeger(&trace)], 0),
        Err(e) => error(e),
    }
}

/// One edge of Jaeger's dependency graph.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DependencyLink {
    parent: String,
    child: String,
    call_count: u64,
}

/// `GET /api/dependencies?endTs=&lookback=` (ms): `endTs` defaults to now, `lookback` to a day, as
/// Jaeger's query service does.
async fn dependencies(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let end_ms = params.parsed::<u64>("endTs")?.unwrap_or(crate::model::UnixNanos::now().0 / 1_000_000);
        let lookback_ms = params.parsed::<u64>("lookback")?.unwrap_or(86_400_000);
        Ok(state.dependencies(end_ms, lookback_ms).await)
    }
    .await;
    match result {
        Ok(links) => {
            let data: Vec<DependencyLink> = links
                .into_iter()
                .map(|d| DependencyLink { parent: d.caller, child: d.callee, call_count: d.bucket.calls })
                .collect();
            let total = data.len();
            ok(data, total)
        }
        Err(e) => error(e),
    }
}
