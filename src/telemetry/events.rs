//! The named things tracehound counts, each recorded once per batch or request.

use super::Telemetry;

/// Which receiver (transport and encoding) handled a request; a bounded metric label. For UDP
/// receivers one datagram is one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverKind {
    /// OTLP over gRPC.
    OtlpGrpc = 0,
    /// OTLP over HTTP (protobuf or JSON).
    OtlpHttp = 1,
    /// Zipkin `POST /api/v2/spans` with JSON.
    ZipkinV2Json = 2,
    /// Zipkin `POST /api/v2/spans` with proto3.
    ZipkinV2Proto = 3,
    /// Zipkin `POST /api/v1/spans` with JSON.
    ZipkinV1Json = 4,
    /// Zipkin `POST /api/v1/spans` with thrift.
    ZipkinV1Thrift = 5,
    /// Jaeger collector gRPC `PostSpans`.
    JaegerGrpc = 6,
    /// Jaeger collector `POST /api/traces` with binary thrift.
    JaegerThriftHttp = 7,
    /// Jaeger agent UDP, compact thrift.
    JaegerAgentCompact = 8,
    /// Jaeger agent UDP, binary thrift.
    JaegerAgentBinary = 9,
}

impl ReceiverKind {
    /// Every receiver, in label order.
    pub const ALL: [Self; 10] = [
        Self::OtlpGrpc,
        Self::OtlpHttp,
        Self::ZipkinV2Json,
        Self::ZipkinV2Proto,
        Self::ZipkinV1Json,
        Self::ZipkinV1Thrift,
        Self::JaegerGrpc,
        Self::JaegerThriftHttp,
        Self::JaegerAgentCompact,
        Self::JaegerAgentBinary,
    ];

    /// Metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::OtlpGrpc => "otlp_grpc",
            Self::OtlpHttp => "otlp_http",
            Self::ZipkinV2Json => "zipkin_v2_json",
            Self::ZipkinV2Proto => "zipkin_v2_proto",
            Self::ZipkinV1Json => "zipkin_v1_json",
            Self::ZipkinV1Thrift => "zipkin_v1_thrift",
            Self::JaegerGrpc => "jaeger_grpc",
            Self::JaegerThriftHttp => "jaeger_thrift_http",
            Self::JaegerAgentCompact => "jaeger_agent_compact",
            Self::JaegerAgentBinary => "jaeger_agent_binary",
        }
    }
}

/// Why a whole request was refused; a bounded metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// The payload could not be decoded.
    Malformed = 0,
    /// The body was larger than the configured cap.
    TooLarge = 1,
    /// The content type is not one the receiver speaks.
    UnsupportedMediaType = 2,
    /// The pipeline was full; the client should retry.
    Overloaded = 3,
    /// The server is shutting down.
    ShuttingDown = 4,
}

impl RefusalReason {
    /// Every reason, in label order.
    pub const ALL: [Self; 5] =
        [Self::Malformed, Self::TooLarge, Self::UnsupportedMediaType, Self::Overloaded, Self::ShuttingDown];

    /// Metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Overloaded => "overloaded",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

impl Telemetry {
    /// A request was decoded: `received` spans, of which `rejected` were invalid.
    pub fn batch_decoded(&self, kind: ReceiverKind, received: usize, rejected: usize) {
        let c = self.receiver(kind);
        c.spans_received.add(received as u64);
        c.spans_rejected.add(rejected as u64);
    }

    /// The pipeline accepted `spans` spans from a request.
    pub fn batch_accepted(&self, kind: ReceiverKind, spans: usize) {
        self.receiver(kind).spans_accepted.add(spans as u64);
    }

    /// A whole request was refused; `spans` is how many spans it carried, if known.
    pub fn batch_refused(&self, kind: ReceiverKind, reason: RefusalReason, spans: usize) {
        let c = self.receiver(kind);
        c.requests_refused[reason as usize].add(1);
        c.spans_refused.add(spans as u64);
        tracing::debug!(receiver = kind.label(), reason = reason.label(), spans, "request refused");
    }
}
