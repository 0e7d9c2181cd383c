//! `TraceQuery`: the one search request every query API parses its parameters into, and the
//! matching rules that decide whether a trace answers it.
//!
//! Two rule sets exist because the two ecosystems define search differently:
//! - [`MatchRule::SingleSpan`] (Jaeger): one span must satisfy the service, operation, every tag,
//!   the duration bounds and start inside the time range.
//! - [`MatchRule::ZipkinJoint`] (Zipkin): the trace's root (else earliest) timestamp lies in the
//!   time range, and the spans of the service jointly satisfy the span name, the remote service and
//!   every annotation term, with one of them inside the duration bounds.

use std::time::Duration;

use std::sync::Arc;

use super::{root_of, semconv, AnyValue, SpanKind, SpanRecord, StatusCode, UnixNanos};

/// Which ecosystem's search semantics to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchRule {
    /// Jaeger: a single span satisfies every predicate.
    #[default]
    SingleSpan,
    /// Zipkin: the spans of the service satisfy the predicates jointly.
    ZipkinJoint,
}

/// A tag predicate: `key=value`, or with no value, that the key exists (Zipkin bare terms also
/// match annotation values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// Tag key.
    pub key: String,
    /// Required value, or `None` for presence only.
    pub value: Option<String>,
}

/// A search for traces.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceQuery {
    /// Service the matching span(s) belong to.
    pub service: Option<String>,
    /// Operation (span name).
    pub operation: Option<String>,
    /// Span kind of the operation.
    pub span_kind: Option<SpanKind>,
    /// Remote service (Zipkin `remoteServiceName`).
    pub remote_service: Option<String>,
    /// Tag predicates, all of which must hold.
    pub tags: Vec<TagFilter>,
    /// Lower duration bound, inclusive.
    pub min_duration: Option<Duration>,
    /// Upper duration bound, inclusive.
    pub max_duration: Option<Duration>,
    /// Earliest start, inclusive.
    pub start_min: UnixNanos,
    /// Latest start, inclusive.
    pub start_max: UnixNanos,
    /// Most traces to return, newest first.
    pub limit: usize,
    /// Which semantics to match with.
    pub rule: MatchRule,
    /// Compare service, operation and remote names ignoring ASCII case (Zipkin lower-cases them).
    pub ignore_case: bool,
}

impl Default for TraceQuery {
    fn default() -> Self {
        Self {
            service: None,
            operation: None,
            span_kind: None,
            remote_service: None,
            tags: Vec::new(),
            min_duration: None,
            max_duration: None,
            start_min: UnixNanos(0),
            start_max: UnixNanos(u64::MAX),
            limit: 20,
            rule: MatchRule::SingleSpan,
            ignore_case: false,
        }
    }
}

impl TraceQuery {
    /// Whether the trace made of these spans answers the query.
    pub fn matches(&self, spans: &[Arc<SpanRecord>]) -> bool {
        match self.rule {
            MatchRule::SingleSpan => spans.iter().any(|r| self.span_matches(r)),
            MatchRule::ZipkinJoint => self.zipkin_matches(spans),
        }
    }

    /// Whether a trace whose span starts lie in `[first, last]` can match at all (a cheap pre-check).
    pub fn may_overlap(&self, first: UnixNanos, last: UnixNanos) -> bool {
        last >= self.start_min && first <= self.start_max
    }

    fn names_equal(&self, a: &str, b: &str) -> bool {
        if self.ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    }

    fn duration_ok(&self, record: &SpanRecord) -> bool {
        let d = Duration::from_nanos(record.span.duration_nanos());
        self.min_duration.is_none_or(|min| d >= min) && self.max_duration.is_none_or(|max| d <= max)
    }

    fn service_ok(&self, record: &SpanRecord) -> bool {
        self.service.as_deref().is_none_or(|s| self.names_equal(record.service_name(), s))
    }

    fn operation_ok(&self, record: &SpanRecord) -> bool {
        self.operation.as_deref().is_none_or(|op| self.names_equal(&record.span.name, op))
            && self.span_kind.is_none_or(|k| record.span.kind == k)
    }

    fn span_matches(&self, record: &SpanRecord) -> bool {
        let start = record.span.start;
        start >= self.start_min
            && start <= self.start_max
            && self.service_ok(record)
            && self.operation_ok(record)
            && self.duration_ok(record)
            && self.tags.iter().all(|t| tag_matches(record, t, MatchRule::SingleSpan))
    }

    fn zipkin_matches(&self, trace: &[Arc<SpanRecord>]) -> bool {
        let Some(root) = root_of(trace) else { return false };
        let ts = root.span.start;
        if ts < self.start_min || ts > self.start_max {
            return false;
        }
        let spans: Vec<&SpanRecord> = trace.iter().map(|r| r.as_ref()).filter(|r| self.service_ok(r)).collect();
        if spans.is_empty() {
            return false;
        }
        let any = |pred: &dyn Fn(&SpanRecord) -> bool| spans.iter().any(|r| pred(r));
        (self.operation.is_none() && self.span_kind.is_none() || any(&|r| self.operation_ok(r)))
            && self
                .remote_service
                .as_deref()
                .is_none_or(|remote| any(&|r| remote_service(r).is_some_and(|name| self.names_equal(name, remote))))
            && self.tags.iter().all(|t| any(&|r| tag_matches(r, t, MatchRule::ZipkinJoint)))
            && (self.min_duration.is_none() && self.max_duration.is_none() || any(&|r| self.duration_ok(r)))
    }
}

/// The remote service a span talked to, from `peer.service` (what Zipkin's remote endpoint maps to).
pub fn remote_service(record: &SpanRecord) -> Option<&str> {
    match record.span.attribute(semconv::PEER_SERVICE) {
        Some(AnyValue::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// Whether a span carries the tag. Span attributes, resource attributes (Jaeger process tags) and
/// the tags the APIs derive from typed fields (`error`, `span.kind`, `otel.status_code`,
/// `otel.scope.name`) all count, so a tag shown by an API can be searched by it. The rule picks the
/// API's view: Zipkin shows a failed span's `error` as the status message (Jaeger: `true`), and
/// its bare terms also match annotation (event) names.
fn tag_matches(record: &SpanRecord, filter: &TagFilter, rule: MatchRule) -> bool {
    let value_ok = |v: &str| filter.value.as_deref().is_none_or(|want| want == v);
    let attr_ok = |kv: &super::KeyValue| kv.key == filter.key && value_ok(&kv.value.to_text());
    if record.span.attributes.iter().any(attr_ok) || record.resource.attributes.iter().any(attr_ok) {
        return true;
    }
    if rule == MatchRule::ZipkinJoint
        && filter.value.is_none()
        && record.span.events.iter().any(|e| e.name == filter.key)
    {
        return true;
    }
    let span = &record.span;
    match filter.key.as_str() {
        semconv::ERROR => {
            span.status.code == StatusCode::Error
                && match rule {
                    MatchRule::SingleSpan => value_ok("true"),
                    MatchRule::ZipkinJoint => value_ok(&span.status.message),
                }
        }
        semconv::SPAN_KIND => span.kind != SpanKind::Unspecified && value_ok(span.kind.as_lower_str()),
        semconv::OTEL_STATUS_CODE => match span.status.code {
            StatusCode::Unset => false,
            StatusCode::Ok => value_ok("OK"),
            StatusCode::Error => value_ok("ERROR"),
        },
        semconv::OTEL_STATUS_DESCRIPTION => !span.status.message.is_empty() && value_ok(&span.status.message),
        semconv::OTEL_SCOPE_NAME => !record.scope.name.is_empty() && value_ok(&record.scope.name),
        semconv::OTEL_SCOPE_VERSION => !record.scope.version.is_empty() && value_ok(&record.scope.version),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
