//! Tracehound's own health figures: counters and gauges with fixed, bounded label sets, and their
//! Prometheus text exposition served at `/metrics` on the query port.

mod events;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub use events::{ReceiverKind, RefusalReason};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Adds `delta` (negative to subtract).
    pub fn add(&self, delta: i64) {
        self.0.fetch_add(delta, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters of one receiver.
#[derive(Debug, Default)]
pub struct ReceiverCounters {
    /// Spans decoded from requests.
    pub spans_received: Counter,
    /// Spans handed to the pipeline and acknowledged.
    pub spans_accepted: Counter,
    /// Spans rejected one by one as invalid (reported in partial success).
    pub spans_rejected: Counter,
    /// Spans in requests refused as a whole because the pipeline was full.
    pub spans_refused: Counter,
    /// Requests refused, by reason.
    pub requests_refused: [Counter; RefusalReason::ALL.len()],
}

/// Counters of the pipeline, assembler and store.
#[derive(Debug, Default)]
pub struct Telemetry {
    receivers: [ReceiverCounters; ReceiverKind::ALL.len()],
    /// Spans waiting in or being inserted by the pipeline.
    pub pipeline_spans_queued: Gauge,
    /// Traces the assembler tracks right now.
    pub assembler_traces_in_flight: Gauge,
    /// Traces marked complete after their idle time.
    pub assembler_traces_completed: Counter,
    /// Traces the assembler stopped tracking early because it was at its trace limit.
    pub assembler_traces_dropped: Counter,
    /// Estimated bytes the store holds.
    pub store_bytes: Gauge,
    /// Traces the store holds.
    pub store_traces: Gauge,
    /// Traces evicted to stay within the byte budget.
    pub store_traces_evicted: Counter,
    /// Spans evicted with those traces.
    pub store_spans_evicted: Counter,
    /// Service or operation names not indexed because an index limit was reached.
    pub store_names_dropped: Counter,
    /// Writes the disk store refused because the disk failed them (full, I/O error).
    pub store_write_failures: Counter,
    /// Disk-store partitions set aside at start because they could not be opened.
    pub store_partitions_quarantined: Counter,
    /// Disk-store partitions dropped whole for the retention or the disk cap.
    pub store_partitions_dropped: Counter,
    /// Spans not counted in the statistics because the service limit was reached.
    pub stats_spans_dropped: Counter,
    /// Spans counted under a service's overflow operation because its operation limit was reached.
    pub stats_operations_overflowed: Counter,
    /// Spans counted in the span metrics' overflow series because of the series limit.
    pub stats_span_metrics_overflowed: Counter,
    /// Calls counted in the service-graph metrics' overflow series because of the series limit.
    pub stats_graph_calls_overflowed: Counter,
}

impl Telemetry {
    /// Counters of one receiver.
    pub fn receiver(&self, kind: ReceiverKind) -> &ReceiverCounters {
        &self.receivers[kind as usize]
    }

    /// Prometheus text exposition (format 0.0.4) of every figure.
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        type Pick = fn(&ReceiverCounters) -> &Counter;
        let per_receiver: [(&str, &str, Pick); 4] = [
            ("tracehound_receiver_spans_received_total", "Spans decoded by each receiver.", |c| &c.spans_received),
            ("tracehound_receiver_spans_accepted_total", "Spans acknowledged by each receiver.", |c| &c.spans_accepted),
            ("tracehound_receiver_spans_rejected_total", "Invalid spans rejected one by one.", |c| &c.spans_rejected),
            (
                "tracehound_receiver_spans_refused_total",
                "Spans in requests refused because the pipeline was full.",
                |c| &c.spans_refused,
            ),
        ];
        for (name, help, pick) in per_receiver {
            header(&mut out, name, help, "counter");
            for kind in ReceiverKind::ALL {
                let _ = writeln!(out, "{name}{{receiver=\"{}\"}} {}", kind.label(), pick(self.receiver(kind)).get());
            }
        }
        let name = "tracehound_receiver_requests_refused_total";
        header(&mut out, name, "Requests refused as a whole, by reason.", "counter");
        for kind in ReceiverKind::ALL {
            for reason in RefusalReason::ALL {
                let value = self.receiver(kind).requests_refused[reason as usize].get();
                let _ = writeln!(out, "{name}{{receiver=\"{}\",reason=\"{}\"}} {value}", kind.label(), reason.label());
            }
        }
        let singles: [(&str, &str, &str, i64); 16] = [
            (
                "tracehound_pipeline_spans_queued",
                "Spans in the ingest pipeline.",
                "gauge",
                self.pipeline_spans_queued.get(),
            ),
            (
                "tracehound_assembler_traces_in_flight",
                "Traces the assembler tracks.",
                "gauge",
                self.assembler_traces_in_flight.get(),
            ),
            (
                "tracehound_assembler_traces_completed_total",
                "Traces complete after their idle time.",
                "counter",
                self.assembler_traces_completed.get() as i64,
            ),
            (
                "tracehound_assembler_traces_dropped_total",
                "Traces no longer tracked because of the trace limit.",
                "counter",
                self.assembler_traces_dropped.get() as i64,
            ),
            ("tracehound_store_bytes", "Bytes held by the store: the memory store's estimate, or the disk store's partition files (read every minute).", "gauge", self.store_bytes.get()),
            ("tracehound_store_traces", "Traces held by the store.", "gauge", self.store_traces.get()),
            (
                "tracehound_store_traces_evicted_total",
                "Traces evicted to stay within the byte budget.",
                "counter",
                self.store_traces_evicted.get() as i64,
            ),
            (
                "tracehound_store_spans_evicted_total",
                "Spans evicted with those traces.",
                "counter",
                self.store_spans_evicted.get() as i64,
            ),
            (
                "tracehound_store_names_dropped_total",
                "Service or operation names not indexed because of index limits.",
                "counter",
                self.store_names_dropped.get() as i64,
            ),
            (
                "tracehound_store_write_failures_total",
                "Writes the disk store refused because the disk failed them (full, I/O error).",
                "counter",
                self.store_write_failures.get() as i64,
            ),
            (
                "tracehound_store_partitions_dropped_total",
                "Disk-store partitions dropped whole for --retention or --max-disk-bytes.",
                "counter",
                self.store_partitions_dropped.get() as i64,
            ),
            (
                "tracehound_store_partitions_quarantined_total",
                "Disk-store partitions moved to quarantine/ at start because they could not be opened.",
                "counter",
                self.store_partitions_quarantined.get() as i64,
            ),
            (
                "tracehound_stats_spans_dropped_total",
                "Spans left out of the statistics because of the service limit.",
                "counter",
                self.stats_spans_dropped.get() as i64,
            ),
            (
                "tracehound_stats_operations_overflowed_total",
                "Spans counted under __overflow__ because of the per-service operation limit.",
                "counter",
                self.stats_operations_overflowed.get() as i64,
            ),
            (
                "tracehound_stats_span_metrics_overflowed_total",
                "Spans counted in the span metrics' otel_metric_overflow series because of the series limit.",
                "counter",
                self.stats_span_metrics_overflowed.get() as i64,
            ),
            (
                "tracehound_stats_service_graph_overflowed_total",
                "Calls counted in the service-graph metrics' otel_metric_overflow series because of the series limit.",
                "counter",
                self.stats_graph_calls_overflowed.get() as i64,
            ),
        ];
        for (name, help, kind, value) in singles {
            header(&mut out, name, help, kind);
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lists_every_receiver_and_reason() {
        let t = Telemetry::default();
        t.receiver(ReceiverKind::OtlpHttp).spans_accepted.add(3);
        t.batch_refused(ReceiverKind::OtlpGrpc, RefusalReason::Overloaded, 7);
        let text = t.render_prometheus();
        assert!(text.contains("tracehound_receiver_spans_accepted_total{receiver=\"otlp_http\"} 3"));
        assert!(
            text.contains("tracehound_receiver_requests_refused_total{receiver=\"otlp_grpc\",reason=\"overloaded\"} 1")
        );
        assert!(text.contains("tracehound_receiver_spans_refused_total{receiver=\"otlp_grpc\"} 7"));
    }
}
