//! What one assembler shard counts between two absorptions into [`super::red::Stats`]: per
//! minute, each service's and operation's calls, errors and latency sketch by span kind, the
//! exact span-metrics histograms by kind and status code, whole-trace durations by root
//! operation, and service-graph calls.
//!
//! These maps are touched for every span under the shard lock the assembler already holds, so
//! the common case (a known service and operation) costs two FxHash look-ups and no allocation.
//! The same caps as the long-lived series apply, so a burst of distinct names within one minute
//! cannot grow them either.

use rustc_hash::FxHashMap;

use super::prometheus::{ConnectionType, EdgeCalls, Histogram};
use super::red::{kind_index, operation_entry, StatsSettings, OVERFLOW_OPERATION};
use super::series::Bucket;
use super::service_graph::Call;
use crate::model::{SpanKind, StatusCode};

/// Buckets of one service (or operation) split by span kind.
pub(crate) type ByKind<T> = [Option<T>; 6];

/// Status codes in a fixed order, for per-status arrays.
pub const STATUSES: [StatusCode; 3] = [StatusCode::Unset, StatusCode::Ok, StatusCode::Error];

fn status_index(status: StatusCode) -> usize {
    match status {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

/// One operation's accumulators for one minute.
#[derive(Debug, Default)]
pub(crate) struct OperationMinute {
    /// Calls, errors and latency sketch per kind.
    pub(crate) kinds: ByKind<Bucket>,
    /// Exact span-metrics histograms per kind and status code (`kind * 3 + status`).
    pub(crate) histograms: [Option<Box<Histogram>>; 18],
}

impl OperationMinute {
    /// The span-metrics histograms that hold anything, with their kind and status.
    pub(crate) fn histograms(&self) -> impl Iterator<Item = (SpanKind, StatusCode, &Histogram)> {
        self.histograms.iter().enumerate().filter_map(|(i, h)| {
            let hist = h.as_deref()?;
            Some((SpanKind::ALL[i / 3], STATUSES[i % 3], hist))
        })
    }

    /// Spans counted.
    pub(crate) fn calls(&self) -> u64 {
        self.kinds.iter().flatten().map(|b| b.calls).sum()
    }
}

/// One service's accumulators for one minute.
#[derive(Debug, Default)]
pub(crate) struct ServiceMinute {
    pub(crate) kinds: ByKind<Bucket>,
    pub(crate) operations: FxHashMap<Box<str>, OperationMinute>,
    /// Whole-trace durations by root operation.
    pub(crate) roots: FxHashMap<Box<str>, Bucket>,
}

/// A service-graph edge: calls from one service to another, by connection type.
pub(crate) type EdgeKey = (Box<str>, Box<str>, ConnectionType);

/// One edge's accumulators for one minute.
#[derive(Debug, Default)]
pub(crate) struct EdgeMinute {
    /// Calls, errors and the server-side latency sketch, for the dependency APIs.
    pub(crate) bucket: Bucket,
    /// The same calls for the service-graph metrics.
    pub(crate) calls: EdgeCalls,
}

/// What one assembler shard counted in one minute.
#[derive(Debug, Default)]
pub struct ShardMinute {
    pub(crate) minute: u64,
    // FxHash: these maps are looked up for every span on the ingest path.
    pub(crate) services: FxHashMap<Box<str>, ServiceMinute>,
    pub(crate) edges: FxHashMap<EdgeKey, EdgeMinute>,
    pub(crate) spans_dropped: u64,
    pub(crate) operations_overflowed: u64,
}

impl ShardMinute {
    fn is_empty(&self) -> bool {
        self.services.is_empty() && self.edges.is_empty() && self.spans_dropped == 0
    }
}

/// What the statistics count of one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanSample<'a> {
    /// The span's service.
    pub service: &'a str,
    /// Its operation (span name).
    pub operation: &'a str,
    /// Its kind.
    pub kind: SpanKind,
    /// Its duration.
    pub nanos: u64,
    /// Its status code.
    pub status: StatusCode,
}

/// The statistics an assembler shard accumulates between two absorptions.
#[derive(Debug, Default)]
pub struct ShardStats {
    current: ShardMinute,
    /// Minutes that ended before the last absorption.
    closed: Vec<ShardMinute>,
}

impl ShardStats {
    fn minute_for(&mut self, minute: u64) -> &mut ShardMinute {
        if minute != self.current.minute {
            let ended = std::mem::replace(&mut self.current, ShardMinute { minute, ..ShardMinute::default() });
            if !ended.is_empty() {
                self.closed.push(ended);
            }
        }
        &mut self.current
    }

    /// Counts one span received in `minute`.
    pub fn record_span(&mut self, settings: &StatsSettings, minute: u64, span: SpanSample<'_>) {
        let SpanSample { service, operation, kind, nanos, status } = span;
        let error = status == StatusCode::Error;
        let acc = self.minute_for(minute);
        let Some(svc) = service_entry(acc, service, settings.max_services) else {
            acc.spans_dropped += 1;
            return;
        };
        let k = kind_index(kind);
        svc.kinds[k].get_or_insert_with(Bucket::default).record(nanos, error);
        let (op, overflowed) = operation_entry(&mut svc.operations, operation, settings.max_operations_per_service);
        op.kinds[k].get_or_insert_with(Bucket::default).record(nanos, error);
        op.histograms[k * 3 + status_index(status)].get_or_insert_with(Box::default).record(nanos);
        acc.operations_overflowed += u64::from(overflowed);
    }

    /// Counts one completed trace rooted at `service`/`operation`, lasting `nanos`.
    pub fn record_trace(
        &mut self,
        settings: &StatsSettings,
        minute: u64,
        service: &str,
        operation: &str,
        nanos: u64,
        error: bool,
    ) {
        let acc = self.minute_for(minute);
        let Some(svc) = service_entry(acc, service, settings.max_services) else {
            acc.spans_dropped += 1;
            return;
        };
        let cap = settings.max_operations_per_service;
        let name =
            if svc.roots.contains_key(operation) || svc.roots.len() + 1 < cap { operation } else { OVERFLOW_OPERATION };
        match svc.roots.get_mut(name) {
            Some(bucket) => bucket.record(nanos, error),
            None => svc.roots.entry(name.into()).or_default().record(nanos, error),
        }
    }

    /// Counts one call between services found in a completed trace.
    pub fn record_edge(&mut self, minute: u64, call: &Call<'_>) {
        let acc = self.minute_for(minute);
        let key: EdgeKey = (call.caller.into(), call.callee.into(), call.connection);
        let edge = acc.edges.entry(key).or_default();
        edge.bucket.record(call.server_nanos, call.error);
        edge.calls.requests += 1;
        edge.calls.failed += u64::from(call.error);
        edge.calls.server.record(call.server_nanos);
        edge.calls.client.record(call.client_nanos);
    }

    /// Everything counted so far, leaving the accumulators empty.
    pub fn take(&mut self) -> Vec<ShardMinute> {
        let mut minutes = std::mem::take(&mut self.closed);
        let minute = self.current.minute;
        let current = std::mem::replace(&mut self.current, ShardMinute { minute, ..ShardMinute::default() });
        if !current.is_empty() {
            minutes.push(current);
        }
        minutes
    }
}

fn service_entry<'a>(acc: &'a mut ShardMinute, service: &str, max_services: usize) -> Option<&'a mut ServiceMinute> {
    if !acc.services.contains_key(service) {
        if acc.services.len() >= max_services {
            return None;
        }
        acc.services.insert(service.into(), ServiceMinute::default());
    }
    acc.services.get_mut(service)
}
