//! Query APIs: each parses its parameters into one `TraceQuery`, asks the store through
//! [`QueryState`], and encodes the answer in its own format. Store calls run on blocking threads
//! so a long scan never stalls the reactor.

pub mod adjust;
pub mod api;
pub mod jaeger;
pub mod otlp;
pub mod zipkin;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::model::query::TraceQuery;
use crate::model::{SpanKind, Trace, TraceId};
use crate::stats::red::Stats;
use crate::store::{Operation, Store, StoreError};
use crate::telemetry::Telemetry;

/// Why a query could not be answered; each API renders it in its own error format.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    /// A parameter is missing or malformed (400).
    #[error("{0}")]
    BadRequest(String),
    /// The thing asked for does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The store failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueryError {
    /// The HTTP status for this error.
    pub fn http_status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What every query API reads from: the store, the live statistics and the server's counters.
#[derive(Clone)]
pub struct QueryState {
    store: Arc<dyn Store>,
    telemetry: Arc<Telemetry>,
    stats: Arc<Stats>,
    max_clock_skew_adjustment: std::time::Duration,
}

/// How a trace is shown: as stored, or with its clock skew adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Exactly as stored (Jaeger's `raw`, and every Zipkin and OTLP read).
    Raw,
    /// Clock skew adjusted, with a warning on each adjusted span (Jaeger's default view).
    Adjusted,
}

impl View {
    /// `Raw` when the client asked for raw traces, else `Adjusted`.
    pub fn raw_if(raw: bool) -> Self {
        if raw {
            Self::Raw
        } else {
            Self::Adjusted
        }
    }
}

impl QueryState {
    /// Query state over a store and the assembler's statistics.
    pub fn new(store: Arc<dyn Store>, telemetry: Arc<Telemetry>, stats: Arc<Stats>) -> Self {
        Self { store, telemetry, stats, max_clock_skew_adjustment: adjust::DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT }
    }

    /// The same state, adjusting clock skew by at most `max` (zero: only warn).
    pub fn with_max_clock_skew_adjustment(mut self, max: std::time::Duration) -> Self {
        self.max_clock_skew_adjustment = max;
        self
    }

    /// The live statistics.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Calls between services whose spans arrived in `[end − lookback, end]` (milliseconds since
    /// the epoch; the statistics' one-minute buckets overlapping that range).
    pub async fn dependencies(&self, end_ms: u64, lookback_ms: u64) -> Vec<crate::stats::red::Dependency> {
        let stats = self.stats.clone();
        let start = end_ms.saturating_sub(lookback_ms) / 60_000;
        let end = end_ms / 60_000 + 1;
        tokio::task::spawn_blocking(move || stats.dependencies(start, end)).await.unwrap_or_default()
    }

    /// Runs `read` against the live statistics on a blocking thread: they sit behind a mutex.
    pub async fn read_stats<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Stats) -> T + Send + 'static,
    ) -> Result<T, QueryError> {
        let stats = self.stats.clone();
        tokio::task::spawn_blocking(move || read(&stats))
            .await
            .map_err(|e| QueryError::Store(StoreError::Unavailable(format!("statistics task failed: {e}"))))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, QueryError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| QueryError::Store(StoreError::Unavailable(format!("query task failed: {e}"))))?
            .map_err(QueryError::from)
    }

    /// Traces answering the query, newest first, shown as `view` asks.
    pub async fn find_traces(&self, query: TraceQuery, view: View) -> Result<Vec<Trace>, QueryError> {
        let max = self.max_clock_skew_adjustment;
        self.blocking(move |s| {
            let traces = s.find_traces(&query)?;
            Ok(match view {
                View::Raw => traces,
                View::Adjusted => traces.iter().map(|t| adjust::adjust_clock_skew(t, max)).collect(),
            })
        })
        .await
    }

    /// One trace by id, shown as `view` asks.
    pub async fn trace(&self, id: TraceId, view: View) -> Result<Option<Trace>, QueryError> {
        let max = self.max_clock_skew_adjustment;
        self.blocking(move |s| {
            let trace = s.trace(id)?;
            Ok(match view {
                View::Raw => trace,
                View::Adjusted => trace.map(|t| adjust::adjust_clock_skew(&t, max)),
            })
        })
        .await
    }

    /// Service names, sorted.
    pub async fn services(&self) -> Result<Vec<String>, QueryError> {
        self.blocking(|s| s.services()).await
    }

    /// Operations of a service, optionally of one kind.
    pub async fn operations(&self, service: String, kind: Option<SpanKind>) -> Result<Vec<Operation>, QueryError> {
        self.blocking(move |s| s.operations(&service, kind)).await
    }

    /// Tag keys offered for autocompletion.
    pub fn autocomplete_keys(&self) -> Vec<String> {
        self.store.autocomplete_keys()
    }

    /// Values seen for an autocomplete key.
    pub async fn autocomplete_values(&self, key: String) -> Result<Vec<String>, QueryError> {
        self.blocking(move |s| s.autocomplete_values(&key)).await
    }

    /// Remote services a service called.
    pub async fn remote_services(&self, service: String) -> Result<Vec<String>, QueryError> {
        self.blocking(move |s| s.remote_services(&service)).await
    }
}

/// `GET /metrics`: Prometheus exposition of tracehound's own figures, then the span metrics and
/// service-graph metrics (empty families when statistics are off).
pub fn metrics_router(state: QueryState) -> Router {
    Router::new().route(
        "/metrics",
        get(move || async move {
            let rendered = tokio::task::spawn_blocking(move || {
                let mut body = state.telemetry.render_prometheus();
                state.stats.render_prometheus(&mut body);
                body
            })
            .await;
            match rendered {
                Ok(body) => {
                    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, "rendering /metrics failed");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }),
    )
}

/// A request's query string as ordered key-value pairs (keys may repeat).
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string; malformed percent-encoding is a bad request.
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let raw = raw.unwrap_or("");
        serde_urlencoded::from_str(raw)
            .map(Self)
            .map_err(|e| QueryError::BadRequest(format!("malformed query string: {e}")))
    }

    /// The first value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of a key.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    /// Every value of a key, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of a key read as Go's `strconv.ParseBool` reads it (`1`, `t`,
    /// `true`, `TRUE` … and their false forms); absent is false.
    pub fn go_bool(&self, key: &str) -> Result<bool, QueryError> {
        match self.non_empty(key).map(str::trim) {
            None => Ok(false),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
            Some(v) => {
                Err(QueryError::BadRequest(format!("invalid value {v:?} for parameter {key}: use true or false")))
            }
        }
    }

    /// Parses the first non-empty value of a key with `FromStr`, naming the key on failure.
    pub fn parsed<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, QueryError> {
        self.non_empty(key)
            .map(|v| {
                v.trim().parse().map_err(|_| QueryError::BadRequest(format!("invalid value {v:?} for parameter {key}")))
            })
            .transpose()
    }
}
