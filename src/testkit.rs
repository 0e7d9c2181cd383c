//! Builders for spans and traces and a real in-process server, for tests, benches and fuzz targets.

use std::sync::Arc;

use crate::model::{
    AnyValue, Batch, Event, KeyValue, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind,
    SpanRecord, Status, StatusCode, Trace, TraceId, UnixNanos,
};

/// A trace id from a small number (never zero).
pub fn trace_id(n: u128) -> TraceId {
    TraceId::from_array(n.max(1).to_be_bytes()).unwrap_or_else(|_| unreachable!("max(1) is non-zero"))
}

/// A span id from a small number (never zero).
pub fn span_id(n: u64) -> SpanId {
    SpanId::from_array(n.max(1).to_be_bytes()).unwrap_or_else(|_| unreachable!("max(1) is non-zero"))
}

/// Builds a span record with sensible defaults: 1 ms long, starting at 2023-11-14 22:13:20 UTC.
#[derive(Debug, Clone)]
pub struct SpanBuilder {
    record: SpanRecord,
}

/// Default start of built spans: 1,700,000,000 s after the epoch.
pub const BASE_TIME: u64 = 1_700_000_000_000_000_000;

/// SplitMix64: a cheap, well-mixed 64-bit hash of `x`, for reproducible test and benchmark data
/// (successive inputs give independent-looking outputs; no `rand` dependency).
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl SpanBuilder {
    /// A server span of `service` named `name` in trace `trace`.
    pub fn new(service: &str, name: &str, trace: u128, span: u64) -> Self {
        Self {
            record: SpanRecord {
                resource: Arc::new(Resource {
                    attributes: vec![KeyValue::new("service.name", AnyValue::String(service.into()))],
                    dropped_attributes_count: 0,
                }),
                scope: Arc::new(Scope::default()),
                span: Span {
                    trace_id: trace_id(trace),
                    span_id: span_id(span),
                    parent_span_id: None,
                    trace_state: String::new(),
                    flags: 1,
                    name: name.into(),
                    kind: SpanKind::Server,
                    start: UnixNanos(BASE_TIME),
                    end: UnixNanos(BASE_TIME + 1_000_000),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                    events: Vec::new(),
                    dropped_events_count: 0,
                    links: Vec::new(),
                    dropped_links_count: 0,
                    status: Status::default(),
                    shared: false,
                    debug: false,
                },
            },
        }
    }

    /// Sets the parent span.
    pub fn parent(mut self, parent: u64) -> Self {
        self.record.span.parent_span_id = Some(span_id(parent));
        self
    }

    /// Sets the kind.
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.record.span.kind = kind;
        self
    }

    /// Sets start (nanoseconds after [`BASE_TIME`]) and duration in nanoseconds.
    pub fn timing(mut self, offset_nanos: u64, duration_nanos: u64) -> Self {
        self.record.span.start = UnixNanos(BASE_TIME + offset_nanos);
        self.record.span.end = UnixNanos(BASE_TIME + offset_nanos + duration_nanos);
        self
    }

    /// Sets absolute start and end.
    pub fn at(mut self, start: UnixNanos, end: UnixNanos) -> Self {
        self.record.span.start = start;
        self.record.span.end = end;
        self
    }

    /// Adds a span attribute.
    pub fn attr(mut self, key: &str, value: AnyValue) -> Self {
        self.record.span.attributes.push(KeyValue::new(key, value));
        self
    }

    /// Adds a resource attribute.
    pub fn resource_attr(mut self, key: &str, value: AnyValue) -> Self {
        Arc::make_mut(&mut self.record.resource).attributes.push(KeyValue::new(key, value));
        self
    }

    /// Sets the instrumentation scope.
    pub fn scope(mut self, name: &str, version: &str) -> Self {
        let scope = Arc::make_mut(&mut self.record.scope);
        scope.name = name.into();
        scope.version = version.into();
        self
    }

    /// Sets the status.
    pub fn status(mut self, code: StatusCode, message: &str) -> Self {
        self.record.span.status = Status { code, message: message.into() };
        self
    }

    /// Adds an event at an offset from the span's start.
    pub fn event(mut self, offset_nanos: u64, name: &str, attributes: Vec<KeyValue>) -> Self {
        let time = UnixNanos(self.record.span.start.0 + offset_nanos);
        self.record.span.events.push(Event { time, name: name.into(), attributes, dropped_attributes_count: 0 });
        self
    }

    /// Adds a link.
    pub fn link(mut self, trace: u128, span: u64, attributes: Vec<KeyValue>) -> Self {
        self.record.span.links.push(Link {
            trace_id: trace_id(trace),
            span_id: span_id(span),
            trace_state: String::new(),
            attributes,
            dropped_attributes_count: 0,
            flags: 0,
        });
        self
    }

    /// Gives mutable access for anything the builder has no method for.
    pub fn with(mut self, edit: impl FnOnce(&mut SpanRecord)) -> Self {
        edit(&mut self.record);
        self
    }

    /// The finished record.
    pub fn build(self) -> SpanRecord {
        self.record
    }
}

/// Groups records into a trace (all must share the trace id of the first).
pub fn trace_of(records: Vec<SpanRecord>) -> Trace {
    let trace_id = records.first().map(|r| r.span.trace_id).unwrap_or_else(|| trace_id(1));
    Trace { trace_id, spans: records.into_iter().map(Arc::new).collect() }
}

/// Wraps records into a batch, one resource/scope group per record.
pub fn batch_of(records: Vec<SpanRecord>) -> Batch {
    Batch {
        resource_spans: records
            .into_iter()
            .map(|r| ResourceSpans {
                resource: r.resource,
                scope_spans: vec![ScopeSpans { scope: r.scope, spans: vec![r.span] }],
            })
            .collect(),
    }
}
/// A memory store whose writes each wait for a permit from the test, to hold the pipeline full.
pub struct GatedStore {
    gate: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    inner: crate::store::MemoryStore,
}

impl GatedStore {
    /// The store and the sender that lets one write through per message.
    pub fn new() -> (Self, std::sync::mpsc::Sender<()>) {
        let (open, gate) = std::sync::mpsc::channel();
        let inner = crate::store::MemoryStore::new(
            crate::config::Settings::for_tests().store,
            Arc::new(crate::telemetry::Telemetry::default()),
        );
        (Self { gate: std::sync::Mutex::new(gate), inner }, open)
    }
}

impl crate::store::Store for GatedStore {
    fn write(&self, records: &[Arc<SpanRecord>]) -> Result<(), crate::store::StoreError> {
        // A dropped sender opens the gate for good.
        let _ = self.gate.lock().unwrap_or_else(|p| p.into_inner()).recv();
        self.inner.write(records)
    }
    fn trace(&self, id: TraceId) -> Result<Option<Trace>, crate::store::StoreError> {
        self.inner.trace(id)
    }
    fn find_traces(&self, q: &crate::model::query::TraceQuery) -> Result<Vec<Trace>, crate::store::StoreError> {
        self.inner.find_traces(q)
    }
    fn names(&self) -> &crate::store::names::Names {
        self.inner.names()
    }
}

/// A tracehound running in-process on ephemeral loopback ports, stopped when dropped.
pub struct TestServer {
    /// Where each listener is bound.
    pub addrs: crate::server::BoundAddrs,
    /// The running server.
    running: Option<crate::server::Running>,
}

impl TestServer {
    /// Starts a server with default settings on port 0 everywhere.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `edit` adjusts the test settings.
    pub async fn start_with(edit: impl FnOnce(&mut crate::config::Settings)) -> Self {
        let mut settings = crate::config::Settings::for_tests();
        edit(&mut settings);
        let running =
            crate::server::start(settings).await.unwrap_or_else(|e| panic!("test server failed to start: {e}"));
        Self::from_running(running)
    }

    /// Starts a server with test settings over the store `make_store` builds.
    pub async fn start_with_store(
        make_store: impl FnOnce(std::sync::Arc<crate::telemetry::Telemetry>) -> std::sync::Arc<dyn crate::store::Store>,
    ) -> Self {
        let running = crate::server::start_with_store(crate::config::Settings::for_tests(), make_store)
            .await
            .unwrap_or_else(|e| panic!("test server failed to start: {e}"));
        Self::from_running(running)
    }

    fn from_running(running: crate::server::Running) -> Self {
        Self { addrs: running.addrs.clone(), running: Some(running) }
    }

    /// The server's telemetry, to check counters.
    pub fn telemetry(&self) -> &crate::telemetry::Telemetry {
        match &self.running {
            Some(r) => &r.telemetry,
            None => unreachable!("the server runs until dropped"),
        }
    }

    /// Stops the server and waits for every stage to finish.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Not stopped with `stop`: cancel every stage; the tasks end with the test's runtime.
        if let Some(running) = self.running.take() {
            running.cancel.cancel();
        }
    }
}

/// A gRPC codec that sends pre-encoded message bytes as they are and returns the reply's bytes,
/// for load generation and for sending malformed messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// Writing owned records to a store, for tests.
pub trait WriteOwned {
    /// Writes the records (wrapped for [`crate::store::Store::write`]).
    fn write_owned(&self, records: Vec<SpanRecord>) -> Result<(), crate::store::StoreError>;
}

impl<S: crate::store::Store + ?Sized> WriteOwned for S {
    fn write_owned(&self, records: Vec<SpanRecord>) -> Result<(), crate::store::StoreError> {
        let records: Vec<Arc<SpanRecord>> = records.into_iter().map(Arc::new).collect();
        self.write(&records)
    }
}
