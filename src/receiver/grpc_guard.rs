//! A tower wrapper for generated tonic ingest services: takes a request slot before the body is
//! read (bounding bodies in flight), and corrects tonic's own failure codes to the ones every
//! tracing collector uses: a message that cannot be decoded is INVALID_ARGUMENT (tonic says
//! INTERNAL), a message over the size cap is RESOURCE_EXHAUSTED (tonic says OUT_OF_RANGE).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;
use tonic::server::NamedService;

use crate::pipeline::Ingest;
use crate::receiver::IngestError;
use crate::telemetry::{ReceiverKind, RefusalReason, Telemetry};

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

/// A generated ingest service guarded by request slots, with corrected decode-failure codes.
#[derive(Clone)]
pub struct GuardedIngestService<S> {
    inner: S,
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
    kind: ReceiverKind,
}

impl<S> GuardedIngestService<S> {
    /// Wraps `inner`, counting refusals under `kind`.
    pub fn new(inner: S, ingest: Ingest, telemetry: Arc<Telemetry>, kind: ReceiverKind) -> Self {
        Self { inner, ingest, telemetry, kind }
    }
}

impl<S: NamedService> NamedService for GuardedIngestService<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for GuardedIngestService<S>
where
    S: tower::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        // The clone is the one that was made ready; keep it and leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (ingest, telemetry, kind) = (self.ingest.clone(), self.telemetry.clone(), self.kind);
        Box::pin(async move {
            let _slot = match ingest.admit_request() {
                Ok(slot) => slot,
                Err(refusal) => {
                    let error = IngestError::from(refusal);
                    telemetry.batch_refused(kind, error.reason(), 0);
                    return Ok(error.grpc_status().into_http());
                }
            };
            let mut response = inner.call(request).await?;
            let headers = response.headers_mut();
            let code = headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i32>().ok());
            let (new_code, reason) = match code.map(tonic::Code::from) {
                Some(tonic::Code::OutOfRange) => (tonic::Code::ResourceExhausted, RefusalReason::TooLarge),
                // Handlers behind this guard never fail with INTERNAL: this came from decoding.
                Some(tonic::Code::Internal) => (tonic::Code::InvalidArgument, RefusalReason::Malformed),
                _ => return Ok(response),
            };
            headers.insert("grpc-status", HeaderValue::from(new_code as i32));
            telemetry.batch_refused(kind, reason, 0);
            Ok(response)
        })
    }
}
