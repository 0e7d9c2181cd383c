//! Span metrics and service-graph metrics in the form the OpenTelemetry Collector's
//! `spanmetrics` and `servicegraph` connectors give them after its Prometheus exporter, so
//! dashboards and alerts built on those connectors (and Jaeger's Prometheus-backed Monitor tab)
//! read them from tracehound's `/metrics` unchanged.
//!
//! Unlike the minute sketches these are cumulative since start and exact: fixed-bucket
//! histograms with the connectors' default bounds (2 ms … 15 s). The number of series is capped
//! per family; what does not fit is folded into one series labelled `otel_metric_overflow="true"`
//! (as the Collector's cardinality limit does) and counted. A series nothing was added to for the
//! statistics' retention is dropped, so the cap frees itself as services come and go.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::model::{SpanKind, StatusCode};

const MS: u64 = 1_000_000;

/// Upper bounds of the histogram buckets in nanoseconds: the connectors' default buckets.
pub const BOUNDS_NANOS: [u64; 16] = [
    2 * MS,
    4 * MS,
    6 * MS,
    8 * MS,
    10 * MS,
    50 * MS,
    100 * MS,
    200 * MS,
    400 * MS,
    800 * MS,
    1_000 * MS,
    1_400 * MS,
    2_000 * MS,
    5_000 * MS,
    10_000 * MS,
    15_000 * MS,
];

/// `le` labels of [`BOUNDS_NANOS`] in milliseconds (span metrics).
const LE_MS: [&str; 16] =
    ["2", "4", "6", "8", "10", "50", "100", "200", "400", "800", "1000", "1400", "2000", "5000", "10000", "15000"];

/// `le` labels of [`BOUNDS_NANOS`] in seconds (service graph).
const LE_SECONDS: [&str; 16] =
    ["0.002", "0.004", "0.006", "0.008", "0.01", "0.05", "0.1", "0.2", "0.4", "0.8", "1", "1.4", "2", "5", "10", "15"];

/// Durations counted in fixed buckets, with their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// Count per bucket; the last is the overflow bucket above 15 s.
    counts: [u64; BOUNDS_NANOS.len() + 1],
    sum_nanos: u128,
}

impl Histogram {
    /// Counts one duration.
    pub fn record(&mut self, nanos: u64) {
        // A duration equal to a bound belongs to that bound's bucket (`le`), as the connectors file it.
        let i = BOUNDS_NANOS.partition_point(|&bound| bound < nanos);
        self.counts[i] += 1;
        self.sum_nanos += u128::from(nanos);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        self.sum_nanos += other.sum_nanos;
    }

    /// Durations counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sum of the durations in nanoseconds.
    pub fn sum_nanos(&self) -> u128 {
        self.sum_nanos
    }
}

/// How two services are connected, the service-graph connector's `connection_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub enum ConnectionType {
    /// A direct call (client → server, or any cross-service parent link).
    #[default]
    Direct,
    /// Through a message broker (producer → consumer).
    MessagingSystem,
    /// A call to a database, known only from the client span.
    Database,
    /// A call to an uninstrumented service, known only from the client span's `peer.service`.
    VirtualNode,
}

impl ConnectionType {
    /// The `connection_type` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Direct => "",
            Self::MessagingSystem => "messaging_system",
            Self::Database => "database",
            Self::VirtualNode => "virtual_node",
        }
    }
}

/// One cross-service call's figures, for the service-graph metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EdgeCalls {
    /// Calls.
    pub requests: u64,
    /// Calls that failed.
    pub failed: u64,
    /// Latency as the server measured it.
    pub server: Histogram,
    /// Latency as the client measured it.
    pub client: Histogram,
}

impl EdgeCalls {
    /// Adds another edge's counts.
    pub fn merge(&mut self, other: &EdgeCalls) {
        self.requests += other.requests;
        self.failed += other.failed;
        self.server.merge(&other.server);
        self.client.merge(&other.client);
    }
}

/// A span-metrics series: service, span name, kind and status code.
type SpanKey = (Box<str>, Box<str>, SpanKind, StatusCode);

/// A service-graph series: client, server and connection type.
type EdgeKey = (Box<str>, Box<str>, ConnectionType);

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Timed<T> {
    value: T,
    /// Minute of the last addition.
    touched: u64,
}

/// Cumulative span metrics and service-graph metrics, rendered as Prometheus text.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ConnectorMetrics {
    /// Set from the settings on restore, not saved.
    #[serde(skip)]
    max_series: usize,
    spans: HashMap<SpanKey, Timed<Histogram>>,
    span_overflow: Histogram,
    edges: HashMap<EdgeKey, Timed<EdgeCalls>>,
    edge_overflow: EdgeCalls,
}

impl ConnectorMetrics {
    /// Empty metrics holding at most `max_series` series per family.
    pub fn new(max_series: usize) -> Self {
        Self {
            max_series,
            spans: HashMap::new(),
            span_overflow: Histogram::default(),
            edges: HashMap::new(),
            edge_overflow: EdgeCalls::default(),
        }
    }

    /// Adds the durations of spans of one series; false when they went to the overflow series.
    pub fn add_spans(
        &mut self,
        service: &str,
        name: &str,
        kind: SpanKind,
        status: StatusCode,
        durations: &Histogram,
        minute: u64,
    ) -> bool {
        let key: SpanKey = (service.into(), name.into(), kind, status);
        if let Some(series) = self.spans.get_mut(&key) {
            series.value.merge(durations);
            series.touched = minute;
            return true;
        }
        if self.spans.len() >= self.max_series {
            self.span_overflow.merge(durations);
            return false;
        }
        self.spans.insert(key, Timed { value: durations.clone(), touched: minute });
        true
    }

    /// Adds calls between two services; false when they went to the overflow series.
    pub fn add_edge(
        &mut self,
        client: &str,
        server: &str,
        connection: ConnectionType,
        calls: &EdgeCalls,
        minute: u64,
    ) -> bool {
        let key: EdgeKey = (client.into(), server.into(), connection);
        if let Some(series) = self.edges.get_mut(&key) {
            series.value.merge(calls);
            series.touched = minute;
            return true;
        }
        if self.edges.len() >= self.max_series {
            self.edge_overflow.merge(calls);
            return false;
        }
        self.edges.insert(key, Timed { value: calls.clone(), touched: minute });
        true
    }

    /// Sets the series limit (after a restore, which does not save it).
    pub fn set_max_series(&mut self, max_series: usize) {
        self.max_series = max_series;
    }

    /// Drops series last added to before `oldest_minute`.
    pub fn expire(&mut self, oldest_minute: u64) {
        self.spans.retain(|_, s| s.touched >= oldest_minute);
        self.edges.retain(|_, s| s.touched >= oldest_minute);
    }

    /// Series held (span metrics, service graph), overflow series not included.
    pub fn series(&self) -> (usize, usize) {
        (self.spans.len(), self.edges.len())
    }

    /// Appends the Prometheus text exposition (format 0.0.4) of every series to `out`.
    pub fn render(&self, out: &mut String) {
        let mut spans: Vec<(&SpanKey, &Histogram)> = self.spans.iter().map(|(k, s)| (k, &s.value)).collect();
        spans.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let span_labels = |(service, name, kind, status): &SpanKey| {
            let mut labels = String::new();
            label(&mut labels, "service_name", service);
            label(&mut labels, "span_name", name);
            label(&mut labels, "span_kind", kind_label(*kind));
            label(&mut labels, "status_code", status_label(*status));
            labels
        };
        let span_overflow = (self.span_overflow.count() > 0).then_some(&self.span_overflow);

        let name = "traces_span_metrics_calls_total";
        family(out, name, "Spans received, by service, span name, kind and status code.", "counter");
        for (key, hist) in &spans {
            sample(out, name, &span_labels(key), hist.count());
        }
        if let Some(hist) = span_overflow {
            sample(out, name, OVERFLOW_LABEL, hist.count());
        }
        let name = "traces_span_metrics_duration_milliseconds";
        family(out, name, "Span durations in milliseconds.", "histogram");
        for (key, hist) in &spans {
            histogram(out, name, &span_labels(key), hist, &LE_MS, 1e6);
        }
        if let Some(hist) = span_overflow {
            histogram(out, name, OVERFLOW_LABEL, hist, &LE_MS, 1e6);
        }

        let mut edges: Vec<(&EdgeKey, &EdgeCalls)> = self.edges.iter().map(|(k, s)| (k, &s.value)).collect();
        edges.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let edge_labels = |(client, server, connection): &EdgeKey| {
            let mut labels = String::new();
            label(&mut labels, "client", client);
            label(&mut labels, "server", server);
            label(&mut labels, "connection_type", connection.label());
            labels
        };
        let edge_overflow = (self.edge_overflow.requests > 0).then_some(&self.edge_overflow);
        type Pick = fn(&EdgeCalls) -> u64;
        let counters: [(&str, &str, Pick); 2] = [
            ("traces_service_graph_request_total", "Requests between two services.", |e| e.requests),
            ("traces_service_graph_request_failed_total", "Failed requests between two services.", |e| e.failed),
        ];
        for (name, help, pick) in counters {
            family(out, name, help, "counter");
            for (key, calls) in &edges {
                sample(out, name, &edge_labels(key), pick(calls));
            }
            if let Some(calls) = edge_overflow {
                sample(out, name, OVERFLOW_LABEL, pick(calls));
            }
        }
        type PickHistogram = fn(&EdgeCalls) -> &Histogram;
        let histograms: [(&str, &str, PickHistogram); 2] = [
            (
                "traces_service_graph_request_server_seconds",
                "Request time between two services as the server measured it.",
                |e| &e.server,
            ),
            (
                "traces_service_graph_request_client_seconds",
                "Request time between two services as the client measured it.",
                |e| &e.client,
            ),
        ];
        for (name, help, pick) in histograms {
            family(out, name, help, "histogram");
            for (key, calls) in &edges {
                histogram(out, name, &edge_labels(key), pick(calls), &LE_SECONDS, 1e9);
            }
            if let Some(calls) = edge_overflow {
                histogram(out, name, OVERFLOW_LABEL, pick(calls), &LE_SECONDS, 1e9);
            }
        }
    }
}

/// Labels of the series that holds what exceeded the series cap.
const OVERFLOW_LABEL: &str = "otel_metric_overflow=\"true\"";

/// The span-metrics connector's `span.kind` value.
fn kind_label(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
        SpanKind::Internal => "SPAN_KIND_INTERNAL",
        SpanKind::Server => "SPAN_KIND_SERVER",
        SpanKind::Client => "SPAN_KIND_CLIENT",
        SpanKind::Producer => "SPAN_KIND_PRODUCER",
        SpanKind::Consumer => "SPAN_KIND_CONSUMER",
    }
}

/// The span-metrics connector's `status.code` value.
fn status_label(status: StatusCode) -> &'static str {
    match status {
        StatusCode::Unset => "STATUS_CODE_UNSET",
        StatusCode::Ok => "STATUS_CODE_OK",
        StatusCode::Error => "STATUS_CODE_ERROR",
    }
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: u64) {
    let _ = writeln!(out, "{name}{{{labels}}} {value}");
}

/// Writes `_bucket` (cumulative), `_sum` (in the unit `per_unit` nanoseconds make one of) and `_count`.
fn histogram(out: &mut String, name: &str, labels: &str, hist: &Histogram, le: &[&str; 16], per_unit: f64) {
    let mut cumulative = 0;
    for (bound, count) in le.iter().zip(hist.counts) {
        cumulative += count;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let total = hist.count();
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", hist.sum_nanos as f64 / per_unit);
    let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
}

/// Appends `name="value"` with the exposition format's escapes.
fn label(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
