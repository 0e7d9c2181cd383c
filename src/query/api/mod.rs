//! tracehound's own REST API (`/api/v1/...`, JSON): traces (OTLP) and trace search, the live
//! statistics, and its OpenAPI 3 document generated from the handlers and types by `utoipa`.
//!
//! Errors are `{"error": "..."}` with the HTTP status: 400 naming the parameter at fault, 404 for
//! a trace or series that does not exist, 501 when statistics are disabled.

mod params;
mod stats;
pub mod traces;
pub mod window;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub use params::{parse_span_kind, span_kind_name};

use crate::query::{QueryError, QueryState};

/// Why a request to our API failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is missing or malformed (400).
    #[error("parameter '{param}': {reason}")]
    BadParameter {
        /// The parameter, as spelled in the query string.
        param: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The query string cannot be read, e.g. a parameter is repeated (400).
    #[error("{0}")]
    BadQuery(String),
    /// The trace or series asked for does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// Statistics are turned off (501).
    #[error("live statistics are disabled: start tracehound without --disable-stats")]
    Disabled,
    /// Reading failed (500).
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadParameter { .. } | Self::BadQuery(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Disabled => StatusCode::NOT_IMPLEMENTED,
            Self::Query(e) => e.http_status(),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong; for a 400, the parameter at fault and what it should be.
    pub error: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(ErrorBody { error: self.to_string() })).into_response()
    }
}

/// The OpenAPI document of our API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracehound API",
        description = "Traces as OTLP and trace search; live RED statistics (rate, errors, duration) per \
                       service, operation, root operation and service dependency. Latencies in milliseconds, \
                       rates per second, error rates as a fraction of calls, times RFC 3339 in UTC."
    ),
    paths(
        traces::trace,
        traces::search,
        stats::services,
        stats::operations,
        stats::timeseries,
        stats::dependencies,
        openapi_json
    ),
    tags(
        (name = "traces", description = "Stored traces: one trace as OTLP, or a search answered with one summary per trace"),
        (name = "stats", description = "Live statistics, kept for 24 hours: one-minute buckets for the last hour, 15-minute buckets before")
    )
)]
pub struct ApiDoc;

/// This OpenAPI 3 document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json"))
)]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Our API's routes.
pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/api/v1/traces", get(traces::search))
        .route("/api/v1/traces/{trace_id}", get(traces::trace))
        .route("/api/v1/stats/services", get(stats::services))
        .route("/api/v1/stats/operations", get(stats::operations))
        .route("/api/v1/stats/timeseries", get(stats::timeseries))
        .route("/api/v1/dependencies", get(stats::dependencies))
        .route("/api/v1/openapi.json", get(openapi_json))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_lists_every_route_with_its_parameters() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/v1/traces",
            "/api/v1/traces/{traceId}",
            "/api/v1/stats/services",
            "/api/v1/stats/operations",
            "/api/v1/stats/timeseries",
            "/api/v1/dependencies",
            "/api/v1/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
        }
        let names: Vec<&str> = doc["paths"]["/api/v1/stats/timeseries"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in ["service", "operation", "level", "quantiles", "step", "start", "end", "lookback", "spanKind"] {
            assert!(names.contains(&name), "{name} not in {names:?}");
        }
        let service = &doc["paths"]["/api/v1/stats/timeseries"]["get"]["parameters"][0];
        assert_eq!((&service["name"], &service["required"]), (&"service".into(), &true.into()));
        assert!(doc["components"]["schemas"]["TimeseriesResponse"].is_object());
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    }

    #[test]
    fn errors_are_json_with_the_status() {
        let e = ApiError::BadParameter { param: "step", reason: "must be whole minutes".into() };
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.to_string(), "parameter 'step': must be whole minutes");
        assert_eq!(ApiError::Disabled.status(), StatusCode::NOT_IMPLEMENTED);
        assert_eq!(ApiError::from(QueryError::BadRequest("x".into())).status(), StatusCode::BAD_REQUEST);
    }
}
