//! The canonical span model, shaped like OTLP (resource → scope → spans). Every receiver converts
//! into it and every query API converts out of it; it holds no protocol types and does no I/O.

mod batch;
mod ids;
pub mod query;
pub mod semconv;
mod value;

use std::sync::Arc;

pub use batch::BatchBuilder;
pub use ids::{IdError, SpanId, TraceId};
pub use value::{AnyValue, KeyValue};

/// Nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixNanos(pub u64);

impl UnixNanos {
    /// Microseconds since the epoch, truncated (as Zipkin and Jaeger show times).
    pub fn as_micros(self) -> u64 {
        self.0 / 1_000
    }

    /// Builds a time from microseconds since the epoch, saturating.
    pub fn from_micros(micros: u64) -> Self {
        Self(micros.saturating_mul(1_000))
    }

    /// Builds a time from milliseconds since the epoch, saturating.
    pub fn from_millis(millis: u64) -> Self {
        Self(millis.saturating_mul(1_000_000))
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// What role a span plays, as OTLP's `SpanKind` defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub enum SpanKind {
    /// The producer did not say.
    #[default]
    Unspecified,
    /// An operation inside one service.
    Internal,
    /// The server side of a synchronous request.
    Server,
    /// The client side of a synchronous request.
    Client,
    /// The sender of an asynchronous message.
    Producer,
    /// The receiver of an asynchronous message.
    Consumer,
}

impl SpanKind {
    /// Every kind, in OTLP's order.
    pub const ALL: [Self; 6] =
        [Self::Unspecified, Self::Internal, Self::Server, Self::Client, Self::Producer, Self::Consumer];

    /// The OTLP enum number.
    pub fn to_otlp(self) -> i32 {
        match self {
            Self::Unspecified => 0,
            Self::Internal => 1,
            Self::Server => 2,
            Self::Client => 3,
            Self::Producer => 4,
            Self::Consumer => 5,
        }
    }

    /// The kind for an OTLP enum number; unknown numbers are unspecified.
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// Lower-case name as Jaeger writes it in `span.kind` (empty for unspecified).
    pub fn as_lower_str(self) -> &'static str {
        match self {
            Self::Unspecified => "",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }

    /// Parses Jaeger's lower-case names (case-insensitively); `unspecified` and `""` too.
    pub fn from_lower_str(text: &str) -> Option<Self> {
        Some(match text.to_ascii_lowercase().as_str() {
            "" | "unspecified" => Self::Unspecified,
            "internal" => Self::Internal,
            "server" => Self::Server,
            "client" => Self::Client,
            "producer" => Self::Producer,
            "consumer" => Self::Consumer,
            _ => return None,
        })
    }
}

/// A span's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub enum StatusCode {
    /// Not set by the instrumentation.
    #[default]
    Unset,
    /// Marked successful by the instrumentation or the user.
    Ok,
    /// The operation failed.
    Error,
}

/// Status code and message of a span.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    /// The outcome.
    pub code: StatusCode,
    /// A human-readable description, usually only set for errors.
    pub message: String,
}

/// Something that happened at a point in time during a span (a Jaeger log, a Zipkin annotation).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened.
    pub time: UnixNanos,
    /// What happened.
    pub name: String,
    /// Details.
    pub attributes: Vec<KeyValue>,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
}

/// A reference from one span to another span, possibly in another trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// The linked span's W3C trace state.
    pub trace_state: String,
    /// Details of the link.
    pub attributes: Vec<KeyValue>,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
    /// W3C trace flags of the linked span context.
    pub flags: u32,
}

/// One operation in a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: TraceId,
    /// Its own id.
    pub span_id: SpanId,
    /// Its parent, absent on a root span.
    pub parent_span_id: Option<SpanId>,
    /// W3C trace state.
    pub trace_state: String,
    /// W3C trace flags (bits 0–7) and OTLP's is-remote bits.
    pub flags: u32,
    /// Operation name.
    pub name: String,
    /// Role of the span.
    pub kind: SpanKind,
    /// Start time.
    pub start: UnixNanos,
    /// End time, never before the start.
    pub end: UnixNanos,
    /// Typed attributes.
    pub attributes: Vec<KeyValue>,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
    /// Timed events.
    pub events: Vec<Event>,
    /// Events the producer dropped.
    pub dropped_events_count: u32,
    /// Links to other spans.
    pub links: Vec<Link>,
    /// Links the producer dropped.
    pub dropped_links_count: u32,
    /// Outcome.
    pub status: Status,
    /// Server half of an RPC that reuses its client's span id (Zipkin's `shared`); such a span and
    /// its client are two spans with one id, kept apart by kind.
    pub shared: bool,
    /// Force-sampled by the producer (Zipkin `debug`, Jaeger flag 2); OTLP has no field for it.
    pub debug: bool,
}

/// Why a span cannot be accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidSpan {
    /// A trace, span, parent or link id was malformed.
    #[error(transparent)]
    Id(#[from] IdError),
    /// A field the format requires is missing or out of range.
    #[error("{0}")]
    Field(String),
    /// The span ends before it starts.
    #[error("span {span_id} ends before it starts ({end} < {start})")]
    EndBeforeStart {
        /// The offending span.
        span_id: SpanId,
        /// Start in unix nanoseconds.
        start: u64,
        /// End in unix nanoseconds.
        end: u64,
    },
}

impl Span {
    /// Checks the invariants no parser can express in a type: the span must not end before it starts.
    pub fn check_timing(&self) -> Result<(), InvalidSpan> {
        if self.end < self.start {
            return Err(InvalidSpan::EndBeforeStart { span_id: self.span_id, start: self.start.0, end: self.end.0 });
        }
        Ok(())
    }

    /// Duration in nanoseconds.
    pub fn duration_nanos(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }

    /// The first attribute with this key.
    pub fn attribute(&self, key: &str) -> Option<&AnyValue> {
        value::find(&self.attributes, key)
    }

    /// Estimated heap and inline bytes the span occupies, for memory budgets: every heap block
    /// counted as the allocator sizes it (see `heap_block`), not by its length.
    pub fn estimated_bytes(&self) -> usize {
        use value::{heap_block, heap_bytes};
        std::mem::size_of::<Self>()
            + heap_block(self.name.capacity())
            + heap_block(self.trace_state.capacity())
            + heap_block(self.status.message.capacity())
            + heap_bytes(&self.attributes)
            + heap_block(self.events.capacity() * std::mem::size_of::<Event>())
            + self.events.iter().map(|e| heap_block(e.name.capacity()) + heap_bytes(&e.attributes)).sum::<usize>()
            + heap_block(self.links.capacity() * std::mem::size_of::<Link>())
            + self.links.iter().map(|l| heap_block(l.trace_state.capacity()) + heap_bytes(&l.attributes)).sum::<usize>()
    }
}

/// The entity that produced spans: a service instance, with `service.name` among its attributes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    /// Typed attributes, `service.name` among them.
    pub attributes: Vec<KeyValue>,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
}

impl Resource {
    /// The `service.name` attribute, or the SDKs' default `unknown_service` when absent.
    pub fn service_name(&self) -> &str {
        match value::find(&self.attributes, semconv::SERVICE_NAME) {
            Some(AnyValue::String(name)) if !name.is_empty() => name,
            _ => semconv::UNKNOWN_SERVICE,
        }
    }

    /// The first attribute with this key.
    pub fn attribute(&self, key: &str) -> Option<&AnyValue> {
        value::find(&self.attributes, key)
    }

    /// Estimated bytes for memory budgets.
    pub fn estimated_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + value::heap_bytes(&self.attributes)
    }
}

/// The instrumentation library that recorded spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// Library name, e.g. `io.opentelemetry.okhttp`.
    pub name: String,
    /// Library version.
    pub version: String,
    /// Typed attributes.
    pub attributes: Vec<KeyValue>,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
}

/// Spans from one instrumentation scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeSpans {
    /// The scope, shared by every span here.
    pub scope: Arc<Scope>,
    /// The spans.
    pub spans: Vec<Span>,
}

/// Spans from one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpans {
    /// The resource, shared by every span here.
    pub resource: Arc<Resource>,
    /// Spans grouped by scope.
    pub scope_spans: Vec<ScopeSpans>,
}

/// What one receiver request delivers to the pipeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// Spans grouped by resource and scope.
    pub resource_spans: Vec<ResourceSpans>,
}

impl Batch {
    /// Number of spans in the batch.
    pub fn span_count(&self) -> usize {
        self.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum()
    }

    /// Flattens the batch into records that each carry their resource and scope.
    pub fn into_records(self) -> impl Iterator<Item = SpanRecord> {
        self.resource_spans.into_iter().flat_map(|rs| {
            let resource = rs.resource;
            rs.scope_spans.into_iter().flat_map(move |ss| {
                let resource = resource.clone();
                let scope = ss.scope;
                ss.spans.into_iter().map(move |span| SpanRecord {
                    resource: resource.clone(),
                    scope: scope.clone(),
                    span,
                })
            })
        })
    }
}

/// A span with its resource and scope, as stored and queried.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The producing resource (shared).
    pub resource: Arc<Resource>,
    /// The instrumentation scope (shared).
    pub scope: Arc<Scope>,
    /// The span.
    pub span: Span,
}

impl SpanRecord {
    /// The service that produced the span.
    pub fn service_name(&self) -> &str {
        self.resource.service_name()
    }

    /// Estimated bytes for memory budgets, as stored in an `Arc` block of its own; shared
    /// resources and scopes count only their pointers.
    pub fn estimated_bytes(&self) -> usize {
        // The Arc block: two counters plus the record, of which the span's inline part is
        // already in `Span::estimated_bytes`.
        let arc_block = value::heap_block(2 * std::mem::size_of::<usize>() + std::mem::size_of::<Self>());
        arc_block - std::mem::size_of::<Span>() + self.span.estimated_bytes()
    }
}

/// All known spans of one trace, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The trace's id.
    pub trace_id: TraceId,
    /// Its spans.
    pub spans: Vec<Arc<SpanRecord>>,
}

/// The root of a trace's spans: the first span without a parent, else the earliest span.
pub fn root_of(spans: &[Arc<SpanRecord>]) -> Option<&SpanRecord> {
    spans
        .iter()
        .find(|r| r.span.parent_span_id.is_none())
        .or_else(|| spans.iter().min_by_key(|r| r.span.start))
        .map(|r| r.as_ref())
}
