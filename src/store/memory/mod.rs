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

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::MemoryStoreSettings;
use crate::model::query::TraceQuery;
use crate::model::{SpanRecord, Trace, TraceId, UnixNanos};
use crate::telemetry::Telemetry;

use super::names::Names;
use super::{Store, StoreError};

mod index;

use index::SearchIndex;

/// Traces kept in memory, bounded by bytes.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    /// Trace ids in the order their first spans arrived.
    arrival: Mutex<VecDeque<TraceId>>,
    /// Estimated bytes of every stored trace.
    bytes: AtomicUsize,
    names: Names,
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

impl MemoryStore {
    /// An empty store with these limits, reporting into `telemetry`.
    pub fn new(settings: MemoryStoreSettings, telemetry: Arc<Telemetry>) -> Self {
        let shards = (0..settings.shards.get()).map(|_| Mutex::new(Shard::default())).collect();
        Self {
            shards,
            arrival: Mutex::new(VecDeque::new()),
            bytes: AtomicUsize::new(0),
            names: Names::new(&settings, telemetry.clone()),
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
}

impl Store for MemoryStore {
    fn write(&self, records: &[Arc<SpanRecord>]) -> Result<(), StoreError> {
        self.names.record(records);
        let mut by_shard: Vec<Vec<&Arc<SpanRecord>>> = (0..self.shards.len()).map(|_| Vec::new()).collect();
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
                let keys = index::span_keys(r);
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
                trace.spans.push(r.clone());
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

    fn names(&self) -> &Names {
        &self.names
    }
}

#[cfg(test)]
mod tests;
