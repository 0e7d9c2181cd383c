//! Wiring only: builds each stage, binds every listener, runs them, and shuts down in data-flow
//! order (receivers first, finishing in-flight batches; then the assembler; then the query APIs).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::assembler::Assembler;
use crate::config::Settings;
use crate::pipeline::Ingest;
use crate::query::QueryState;
use crate::receiver::jaeger::agent_udp::JaegerAgentReceiver;
use crate::receiver::jaeger::grpc::JaegerGrpcReceiver;
use crate::receiver::jaeger::sampling::{self, SamplingError, SamplingManagerService, SamplingStrategies};
use crate::receiver::jaeger::thrift_http::JaegerThriftHttpReceiver;
use crate::receiver::otlp::grpc::OtlpGrpcReceiver;
use crate::receiver::otlp::http::OtlpHttpReceiver;
use crate::receiver::thrift::Protocol;
use crate::receiver::zipkin::http::ZipkinHttpReceiver;
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
    /// The sampling strategies file could not be loaded.
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Where each listener is bound: the configured addresses with ports resolved where 0 was asked for.
pub type BoundAddrs = crate::config::ListenSettings;

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

async fn bind_udp(what: &'static str, addr: SocketAddr) -> Result<UdpSocket, ServerError> {
    UdpSocket::bind(addr).await.map_err(|source| ServerError::Bind { what, addr, source })
}

fn local_addr(listener: &TcpListener, fallback: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(fallback)
}

/// Builds every stage with the in-memory store, binds every listener and starts serving.
pub async fn start(settings: Settings) -> Result<Running, ServerError> {
    let store_settings = settings.store.clone();
    match settings.storage.clone() {
        crate::config::Storage::Memory => {
            start_with_store(settings, move |telemetry| Arc::new(MemoryStore::new(store_settings, telemetry))).await
        }
        crate::config::Storage::Disk { dir, durability, limits } => {
            try_start_with_store(settings, move |telemetry| {
                let store = crate::store::DiskStore::open(&dir, &store_settings, durability, limits, telemetry)?;
                tracing::info!(dir = %dir.display(), "disk store opened");
                Ok(Arc::new(store) as Arc<dyn Store>)
            })
            .await
        }
    }
}

/// Like [`start`], with the store built by `make_store` from the server's telemetry.
pub async fn start_with_store(
    settings: Settings,
    make_store: impl FnOnce(Arc<Telemetry>) -> Arc<dyn Store>,
) -> Result<Running, ServerError> {
    try_start_with_store(settings, |telemetry| Ok(make_store(telemetry))).await
}

/// Like [`start_with_store`], with a store that may fail to open.
pub async fn try_start_with_store(
    settings: Settings,
    make_store: impl FnOnce(Arc<Telemetry>) -> Result<Arc<dyn Store>, crate::store::StoreError>,
) -> Result<Running, ServerError> {
    let l = &settings.listen;
    let otlp_grpc = bind("OTLP/gRPC", l.otlp_grpc).await?;
    let otlp_http = bind("OTLP/HTTP", l.otlp_http).await?;
    let zipkin = bind("Zipkin API", l.zipkin).await?;
    let query = bind("query API", l.query).await?;
    let jaeger_grpc = bind("Jaeger gRPC collector", l.jaeger_grpc).await?;
    let jaeger_query_grpc = bind("Jaeger gRPC query", l.jaeger_query_grpc).await?;
    let jaeger_http = bind("Jaeger thrift HTTP collector", l.jaeger_http).await?;
    let jaeger_compact = bind_udp("Jaeger agent (compact thrift)", l.jaeger_compact).await?;
    let jaeger_binary = bind_udp("Jaeger agent (binary thrift)", l.jaeger_binary).await?;
    let sampling_listener = bind("Jaeger remote sampling", l.sampling).await?;
    let addrs = BoundAddrs {
        otlp_grpc: local_addr(&otlp_grpc, l.otlp_grpc),
        otlp_http: local_addr(&otlp_http, l.otlp_http),
        zipkin: local_addr(&zipkin, l.zipkin),
        query: local_addr(&query, l.query),
        jaeger_grpc: local_addr(&jaeger_grpc, l.jaeger_grpc),
        jaeger_query_grpc: local_addr(&jaeger_query_grpc, l.jaeger_query_grpc),
        jaeger_http: local_addr(&jaeger_http, l.jaeger_http),
        jaeger_compact: jaeger_compact.local_addr().unwrap_or(l.jaeger_compact),
        jaeger_binary: jaeger_binary.local_addr().unwrap_or(l.jaeger_binary),
        sampling: local_addr(&sampling_listener, l.sampling),
    };
    let strategies = Arc::new(match &settings.sampling_strategies {
        Some(path) => SamplingStrategies::from_file(path)?,
        None => SamplingStrategies::default(),
    });

    let cancel = CancellationToken::new();
    let receivers_cancel = cancel.child_token();
    let telemetry = Arc::new(Telemetry::default());
    let store = make_store(telemetry.clone())?;
    let assembler = Arc::new(Assembler::new(settings.assembler.clone(), store.clone(), telemetry.clone()));
    // Statistics and traces in flight come back before the first new span is taken.
    let recovering = Instant::now();
    let recovered = {
        let assembler = assembler.clone();
        tokio::task::spawn_blocking(move || assembler.recover())
            .await
            .map_err(|e| crate::store::StoreError::Unavailable(format!("recovery task failed: {e}")))??
    };
    if recovered != Default::default() {
        tracing::info!(
            checkpoint = recovered.checkpoint,
            traces_rebuilt = recovered.traces_rebuilt,
            spans_replayed = recovered.spans_replayed,
            millis = recovering.elapsed().as_millis() as u64,
            "statistics and traces in flight restored"
        );
    }
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
    let http = OtlpHttpReceiver::new(ingest.clone(), telemetry.clone(), max_body).router();
    receivers.spawn(serve_http("OTLP/HTTP", otlp_http, http, receivers_cancel.clone()));

    let collector = JaegerGrpcReceiver::new(ingest.clone(), telemetry.clone()).service(max_body);
    let sampling_grpc = SamplingManagerService::new(strategies.clone()).server();
    let token = receivers_cancel.clone();
    receivers.spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(jaeger_grpc).with_nodelay(Some(true));
        let served = tonic::transport::Server::builder()
            .max_concurrent_streams(256)
            .add_service(collector)
            .add_service(sampling_grpc)
            .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "Jaeger gRPC collector failed");
        }
    });
    let thrift_http = JaegerThriftHttpReceiver::new(ingest.clone(), telemetry.clone(), max_body)
        .router()
        .merge(sampling::collector_routes(strategies.clone()));
    receivers.spawn(serve_http("Jaeger thrift HTTP collector", jaeger_http, thrift_http, receivers_cancel.clone()));
    for (socket, protocol) in [(jaeger_compact, Protocol::Compact), (jaeger_binary, Protocol::Binary)] {
        let agent = JaegerAgentReceiver::new(socket, protocol, ingest.clone(), telemetry.clone());
        receivers.spawn(agent.run(receivers_cancel.clone()));
    }
    let zipkin_ingest = ZipkinHttpReceiver::new(ingest, telemetry.clone(), max_body).router();

    let mut others = JoinSet::new();
    let stats = assembler.stats();
    others.spawn(assembler.run(cancel.clone()));
    let state = QueryState::new(store, telemetry.clone(), stats)
        .with_max_clock_skew_adjustment(settings.max_clock_skew_adjustment);
    let query_grpc = crate::query::jaeger::grpc_v2::JaegerQueryV2::server(state.clone());
    let query_grpc_v3 = crate::query::jaeger::grpc_v3::JaegerQueryV3::server(state.clone());
    let token = cancel.clone();
    others.spawn(async move {
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .build_v1();
        let incoming = tonic::transport::server::TcpIncoming::from(jaeger_query_grpc).with_nodelay(Some(true));
        let served = tonic::transport::Server::builder().add_service(query_grpc).add_service(query_grpc_v3);
        let served = match reflection {
            Ok(reflection) => served.add_service(reflection),
            Err(e) => {
                tracing::warn!(error = %e, "gRPC reflection unavailable on the Jaeger query port");
                served
            }
        };
        if let Err(e) = served.serve_with_incoming_shutdown(incoming, token.cancelled_owned()).await {
            tracing::error!(error = %e, "Jaeger gRPC query failed");
        }
    });
    // Zipkin serves ingest and queries on one port, as Zipkin does.
    let zipkin_router = crate::query::zipkin::router(state.clone()).merge(zipkin_ingest);
    others.spawn(serve_http("Zipkin API", zipkin, zipkin_router, cancel.clone()));
    others.spawn(serve_http("Jaeger remote sampling", sampling_listener, sampling::router(strategies), cancel.clone()));
    others.spawn(serve_http(
        "query API",
        query,
        crate::query::jaeger::router(state.clone())
            .merge(crate::query::api::router(state.clone()))
            .merge(crate::query::metrics_router(state))
            .merge(crate::ui::router())
            // Responses are gzipped for clients that accept it; the UI's files come gzipped already.
            // The fastest level: a 100,000-span trace is ~40 MB of JSON, and at the default level
            // compressing it took longer than sending it uncompressed over a fast network.
            .layer(tower_http::compression::CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest)),
        cancel.clone(),
    ));

    tracing::info!(
        otlp_grpc = %addrs.otlp_grpc,
        otlp_http = %addrs.otlp_http,
        zipkin = %addrs.zipkin,
        query = %addrs.query,
        jaeger_grpc = %addrs.jaeger_grpc,
        jaeger_query_grpc = %addrs.jaeger_query_grpc,
        jaeger_http = %addrs.jaeger_http,
        jaeger_compact = %addrs.jaeger_compact,
        jaeger_binary = %addrs.jaeger_binary,
        sampling = %addrs.sampling,
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
