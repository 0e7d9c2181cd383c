//! The assembler: groups arriving spans into traces in lock shards keyed by trace id, tracks each
//! trace in flight (spans, services, root, start/end) and marks it complete once no span has
//! arrived for the idle timeout. Spans are written through to the store as they arrive, so they
//! are queryable at once, complete or not.
//!
//! Invariants: a shard's lock is held only to update one batch's share of that shard (no I/O, no
//! await); a shard tracks at most `max_traces / shards` traces and its arrival queue at most twice
//! that many ids, so memory stays bounded however fast traces arrive.

mod trace;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::config::AssemblerSettings;
use crate::model::{Batch, SpanRecord, TraceId, UnixNanos};
use crate::stats::red::{minute_of, ShardStats, SpanSample, Stats};
use crate::store::{Store, StoreError};
use crate::telemetry::Telemetry;

pub use trace::{RootSpan, SpanSkeleton, TraceInFlight};

/// Groups spans into traces and tracks them until they complete.
pub struct Assembler {
    shards: Box<[Mutex<Shard>]>,
    store: Arc<dyn Store>,
    telemetry: Arc<Telemetry>,
    stats: Arc<Stats>,
    settings: AssemblerSettings,
}

#[derive(Default)]
struct Shard {
    traces: HashMap<TraceId, TraceInFlight>,
    /// Trace ids in first-seen order, to end the oldest early when the shard is full. May hold
    /// ids of traces already completed; compacted when it grows past twice the shard's limit.
    arrival: VecDeque<TraceId>,
    /// What this shard's spans and completed traces add to the statistics since the last flush.
    stats: ShardStats,
}

impl Assembler {
    /// An assembler writing through to `store`.
    pub fn new(settings: AssemblerSettings, store: Arc<dyn Store>, telemetry: Arc<Telemetry>) -> Self {
        let shards = (0..settings.shards.get()).map(|_| Mutex::new(Shard::default())).collect();
        let stats = Arc::new(Stats::new(settings.stats));
        Self { shards, store, telemetry, stats, settings }
    }

    /// The live statistics this assembler feeds.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    fn shard_index(&self, id: &TraceId) -> usize {
        (id.low() as usize) % self.shards.len()
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn per_shard_limit(&self) -> usize {
        (self.settings.max_traces.get() / self.shards.len()).max(1)
    }

    /// Adds a batch: tracks its spans per trace and writes them to the store.
    pub fn insert(&self, batch: Batch) -> Result<usize, StoreError> {
        let records: Vec<SpanRecord> = batch.into_records().collect();
        let count = records.len();
        self.track(&records, Instant::now());
        self.store.write(records)?;
        Ok(count)
    }

    fn track(&self, records: &[SpanRecord], now: Instant) {
        // Visit records shard by shard so each lock is taken once per batch.
        let mut order: Vec<(usize, usize)> =
            records.iter().enumerate().map(|(i, r)| (self.shard_index(&r.span.trace_id), i)).collect();
        order.sort_unstable();
        let limit = self.per_shard_limit();
        let stats = &self.settings.stats;
        let minute = minute_of(UnixNanos::now().0);
        let (mut created, mut dropped) = (0i64, 0u64);
        let mut start = 0;
        while start < order.len() {
            let shard_no = order[start].0;
            let end = order[start..].iter().position(|(s, _)| *s != shard_no).map_or(order.len(), |p| start + p);
            let mut shard = self.lock(shard_no);
            for &(_, i) in &order[start..end] {
                let record = &records[i];
                let id = record.span.trace_id;
                if !shard.traces.contains_key(&id) {
                    while shard.traces.len() >= limit {
                        let Some(oldest) = shard.arrival.pop_front() else { break };
                        if shard.traces.remove(&oldest).is_some() {
                            dropped += 1;
                            created -= 1;
                        }
                    }
                    shard.arrival.push_back(id);
                    if shard.arrival.len() > 2 * limit {
                        let Shard { traces, arrival, .. } = &mut *shard;
                        arrival.retain(|id| traces.contains_key(id));
                    }
                    created += 1;
                }
                shard.traces.entry(id).or_insert_with(|| TraceInFlight::new(now)).add(record, now);
                if stats.enabled {
                    let span = &record.span;
                    let sample = SpanSample {
                        service: record.service_name(),
                        operation: &span.name,
                        kind: span.kind,
                        nanos: span.duration_nanos(),
                        status: span.status.code,
                    };
                    shard.stats.record_span(stats, minute, sample);
                }
            }
            drop(shard);
            start = end;
        }
        self.telemetry.assembler_traces_in_flight.add(created);
        if dropped > 0 {
            self.telemetry.assembler_traces_dropped.add(dropped);
        }
    }

    /// Marks traces idle for the timeout as complete and stops tracking them; returns how many.
    pub fn complete_idle(&self, now: Instant) -> usize {
        let idle = self.settings.idle_timeout;
        let stats = &self.settings.stats;
        let minute = minute_of(UnixNanos::now().0);
        let mut completed = 0;
        for i in 0..self.shards.len() {
            let mut shard = self.lock(i);
            let before = shard.traces.len();
            let Shard { traces, arrival, stats: shard_stats } = &mut *shard;
            traces.retain(|_, t| {
                let keep = now.saturating_duration_since(t.last_seen()) < idle;
                if !keep && stats.enabled {
                    // A complete trace counts once, under its root operation.
                    if let Some((service, operation, error)) = t.root_span() {
                        let (start, end) = t.bounds();
                        shard_stats.record_trace(
                            stats,
                            minute,
                            service,
                            operation,
                            end.0.saturating_sub(start.0),
                            error,
                        );
                    }
                    for call in crate::stats::service_graph::calls(t) {
                        shard_stats.record_edge(minute, &call);
                    }
                }
                keep
            });
            let done = before - traces.len();
            completed += done;
            if done > 0 {
                arrival.retain(|id| traces.contains_key(id));
            }
        }
        if completed > 0 {
            self.telemetry.assembler_traces_completed.add(completed as u64);
            self.telemetry.assembler_traces_in_flight.add(-(completed as i64));
            tracing::trace!(traces = completed, "traces complete");
        }
        completed
    }

    /// Hands every shard's statistics since the last flush to [`Stats`], and ages old buckets.
    pub fn flush_stats(&self) {
        if !self.settings.stats.enabled {
            return;
        }
        let minute = minute_of(UnixNanos::now().0);
        for i in 0..self.shards.len() {
            // Take under the lock, merge outside it.
            let minutes = self.lock(i).stats.take();
            if !minutes.is_empty() {
                self.stats.absorb(minutes, minute, &self.telemetry);
            }
        }
        self.stats.age(minute);
    }

    /// A copy of a trace's in-flight state, if it is still in flight.
    pub fn in_flight(&self, id: TraceId) -> Option<TraceInFlight> {
        self.lock(self.shard_index(&id)).traces.get(&id).cloned()
    }

    /// Completes idle traces periodically until cancelled.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let period = (self.settings.idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {
                    let this = self.clone();
                    // The sweep walks every shard: keep it off the reactor threads.
                    let _ = tokio::task::spawn_blocking(move || {
                        this.complete_idle(Instant::now());
                        this.flush_stats();
                    })
                    .await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
