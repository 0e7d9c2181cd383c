//! Jaeger's UI-model trace JSON (what `GET /api/traces/{id}` returns in `data`, and what Grafana
//! parses) out of the canonical model, following the OpenTelemetry → Jaeger mapping rules
//! (PROTOCOLS §4.4, §7). Owns only the encoding.
//!
//! Invariants: every span's `processID` names an entry of its trace's `processes`; identical
//! resources share one process; process ids are `p1`, `p2` … in first-seen order.

use std::collections::{HashMap, HashSet};

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::query::adjust::{warnings_of, WARNINGS_ATTRIBUTE};

use crate::model::{
    semconv, AnyValue, Event, KeyValue, Link, Resource, SpanId, SpanKind, SpanRecord, StatusCode, Trace,
};

/// A trace as Jaeger's query API returns it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JaegerTrace {
    /// 16 lower-hex digits when the high half is zero, else 32.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// The spans, in the trace's order.
    pub spans: Vec<JaegerSpan>,
    /// The processes the spans point to, by id.
    pub processes: JaegerProcesses,
    /// Query-time warnings; `null` when there are none.
    pub warnings: Option<Vec<String>>,
}

/// One span in Jaeger's UI model, keys in Jaeger's order.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JaegerSpan {
    /// The span's trace, 16 or 32 lower-hex digits.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// The span's 16 lower-hex digits.
    #[serde(rename = "spanID")]
    pub span_id: String,
    /// W3C trace flags (sampled bit …), omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub flags: u32,
    /// Operation name.
    pub operation_name: String,
    /// The parent (first `CHILD_OF`) then the links.
    pub references: Vec<JaegerReference>,
    /// Start in epoch microseconds.
    pub start_time: u64,
    /// Duration in microseconds.
    pub duration: u64,
    /// Typed tags.
    pub tags: Vec<JaegerKeyValue>,
    /// Timed events.
    pub logs: Vec<JaegerLog>,
    /// Key into the trace's `processes`.
    #[serde(rename = "processID")]
    pub process_id: String,
    /// Query-time warnings; `null` when there are none.
    pub warnings: Option<Vec<String>>,
}

/// A reference from a span to its parent or a linked span.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JaegerReference {
    /// How the spans relate.
    pub ref_type: JaegerRefType,
    /// The referenced span's trace.
    #[serde(rename = "traceID")]
    pub trace_id: String,
    /// The referenced span.
    #[serde(rename = "spanID")]
    pub span_id: String,
}

/// Jaeger's reference types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JaegerRefType {
    /// The referenced span is the parent.
    ChildOf,
    /// The referenced span caused this one without waiting for it.
    FollowsFrom,
}

/// The service instance that emitted spans.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JaegerProcess {
    /// The resource's `service.name`.
    pub service_name: String,
    /// The other resource attributes.
    pub tags: Vec<JaegerKeyValue>,
}

/// A trace's processes by id, in first-seen order (`p1`, `p2` … `p10`), serialized as an object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JaegerProcesses(Vec<(String, JaegerProcess)>);

/// A timed event on a span.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JaegerLog {
    /// When it happened, epoch microseconds.
    pub timestamp: u64,
    /// The event's name (`event`) and attributes.
    pub fields: Vec<JaegerKeyValue>,
}

/// A typed tag or log field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JaegerKeyValue {
    /// Tag key.
    pub key: String,
    /// Type of `value`.
    #[serde(rename = "type")]
    pub value_type: JaegerValueType,
    /// The value: a JSON string, bool or number as the type says.
    pub value: serde_json::Value,
}

/// Jaeger's tag value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JaegerValueType {
    /// Text (also arrays and maps, as JSON text).
    String,
    /// A boolean.
    Bool,
    /// A signed integer, as a decimal string beyond ±(2^53−1).
    Int64,
    /// A float.
    Float64,
    /// Bytes, as base64.
    Binary,
}

impl JaegerProcesses {
    /// The process with this id.
    pub fn get(&self, id: &str) -> Option<&JaegerProcess> {
        self.0.iter().find(|(key, _)| key == id).map(|(_, process)| process)
    }

    /// Processes with their ids, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &JaegerProcess)> {
        self.0.iter().map(|(id, process)| (id.as_str(), process))
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no process.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The id of an equal process, or a new id `p<n>` for a process not seen before.
    fn intern(&mut self, process: JaegerProcess) -> String {
        if let Some((id, _)) = self.0.iter().find(|(_, known)| *known == process) {
            return id.clone();
        }
        let id = format!("p{}", self.0.len() + 1);
        self.0.push((id.clone(), process));
        id
    }
}

impl Serialize for JaegerProcesses {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (id, process) in &self.0 {
            map.serialize_entry(id, process)?;
        }
        map.end()
    }
}

/// Largest integer a JSON number holds exactly in JavaScript (2^53 − 1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl JaegerKeyValue {
    /// A string tag.
    pub fn string(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self::typed(key, JaegerValueType::String, serde_json::Value::String(value.into()))
    }

    /// A boolean tag.
    pub fn bool(key: impl Into<String>, value: bool) -> Self {
        Self::typed(key, JaegerValueType::Bool, serde_json::Value::Bool(value))
    }

    /// An integer tag, written as a decimal string when JavaScript could not hold it exactly.
    pub fn int64(key: impl Into<String>, value: i64) -> Self {
        let json = if value.unsigned_abs() > MAX_SAFE_INTEGER {
            serde_json::Value::String(value.to_string())
        } else {
            serde_json::Value::from(value)
        };
        Self::typed(key, JaegerValueType::Int64, json)
    }

    /// A tag from a typed attribute: arrays and maps become JSON text, bytes base64, empty `""`.
    pub fn from_attribute(kv: &KeyValue) -> Self {
        match &kv.value {
            AnyValue::Bool(value) => Self::bool(kv.key.clone(), *value),
            AnyValue::Int(value) => Self::int64(kv.key.clone(), *value),
            // to_json writes NaN and infinities as strings, since JSON numbers cannot hold them.
            AnyValue::Double(_) => Self::typed(kv.key.clone(), JaegerValueType::Float64, kv.value.to_json()),
            AnyValue::Bytes(_) => Self::typed(kv.key.clone(), JaegerValueType::Binary, kv.value.to_json()),
            AnyValue::Empty | AnyValue::String(_) | AnyValue::Array(_) | AnyValue::KvList(_) => {
                Self::string(kv.key.clone(), kv.value.to_text())
            }
        }
    }

    fn typed(key: impl Into<String>, value_type: JaegerValueType, value: serde_json::Value) -> Self {
        Self { key: key.into(), value_type, value }
    }
}

/// Encodes a trace; spans keep the trace's order and identical resources share a process.
/// Zipkin-style shared server spans get their own id, as Jaeger's span-id deduper does.
pub fn trace_to_jaeger(trace: &Trace) -> JaegerTrace {
    let mut processes = JaegerProcesses::default();
    // Spans of one batch share their resource's Arc: look a pointer up before comparing contents.
    let mut known: HashMap<*const Resource, String> = HashMap::new();
    let ids = dedupe_shared_ids(trace);
    let spans = trace
        .spans
        .iter()
        .zip(ids)
        .map(|(record, ids)| {
            let process_id = known
                .entry(std::sync::Arc::as_ptr(&record.resource))
                .or_insert_with(|| processes.intern(process(&record.resource)))
                .clone();
            span_to_jaeger(record, ids, process_id)
        })
        .collect();
    JaegerTrace { trace_id: trace.trace_id.to_short_hex(), spans, processes, warnings: None }
}

/// The id and parent each span is shown with.
#[derive(Debug, Clone, Copy)]
struct ShownIds {
    span_id: SpanId,
    parent: Option<SpanId>,
}

/// Jaeger's span-id deduper: a server span sharing its id with a client span gets the next unused
/// id above the trace's largest, with the shared id as its parent; the server span's children
/// follow it to the new id.
fn dedupe_shared_ids(trace: &Trace) -> Vec<ShownIds> {
    let mut ids: Vec<ShownIds> =
        trace.spans.iter().map(|r| ShownIds { span_id: r.span.span_id, parent: r.span.parent_span_id }).collect();
    let is_server = |r: &SpanRecord| r.span.kind == SpanKind::Server;
    let client_ids: HashSet<SpanId> = trace.spans.iter().filter(|r| !is_server(r)).map(|r| r.span.span_id).collect();
    let shared: Vec<usize> = (0..trace.spans.len())
        .filter(|&i| is_server(&trace.spans[i]) && client_ids.contains(&ids[i].span_id))
        .collect();
    if shared.is_empty() {
        return ids;
    }
    let mut used: HashSet<u64> = trace.spans.iter().map(|r| r.span.span_id.as_u64()).collect();
    let mut next = used.iter().copied().max().unwrap_or(0);
    let mut renamed: HashMap<SpanId, SpanId> = HashMap::new();
    for i in shared {
        let old = ids[i].span_id;
        let fresh = loop {
            next = next.wrapping_add(1).max(1);
            if used.insert(next) {
                break SpanId::from_u64(next);
            }
        };
        renamed.insert(old, fresh);
        ids[i] = ShownIds { span_id: fresh, parent: Some(old) };
    }
    for shown in &mut ids {
        if let Some(new_parent) = shown.parent.and_then(|p| renamed.get(&p)) {
            if *new_parent != shown.span_id {
                shown.parent = Some(*new_parent);
            }
        }
    }
    ids
}

/// The process for a resource: its service name, the other attributes as tags.
fn process(resource: &Resource) -> JaegerProcess {
    JaegerProcess {
        service_name: resource.service_name().to_owned(),
        tags: resource
            .attributes
            .iter()
            .filter(|kv| kv.key != semconv::SERVICE_NAME)
            .map(JaegerKeyValue::from_attribute)
            .collect(),
    }
}

fn span_to_jaeger(record: &SpanRecord, ids: ShownIds, process_id: String) -> JaegerSpan {
    let span = &record.span;
    // A parent that came from a Jaeger FOLLOWS_FROM reference (a link to the parent marked
    // `opentracing.ref_type=follows_from`) is shown by that reference alone.
    let follows_parent = ids.parent.is_some_and(|parent| {
        span.links.iter().any(|l| l.trace_id == span.trace_id && l.span_id == parent && ref_type_is(l, "follows_from"))
    });
    let parent = ids.parent.filter(|_| !follows_parent).map(|parent| JaegerReference {
        ref_type: JaegerRefType::ChildOf,
        trace_id: span.trace_id.to_short_hex(),
        span_id: parent.to_hex(),
    });
    JaegerSpan {
        trace_id: span.trace_id.to_short_hex(),
        span_id: ids.span_id.to_hex(),
        // Jaeger's flags: sampled (W3C bit 0) and debug; other W3C bits mean something else there.
        flags: (span.flags & 1) | if span.debug { 2 } else { 0 },
        operation_name: span.name.clone(),
        references: parent.into_iter().chain(span.links.iter().map(link_reference)).collect(),
        start_time: span.start.as_micros(),
        duration: span.duration_nanos() / 1_000,
        tags: tags(record),
        logs: span.events.iter().map(event_log).collect(),
        process_id,
        // Query-time warnings (clock-skew adjustment) travel as an attribute until here.
        warnings: Some(warnings_of(record)).filter(|w| !w.is_empty()),
    }
}

/// A link is a `FOLLOWS_FROM` reference unless it says it was a `child_of` (a Jaeger span's
/// extra parent that came in through OTLP).
fn link_reference(link: &Link) -> JaegerReference {
    JaegerReference {
        ref_type: if is_child_of(link) { JaegerRefType::ChildOf } else { JaegerRefType::FollowsFrom },
        trace_id: link.trace_id.to_short_hex(),
        span_id: link.span_id.to_hex(),
    }
}

/// True for a link that was a Jaeger `CHILD_OF` reference (`opentracing.ref_type=child_of`).
fn is_child_of(link: &Link) -> bool {
    ref_type_is(link, "child_of")
}

/// True when the link's `opentracing.ref_type` attribute names this reference type.
fn ref_type_is(link: &Link, expected: &str) -> bool {
    let ref_type = link.attributes.iter().find(|kv| kv.key == semconv::OPENTRACING_REF_TYPE);
    matches!(ref_type, Some(KeyValue { value: AnyValue::String(kind), .. }) if kind.eq_ignore_ascii_case(expected))
}

/// Span attributes, then the tags derived from scope, kind, status, trace state and dropped
/// counts; a derived tag replaces an attribute of the same key rather than repeating it.
fn tags(record: &SpanRecord) -> Vec<JaegerKeyValue> {
    let span = &record.span;
    let scope = &record.scope;
    let mut derived = Vec::new();
    for (keys, value) in [
        ([semconv::OTEL_SCOPE_NAME, semconv::OTEL_LIBRARY_NAME], &scope.name),
        ([semconv::OTEL_SCOPE_VERSION, semconv::OTEL_LIBRARY_VERSION], &scope.version),
    ] {
        if !value.is_empty() {
            derived.extend(keys.map(|key| JaegerKeyValue::string(key, value.clone())));
        }
    }
    // contrib writes `internal` too; only an unspecified kind has no tag.
    if span.kind != SpanKind::Unspecified {
        derived.push(JaegerKeyValue::string(semconv::SPAN_KIND, span.kind.as_lower_str()));
    }
    match span.status.code {
        StatusCode::Unset => {}
        StatusCode::Ok => derived.push(JaegerKeyValue::string(semconv::OTEL_STATUS_CODE, "OK")),
        StatusCode::Error => {
            derived.push(JaegerKeyValue::string(semconv::OTEL_STATUS_CODE, "ERROR"));
            derived.push(JaegerKeyValue::bool(semconv::ERROR, true));
        }
    }
    if span.status.code != StatusCode::Unset && !span.status.message.is_empty() {
        derived.push(JaegerKeyValue::string(semconv::OTEL_STATUS_DESCRIPTION, span.status.message.clone()));
    }
    if !span.trace_state.is_empty() {
        derived.push(JaegerKeyValue::string(semconv::W3C_TRACESTATE, span.trace_state.clone()));
    }
    for (key, count) in [
        (semconv::OTEL_DROPPED_ATTRIBUTES_COUNT, span.dropped_attributes_count),
        (semconv::OTEL_DROPPED_EVENTS_COUNT, span.dropped_events_count),
        (semconv::OTEL_DROPPED_LINKS_COUNT, span.dropped_links_count),
    ] {
        if count > 0 {
            derived.push(JaegerKeyValue::int64(key, i64::from(count)));
        }
    }
    let mut tags: Vec<JaegerKeyValue> = span
        .attributes
        .iter()
        .filter(|kv| kv.key != WARNINGS_ATTRIBUTE && !derived.iter().any(|tag| tag.key == kv.key))
        .map(JaegerKeyValue::from_attribute)
        .collect();
    tags.append(&mut derived);
    tags
}

/// A log at the event's time: `event=<name>` first (unless an attribute is already called
/// `event`), then the attributes.
fn event_log(event: &Event) -> JaegerLog {
    let mut fields = Vec::with_capacity(event.attributes.len() + 1);
    if !event.name.is_empty() && !event.attributes.iter().any(|kv| kv.key == semconv::EVENT) {
        fields.push(JaegerKeyValue::string(semconv::EVENT, event.name.clone()));
    }
    fields.extend(event.attributes.iter().map(JaegerKeyValue::from_attribute));
    JaegerLog { timestamp: event.time.as_micros(), fields }
}

fn is_zero(flags: &u32) -> bool {
    *flags == 0
}

#[cfg(test)]
mod tests;
