//! OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`.
//!
//! Written as a plain tower service over `tonic::server::Grpc` (rather than the generated server)
//! so that tonic's own failure codes can be corrected to what OTLP requires: tonic reports a
//! message that cannot be decoded as INTERNAL (OTLP: INVALID_ARGUMENT) and a frame above the size
//! cap as OUT_OF_RANGE (OTLP: RESOURCE_EXHAUSTED).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use tonic::codec::{CompressionEncoding, EnabledCompressionEncodings};
use tonic::server::NamedService;

use super::convert::request_into_model;
use crate::pipeline::Ingest;
use crate::receiver::IngestError;
use crate::telemetry::{ReceiverKind, RefusalReason, Telemetry};

/// Requests with more spans than this are converted on a blocking thread.
const INLINE_CONVERT_SPANS: usize = 1024;

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

/// The gRPC method path of OTLP trace export.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The OTLP/gRPC trace service.
#[derive(Clone)]
pub struct OtlpGrpcReceiver {
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
    max_request_bytes: usize,
}

impl OtlpGrpcReceiver {
    /// A receiver submitting to `ingest`, refusing messages above `max_request_bytes` after decompression.
    pub fn new(ingest: Ingest, telemetry: Arc<Telemetry>, max_request_bytes: usize) -> Self {
        Self { ingest, telemetry, max_request_bytes }
    }

    async fn export(&self, request: ExportTraceServiceRequest) -> Result<ExportTraceServiceResponse, tonic::Status> {
        const KIND: ReceiverKind = ReceiverKind::OtlpGrpc;
        let spans_in_request: usize =
            request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        let converted = if spans_in_request <= INLINE_CONVERT_SPANS {
            request_into_model(request)
        } else {
            tokio::task::spawn_blocking(move || request_into_model(request))
                .await
                .map_err(|e| tonic::Status::internal(format!("conversion task failed: {e}")))?
        };
        self.telemetry.batch_decoded(KIND, converted.received, converted.rejected);
        let partial_success = converted.partial_success();
        let spans = converted.batch.span_count();
        if let Err(refusal) = self.ingest.submit(converted.batch).await {
            let error = IngestError::from(refusal);
            self.telemetry.batch_refused(KIND, error.reason(), spans);
            return Err(error.grpc_status());
        }
        self.telemetry.batch_accepted(KIND, spans);
        Ok(ExportTraceServiceResponse { partial_success })
    }

    /// Rewrites tonic's decode-failure codes in a trailers-only reply to the ones OTLP requires.
    fn correct_decode_failure(
        &self,
        mut response: http::Response<tonic::body::Body>,
    ) -> http::Response<tonic::body::Body> {
        let headers = response.headers_mut();
        let code = headers.get("grpc-status").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i32>().ok());
        let (new_code, reason) = match code.map(tonic::Code::from) {
            Some(tonic::Code::OutOfRange) | Some(tonic::Code::ResourceExhausted) => {
                (tonic::Code::ResourceExhausted, RefusalReason::TooLarge)
            }
            // Our handler never fails with INTERNAL: this one came from decoding the request.
            Some(tonic::Code::Internal) => (tonic::Code::InvalidArgument, RefusalReason::Malformed),
            _ => return response,
        };
        headers.insert("grpc-status", HeaderValue::from(new_code as i32));
        self.telemetry.batch_refused(ReceiverKind::OtlpGrpc, reason, 0);
        response
    }
}

impl NamedService for OtlpGrpcReceiver {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

struct ExportMethod(OtlpGrpcReceiver);

impl tonic::server::UnaryService<ExportTraceServiceRequest> for ExportMethod {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<tonic::Response<ExportTraceServiceResponse>, tonic::Status>;

    fn call(&mut self, request: tonic::Request<ExportTraceServiceRequest>) -> Self::Future {
        let receiver = self.0.clone();
        Box::pin(async move { receiver.export(request.into_inner()).await.map(tonic::Response::new) })
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for OtlpGrpcReceiver {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let receiver = self.clone();
        Box::pin(async move {
            if request.uri().path() != EXPORT_PATH {
                return Ok(tonic::Status::unimplemented(format!("unknown method {}", request.uri().path())).into_http());
            }
            // Take a request slot before tonic reads the body, bounding the memory of bodies in flight.
            let _slot = match receiver.ingest.admit_request() {
                Ok(slot) => slot,
                Err(refusal) => {
                    let error = IngestError::from(refusal);
                    receiver.telemetry.batch_refused(ReceiverKind::OtlpGrpc, error.reason(), 0);
                    return Ok(error.grpc_status().into_http());
                }
            };
            let mut accept = EnabledCompressionEncodings::default();
            accept.enable(CompressionEncoding::Gzip);
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<
                ExportTraceServiceResponse,
                ExportTraceServiceRequest,
            >::default())
            .apply_compression_config(accept, EnabledCompressionEncodings::default())
            .apply_max_message_size_config(Some(receiver.max_request_bytes), None);
            let response = grpc.unary(ExportMethod(receiver.clone()), request).await;
            Ok(receiver.correct_decode_failure(response))
        })
    }
}
