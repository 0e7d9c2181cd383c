//! Receivers: each knows one wire format, decodes requests into `model` values, hands batches to
//! the pipeline and turns the answer into its protocol's reply.
//!
//! [`IngestError`] is the one table from "what went wrong" to HTTP status and gRPC code, retryable
//! or not, as the OTLP specification defines them.

pub mod body;
pub mod jaeger;
pub mod otlp;
pub mod zipkin;

use std::time::Duration;

use axum::http::StatusCode;

use crate::pipeline::Refusal;
use crate::telemetry::RefusalReason;

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
