//! A Zipkin v2 span as every Zipkin decoder produces it (v2 JSON, proto3, and v1 after
//! conversion), before it is mapped to the model. Ids are already valid; everything else is as sent.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::model::{InvalidSpan, SpanId, SpanKind, TraceId};

/// A decoded Zipkin v2 span.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipkinSpan {
    /// 64-bit ids have a zero high half.
    pub trace_id: TraceId,
    /// The parent, absent on a root span (and when it equals `id`).
    pub parent_id: Option<SpanId>,
    /// The span's id.
    pub id: SpanId,
    /// CLIENT, SERVER, PRODUCER or CONSUMER; `Unspecified` when absent.
    pub kind: SpanKind,
    /// Operation name.
    pub name: String,
    /// Start in epoch microseconds, when known.
    pub timestamp: Option<u64>,
    /// Duration in microseconds, when known.
    pub duration: Option<u64>,
    /// The service that recorded the span.
    pub local_endpoint: Option<Endpoint>,
    /// The other side of an RPC or message.
    pub remote_endpoint: Option<Endpoint>,
    /// Timed events.
    pub annotations: Vec<Annotation>,
    /// String tags, in the order sent.
    pub tags: Vec<(String, String)>,
    /// Force-sampled.
    pub debug: bool,
    /// Server half of an RPC sharing its client's span id.
    pub shared: bool,
}

/// A network endpoint; each part may be unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    /// Service name as sent.
    pub service_name: Option<String>,
    /// IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Port, never 0.
    pub port: Option<u16>,
}

impl Endpoint {
    /// True when no part is known.
    pub fn is_empty(&self) -> bool {
        self.service_name.as_deref().is_none_or(str::is_empty)
            && self.ipv4.is_none()
            && self.ipv6.is_none()
            && self.port.is_none()
    }
}

/// A timed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Epoch microseconds.
    pub timestamp: u64,
    /// What happened.
    pub value: String,
}

/// Every span of one request: decoded, or the reason it was left out.
pub type DecodedSpans = Vec<Result<ZipkinSpan, InvalidSpan>>;
