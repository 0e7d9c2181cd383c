//! Remote sampling over HTTP: `GET <any path>?service=NAME` on the sampling port (5778), as
//! Jaeger v2's `remote_sampling.http` answers, and `GET /api/sampling?service=NAME` on the
//! collector's thrift-HTTP port (14268), as Jaeger v1's collector did. Both reply with the
//! proto-JSON of the service's strategy.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::json::to_proto_json;
use super::strategies::SamplingStrategies;

/// The path the collector port serves sampling strategies on.
pub const COLLECTOR_SAMPLING_PATH: &str = "/api/sampling";

/// Jaeger's reply, text and trailing newline included, when `service` is absent or repeated.
const SERVICE_ONCE: &str = "'service' parameter must be provided once\n";

/// The sampling port's routes: GET (and HEAD) on every path; other methods get 405.
pub fn router(strategies: Arc<SamplingStrategies>) -> Router {
    Router::new().route("/", get(sampling_strategy)).route("/{*path}", get(sampling_strategy)).with_state(strategies)
}

/// The collector port's route: GET `/api/sampling`, to be merged into the thrift-HTTP router.
pub fn collector_routes(strategies: Arc<SamplingStrategies>) -> Router {
    Router::new().route(COLLECTOR_SAMPLING_PATH, get(sampling_strategy)).with_state(strategies)
}

/// Answers `?service=NAME` with that service's strategy as proto-JSON.
pub async fn sampling_strategy(State(strategies): State<Arc<SamplingStrategies>>, query: RawQuery) -> Response {
    match service_param(query.0.as_deref().unwrap_or("")) {
        Some(service) => {
            let body = to_proto_json(&strategies.strategy_for(&service));
            ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            SERVICE_ONCE,
        )
            .into_response(),
    }
}

/// The value of `service` if the query string holds it exactly once (an empty value counts).
fn service_param(query: &str) -> Option<String> {
    // Decoding into strings cannot fail: bad percent escapes are kept as written.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let mut services = pairs.into_iter().filter(|(key, _)| key == "service").map(|(_, value)| value);
    let first = services.next()?;
    services.next().is_none().then_some(first)
}
