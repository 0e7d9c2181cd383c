//! Trace storage: the [`Store`] trait every query talks to, and its implementations.
//!
//! A store receives spans as they arrive (write-through from the assembler), so a span is
//! queryable as soon as its batch is acknowledged, whether or not its trace is complete.

mod disk;
mod memory;
pub mod names;

pub use disk::{Clock, DiskStore, Limits as DiskLimits, SystemClock};

pub use memory::MemoryStore;

use std::sync::Arc;

use crate::model::query::TraceQuery;
use crate::model::{AnyValue, KeyValue, Resource, Scope, SpanKind, SpanRecord, Trace, TraceId, UnixNanos};

/// A failure of the storage backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot take or serve data right now; retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// An operation (span name) of a service, with the kind it was recorded with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
}

/// What every trace store provides; queries use nothing else.
pub trait Store: Send + Sync + 'static {
    /// Stores spans (of any number of traces); `Ok` means they are kept (durably, for a durable store).
    fn write(&self, records: &[Arc<SpanRecord>]) -> Result<(), StoreError>;

    /// All stored spans of a trace, or `None` when none are stored.
    fn trace(&self, id: TraceId) -> Result<Option<Trace>, StoreError>;

    /// Traces answering the query, newest (latest start) first, at most `query.limit`.
    fn find_traces(&self, query: &TraceQuery) -> Result<Vec<Trace>, StoreError>;

    /// Where a checkpoint taken now cuts the stream of writes (opaque to callers), or `None` for a
    /// store that keeps no checkpoints. Called while no write is in progress.
    fn checkpoint_cut(&self) -> Option<Vec<u8>> {
        None
    }

    /// Saves `state`, which covers every write before `cut`, as the latest checkpoint.
    fn save_checkpoint(&self, _cut: &[u8], _state: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }

    /// The latest checkpoint's state, if one was saved and can be read.
    fn load_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    /// Calls `f` with each write made after the latest checkpoint that arrived at or after `since`,
    /// oldest first, with its arrival time; returns the number of spans replayed.
    fn replay(
        &self,
        _since: UnixNanos,
        _f: &mut dyn FnMut(UnixNanos, Vec<Arc<SpanRecord>>),
    ) -> Result<usize, StoreError> {
        Ok(0)
    }

    /// The store's name index (services, operations, remote services, autocomplete values).
    fn names(&self) -> &names::Names;

    /// Names of every service that has reported spans, sorted.
    fn services(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.names().services())
    }

    /// Operations of a service (of one kind, if given), sorted by name then kind.
    fn operations(&self, service: &str, kind: Option<SpanKind>) -> Result<Vec<Operation>, StoreError> {
        Ok(self.names().operations(service, kind))
    }

    /// Remote services a service has called (from `peer.service`), sorted.
    fn remote_services(&self, service: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.names().remote_services(service))
    }

    /// Tag keys whose values are indexed for autocompletion.
    fn autocomplete_keys(&self) -> Vec<String> {
        self.names().autocomplete_keys()
    }

    /// Values seen for an autocomplete key (span or resource attribute), sorted; empty for other keys.
    fn autocomplete_values(&self, key: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.names().autocomplete_values(key))
    }
}

/// The search-index key of a service: a 64-bit hash of its ASCII-lower-cased name, so Zipkin's
/// case-insensitive searches use it too. A collision or a case difference only adds candidates;
/// the query's own rules decide every match.
pub(crate) fn service_key(service: &str) -> u64 {
    fnv1a_lower(FNV_OFFSET, service)
}

/// The search-index key of a service's operation (see [`service_key`]).
pub(crate) fn operation_key(service: &str, operation: &str) -> u64 {
    // 0xFF never occurs in UTF-8, so ("ab", "c") and ("a", "bc") hash different inputs.
    let h = fnv1a_lower(FNV_OFFSET, service);
    fnv1a_lower((h ^ 0xFF).wrapping_mul(FNV_PRIME), operation)
}

/// Longest tag value (as text) the tag index holds; a search for a longer value uses other indexes.
pub(crate) const MAX_INDEXED_TAG: usize = 256;

/// The search-index key of a tag `key=value` on a span of `service`: the service compared
/// ignoring ASCII case (see [`service_key`]), key and value exactly, as tag searches compare them.
pub(crate) fn tag_key(service: &str, key: &str, value: &str) -> u64 {
    tag_key_of(service_key(service), key, value)
}

/// [`tag_key`] from the service's [`service_key`].
fn tag_key_of(service: u64, key: &str, value: &str) -> u64 {
    finish(mix_bytes(mix_bytes(service, key.as_bytes()), value.as_bytes()))
}

/// Mixes bytes into a hash eight at a time, then their length (so `("ab", "c")` and `("a", "bc")`
/// differ). Written out here, not taken from a crate, because the keys are kept on disk and must
/// never change with a dependency's version.
fn mix_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    (h.rotate_left(5) ^ bytes.len() as u64).wrapping_mul(K)
}

/// Spreads a hash's bits (SplitMix64's finaliser).
fn finish(mut h: u64) -> u64 {
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Calls `f` with the tag key of every `key=value` a tag search could match on this span, under
/// either rule set: span and resource attributes and the derived tags (see
/// `model::query::tag_matches`), values up to [`MAX_INDEXED_TAG`] bytes.
#[cfg(test)]
pub(crate) fn span_tag_keys(record: &SpanRecord, mut f: impl FnMut(u64)) {
    let service = service_key(record.service_name());
    let mut text = String::new();
    own_tag_keys(record, service, &mut text, &mut f);
    shared_tag_keys(&record.resource, &record.scope, &mut text, f);
}

/// The part of [`span_tag_keys`] that comes from the span itself: its attributes and the tags
/// derived from its kind and status. `service` is the span's [`service_key`]; `text` is scratch.
pub(crate) fn own_tag_keys(record: &SpanRecord, service: u64, text: &mut String, mut f: impl FnMut(u64)) {
    use crate::model::{semconv, StatusCode};
    let mut add = |key: &str, value: &str| {
        if value.len() <= MAX_INDEXED_TAG {
            f(tag_key_of(service, key, value));
        }
    };
    attribute_tag_keys(&record.span.attributes, text, &mut add);
    let span = &record.span;
    if span.status.code == StatusCode::Error {
        add(semconv::ERROR, "true");
        add(semconv::ERROR, &span.status.message);
    }
    match span.status.code {
        StatusCode::Unset => {}
        StatusCode::Ok => add(semconv::OTEL_STATUS_CODE, "OK"),
        StatusCode::Error => add(semconv::OTEL_STATUS_CODE, "ERROR"),
    }
    if span.kind != SpanKind::Unspecified {
        add(semconv::SPAN_KIND, span.kind.as_lower_str());
    }
    if !span.status.message.is_empty() {
        add(semconv::OTEL_STATUS_DESCRIPTION, &span.status.message);
    }
}

/// The part of [`span_tag_keys`] every span of one resource and scope shares: the resource's
/// attributes and the scope's name and version. `text` is scratch.
pub(crate) fn shared_tag_keys(resource: &Resource, scope: &Scope, text: &mut String, mut f: impl FnMut(u64)) {
    use crate::model::semconv;
    let service = service_key(resource.service_name());
    let mut add = |key: &str, value: &str| {
        if value.len() <= MAX_INDEXED_TAG {
            f(tag_key_of(service, key, value));
        }
    };
    attribute_tag_keys(&resource.attributes, text, &mut add);
    for (key, value) in [(semconv::OTEL_SCOPE_NAME, &scope.name), (semconv::OTEL_SCOPE_VERSION, &scope.version)] {
        if !value.is_empty() {
            add(key, value);
        }
    }
}

/// Calls `add` with each attribute's key and value as text (`text` holds non-string values).
fn attribute_tag_keys(attributes: &[KeyValue], text: &mut String, add: &mut impl FnMut(&str, &str)) {
    for kv in attributes {
        match &kv.value {
            AnyValue::String(value) => add(&kv.key, value),
            other => {
                text.clear();
                other.write_text(text);
                add(&kv.key, text);
            }
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

fn fnv1a_lower(mut h: u64, text: &str) -> u64 {
    for b in text.bytes() {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(FNV_PRIME);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AnyValue;

    const TAG_KEY_OF_WEB_500: u64 = 8_641_864_566_432_541_488;

    #[test]
    fn index_keys_ignore_ascii_case_and_keep_name_boundaries() {
        assert_eq!(service_key("Web"), service_key("web"));
        assert_eq!(operation_key("Web", "GET /"), operation_key("web", "get /"));
        assert_ne!(operation_key("ab", "c"), operation_key("a", "bc"));
        assert_ne!(service_key("web"), operation_key("web", ""));
        assert_eq!(tag_key("Web", "http.method", "GET"), tag_key("web", "http.method", "GET"));
        assert_ne!(tag_key("web", "http.method", "GET"), tag_key("web", "http.method", "get"));
        assert_ne!(tag_key("web", "a", "bc"), tag_key("web", "ab", "c"));
        assert_ne!(tag_key("web", "a", ""), tag_key("web", "", "a"));
        // Kept on disk: the hash must never change.
        assert_eq!(tag_key("web", "http.response.status_code", "500"), TAG_KEY_OF_WEB_500);
        for (value, text) in
            [(AnyValue::Int(-42), "-42"), (AnyValue::Bool(true), "true"), (AnyValue::Double(0.5), "0.5")]
        {
            assert_eq!(value.to_text(), text);
            let record = crate::testkit::SpanBuilder::new("web", "op", 1, 1).attr("k", value).build();
            let mut keys = Vec::new();
            span_tag_keys(&record, |k| keys.push(k));
            assert!(keys.contains(&tag_key("web", "k", text)), "{text}");
        }
    }
}

/// Random traces and searches for the stores' property tests, and the answer a full scan gives.
#[cfg(test)]
pub(crate) mod search_props {
    use proptest::prelude::*;

    use super::Store;
    use crate::model::query::{MatchRule, TraceQuery};
    use crate::model::{SpanRecord, TraceId, UnixNanos};
    use crate::testkit::{trace_id, SpanBuilder, BASE_TIME};

    /// Service names that differ only in case, so both rule sets' name comparisons are exercised.
    pub const SERVICES: [&str; 3] = ["web", "Web", "db"];
    /// Operation names, likewise.
    pub const OPERATIONS: [&str; 3] = ["get", "GET", "query"];
    /// Nanoseconds per unit of the generated starts and windows: 2,000 units cover 100 s, so traces
    /// and windows cross the disk store's one-minute posting ranges.
    pub const TICK: u64 = 50_000_000;
    /// Values of the `tier` tag each span carries (picked by its start), differing in case too.
    pub const TIERS: [&str; 3] = ["free", "pro", "Pro"];

    /// (trace, span, service, operation, start, duration) for up to 11 traces.
    pub fn spans() -> impl Strategy<Value = Vec<(u8, u8, usize, usize, u16, u16)>> {
        proptest::collection::vec((1u8..12, 1u8..6, 0..3usize, 0..3usize, 0u16..2_000, 1u16..500), 1..60)
    }

    /// The spans as records.
    pub fn records(spans: &[(u8, u8, usize, usize, u16, u16)]) -> Vec<SpanRecord> {
        spans
            .iter()
            .map(|&(t, i, sv, op, start, d)| {
                SpanBuilder::new(SERVICES[sv], OPERATIONS[op], u128::from(t), u64::from(i))
                    .timing(u64::from(start) * TICK, u64::from(d))
                    .attr("tier", crate::model::AnyValue::String(TIERS[usize::from(start % 3)].into()))
                    .build()
            })
            .collect()
    }

    /// A search by service, operation, tag, window and limit, by either rule set.
    pub fn query() -> impl Strategy<Value = TraceQuery> {
        (
            proptest::option::of(0..3usize),
            proptest::option::of(0..3usize),
            proptest::option::of(0..3usize),
            0u64..2_000,
            0u64..2_500,
            1usize..6,
            any::<bool>(),
            proptest::option::of(0u64..500),
            proptest::option::of(0u64..500),
        )
            .prop_map(|(service, operation, tier, from, len, limit, zipkin, min, max)| TraceQuery {
                min_duration: min.map(std::time::Duration::from_nanos),
                max_duration: max.map(std::time::Duration::from_nanos),
                service: service.map(|i| SERVICES[i].to_string()),
                operation: operation.map(|i| OPERATIONS[i].to_string()),
                tags: tier
                    .map(|i| crate::model::query::TagFilter { key: "tier".into(), value: Some(TIERS[i].into()) })
                    .into_iter()
                    .collect(),
                start_min: UnixNanos(BASE_TIME + from * TICK),
                start_max: UnixNanos(BASE_TIME + (from + len) * TICK),
                limit,
                rule: if zipkin { MatchRule::ZipkinJoint } else { MatchRule::SingleSpan },
                ignore_case: zipkin,
                ..TraceQuery::default()
            })
    }

    /// What a search must answer: every stored trace checked, newest first, `limit` of them.
    pub fn full_scan(store: &dyn Store, q: &TraceQuery) -> Vec<TraceId> {
        let mut expected: Vec<(UnixNanos, TraceId)> = (1..12u128)
            .filter_map(|t| store.trace(trace_id(t)).unwrap())
            .filter(|trace| {
                let first = trace.spans.iter().map(|r| r.span.start).min().unwrap();
                let last = trace.spans.iter().map(|r| r.span.start).max().unwrap();
                q.may_overlap(first, last) && q.matches(&trace.spans)
            })
            .map(|trace| (trace.spans.iter().map(|r| r.span.start).min().unwrap(), trace.trace_id))
            .collect();
        expected.sort_unstable_by(|a, b| b.cmp(a));
        expected.truncate(q.limit);
        expected.into_iter().map(|(_, id)| id).collect()
    }
}
