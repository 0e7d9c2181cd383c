//! The assembler: groups arriving spans into traces in lock shards keyed by trace id, tracks each
//! trace in flight (spans, services, root, start/end) and marks it complete once no span has
//! arrived for the idle timeout. Spans are written through to the store as they arrive, so they
//! are queryable at once, complete or not.
//!
//! Invariants: a shard's lock is held only to update one batch's share of that shard (no I/O, no
//! await); a shard tracks at most `max_traces / shards` traces and its arrival queue at most twice
//! that many ids, so memory stays bounded however fast traces arrive.

mod trace;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::config::AssemblerSettings;
use crate::model::{Batch, SpanRecord, TraceId, UnixNanos};
use crate::stats::red::{minute_of, ShardStats, SpanSample, Stats};
use crate::store::{Store, StoreError};
use crate::telemetry::Telemetry;

pub use trace::{RootSpan, SpanSkeleton, TraceInFlight};

/// How often the statistics and the traces in flight are checkpointed to a durable store.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(30);

/// Groups spans into traces and tracks them until they complete.
pub struct Assembler {
    shards: Box<[Mutex<Shard>]>,
    store: Arc<dyn Store>,
    telemetry: Arc<Telemetry>,
    stats: Arc<Stats>,
    settings: AssemblerSettings,
    /// Writers hold it shared from store write to tracking; a checkpoint holds it alone.
    checkpoint_gate: RwLock<()>,
    /// Held while shard statistics move into [`Stats`], so a checkpoint saves exactly its cut.
    flushing: Mutex<()>,
}

/// Which parts of the assembler a span updates.
enum Track<'a> {
    /// Its trace in flight and the statistics (a span just written).
    All,
    /// Only its trace in flight (a span whose statistics a restored checkpoint already holds).
    SkeletonOnly,
    /// The statistics, and its trace in flight unless the trace is one of these (already rebuilt).
    Except(&'a HashSet<TraceId>),
}

/// What [`Assembler::recover`] restored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Whether a statistics checkpoint was restored.
    pub checkpoint: bool,
    /// Traces in flight rebuilt from the store.
    pub traces_rebuilt: usize,
    /// Spans written after the checkpoint, counted again.
    pub spans_replayed: usize,
}

/// What a checkpoint holds besides the store's cut.
#[derive(serde::Serialize, serde::Deserialize)]
struct Checkpoint {
    /// [`Stats::save`]'s encoding.
    stats: Vec<u8>,
    /// Traces in flight when it was taken (their spans are in the store).
    in_flight: Vec<[u8; 16]>,
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
        Self { shards, store, telemetry, stats, settings, checkpoint_gate: RwLock::new(()), flushing: Mutex::new(()) }
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

    /// Adds a batch: writes its spans to the store, then tracks them per trace and counts them in
    /// the statistics. A batch the store refuses is neither tracked nor counted, so a client's
    /// retry counts once.
    pub fn insert(&self, batch: Batch) -> Result<usize, StoreError> {
        let records: Vec<Arc<SpanRecord>> = batch.into_records().map(Arc::new).collect();
        let count = records.len();
        // Held across write and track, so a checkpoint never sees a write not yet counted.
        let _writing = self.checkpoint_gate.read().unwrap_or_else(|p| p.into_inner());
        self.store.write(&records)?;
        self.track(&records, Instant::now(), minute_of(UnixNanos::now().0), Track::All);
        Ok(count)
    }

    fn track(&self, records: &[Arc<SpanRecord>], now: Instant, minute: u64, what: Track) {
        // Visit records shard by shard so each lock is taken once per batch.
        let mut order: Vec<(usize, usize)> =
            records.iter().enumerate().map(|(i, r)| (self.shard_index(&r.span.trace_id), i)).collect();
        order.sort_unstable();
        let limit = self.per_shard_limit();
        let stats = &self.settings.stats;
        let (mut created, mut dropped) = (0i64, 0u64);
        let mut start = 0;
        while start < order.len() {
            let shard_no = order[start].0;
            let end = order[start..].iter().position(|(s, _)| *s != shard_no).map_or(order.len(), |p| start + p);
            let mut shard = self.lock(shard_no);
            for &(_, i) in &order[start..end] {
                let record = &*records[i];
                let id = record.span.trace_id;
                let add = match &what {
                    Track::All | Track::SkeletonOnly => true,
                    Track::Except(rebuilt) => !rebuilt.contains(&id),
                };
                if add {
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
                }
                if stats.enabled && !matches!(what, Track::SkeletonOnly) {
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
        let _flushing = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Saves the statistics and the ids of the traces in flight to the store as a checkpoint that
    /// covers every span written so far; false when the store keeps no checkpoints. Writers wait
    /// only while the shards hand over their counts.
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let _flushing = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        let (cut, minutes, in_flight) = {
            let _quiet = self.checkpoint_gate.write().unwrap_or_else(|p| p.into_inner());
            let Some(cut) = self.store.checkpoint_cut() else { return Ok(false) };
            let (mut minutes, mut in_flight) = (Vec::new(), Vec::new());
            for i in 0..self.shards.len() {
                let mut shard = self.lock(i);
                minutes.extend(shard.stats.take());
                in_flight.extend(shard.traces.keys().map(|id| *id.as_bytes()));
            }
            (cut, minutes, in_flight)
        };
        let minute = minute_of(UnixNanos::now().0);
        if !minutes.is_empty() {
            self.stats.absorb(minutes, minute, &self.telemetry);
        }
        self.stats.age(minute);
        let state = Checkpoint { stats: self.stats.save(), in_flight };
        // Encoding byte vectors into a Vec cannot fail.
        let state = postcard::to_allocvec(&state).unwrap_or_default();
        self.store.save_checkpoint(&cut, &state)?;
        Ok(true)
    }

    /// Restores the statistics and the traces in flight after a restart: from the store's latest
    /// checkpoint, then the spans written after it (as they were counted when they arrived).
    /// Call before any batch is inserted.
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        let now = Instant::now();
        let mut recovered = Recovered::default();
        let mut rebuilt: HashSet<TraceId> = HashSet::new();
        let saved = match self.store.load_checkpoint()? {
            Some(bytes) => match postcard::from_bytes::<Checkpoint>(&bytes) {
                Ok(saved) => Some(saved),
                Err(e) => {
                    tracing::warn!(error = %e, "the statistics checkpoint is unreadable; counting from the stored spans");
                    None
                }
            },
            None => None,
        };
        if let Some(saved) = saved {
            match self.stats.restore(&saved.stats) {
                Ok(()) => recovered.checkpoint = true,
                Err(e) => tracing::warn!(error = %e, "statistics not restored"),
            }
            for id in saved.in_flight.iter().filter_map(|b| TraceId::from_array(*b).ok()) {
                if let Some(trace) = self.store.trace(id)? {
                    self.track(&trace.spans, now, 0, Track::SkeletonOnly);
                    rebuilt.insert(id);
                }
            }
        }
        recovered.traces_rebuilt = rebuilt.len();
        // Without a checkpoint, spans within the statistics' retention are counted again.
        let retention = Duration::from_secs(self.settings.stats.resolution.retention_minutes.saturating_mul(60));
        let since = UnixNanos(UnixNanos::now().0.saturating_sub(retention.as_nanos() as u64));
        recovered.spans_replayed = self.store.replay(since, &mut |arrival, records| {
            self.track(&records, now, minute_of(arrival.0), Track::Except(&rebuilt));
        })?;
        self.flush_stats();
        Ok(recovered)
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
        let mut last_checkpoint = Instant::now();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {
                    let this = self.clone();
                    let due = last_checkpoint.elapsed() >= CHECKPOINT_INTERVAL;
                    if due {
                        last_checkpoint = Instant::now();
                    }
                    // The sweep walks every shard: keep it off the reactor threads.
                    let _ = tokio::task::spawn_blocking(move || {
                        this.complete_idle(Instant::now());
                        this.flush_stats();
                        if due {
                            this.checkpoint_logged();
                        }
                    })
                    .await;
                }
            }
        }
        // Receivers have stopped: the last checkpoint covers everything, so a restart replays nothing.
        let this = self.clone();
        let _ = tokio::task::spawn_blocking(move || this.checkpoint_logged()).await;
    }

    fn checkpoint_logged(&self) {
        if let Err(e) = self.checkpoint() {
            tracing::warn!(error = %e, "saving the statistics checkpoint failed; retrying later");
        }
    }
}

#[cfg(test)]
mod tests;
