//! Wiring only: builds each stage, binds every listener, runs them, and shuts down in data-flow
//! order (receivers first, finishing in-flight batches; then the assembler; then the query APIs).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::assembler::Assembler;
use crate::config::Settings;
use crate::pipeline::Ingest;
use crate::query::QueryState;
use crate::receiver::otlp::grpc::OtlpGrpcReceiver;
use crate::receiver::otlp::http::OtlpHttpReceiver;
use crate::store::{MemoryStore, Store};
use crate::telemetry::Telemetry;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not bind its address.
    #[error("cannot listen on {addr} for {what}: {source}")]
    Bind {
        /// What the listener serves.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Where each listener is bound (ports resolved when 0 was asked for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundAddrs {
    /// OTLP/gRPC.
    pub otlp_grpc: SocketAddr,
    /// OTLP/HTTP.
    pub otlp_http: SocketAddr,
    /// Zipkin API.
    pub zipkin: SocketAddr,
    /// Jaeger HTTP API and metrics.
    pub query: SocketAddr,
}

/// A started server.
pub struct Running {
    /// Bound addresses.
    pub addrs: BoundAddrs,
    /// The server's counters.
    pub telemetry: Arc<Telemetry>,
    /// Cancelling this stops everything at once; [`Running::shutdown`] stops in order.
    pub cancel: CancellationToken,
    receivers_cancel: CancellationToken,
    receivers: JoinSet<()>,
    others: JoinSet<()>,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { what, addr, source })
}

fn local_addr(listener: &TcpListener, fallback: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(fallback)
}

/// Builds every stage with the in-memory store, binds every listener and starts serving.
pub async fn start(settings: Settings) -> Result<Running, ServerError> {
    let store_settings = settings.store.clone();
    start_with_store(settings, move |telemetry| Arc::new(MemoryStore::new(store_settings, telemetry))).await
}

/// Like [`start`], with the store built by `make_store` from the server's telemetry.
pub async fn start_with_store(
    settings: Settings,
    make_store: impl FnOnce(Arc<Telemetry>) -> Arc<dyn Store>,
) -> Result<Running, ServerError> {
    let l = &settings.listen;
    let otlp_grpc = bind("OTLP/gRPC", l.otlp_grpc).await?;
    let otlp_http = bind("OTLP/HTTP", l.otlp_http).await?;
    let zipkin = bind("Zipkin API", l.zipkin).await?;
    let query = bind("query API", l.query).await?;
    let addrs = BoundAddrs {
        otlp_grpc: local_addr(&otlp_grpc, l.otlp_grpc),
        otlp_http: local_addr(&otlp_http, l.otlp_http),
        zipkin: local_addr(&zipkin, l.zipkin),
        query: local_addr(&query, l.query),
    };

    let cancel = CancellationToken::new();
    let receivers_cancel = cancel.child_token();
    let telemetry = Arc::new(Telemetry::default());
    let store = make_store(telemetry.clone());
    let assembler = Arc::new(Assembler::new(settings.assembler.clone(), store.clone(), telemetry.clone()));
    let ingest = Ingest::new(&settings.ingest, assembler.clone(), telemetry.clone(), receivers_cancel.clone());
    let max_body = settings.ingest.max_request_bytes;

    let mut receivers = JoinSet::new();
    let grpc = OtlpGrpcReceiver::new(ingest.clone(), telemetry.clone(), max_body);
    let token = receivers_cancel.clone();
    receivers.spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(otlp_grpc).with_nodelay(Some(true));
        let served = tonic::transport::Server::builder()
            .max_concurrent_streams(256)
            .add_service(grpc)
            .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "OTLP/gRPC receiver failed");
        }
    });
    let http = OtlpHttpReceiver::new(ingest, telemetry.clone(), max_body).router();
    receivers.spawn(serve_http("OTLP/HTTP", otlp_http, http, receivers_cancel.clone()));

    let mut others = JoinSet::new();
    others.spawn(assembler.run(cancel.clone()));
    let state = QueryState::new(store, telemetry.clone());
    others.spawn(serve_http("Zipkin API", zipkin, crate::query::zipkin::router(state.clone()), cancel.clone()));
    others.spawn(serve_http(
        "query API",
        query,
        crate::query::jaeger::router(state.clone()).merge(crate::query::metrics_router(state)),
        cancel.clone(),
    ));

    tracing::info!(
        otlp_grpc = %addrs.otlp_grpc,
        otlp_http = %addrs.otlp_http,
        zipkin = %addrs.zipkin,
        query = %addrs.query,
        "tracehound listening"
    );
    Ok(Running { addrs, telemetry, cancel, receivers_cancel, receivers, others })
}

async fn serve_http(what: &'static str, listener: TcpListener, router: axum::Router, cancel: CancellationToken) {
    let served = axum::serve(listener, router).with_graceful_shutdown(cancel.cancelled_owned()).await;
    if let Err(e) = served {
        tracing::error!(error = %e, listener = what, "listener failed");
    }
}

impl Running {
    /// Stops in data-flow order: receivers finish their in-flight batches first, then the rest.
    pub async fn shutdown(mut self) {
        self.receivers_cancel.cancel();
        while self.receivers.join_next().await.is_some() {}
        self.cancel.cancel();
        while self.others.join_next().await.is_some() {}
        tracing::info!("tracehound stopped");
    }
}
