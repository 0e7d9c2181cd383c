//! RED figures (rate, errors, duration) per service, per (service, operation) and per root
//! operation's whole-trace duration, each split by span kind, in time buckets.
//!
//! Spans are counted on the assembler's shard that tracks their trace, into a [`ShardStats`] for
//! the current minute: no global lock on the ingest path. The assembler hands each shard's
//! accumulators to [`Stats::absorb`] about once a second, which merges them into the long-lived
//! [`TimeSeries`] under one mutex, away from ingest. Buckets are stamped with the minute the span
//! arrived (as the Collector's span-metrics connector stamps its points), so a window always
//! means "spans received then".
//!
//! Memory is bounded twice: per service at most `max_operations_per_service` operations (more go
//! to [`OVERFLOW_OPERATION`] and are counted), and at most `max_services` services (spans of more
//! are not counted and are reported as dropped). Shard accumulators apply the same caps, so a
//! burst of distinct names within one minute cannot grow them either.
//!
//! Alongside, the same absorption feeds the cumulative span metrics and service-graph metrics
//! served on `/metrics` ([`super::prometheus`]).

use std::collections::HashMap;
use std::sync::Mutex;

use super::prometheus::ConnectorMetrics;
use super::series::{Bucket, Resolution, TimeSeries};
use super::shard::ByKind;
pub use super::shard::{ShardMinute, ShardStats, SpanSample};
use crate::model::SpanKind;
use crate::telemetry::Telemetry;

/// The operation that absorbs a service's operations beyond its cap.
pub const OVERFLOW_OPERATION: &str = "__overflow__";

/// Span kinds in a fixed order, for per-kind arrays.
pub const KINDS: [SpanKind; 6] = SpanKind::ALL;

pub(crate) fn kind_index(kind: SpanKind) -> usize {
    // OTLP's numbering is 0..=5 in `SpanKind::ALL`'s order.
    kind.to_otlp() as usize
}

/// Limits and retention of the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsSettings {
    /// Whether spans are counted at all.
    pub enabled: bool,
    /// Services tracked.
    pub max_services: usize,
    /// Operations tracked per service (including the overflow operation).
    pub max_operations_per_service: usize,
    /// Bucket sizes and retention.
    pub resolution: Resolution,
    /// Series per family of the Prometheus span metrics and service-graph metrics.
    pub max_metric_series: usize,
}

impl Default for StatsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            max_services: 10_000,
            max_operations_per_service: 1_000,
            resolution: Resolution::default(),
            max_metric_series: 10_000,
        }
    }
}

/// The entry for `operation`, or the overflow entry once the cap is reached; true when it overflowed.
pub(crate) fn operation_entry<'a, T: Default, S: std::hash::BuildHasher>(
    operations: &'a mut HashMap<Box<str>, T, S>,
    operation: &str,
    cap: usize,
) -> (&'a mut T, bool) {
    // The common case, a known operation, costs two lookups and no allocation.
    let name = if operations.contains_key(operation) {
        operation
    } else {
        // One slot stays free for the overflow operation itself until it exists.
        let reserved = usize::from(!operations.contains_key(OVERFLOW_OPERATION));
        let overflow = operations.len() + reserved >= cap.max(1) && operation != OVERFLOW_OPERATION;
        let name = if overflow { OVERFLOW_OPERATION } else { operation };
        let entry = operations.entry(name.into()).or_default();
        return (entry, overflow);
    };
    match operations.get_mut(name) {
        Some(entry) => (entry, false),
        // Checked just above.
        None => unreachable!("operation entry exists"),
    }
}

/// Format version of [`Stats::save`]'s encoding.
const SNAPSHOT_VERSION: u32 = 1;

/// A statistics checkpoint that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable statistics checkpoint: {0}")]
pub struct SnapshotError(String);

/// Caller and callee of a service-graph edge.
type ServicePair = (Box<str>, Box<str>);

/// A service's long-lived series.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ServiceSeries {
    kinds: ByKind<TimeSeries>,
    operations: HashMap<Box<str>, ByKind<TimeSeries>>,
    roots: HashMap<Box<str>, TimeSeries>,
}

/// The statistics of every service, fed by the assembler and read by the query APIs.
#[derive(Debug)]
pub struct Stats {
    settings: StatsSettings,
    services: Mutex<HashMap<Box<str>, ServiceSeries>>,
    /// Service-graph edges (caller, callee) whatever their connection type.
    edges: Mutex<HashMap<ServicePair, TimeSeries>>,
    metrics: Mutex<ConnectorMetrics>,
}

/// Calls between two services over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    /// The calling service.
    pub caller: String,
    /// The called service.
    pub callee: String,
    /// Calls, errors and the callee spans' latencies.
    pub bucket: Bucket,
}

/// Which series a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level<'a> {
    /// Every span of a service.
    Service,
    /// Spans of one operation.
    Operation(&'a str),
    /// Whole traces rooted at one operation.
    RootOperation(&'a str),
}

/// Totals of one series over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The service.
    pub service: String,
    /// The operation, for per-operation summaries.
    pub operation: Option<String>,
    /// Everything in the window merged.
    pub bucket: Bucket,
}

impl Stats {
    /// Empty statistics.
    pub fn new(settings: StatsSettings) -> Self {
        Self {
            settings,
            services: Mutex::new(HashMap::new()),
            edges: Mutex::new(HashMap::new()),
            metrics: Mutex::new(ConnectorMetrics::new(settings.max_metric_series)),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &StatsSettings {
        &self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, ServiceSeries>> {
        self.services.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merges what a shard counted into the series, applying the caps; `now_minute` ages old buckets.
    pub fn absorb(&self, minutes: Vec<ShardMinute>, now_minute: u64, telemetry: &Telemetry) {
        let resolution = self.settings.resolution;
        let cap = self.settings.max_operations_per_service;
        let mut services = self.lock();
        let mut edges = self.edges.lock().unwrap_or_else(|p| p.into_inner());
        let mut metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        // At most one edge per ordered pair of tracked services.
        let max_edges = self.settings.max_services.saturating_mul(self.settings.max_services).min(100_000);
        for acc in minutes {
            for ((caller, callee, connection), edge) in acc.edges {
                if !metrics.add_edge(&caller, &callee, connection, &edge.calls, now_minute) {
                    telemetry.stats_graph_calls_overflowed.add(edge.calls.requests);
                }
                let key = (caller, callee);
                if !edges.contains_key(&key) && edges.len() >= max_edges {
                    telemetry.stats_spans_dropped.add(edge.bucket.calls);
                    continue;
                }
                edges.entry(key).or_default().add(acc.minute, &edge.bucket, resolution, now_minute);
            }
            telemetry.stats_spans_dropped.add(acc.spans_dropped);
            telemetry.stats_operations_overflowed.add(acc.operations_overflowed);
            for (name, minute) in acc.services {
                if !services.contains_key(&name) {
                    if services.len() >= self.settings.max_services {
                        let spans: u64 = minute.kinds.iter().flatten().map(|b| b.calls).sum();
                        telemetry.stats_spans_dropped.add(spans);
                        continue;
                    }
                    services.insert(name.clone(), ServiceSeries::default());
                }
                let Some(series) = services.get_mut(&name) else { continue };
                for (k, bucket) in minute.kinds.iter().enumerate() {
                    if let Some(bucket) = bucket {
                        series.kinds[k]
                            .get_or_insert_with(TimeSeries::default)
                            .add(acc.minute, bucket, resolution, now_minute);
                    }
                }
                for (operation, op) in minute.operations {
                    let (ops, overflowed) = operation_entry(&mut series.operations, &operation, cap);
                    if overflowed {
                        telemetry.stats_operations_overflowed.add(op.calls());
                    }
                    let span_name = if overflowed { OVERFLOW_OPERATION } else { &*operation };
                    for (kind, status, hist) in op.histograms() {
                        if !metrics.add_spans(&name, span_name, kind, status, hist, now_minute) {
                            telemetry.stats_span_metrics_overflowed.add(hist.count());
                        }
                    }
                    for (k, bucket) in op.kinds.iter().enumerate() {
                        if let Some(bucket) = bucket {
                            ops[k]
                                .get_or_insert_with(TimeSeries::default)
                                .add(acc.minute, bucket, resolution, now_minute);
                        }
                    }
                }
                for (operation, bucket) in minute.roots {
                    let (root, _) = operation_entry(&mut series.roots, &operation, cap);
                    root.add(acc.minute, &bucket, resolution, now_minute);
                }
            }
        }
    }

    /// Every series and metric, encoded for a checkpoint (see [`Stats::restore`]).
    pub fn save(&self) -> Vec<u8> {
        let services = self.lock();
        let edges = self.edges.lock().unwrap_or_else(|p| p.into_inner());
        let metrics = self.metrics.lock().unwrap_or_else(|p| p.into_inner());
        // Encoding maps, sequences and integers into a Vec cannot fail.
        postcard::to_allocvec(&(SNAPSHOT_VERSION, &*services, &*edges, &*metrics)).unwrap_or_default()
    }

    /// Replaces every series and metric with a checkpoint [`Stats::save`] wrote.
    pub fn restore(&self, bytes: &[u8]) -> Result<(), SnapshotError> {
        type Saved = (u32, HashMap<Box<str>, ServiceSeries>, HashMap<ServicePair, TimeSeries>, ConnectorMetrics);
        let (version, services, edges, mut metrics): Saved =
            postcard::from_bytes(bytes).map_err(|e| SnapshotError(e.to_string()))?;
        if version != SNAPSHOT_VERSION {
            return Err(SnapshotError(format!("version {version}, expected {SNAPSHOT_VERSION}")));
        }
        metrics.set_max_series(self.settings.max_metric_series);
        *self.lock() = services;
        *self.edges.lock().unwrap_or_else(|p| p.into_inner()) = edges;
        *self.metrics.lock().unwrap_or_else(|p| p.into_inner()) = metrics;
        Ok(())
    }

    /// Ages every series to `now_minute`, dropping services with nothing left.
    pub fn age(&self, now_minute: u64) {
        let resolution = self.settings.resolution;
        let oldest = now_minute.saturating_sub(resolution.retention_minutes);
        self.metrics.lock().unwrap_or_else(|p| p.into_inner()).expire(oldest);
        self.edges.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, s| {
            s.age(resolution, now_minute);
            !s.is_empty()
        });
        let mut services = self.lock();
        services.retain(|_, series| {
            let mut alive = false;
            for s in series.kinds.iter_mut().flatten() {
                s.age(resolution, now_minute);
                alive |= !s.is_empty();
            }
            series.operations.retain(|_, kinds| {
                let mut op_alive = false;
                for s in kinds.iter_mut().flatten() {
                    s.age(resolution, now_minute);
                    op_alive |= !s.is_empty();
                }
                op_alive
            });
            series.roots.retain(|_, s| {
                s.age(resolution, now_minute);
                !s.is_empty()
            });
            alive || !series.roots.is_empty()
        });
    }

    /// Services with any statistics, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = self.lock().keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    }

    /// Operations of a service with span statistics, sorted.
    pub fn operations(&self, service: &str) -> Vec<String> {
        let services = self.lock();
        let mut names: Vec<String> =
            services.get(service).map(|s| s.operations.keys().map(|k| k.to_string()).collect()).unwrap_or_default();
        names.sort();
        names
    }

    /// Root operations of a service with trace statistics, sorted.
    pub fn root_operations(&self, service: &str) -> Vec<String> {
        let services = self.lock();
        let mut names: Vec<String> =
            services.get(service).map(|s| s.roots.keys().map(|k| k.to_string()).collect()).unwrap_or_default();
        names.sort();
        names
    }

    /// The buckets of one series per step over minutes `[start, end)`: one merged bucket per step of
    /// `step` minutes starting at `start` (a coarse bucket counts in the step holding its start).
    /// `kinds` empty means every kind. `None` when the service or operation is unknown.
    pub fn timeseries(
        &self,
        service: &str,
        level: Level<'_>,
        kinds: &[SpanKind],
        start: u64,
        end: u64,
        step: u64,
    ) -> Option<Vec<(u64, Bucket)>> {
        let step = step.max(1);
        let resolution = self.settings.resolution;
        let services = self.lock();
        let series = services.get(service)?;
        let selected: Vec<&TimeSeries> = match level {
            Level::Service => select(&series.kinds, kinds),
            Level::Operation(op) => select(series.operations.get(op)?, kinds),
            Level::RootOperation(op) => vec![series.roots.get(op)?],
        };
        let steps = end.saturating_sub(start).div_ceil(step) as usize;
        let mut out: Vec<(u64, Bucket)> = (0..steps).map(|i| (start + i as u64 * step, Bucket::default())).collect();
        for ts in selected {
            for (minute, _, bucket) in ts.buckets(start, end, resolution) {
                let i = (minute.max(start) - start) / step;
                if let Some((_, total)) = out.get_mut(i as usize) {
                    total.merge(bucket);
                }
            }
        }
        Some(out)
    }

    /// Totals over minutes `[start, end)` of every service (`service` None) or one service, at
    /// service level or per operation.
    pub fn summaries(
        &self,
        service: Option<&str>,
        per_operation: bool,
        kinds: &[SpanKind],
        start: u64,
        end: u64,
    ) -> Vec<Summary> {
        let resolution = self.settings.resolution;
        let services = self.lock();
        let mut out = Vec::new();
        for (name, series) in services.iter().filter(|(name, _)| service.is_none_or(|s| &***name == s)) {
            if per_operation {
                for (op, by_kind) in &series.operations {
                    let bucket = total(select(by_kind, kinds), start, end, resolution);
                    if bucket.calls > 0 {
                        out.push(Summary { service: name.to_string(), operation: Some(op.to_string()), bucket });
                    }
                }
            } else {
                let bucket = total(select(&series.kinds, kinds), start, end, resolution);
                if bucket.calls > 0 {
                    out.push(Summary { service: name.to_string(), operation: None, bucket });
                }
            }
        }
        out.sort_by(|a, b| (&a.service, &a.operation).cmp(&(&b.service, &b.operation)));
        out
    }

    /// Calls between services over minutes `[start, end)`, sorted by caller then callee.
    pub fn dependencies(&self, start: u64, end: u64) -> Vec<Dependency> {
        let resolution = self.settings.resolution;
        let edges = self.edges.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<Dependency> = edges
            .iter()
            .map(|((caller, callee), series)| Dependency {
                caller: caller.to_string(),
                callee: callee.to_string(),
                bucket: series.total(start, end, resolution),
            })
            .filter(|d| d.bucket.calls > 0)
            .collect();
        out.sort_by(|a, b| (&a.caller, &a.callee).cmp(&(&b.caller, &b.callee)));
        out
    }

    /// Appends the span metrics and service-graph metrics in Prometheus text format to `out`.
    pub fn render_prometheus(&self, out: &mut String) {
        self.metrics.lock().unwrap_or_else(|p| p.into_inner()).render(out);
    }

    /// Heap bytes held by every series, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        let services = self.lock();
        services
            .values()
            .map(|s| {
                s.kinds.iter().flatten().map(TimeSeries::heap_bytes).sum::<usize>()
                    + s.operations.values().flat_map(|k| k.iter().flatten()).map(TimeSeries::heap_bytes).sum::<usize>()
                    + s.roots.values().map(TimeSeries::heap_bytes).sum::<usize>()
            })
            .sum()
    }
}

fn select<'a>(by_kind: &'a ByKind<TimeSeries>, kinds: &[SpanKind]) -> Vec<&'a TimeSeries> {
    by_kind
        .iter()
        .enumerate()
        .filter(|(i, _)| kinds.is_empty() || kinds.iter().any(|k| kind_index(*k) == *i))
        .filter_map(|(_, s)| s.as_ref())
        .collect()
}

fn total(series: Vec<&TimeSeries>, start: u64, end: u64, resolution: Resolution) -> Bucket {
    let mut total = Bucket::default();
    for s in series {
        total.merge(&s.total(start, end, resolution));
    }
    total
}

/// The minute since the epoch of a time in nanoseconds.
pub fn minute_of(nanos: u64) -> u64 {
    nanos / 60_000_000_000
}

#[cfg(test)]
mod tests;
