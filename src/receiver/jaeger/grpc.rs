//! Jaeger collector gRPC: `jaeger.api_v2.CollectorService/PostSpans` (PROTOCOLS §5.2), served
//! with `SamplingManager` on the Jaeger gRPC port (14250).
//!
//! Jaeger has no partial success: a batch with some invalid spans is accepted with the valid ones
//! (the rest are counted); a batch whose every span is invalid is INVALID_ARGUMENT.

use std::sync::Arc;

use tonic::codec::CompressionEncoding;

use super::convert::batch_into_model;
use crate::pipeline::Ingest;
use crate::proto::jaeger::api_v2::collector_service_server::{CollectorService, CollectorServiceServer};
use crate::proto::jaeger::api_v2::{PostSpansRequest, PostSpansResponse};
use crate::receiver::grpc_guard::GuardedIngestService;
use crate::receiver::{deliver, IngestError};
use crate::telemetry::{ReceiverKind, Telemetry};

/// Batches with more spans than this are converted on a blocking thread.
const INLINE_CONVERT_SPANS: usize = 1024;

/// The Jaeger collector gRPC service.
#[derive(Clone)]
pub struct JaegerGrpcReceiver {
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
}

impl JaegerGrpcReceiver {
    /// A receiver submitting to `ingest`.
    pub fn new(ingest: Ingest, telemetry: Arc<Telemetry>) -> Self {
        Self { ingest, telemetry }
    }

    /// The tonic service, refusing messages above `max_request_bytes` after decompression.
    pub fn service(self, max_request_bytes: usize) -> GuardedIngestService<CollectorServiceServer<Self>> {
        let (ingest, telemetry) = (self.ingest.clone(), self.telemetry.clone());
        let server = CollectorServiceServer::new(self)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(max_request_bytes);
        GuardedIngestService::new(server, ingest, telemetry, ReceiverKind::JaegerGrpc)
    }
}

#[tonic::async_trait]
impl CollectorService for JaegerGrpcReceiver {
    async fn post_spans(
        &self,
        request: tonic::Request<PostSpansRequest>,
    ) -> Result<tonic::Response<PostSpansResponse>, tonic::Status> {
        const KIND: ReceiverKind = ReceiverKind::JaegerGrpc;
        let Some(batch) = request.into_inner().batch else {
            return Ok(tonic::Response::new(PostSpansResponse {}));
        };
        let converted = if batch.spans.len() <= INLINE_CONVERT_SPANS {
            batch_into_model(batch)
        } else {
            tokio::task::spawn_blocking(move || batch_into_model(batch))
                .await
                .map_err(|e| tonic::Status::unavailable(format!("conversion task failed: {e}")))?
        };
        if converted.rejected > 0 && converted.rejected == converted.received {
            self.telemetry.batch_decoded(KIND, converted.received, converted.rejected);
            let error = IngestError::Malformed(converted.rejection_summary().unwrap_or_default());
            self.telemetry.batch_refused(KIND, error.reason(), 0);
            return Err(error.grpc_status());
        }
        match deliver(&self.ingest, &self.telemetry, KIND, converted).await {
            Ok(summary) => {
                if let Some(summary) = summary {
                    tracing::debug!(receiver = KIND.label(), %summary, "spans rejected");
                }
                Ok(tonic::Response::new(PostSpansResponse {}))
            }
            Err(error) => Err(error.grpc_status()),
        }
    }
}
