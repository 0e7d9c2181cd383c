//! A shard's search index: its traces ordered by start, and the same per service and per
//! service + operation, so a search walks only the traces that can answer it, newest first, and
//! stops once it has its limit.
//!
//! Keys are 64-bit hashes of the ASCII-lower-cased names. A hash collision or a case difference
//! only adds candidates, which the query's own matching then refuses, so the index never decides
//! a match; it only narrows where to look.
//!
//! Invariants: every trace of the shard is in `by_start` once, under its current first start, and
//! in `by_key[k]` once for each key `k` among its keys, under the same start; a set that becomes
//! empty is removed. `max_extent` is at least the start extent (last − first span start) of every
//! trace ever indexed, so a trace starting before `start_min − max_extent` cannot reach the window.

use std::collections::{BTreeSet, HashMap};

use crate::model::query::TraceQuery;
use crate::model::{SpanRecord, TraceId, UnixNanos};
use crate::store::{operation_key, service_key};

/// Bytes an index entry is counted as against the store's budget (a B-tree slot with its share of
/// node overhead, plus the key in the trace's own key list).
pub(super) const ENTRY_BYTES: usize = 48;

type Entry = (UnixNanos, TraceId);

/// One shard's search index.
#[derive(Default)]
pub(super) struct SearchIndex {
    by_start: BTreeSet<Entry>,
    by_key: HashMap<u64, BTreeSet<Entry>>,
    max_extent: u64,
}

/// The index keys a span contributes: its service, and its service + operation.
pub(super) fn span_keys(record: &SpanRecord) -> [u64; 2] {
    let service = record.service_name();
    [service_key(service), operation_key(service, &record.span.name)]
}

impl SearchIndex {
    /// Indexes a new trace whose first span starts at `start`.
    pub(super) fn add_trace(&mut self, id: TraceId, start: UnixNanos) {
        self.by_start.insert((start, id));
    }

    /// Files a trace under one more key.
    pub(super) fn add_key(&mut self, key: u64, id: TraceId, start: UnixNanos) {
        self.by_key.entry(key).or_default().insert((start, id));
    }

    /// Re-files a trace whose first start moved from `old` to `new`, under all its keys.
    pub(super) fn move_trace(&mut self, id: TraceId, old: UnixNanos, new: UnixNanos, keys: &[u64]) {
        self.by_start.remove(&(old, id));
        self.by_start.insert((new, id));
        for key in keys {
            if let Some(set) = self.by_key.get_mut(key) {
                set.remove(&(old, id));
                set.insert((new, id));
            }
        }
    }

    /// Widens the longest known start extent to cover a trace's.
    pub(super) fn note_extent(&mut self, first: UnixNanos, last: UnixNanos) {
        self.max_extent = self.max_extent.max(last.0.saturating_sub(first.0));
    }

    /// Forgets a trace filed under `start` and `keys`.
    pub(super) fn remove_trace(&mut self, id: TraceId, start: UnixNanos, keys: &[u64]) {
        self.by_start.remove(&(start, id));
        for key in keys {
            if let Some(set) = self.by_key.get_mut(key) {
                set.remove(&(start, id));
                if set.is_empty() {
                    self.by_key.remove(key);
                }
            }
        }
    }

    /// The traces that may answer `query`, as (first start, id), latest start first (ties by id,
    /// descending): those filed under the narrowest key the query names and whose starts allow
    /// them to reach its time window.
    pub(super) fn candidates<'a>(&'a self, query: &TraceQuery) -> impl Iterator<Item = Entry> + 'a {
        let set = match (query.service.as_deref(), query.operation.as_deref()) {
            (Some(service), Some(operation)) => self.by_key.get(&operation_key(service, operation)),
            (Some(service), None) => self.by_key.get(&service_key(service)),
            (None, _) => Some(&self.by_start),
        };
        let floor = query.start_min.0.saturating_sub(self.max_extent);
        let top = (query.start_max, TraceId::MAX);
        set.into_iter()
            .flat_map(move |set| set.range(..=top).rev())
            .take_while(move |(start, _)| start.0 >= floor)
            .copied()
    }

    /// Number of key entries (for tests of the invariants).
    #[cfg(test)]
    pub(super) fn key_entries(&self) -> usize {
        self.by_key.values().map(BTreeSet::len).sum()
    }

    /// Number of traces indexed by start (for tests of the invariants).
    #[cfg(test)]
    pub(super) fn traces(&self) -> usize {
        self.by_start.len()
    }
}
