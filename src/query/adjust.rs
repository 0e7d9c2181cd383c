//! Query-time clock-skew adjustment, by Jaeger's rules: a span whose host differs from its
//! parent's and that does not fit inside the (already adjusted) parent is shifted into it, with
//! the network latency assumed equal both ways; its descendants on the same host move with it.
//! Each shifted span carries a warning saying by how much, as Jaeger's query service does.
//!
//! Stored data is never changed: the adjusted trace is a copy in which only moved or warned spans
//! are new records. Warnings travel as the span attribute [`WARNINGS_ATTRIBUTE`] (a string array,
//! Jaeger's name for it in OTLP); the Jaeger encoders lift it into their `warnings` field.
//!
//! Where this differs from Jaeger, on purpose:
//! - A span moves with its end, keeping its duration (Jaeger's OTLP adjuster moves only the start).
//! - Spans with no host attribute are told apart by their resource, not all treated as different
//!   hosts: spans from one process share a clock, so async work inside a process is never moved.
//! - A Zipkin shared server span is the child of its client half (Jaeger first gives it a new id).
//! - Asynchronous children (consumers, children of producers, `follows_from` children) are only
//!   kept from starting before their parent, never centred in it: a message may be consumed long
//!   after it was sent.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::model::{semconv, AnyValue, KeyValue, Resource, SpanId, SpanKind, SpanRecord, Trace, UnixNanos};

/// The span attribute holding query-time warnings (an array of strings).
pub const WARNINGS_ATTRIBUTE: &str = "@jaeger@warnings";

/// The largest adjustment tracehound applies by default; larger skews only get a warning.
pub const DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT: Duration = Duration::from_secs(300);

/// A span's place in the trace tree while adjusting.
struct Node {
    children: Vec<usize>,
    /// Index of the span's host in the trace's host table.
    host: u32,
}

/// Who measured a span's timestamps: spans with equal keys share a clock.
#[derive(Clone, PartialEq, Eq, Hash)]
enum HostKey {
    /// A host attribute's value (`host.id`, `host.ip`, `host.name`, Jaeger's `ip` or `hostname`,
    /// Zipkin's local endpoint address).
    Named(String),
    /// No host attribute: a hash of the resource's attributes.
    Resource(u64),
}

/// Returns `trace` with clock skew corrected; shifts larger than `max_delta` are not applied but
/// warned about (with zero `max_delta`, every needed shift is only warned about).
pub fn adjust_clock_skew(trace: &Trace, max_delta: Duration) -> Trace {
    let spans = &trace.spans;
    let mut warnings: Vec<Vec<String>> = vec![Vec::new(); spans.len()];
    let mut nodes: Vec<Node> = host_ids(spans).into_iter().map(|host| Node { children: Vec::new(), host }).collect();

    // Span ids to indices; a shared (Zipkin server) half is filed apart from its client half.
    let mut by_id: HashMap<(SpanId, bool), usize> = HashMap::with_capacity(spans.len());
    let mut in_tree = vec![true; spans.len()];
    for (i, r) in spans.iter().enumerate() {
        match by_id.entry((r.span.span_id, r.span.shared)) {
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
            Entry::Occupied(_) => {
                // The first keeps its place; a duplicate is left as stored.
                in_tree[i] = false;
                warnings[i].push("duplicate span IDs; skipping clock skew adjustment".to_owned());
            }
        }
    }
    let mut roots = Vec::new();
    for (i, r) in spans.iter().enumerate().filter(|(i, _)| in_tree[*i]) {
        let span = &r.span;
        // The server half of a shared span runs inside its client half; other spans hang under
        // their parent, preferring a shared server half (it ran the children) over its client.
        let client_half = if span.shared { by_id.get(&(span.span_id, false)).copied() } else { None };
        match client_half.or_else(|| parent_index(&by_id, span.parent_span_id)) {
            Some(p) if p != i => nodes[p].children.push(i),
            Some(_) => roots.push(i),
            None => {
                if let Some(missing) = span.parent_span_id {
                    warnings[i].push(format!(
                        "parent span ID={} is not in the trace; skipping clock skew adjustment",
                        missing.to_hex()
                    ));
                }
                roots.push(i);
            }
        }
    }

    // Walk every tree from its root (iteratively: traces can be very deep). Each entry is a node,
    // its parent and the skew its parent's host was corrected by.
    let mut start: Vec<i128> = spans.iter().map(|r| i128::from(r.span.start.0)).collect();
    let mut end: Vec<i128> = spans.iter().map(|r| i128::from(r.span.end.0)).collect();
    let mut applied: Vec<i128> = vec![0; spans.len()];
    let mut stack: Vec<(usize, Option<usize>, u32, i128)> =
        roots.iter().rev().map(|&r| (r, None, nodes[r].host, 0)).collect();
    let max = i128::try_from(max_delta.as_nanos()).unwrap_or(i128::MAX);
    while let Some((n, parent, host, inherited)) = stack.pop() {
        let mut skew = (host, inherited);
        if let Some(p) = parent {
            if nodes[n].host != skew.0 {
                // A different host: compare against the parent, already adjusted.
                let shift = if is_async(&spans[n], &spans[p]) {
                    // Async (messaging, follows-from): only keep the child from starting first.
                    (start[p] - start[n]).max(0)
                } else {
                    needed_shift((start[n], end[n]), (start[p], end[p]))
                };
                skew = (nodes[n].host, shift);
            }
        }
        let delta = skew.1;
        if delta != 0 {
            if delta.abs() > max {
                let text = go_duration(delta);
                warnings[n].push(if max == 0 {
                    format!("clock skew adjustment disabled; not applying calculated delta of {text}")
                } else {
                    format!(
                        "max clock skew adjustment delta of {} exceeded; not applying calculated delta of {text}",
                        go_duration(max)
                    )
                });
            } else {
                start[n] += delta;
                end[n] += delta;
                applied[n] = delta;
                warnings[n].push(format!("This span's timestamps were adjusted by {}", go_duration(delta)));
            }
        }
        for &child in nodes[n].children.iter().rev() {
            stack.push((child, Some(n), skew.0, skew.1));
        }
    }

    let spans = spans
        .iter()
        .zip(warnings)
        .zip(applied)
        .map(|((record, warnings), delta)| {
            if warnings.is_empty() && delta == 0 {
                return record.clone();
            }
            let mut copy = SpanRecord::clone(record);
            if delta != 0 {
                let shift = |t: UnixNanos| UnixNanos(u64::try_from(i128::from(t.0) + delta).unwrap_or(0));
                copy.span.start = shift(copy.span.start);
                copy.span.end = shift(copy.span.end);
                for event in &mut copy.span.events {
                    event.time = shift(event.time);
                }
            }
            add_warnings(&mut copy, warnings);
            Arc::new(copy)
        })
        .collect();
    Trace { trace_id: trace.trace_id, spans }
}

fn parent_index(by_id: &HashMap<(SpanId, bool), usize>, parent: Option<SpanId>) -> Option<usize> {
    let parent = parent?;
    by_id.get(&(parent, true)).or_else(|| by_id.get(&(parent, false))).copied()
}

/// Whether a child need not lie inside its parent: a consumer, a child of a producer, or a child
/// by a `follows_from` reference.
fn is_async(child: &SpanRecord, parent: &SpanRecord) -> bool {
    child.span.kind == SpanKind::Consumer
        || parent.span.kind == SpanKind::Producer
        || child.span.links.iter().any(|l| {
            l.span_id == parent.span.span_id
                && l.attributes
                    .iter()
                    .any(|kv| kv.key == semconv::OPENTRACING_REF_TYPE && kv.value.to_text() == "follows_from")
        })
}

/// How far a child must move to sit inside its parent (Jaeger's rule), in nanoseconds.
fn needed_shift(child: (i128, i128), parent: (i128, i128)) -> i128 {
    let child_duration = child.1 - child.0;
    let parent_duration = parent.1 - parent.0;
    if child_duration > parent_duration {
        // Async, or the parent gave up first: only make sure the child does not start earlier.
        return (parent.0 - child.0).max(0);
    }
    if child.0 >= parent.0 && child.1 <= parent.1 {
        return 0;
    }
    // Centre the child: the network took as long each way.
    parent.0 + (parent_duration - child_duration) / 2 - child.0
}

fn add_warnings(record: &mut SpanRecord, warnings: Vec<String>) {
    if warnings.is_empty() {
        return;
    }
    let new = warnings.into_iter().map(AnyValue::String);
    if let Some(kv) = record.span.attributes.iter_mut().find(|kv| kv.key == WARNINGS_ATTRIBUTE) {
        if let AnyValue::Array(existing) = &mut kv.value {
            existing.extend(new);
            return;
        }
    }
    record.span.attributes.push(KeyValue { key: WARNINGS_ATTRIBUTE.to_owned(), value: AnyValue::Array(new.collect()) });
}

/// The warnings an adjusted span carries (empty for none).
pub fn warnings_of(record: &SpanRecord) -> Vec<String> {
    match record.span.attribute(WARNINGS_ATTRIBUTE) {
        Some(AnyValue::Array(values)) => values.iter().map(AnyValue::to_text).collect(),
        _ => Vec::new(),
    }
}

/// Each span's host as an index into a table of the trace's distinct hosts. A resource's part is
/// worked out once however many spans share it (spans of one batch share one resource).
fn host_ids(spans: &[Arc<SpanRecord>]) -> Vec<u32> {
    let mut table: HashMap<HostKey, u32> = HashMap::new();
    let mut intern = |key: HostKey| {
        let next = table.len() as u32;
        *table.entry(key).or_insert(next)
    };
    // Per resource: its host attribute's id, if any, and its fallback id.
    let mut by_resource: HashMap<*const Resource, (Option<u32>, u32)> = HashMap::new();
    spans
        .iter()
        .map(|r| {
            let (named, fallback) = *by_resource.entry(Arc::as_ptr(&r.resource)).or_insert_with(|| {
                (resource_host(&r.resource).map(|h| intern(HostKey::Named(h))), intern(resource_identity(&r.resource)))
            });
            named.or_else(|| span_address(r).map(|ip| intern(HostKey::Named(ip.to_owned())))).unwrap_or(fallback)
        })
        .collect()
}

/// The resource's host attribute: `host.id`, else `host.ip`, `host.name`, Jaeger's `ip` (a string
/// or an IPv4 address packed in an int) or `hostname`.
fn resource_host(resource: &Resource) -> Option<String> {
    [semconv::HOST_ID, semconv::HOST_IP, semconv::HOST_NAME, semconv::JAEGER_IP, semconv::JAEGER_HOSTNAME]
        .into_iter()
        .find_map(|key| match resource.attribute(key) {
            Some(AnyValue::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(AnyValue::Array(values)) => values.first().map(AnyValue::to_text),
            Some(AnyValue::Int(n)) => Some(std::net::Ipv4Addr::from(*n as u32).to_string()),
            _ => None,
        })
}

/// Zipkin's local endpoint address, kept on the span.
fn span_address(record: &SpanRecord) -> Option<&str> {
    [semconv::NET_HOST_IP, semconv::NETWORK_LOCAL_ADDRESS].into_iter().find_map(|key| {
        match record.span.attribute(key) {
            Some(AnyValue::String(ip)) if !ip.is_empty() => Some(ip.as_str()),
            _ => None,
        }
    })
}

/// A resource without host attributes stands for its process: a hash of its attributes.
fn resource_identity(resource: &Resource) -> HostKey {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for kv in &resource.attributes {
        kv.key.hash(&mut hasher);
        kv.value.to_text().hash(&mut hasher);
    }
    HostKey::Resource(hasher.finish())
}

/// A signed duration as Go's `time.Duration` prints it (`1.5s`, `-250ms`, `1h2m3s`, `0s`), which
/// is how Jaeger's warnings word it.
pub fn go_duration(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n == 0 {
        return "0s".to_owned();
    }
    let fraction = |value: u128, unit: u128| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.ilog10() as usize;
        let text = format!("{whole}.{rest:0digits$}");
        text.trim_end_matches('0').to_owned()
    };
    if n < 1_000 {
        return format!("{sign}{n}ns");
    }
    if n < 1_000_000 {
        return format!("{sign}{}µs", fraction(n, 1_000));
    }
    if n < 1_000_000_000 {
        return format!("{sign}{}ms", fraction(n, 1_000_000));
    }
    let hours = n / 3_600_000_000_000;
    let minutes = n / 60_000_000_000 % 60;
    let seconds = fraction(n % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

#[cfg(test)]
mod tests;
