//! Receivers: each knows one wire format, decodes requests into `model` values, hands batches to
//! the pipeline and turns the answer into its protocol's reply.
//!
//! [`IngestError`] is the one table from "what went wrong" to HTTP status and gRPC code, retryable
//! or not, as the OTLP specification defines them.

pub mod body;
pub mod grpc_guard;
pub mod jaeger;
pub mod otel_tags;
pub mod otlp;
pub mod thrift;
pub mod zipkin;

use std::time::Duration;

use axum::http::StatusCode;

use crate::pipeline::{Ingest, Refusal};
use crate::telemetry::{ReceiverKind, RefusalReason, Telemetry};

/// The model batch decoded from one request, and what was rejected from it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Converted {
    /// The valid spans.
    pub batch: crate::model::Batch,
    /// Spans in the request.
    pub received: usize,
    /// Invalid spans left out.
    pub rejected: usize,
    /// Why the first rejected span was rejected.
    pub first_error: Option<String>,
}

impl Converted {
    /// Counts one invalid span, keeping the first reason.
    pub fn reject(&mut self, reason: impl std::fmt::Display) {
        self.rejected += 1;
        if self.first_error.is_none() {
            self.first_error = Some(reason.to_string());
        }
    }

    /// A one-line summary of what was rejected, `None` when nothing was.
    pub fn rejection_summary(&self) -> Option<String> {
        (self.rejected > 0).then(|| {
            format!(
                "{} of {} spans rejected; first: {}",
                self.rejected,
                self.received,
                self.first_error.as_deref().unwrap_or("invalid span")
            )
        })
    }
}

/// Hands a decoded batch to the pipeline and counts the outcome for `kind`; on success returns
/// the summary of spans rejected while decoding, if any.
pub async fn deliver(
    ingest: &Ingest,
    telemetry: &Telemetry,
    kind: ReceiverKind,
    converted: Converted,
) -> Result<Option<String>, IngestError> {
    telemetry.batch_decoded(kind, converted.received, converted.rejected);
    let summary = converted.rejection_summary();
    let spans = converted.batch.span_count();
    if let Err(refusal) = ingest.submit(converted.batch).await {
        let error = IngestError::from(refusal);
        telemetry.batch_refused(kind, error.reason(), spans);
        return Err(error);
    }
    telemetry.batch_accepted(kind, spans);
    Ok(summary)
}

/// The HTTP ingest path after content negotiation, as Zipkin's and Jaeger's collectors answer it:
/// takes a request slot, reads and decompresses the body within `limit`, decodes it with `decode`
/// (off the reactor when large), refuses a request whose every span was invalid, and delivers the
/// rest. Every outcome is counted under `kind`; on success, the summary of spans left out.
pub async fn receive_http_batch(
    ingest: &Ingest,
    telemetry: &Telemetry,
    kind: ReceiverKind,
    headers: &axum::http::HeaderMap,
    request_body: axum::body::Body,
    limit: usize,
    decode: impl FnOnce(&[u8]) -> Result<Converted, IngestError> + Send + 'static,
) -> Result<Option<String>, IngestError> {
    let refused = |error: IngestError| {
        telemetry.batch_refused(kind, error.reason(), 0);
        error
    };
    let _slot = ingest.admit_request().map_err(|e| refused(e.into()))?;
    let encoding = body::encoding_of(headers).map_err(refused)?;
    let raw = body::read(headers, request_body, limit).await.map_err(refused)?;
    let converted = body::decode_with(raw, encoding, limit, decode).await.map_err(refused)?;
    if converted.rejected > 0 && converted.rejected == converted.received {
        telemetry.batch_decoded(kind, converted.received, converted.rejected);
        return Err(refused(IngestError::Malformed(converted.rejection_summary().unwrap_or_default())));
    }
    deliver(ingest, telemetry, kind, converted).await
}

/// Why a receiver refused a whole request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    /// The payload could not be decoded (permanent).
    #[error("{0}")]
    Malformed(String),
    /// The (decompressed) body exceeds the configured cap (permanent).
    #[error("request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured cap in bytes.
        limit: usize,
    },
    /// The content type or encoding is not supported (permanent).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The pipeline did not take the batch (retryable).
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl IngestError {
    /// The metric label for this refusal.
    pub fn reason(&self) -> RefusalReason {
        match self {
            Self::Malformed(_) => RefusalReason::Malformed,
            Self::TooLarge { .. } => RefusalReason::TooLarge,
            Self::UnsupportedMediaType(_) => RefusalReason::UnsupportedMediaType,
            Self::Refused(Refusal::Overloaded { .. } | Refusal::Store(_)) => RefusalReason::Overloaded,
            Self::Refused(Refusal::ShuttingDown) => RefusalReason::ShuttingDown,
        }
    }

    /// How long the client should wait before retrying, for retryable errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Refused(Refusal::Overloaded { retry_after, .. }) => Some(*retry_after),
            Self::Refused(_) => Some(crate::pipeline::RETRY_AFTER),
            _ => None,
        }
    }

    /// A plain-text HTTP reply with this error's status, and `Retry-After` when retryable (the
    /// form Zipkin and Jaeger's HTTP collectors use).
    pub fn text_response(&self) -> axum::response::Response {
        use axum::response::IntoResponse;
        let mut response =
            (self.http_status(), [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], self.to_string())
                .into_response();
        if let Some(after) = self.retry_after() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, after.as_secs().max(1).into());
        }
        response
    }

    /// The HTTP status: 400, 413 and 415 are final; 503 asks the client to retry.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Refused(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The gRPC status: INVALID_ARGUMENT and RESOURCE_EXHAUSTED are final; UNAVAILABLE with
    /// RetryInfo asks the client to retry.
    pub fn grpc_status(&self) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt};
        let message = self.to_string();
        match self {
            Self::Malformed(_) | Self::UnsupportedMediaType(_) => tonic::Status::invalid_argument(message),
            Self::TooLarge { .. } => tonic::Status::resource_exhausted(message),
            Self::Refused(_) => tonic::Status::with_error_details(
                tonic::Code::Unavailable,
                message,
                ErrorDetails::with_retry_info(self.retry_after()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_is_retryable_on_both_transports() {
        let e = IngestError::Refused(Refusal::Overloaded { capacity: 1, retry_after: Duration::from_secs(2) });
        assert_eq!(e.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        let status = e.grpc_status();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        use tonic_types::StatusExt;
        let retry = status.get_details_retry_info().expect("retry info attached");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(2)));
    }

    #[test]
    fn bad_input_is_final() {
        assert_eq!(IngestError::Malformed("x".into()).grpc_status().code(), tonic::Code::InvalidArgument);
        assert_eq!(IngestError::TooLarge { limit: 1 }.grpc_status().code(), tonic::Code::ResourceExhausted);
        assert_eq!(IngestError::TooLarge { limit: 1 }.http_status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(IngestError::Malformed("x".into()).retry_after().is_none());
    }
}
