//! Zipkin v2 HTTP query endpoints. Units as Zipkin defines them: `endTs`/`lookback` in
//! milliseconds, `minDuration`/`maxDuration` in microseconds. Names compare ignoring case, since
//! Zipkin lower-cases service and span names.

use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::json::trace_to_zipkin;
use crate::model::query::{MatchRule, TagFilter, TraceQuery};
use crate::model::{TraceId, UnixNanos};
use crate::query::{Params, QueryError, QueryState, View};

/// Zipkin's default `QUERY_LOOKBACK`: one day, in milliseconds.
const DEFAULT_LOOKBACK_MS: u64 = 86_400_000;
/// Zipkin's default result limit.
const DEFAULT_LIMIT: usize = 10;

/// The Zipkin v2 API, served at the root and again under `/zipkin`.
pub fn router(state: QueryState) -> Router {
    let api = Router::new()
        .route("/api/v2/services", get(services))
        .route("/api/v2/spans", get(span_names))
        .route("/api/v2/remoteServices", get(remote_services))
        .route("/api/v2/traces", get(traces))
        .route("/api/v2/trace/{trace_id}", get(trace))
        .route("/api/v2/traceMany", get(trace_many))
        .route("/api/v2/autocompleteKeys", get(autocomplete_keys))
        .route("/api/v2/autocompleteValues", get(autocomplete_values))
        .route("/api/v2/dependencies", get(dependencies))
        .route("/health", get(health))
        .with_state(state);
    Router::new().nest("/zipkin", api.clone()).merge(api)
}

/// Zipkin errors are plain text with the status.
fn error(e: QueryError) -> Response {
    (e.http_status(), [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], e.to_string()).into_response()
}

fn required<'a>(params: &'a Params, key: &str) -> Result<&'a str, QueryError> {
    params.non_empty(key).ok_or_else(|| QueryError::BadRequest(format!("{key} is required")))
}

/// Lists of names: sorted, and cacheable once there are a few, as Zipkin does.
fn name_list(names: Vec<String>) -> Response {
    let cache = names.len() > 3;
    let mut response = Json(names).into_response();
    if cache {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("max-age=300, must-revalidate"));
    }
    response
}

async fn health() -> Response {
    Json(serde_json::json!({ "status": "UP", "zipkin": { "status": "UP" } })).into_response()
}

async fn services(State(state): State<QueryState>) -> Response {
    match state.services().await {
        Ok(names) => name_list(names),
        Err(e) => error(e),
    }
}

/// Resolves a Zipkin service parameter to the stored spelling (Zipkin clients send it lower-cased).
async fn resolve_service(state: &QueryState, name: &str) -> Result<String, QueryError> {
    let services = state.services().await?;
    Ok(services
        .iter()
        .find(|s| s.as_str() == name)
        .or_else(|| services.iter().find(|s| s.eq_ignore_ascii_case(name)))
        .cloned()
        .unwrap_or_else(|| name.to_owned()))
}

async fn span_names(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let service = resolve_service(&state, required(&params, "serviceName")?).await?;
        let mut names: Vec<String> = state.operations(service, None).await?.into_iter().map(|o| o.name).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
    .await;
    result.map_or_else(error, name_list)
}

async fn remote_services(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let service = resolve_service(&state, required(&params, "serviceName")?).await?;
        state.remote_services(service).await
    }
    .await;
    result.map_or_else(error, name_list)
}

/// One edge of Zipkin's dependency graph; `errorCount` only when there were errors.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct DependencyLink {
    parent: String,
    child: String,
    call_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    error_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `GET /api/v2/dependencies?endTs=&lookback=`: `endTs` (ms) required, `lookback` (ms) defaults to a day.
async fn dependencies(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let end_ms = positive(&params, "endTs")?.ok_or_else(|| QueryError::BadRequest("endTs is required".into()))?;
        let lookback_ms = positive(&params, "lookback")?.unwrap_or(DEFAULT_LOOKBACK_MS);
        Ok(state.dependencies(end_ms, lookback_ms).await)
    }
    .await;
    match result {
        Ok(links) => Json(
            links
                .into_iter()
                .map(|d| DependencyLink {
                    parent: d.caller,
                    child: d.callee,
                    call_count: d.bucket.calls,
                    error_count: d.bucket.errors,
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => error(e),
    }
}

fn positive(params: &Params, key: &str) -> Result<Option<u64>, QueryError> {
    match params.parsed::<u64>(key)? {
        Some(0) => Err(QueryError::BadRequest(format!("{key} must be greater than zero"))),
        other => Ok(other),
    }
}

/// Parses `/api/v2/traces` parameters into a query with Zipkin's matching rules.
pub fn parse_trace_query(params: &Params, now: UnixNanos) -> Result<TraceQuery, QueryError> {
    let name = |key: &str| params.non_empty(key).map(str::to_owned);
    let operation = name("spanName").filter(|n| !n.eq_ignore_ascii_case("all"));
    let min = positive(params, "minDuration")?;
    let max = positive(params, "maxDuration")?;
    if max.is_some() && min.is_none() {
        return Err(QueryError::BadRequest("maxDuration is only valid with minDuration".into()));
    }
    if let (Some(min), Some(max)) = (min, max) {
        if max < min {
            return Err(QueryError::BadRequest("maxDuration should be >= minDuration".into()));
        }
    }
    let end_ms = positive(params, "endTs")?.unwrap_or(now.0 / 1_000_000);
    let lookback_ms = positive(params, "lookback")?.unwrap_or(DEFAULT_LOOKBACK_MS);
    let limit = positive(params, "limit")?.map_or(DEFAULT_LIMIT, |l| l as usize);
    // annotationQuery: terms joined by " and "; `k=v` is a tag with that value, a bare word is an
    // annotation value or a tag key.
    let tags = params
        .non_empty("annotationQuery")
        .map(|q| {
            q.split(" and ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|term| match term.split_once('=') {
                    Some((k, v)) => TagFilter { key: k.trim().to_owned(), value: Some(v.trim().to_owned()) },
                    None => TagFilter { key: term.to_owned(), value: None },
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TraceQuery {
        service: name("serviceName"),
        operation,
        span_kind: None,
        remote_service: name("remoteServiceName"),
        tags,
        min_duration: min.map(Duration::from_micros),
        max_duration: max.map(Duration::from_micros),
        start_min: UnixNanos::from_millis(end_ms.saturating_sub(lookback_ms)),
        // Zipkin compares microseconds: every start that truncates to endTs·1000 µs is inside.
        start_max: UnixNanos(UnixNanos::from_millis(end_ms).0.saturating_add(999)),
        limit,
        rule: MatchRule::ZipkinJoint,
        ignore_case: true,
    })
}

async fn traces(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let query = parse_trace_query(&params, UnixNanos::now())?;
        state.find_traces(query, View::Raw).await
    }
    .await;
    match result {
        Ok(traces) => Json(traces.iter().map(trace_to_zipkin).collect::<Vec<_>>()).into_response(),
        Err(e) => error(e),
    }
}

/// Parses a Zipkin trace id: 1 to 32 hex digits, either case, left-padded.
pub fn parse_trace_id(text: &str) -> Result<TraceId, QueryError> {
    TraceId::from_hex(text.trim()).map_err(|e| QueryError::BadRequest(e.to_string()))
}

async fn trace(State(state): State<QueryState>, Path(id): Path<String>) -> Response {
    let result = async {
        let trace_id = parse_trace_id(&id)?;
        state
            .trace(trace_id, View::Raw)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("{} not found", id.to_ascii_lowercase())))
    }
    .await;
    match result {
        Ok(trace) => Json(trace_to_zipkin(&trace)).into_response(),
        Err(e) => error(e),
    }
}

/// The ids of `traceIds`: at least two, no id twice (however it is padded or cased), as Zipkin.
pub fn parse_trace_ids(params: &Params) -> Result<Vec<TraceId>, QueryError> {
    let text = required(params, "traceIds")?;
    let mut ids: Vec<TraceId> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = parse_trace_id(part)?;
        if ids.contains(&id) {
            return Err(QueryError::BadRequest(format!("redundant trace id {part} in traceIds")));
        }
        ids.push(id);
    }
    if ids.len() < 2 {
        return Err(QueryError::BadRequest(
            "traceIds needs at least two trace ids: use /api/v2/trace/{traceId} for one".into(),
        ));
    }
    Ok(ids)
}

/// `GET /api/v2/traceMany?traceIds=a,b`: the traces found, in the order asked; unknown ids are skipped.
async fn trace_many(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let mut traces = Vec::new();
        for id in parse_trace_ids(&params)? {
            if let Some(trace) = state.trace(id, View::Raw).await? {
                traces.push(trace_to_zipkin(&trace));
            }
        }
        Ok(traces)
    }
    .await;
    match result {
        Ok(traces) => Json(traces).into_response(),
        Err(e) => error(e),
    }
}

/// `GET /api/v2/autocompleteKeys`: the keys configured with `--autocomplete-keys`.
async fn autocomplete_keys(State(state): State<QueryState>) -> Response {
    name_list(state.autocomplete_keys())
}

/// `GET /api/v2/autocompleteValues?key=`: values seen for one of those keys.
async fn autocomplete_values(State(state): State<QueryState>, RawQuery(raw): RawQuery) -> Response {
    let result = async {
        let params = Params::parse(raw.as_deref())?;
        let key = required(&params, "key")?.to_owned();
        state.autocomplete_values(key).await
    }
    .await;
    result.map_or_else(error, name_list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_many_needs_two_distinct_ids() {
        let ids = |q: &str| parse_trace_ids(&params(q)).map_err(|e| e.to_string());
        assert_eq!(ids("traceIds=a,00000000000000B").unwrap().len(), 2);
        assert!(ids("traceIds=").unwrap_err().contains("traceIds is required"));
        assert!(ids("traceIds=abc").unwrap_err().contains("at least two"));
        assert!(ids("traceIds=abc,0000000000000ABC").unwrap_err().contains("redundant"));
        assert!(ids("traceIds=abc,xyz").is_err());
    }

    fn params(q: &str) -> Params {
        Params::parse(Some(q)).unwrap()
    }

    #[test]
    fn max_duration_needs_min_duration() {
        let err = parse_trace_query(&params("maxDuration=10"), UnixNanos(0)).unwrap_err();
        assert_eq!(err.to_string(), "maxDuration is only valid with minDuration");
    }

    #[test]
    fn units_are_milliseconds_and_microseconds() {
        let q = parse_trace_query(
            &params("serviceName=web&endTs=2000&lookback=500&minDuration=1500&limit=3&spanName=all"),
            UnixNanos(0),
        )
        .unwrap();
        assert_eq!(q.start_min, UnixNanos(1_500_000_000));
        assert_eq!(q.start_max, UnixNanos(2_000_000_999));
        assert_eq!(q.min_duration, Some(Duration::from_micros(1500)));
        assert_eq!(q.limit, 3);
        assert_eq!(q.operation, None);
        assert_eq!(q.service.as_deref(), Some("web"));
    }

    #[test]
    fn defaults_are_zipkins() {
        let now = UnixNanos::from_millis(100_000_000);
        let q = parse_trace_query(&params(""), now).unwrap();
        assert_eq!(q.limit, 10);
        assert_eq!(q.start_min, UnixNanos::from_millis(100_000_000 - 86_400_000));
    }

    #[test]
    fn annotation_query_splits_on_and() {
        let q = parse_trace_query(&params("annotationQuery=error+and+http.method%3DGET"), UnixNanos(1)).unwrap();
        assert_eq!(
            q.tags,
            vec![
                TagFilter { key: "error".into(), value: None },
                TagFilter { key: "http.method".into(), value: Some("GET".into()) },
            ]
        );
    }

    #[test]
    fn rejects_non_positive_and_garbage() {
        assert!(parse_trace_query(&params("limit=0"), UnixNanos(1)).is_err());
        assert!(parse_trace_query(&params("lookback=abc"), UnixNanos(1)).is_err());
        assert!(parse_trace_query(&params("minDuration=5&maxDuration=4"), UnixNanos(1)).is_err());
    }

    #[test]
    fn trace_ids_are_padded_and_case_insensitive() {
        assert_eq!(parse_trace_id("ABC").unwrap().to_hex(), "00000000000000000000000000000abc");
        assert!(parse_trace_id("xyz").is_err());
        assert!(parse_trace_id(&"1".repeat(33)).is_err());
    }
}
