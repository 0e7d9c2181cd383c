//! The in-memory store: traces in lock shards keyed by trace id, bounded by one byte budget that
//! evicts the oldest-arrived traces first, plus a small name index for services and operations.
//!
//! The budget and the arrival order are global, not per shard, so one trace may take as much of
//! the budget as it needs (a 100,000-span trace is far larger than a shard's share would be).
//!
//! Each shard also keeps a search index (see [`index`]) so searches walk only the traces filed
//! under the service or service + operation they name, newest first.
//!
//! Invariants: every stored trace has exactly one entry in the arrival queue, pushed once its
//! first spans are in its shard; `bytes` is the sum of the stored traces' estimated sizes; after
//! every write, that writer evicts oldest-first until `bytes` is within the budget (so the store
//! exceeds it by at most the writes in progress). A shard lock and the arrival lock are never held
//! together.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::config::MemoryStoreSettings;
use crate::model::query::{remote_service, TraceQuery};
use crate::model::{SpanKind, SpanRecord, Trace, TraceId, UnixNanos};
use crate::telemetry::Telemetry;

use super::{Operation, Store, StoreError};

mod index;

use index::SearchIndex;

/// Traces kept in memory, bounded by bytes.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    /// Trace ids in the order their first spans arrived.
    arrival: Mutex<VecDeque<TraceId>>,
    /// Estimated bytes of every stored trace.
    bytes: AtomicUsize,
    names: RwLock<NameIndex>,
    settings: MemoryStoreSettings,
    telemetry: Arc<Telemetry>,
}

#[derive(Default)]
struct Shard {
    traces: HashMap<TraceId, StoredTrace>,
    index: SearchIndex,
}

impl Shard {
    /// Removes a trace and its index entries.
    fn remove(&mut self, id: &TraceId) -> Option<StoredTrace> {
        let gone = self.traces.remove(id)?;
        self.index.remove_trace(*id, gone.first_start, &gone.keys);
        Some(gone)
    }
}

struct StoredTrace {
    spans: Vec<Arc<SpanRecord>>,
    /// Estimated bytes of the spans and of the trace's index entries.
    bytes: usize,
    first_start: UnixNanos,
    last_start: UnixNanos,
    /// Index keys the trace is filed under, sorted.
    keys: Vec<u64>,
}

#[derive(Default)]
struct ServiceNames {
    /// Span names, each with the kinds it was seen with (looked up by `&str`, no allocation).
    operations: BTreeMap<String, BTreeSet<SpanKind>>,
    /// Number of (name, kind) pairs in `operations`.
    operation_count: usize,
    remote_services: BTreeSet<String>,
}

impl ServiceNames {
    fn knows(&self, entry: &NameEntry<'_>) -> bool {
        self.operations.get(entry.operation).is_some_and(|kinds| kinds.contains(&entry.kind))
            && entry.remote.is_none_or(|remote| self.remote_services.contains(remote))
    }
}

#[derive(Default)]
struct NameIndex {
    services: BTreeMap<String, ServiceNames>,
    /// Values seen per autocomplete key (only the configured keys).
    autocomplete: BTreeMap<String, BTreeSet<String>>,
}

/// Values indexed per autocomplete key; more are counted as dropped names.
pub const MAX_AUTOCOMPLETE_VALUES: usize = 10_000;

/// One name-index entry a span contributes.
#[derive(PartialEq, Eq, Hash)]
struct NameEntry<'a> {
    service: &'a str,
    operation: &'a str,
    kind: SpanKind,
    remote: Option<&'a str>,
}

impl MemoryStore {
    /// An empty store with these limits, reporting into `telemetry`.
    pub fn new(settings: MemoryStoreSettings, telemetry: Arc<Telemetry>) -> Self {
        let shards = (0..settings.shards.get()).map(|_| Mutex::new(Shard::default())).collect();
        Self {
            shards,
            arrival: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            names: RwLock::new(NameIndex::default()),
            settings,
            telemetry,
        }
    }

    fn shard_index(&self, id: &TraceId) -> usize {
        // Trace ids are random: their low bytes spread traces evenly.
        (id.low() as usize) % self.shards.len()
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding the lock cannot leave a shard half-updated in a way that matters
        // more than losing the whole store, so keep serving.
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn arrival(&self) -> MutexGuard<'_, VecDeque<TraceId>> {
        self.arrival.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Evicts whole traces, oldest arrival first, until the store is within its budget; returns
    /// what it evicted as (traces, spans, bytes).
    fn evict_to_budget(&self) -> (usize, usize, usize) {
        let (mut traces, mut spans, mut bytes) = (0, 0, 0);
        while self.bytes.load(Ordering::Relaxed) > self.settings.max_bytes {
            let Some(oldest) = self.arrival().pop_front() else { break };
            let gone = self.lock(self.shard_index(&oldest)).remove(&oldest);
            // Freed here, after the shard's lock is released: freeing thousands of spans is the
            // slowest part of a write, and other writers and queries need the shard.
            if let Some(gone) = gone {
                self.bytes.fetch_sub(gone.bytes, Ordering::Relaxed);
                traces += 1;
                spans += gone.spans.len();
                bytes += gone.bytes;
            }
        }
        (traces, spans, bytes)
    }

    fn index_names(&self, records: &[SpanRecord]) {
        let mut entries: Vec<NameEntry<'_>> = Vec::new();
        let mut values: Vec<(&str, String)> = Vec::new();
        {
            let names = self.names.read().unwrap_or_else(|p| p.into_inner());
            for r in records {
                for key in &self.settings.autocomplete_keys {
                    let value = r.span.attribute(key).or_else(|| r.resource.attribute(key)).map(|v| v.to_text());
                    if let Some(value) = value.filter(|v| !v.is_empty()) {
                        let known = names.autocomplete.get(key.as_str()).is_some_and(|set| set.contains(&value));
                        if !known && !values.iter().any(|(k, v)| k == key && *v == value) {
                            values.push((key, value));
                        }
                    }
                }
                let entry = NameEntry {
                    service: r.service_name(),
                    operation: &r.span.name,
                    kind: r.span.kind,
                    remote: remote_service(r),
                };
                let known = names.services.get(entry.service).is_some_and(|s| s.knows(&entry));
                if !known && !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
        }
        if entries.is_empty() && values.is_empty() {
            return;
        }
        let mut dropped = 0u64;
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        for (key, value) in values {
            let set = names.autocomplete.entry(key.to_owned()).or_default();
            if set.len() < MAX_AUTOCOMPLETE_VALUES {
                set.insert(value);
            } else if !set.contains(&value) {
                dropped += 1;
            }
        }
        for entry in entries {
            if !names.services.contains_key(entry.service) && names.services.len() >= self.settings.max_services {
                dropped += 1;
                continue;
            }
            let service = names.services.entry(entry.service.to_owned()).or_default();
            let known = service.operations.get(entry.operation).is_some_and(|k| k.contains(&entry.kind));
            if !known {
                if service.operation_count >= self.settings.max_operations_per_service {
                    dropped += 1;
                } else {
                    service.operations.entry(entry.operation.to_owned()).or_default().insert(entry.kind);
                    service.operation_count += 1;
                }
            }
            if let Some(remote) = entry.remote.filter(|r| !service.remote_services.contains(*r)) {
                if service.remote_services.len() < self.settings.max_operations_per_service {
                    service.remote_services.insert(remote.to_owned());
                } else {
                    dropped += 1;
                }
            }
        }
        if dropped > 0 {
            self.telemetry.store_names_dropped.add(dropped);
        }
    }
}

impl Store for MemoryStore {
    fn write(&self, records: Vec<SpanRecord>) -> Result<(), StoreError> {
        self.index_names(&records);
        let mut by_shard: Vec<Vec<SpanRecord>> = (0..self.shards.len()).map(|_| Vec::new()).collect();
        for r in records {
            let i = self.shard_index(&r.span.trace_id);
            by_shard[i].push(r);
        }
        let mut added_bytes = 0usize;
        let mut new_traces: Vec<TraceId> = Vec::new();
        for (i, records) in by_shard.into_iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            let mut shard = self.lock(i);
            let Shard { traces, index } = &mut *shard;
            let mut shard_added = 0usize;
            for r in records {
                let mut bytes = r.estimated_bytes();
                let start = r.span.start;
                let trace_id = r.span.trace_id;
                let keys = index::span_keys(&r);
                let trace = traces.entry(trace_id).or_insert_with(|| {
                    new_traces.push(trace_id);
                    index.add_trace(trace_id, start);
                    bytes += index::ENTRY_BYTES;
                    StoredTrace { spans: Vec::new(), bytes: 0, first_start: start, last_start: start, keys: Vec::new() }
                });
                if start < trace.first_start {
                    index.move_trace(trace_id, trace.first_start, start, &trace.keys);
                    trace.first_start = start;
                }
                trace.last_start = trace.last_start.max(start);
                index.note_extent(trace.first_start, trace.last_start);
                for key in keys {
                    if let Err(at) = trace.keys.binary_search(&key) {
                        trace.keys.insert(at, key);
                        index.add_key(key, trace_id, trace.first_start);
                        bytes += index::ENTRY_BYTES;
                    }
                }
                trace.spans.push(Arc::new(r));
                trace.bytes += bytes;
                shard_added += bytes;
            }
            // Counted before the lock is released, so an eviction of this trace (which takes the
            // same lock) always subtracts bytes already added.
            self.bytes.fetch_add(shard_added, Ordering::Relaxed);
            added_bytes += shard_added;
        }
        let added_traces = new_traces.len();
        self.arrival().extend(new_traces);
        let (evicted_traces, evicted_spans, evicted_bytes) = self.evict_to_budget();
        let t = &self.telemetry;
        t.store_bytes.add(added_bytes as i64 - evicted_bytes as i64);
        t.store_traces.add(added_traces as i64 - evicted_traces as i64);
        if evicted_traces > 0 {
            t.store_traces_evicted.add(evicted_traces as u64);
            t.store_spans_evicted.add(evicted_spans as u64);
            tracing::debug!(
                traces = evicted_traces,
                spans = evicted_spans,
                "evicted oldest traces to stay within the memory budget"
            );
        }
        Ok(())
    }

    fn trace(&self, id: TraceId) -> Result<Option<Trace>, StoreError> {
        let shard = self.lock(self.shard_index(&id));
        Ok(shard.traces.get(&id).map(|t| Trace { trace_id: id, spans: t.spans.clone() }))
    }

    fn find_traces(&self, query: &TraceQuery) -> Result<Vec<Trace>, StoreError> {
        // Pass 1: per shard, walk the index newest first and keep up to `limit` matches; the
        // newest `limit` overall are among them. Each shard's lock is held only for its walk.
        let mut hits: Vec<(UnixNanos, TraceId)> = Vec::new();
        for i in 0..self.shards.len() {
            let shard = self.lock(i);
            let mut found = 0;
            for (start, id) in shard.index.candidates(query) {
                if found == query.limit {
                    break;
                }
                let Some(trace) = shard.traces.get(&id) else { continue };
                if query.may_overlap(trace.first_start, trace.last_start) && query.matches(&trace.spans) {
                    hits.push((start, id));
                    found += 1;
                }
            }
        }
        // Newest first; ties broken by id so results are stable.
        hits.sort_unstable_by(|a, b| b.cmp(a));
        hits.truncate(query.limit);
        // Pass 2: fetch the winners (one may have been evicted in between: skip it).
        let mut traces = Vec::with_capacity(hits.len());
        for (_, id) in hits {
            if let Some(trace) = self.trace(id)? {
                traces.push(trace);
            }
        }
        Ok(traces)
    }

    fn services(&self) -> Result<Vec<String>, StoreError> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        Ok(names.services.keys().cloned().collect())
    }

    fn operations(&self, service: &str, kind: Option<SpanKind>) -> Result<Vec<Operation>, StoreError> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        Ok(names
            .services
            .get(service)
            .map(|s| {
                s.operations
                    .iter()
                    .flat_map(|(name, kinds)| kinds.iter().map(move |k| Operation { name: name.clone(), kind: *k }))
                    .filter(|o| kind.is_none_or(|k| o.kind == k))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn remote_services(&self, service: &str) -> Result<Vec<String>, StoreError> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        Ok(names.services.get(service).map(|s| s.remote_services.iter().cloned().collect()).unwrap_or_default())
    }

    fn autocomplete_keys(&self) -> Vec<String> {
        self.settings.autocomplete_keys.clone()
    }

    fn autocomplete_values(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let names = self.names.read().unwrap_or_else(|p| p.into_inner());
        Ok(names.autocomplete.get(key).map(|set| set.iter().cloned().collect()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests;
