//! Zipkin v1 spans (JSON and thrift share this shape) and their conversion to v2 spans, following
//! Zipkin's own `V1SpanConverter`: core annotations (`cs` `sr` `ss` `cr` `ms` `mr`) give kind,
//! timestamp and duration; address annotations (`ca` `sa` `ma`) give the remote endpoint.

use super::span::Endpoint;
use crate::model::{SpanId, TraceId};

/// A decoded Zipkin v1 span; ids already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct V1Span {
    /// Trace id (`trace_id_high` ‖ `trace_id` in thrift; 16 or 32 hex digits in JSON).
    pub trace_id: TraceId,
    /// Operation name.
    pub name: String,
    /// The span's id.
    pub id: SpanId,
    /// The parent, absent on a root span.
    pub parent_id: Option<SpanId>,
    /// Start in epoch microseconds, when the span's creator set it.
    pub timestamp: Option<u64>,
    /// Duration in microseconds, when the span's creator set it.
    pub duration: Option<u64>,
    /// Timed annotations, core (`cs` …) and custom.
    pub annotations: Vec<V1Annotation>,
    /// Tags and address annotations.
    pub binary_annotations: Vec<V1BinaryAnnotation>,
    /// Force-sampled.
    pub debug: bool,
}

/// A v1 timed annotation, with the endpoint that recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Annotation {
    /// Epoch microseconds.
    pub timestamp: u64,
    /// What happened (`cs`, `sr`, … or free text).
    pub value: String,
    /// Who recorded it.
    pub endpoint: Option<Endpoint>,
}

/// A v1 binary annotation: a tag, or an address (`ca`/`sa`/`ma` = true with an endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1BinaryAnnotation {
    /// Tag key.
    pub key: String,
    /// The value.
    pub value: V1Value,
    /// Who recorded it.
    pub endpoint: Option<Endpoint>,
}

/// A v1 binary annotation's value. Numbers and bytes are carried as text (decimal, base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1Value {
    /// A boolean (address annotations are `true`).
    Bool(bool),
    /// Text, or a number or bytes rendered as text.
    String(String),
}
