//! A trace in flight: what the assembler knows about a trace while its spans arrive.

use std::sync::Arc;
use std::time::Instant;

use crate::model::{SpanId, SpanKind, SpanRecord, StatusCode, UnixNanos};
use crate::stats::service_graph::{peer_of, Peer};

/// The parts of a span the assembler keeps to reason about a trace's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanSkeleton {
    /// The span's id.
    pub span_id: SpanId,
    /// Its parent.
    pub parent_span_id: Option<SpanId>,
    /// Index into the trace's service list.
    pub service: u16,
    /// Span kind.
    pub kind: SpanKind,
    /// Start.
    pub start: UnixNanos,
    /// End.
    pub end: UnixNanos,
    /// Whether the span's status is an error.
    pub error: bool,
}

/// Most spans whose skeleton a trace in flight keeps; later spans are only counted.
pub const MAX_SKELETONS: usize = 10_000;

/// What the statistics need of a trace's root span.
#[derive(Debug, Clone, PartialEq)]
pub struct RootSpan {
    /// Index into the trace's service list.
    pub service: u16,
    /// The root operation.
    pub name: Box<str>,
    /// Whether the root span failed.
    pub error: bool,
}

/// A trace whose spans are still arriving.
#[derive(Debug, Clone)]
pub struct TraceInFlight {
    spans: Vec<SpanSkeleton>,
    span_count: usize,
    services: Vec<Arc<str>>,
    root: Option<SpanId>,
    /// The root span's service index, operation, duration and error flag, once it has arrived.
    root_span: Option<RootSpan>,
    /// Client and producer spans naming their peer: (index into `spans`, peer).
    peers: Vec<(u32, Peer)>,
    start: UnixNanos,
    end: UnixNanos,
    last_seen: Instant,
}

impl TraceInFlight {
    /// An empty trace first seen at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            spans: Vec::new(),
            span_count: 0,
            services: Vec::new(),
            root: None,
            root_span: None,
            peers: Vec::new(),
            start: UnixNanos(u64::MAX),
            end: UnixNanos(0),
            last_seen: now,
        }
    }

    /// Adds a span that arrived at `now`.
    pub fn add(&mut self, record: &SpanRecord, now: Instant) {
        let span = &record.span;
        self.span_count += 1;
        self.last_seen = now;
        self.start = self.start.min(span.start);
        self.end = self.end.max(span.end);
        let service_name = record.service_name();
        let service = match self.services.iter().position(|s| &**s == service_name) {
            Some(i) => i,
            None => {
                self.services.push(Arc::from(service_name));
                self.services.len() - 1
            }
        };
        if span.parent_span_id.is_none() {
            self.root = Some(span.span_id);
            self.root_span = Some(RootSpan {
                service: u16::try_from(service).unwrap_or(u16::MAX),
                name: span.name.as_str().into(),
                error: span.status.code == StatusCode::Error,
            });
        }
        if self.spans.len() < MAX_SKELETONS {
            if let Some(peer) = peer_of(span) {
                self.peers.push((self.spans.len() as u32, peer));
            }
            self.spans.push(SpanSkeleton {
                span_id: span.span_id,
                parent_span_id: span.parent_span_id,
                service: u16::try_from(service).unwrap_or(u16::MAX),
                kind: span.kind,
                start: span.start,
                end: span.end,
                error: span.status.code == StatusCode::Error,
            });
        }
    }

    /// Spans received so far.
    pub fn span_count(&self) -> usize {
        self.span_count
    }

    /// Skeletons of the first [`MAX_SKELETONS`] spans.
    pub fn spans(&self) -> &[SpanSkeleton] {
        &self.spans
    }

    /// Client and producer spans that name their peer, by index into [`Self::spans`].
    pub fn peers(&self) -> &[(u32, Peer)] {
        &self.peers
    }

    /// Services seen, in first-seen order.
    pub fn services(&self) -> &[Arc<str>] {
        &self.services
    }

    /// The root span, once it has arrived.
    pub fn root(&self) -> Option<SpanId> {
        self.root
    }

    /// The root span's service, operation and outcome, once it has arrived.
    pub fn root_span(&self) -> Option<(&str, &str, bool)> {
        let root = self.root_span.as_ref()?;
        let service = self.services.get(usize::from(root.service))?;
        Some((service, &root.name, root.error))
    }

    /// Earliest span start and latest span end so far.
    pub fn bounds(&self) -> (UnixNanos, UnixNanos) {
        (self.start, self.end)
    }

    /// When the latest span arrived.
    pub fn last_seen(&self) -> Instant {
        self.last_seen
    }
}
