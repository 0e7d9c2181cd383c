use std::time::Duration;

use super::*;
use crate::model::{KeyValue, Trace};
use crate::testkit::{trace_of, SpanBuilder, BASE_TIME};

fn two_service_trace() -> Trace {
    trace_of(vec![
        SpanBuilder::new("frontend", "GET /cart", 1, 1).timing(0, 50_000_000).build(),
        SpanBuilder::new("cart", "load", 1, 2)
            .parent(1)
            .timing(1_000_000, 10_000_000)
            .attr("db.system", AnyValue::String("redis".into()))
            .build(),
        SpanBuilder::new("frontend", "call cart", 1, 3)
            .parent(1)
            .kind(SpanKind::Client)
            .attr("peer.service", AnyValue::String("cart".into()))
            .timing(500_000, 20_000_000)
            .status(StatusCode::Error, "boom")
            .build(),
    ])
}

#[test]
fn single_span_rule_needs_one_span_to_satisfy_everything() {
    let trace = two_service_trace();
    let mut q = TraceQuery {
        service: Some("cart".into()),
        tags: vec![TagFilter { key: "db.system".into(), value: Some("redis".into()) }],
        ..TraceQuery::default()
    };
    assert!(q.matches(&trace.spans));
    // The tag is on a cart span, the duration bound only on frontend spans: no single span has both.
    q.min_duration = Some(Duration::from_millis(15));
    assert!(!q.matches(&trace.spans));
}

#[test]
fn derived_error_tag_matches_error_status() {
    let trace = two_service_trace();
    let q = TraceQuery {
        tags: vec![TagFilter { key: "error".into(), value: Some("true".into()) }],
        ..TraceQuery::default()
    };
    assert!(q.matches(&trace.spans));
    let q = TraceQuery {
        service: Some("cart".into()),
        tags: vec![TagFilter { key: "error".into(), value: Some("true".into()) }],
        ..TraceQuery::default()
    };
    assert!(!q.matches(&trace.spans));
}

#[test]
fn resource_attributes_count_as_process_tags() {
    let trace = trace_of(vec![SpanBuilder::new("svc", "op", 2, 1)
        .resource_attr("host.name", AnyValue::String("box-1".into()))
        .build()]);
    let q = TraceQuery {
        tags: vec![TagFilter { key: "host.name".into(), value: Some("box-1".into()) }],
        ..TraceQuery::default()
    };
    assert!(q.matches(&trace.spans));
}

#[test]
fn start_range_is_inclusive_and_checked_per_span() {
    let trace = two_service_trace();
    let q = TraceQuery {
        start_min: UnixNanos(BASE_TIME + 1_000_000),
        start_max: UnixNanos(BASE_TIME + 1_000_000),
        ..TraceQuery::default()
    };
    assert!(q.matches(&trace.spans));
    let q = TraceQuery { start_min: UnixNanos(BASE_TIME + 1_000_001), ..TraceQuery::default() };
    assert!(!q.matches(&trace.spans));
}

#[test]
fn zipkin_rule_lets_spans_of_the_service_satisfy_terms_jointly() {
    let trace = two_service_trace();
    let q = TraceQuery {
        service: Some("FRONTEND".into()),
        operation: Some("get /cart".into()),
        remote_service: Some("cart".into()),
        tags: vec![TagFilter { key: "error".into(), value: None }],
        min_duration: Some(Duration::from_millis(40)),
        rule: MatchRule::ZipkinJoint,
        ignore_case: true,
        ..TraceQuery::default()
    };
    assert!(q.matches(&trace.spans));
    let q = TraceQuery { min_duration: Some(Duration::from_millis(60)), ..q };
    assert!(!q.matches(&trace.spans));
}

#[test]
fn error_tag_value_is_what_each_api_shows() {
    let trace = two_service_trace();
    let tagged = |value: &str, rule| TraceQuery {
        tags: vec![TagFilter { key: "error".into(), value: Some(value.into()) }],
        rule,
        ..TraceQuery::default()
    };
    // Jaeger shows `error=true`; Zipkin shows `error=<status message>`.
    assert!(tagged("true", MatchRule::SingleSpan).matches(&trace.spans));
    assert!(!tagged("boom", MatchRule::SingleSpan).matches(&trace.spans));
    assert!(tagged("boom", MatchRule::ZipkinJoint).matches(&trace.spans));
    assert!(!tagged("true", MatchRule::ZipkinJoint).matches(&trace.spans));
}

#[test]
fn zipkin_rule_uses_root_timestamp_for_time_range() {
    let trace = two_service_trace();
    let q = TraceQuery { start_min: UnixNanos(BASE_TIME + 1), rule: MatchRule::ZipkinJoint, ..TraceQuery::default() };
    assert!(!q.matches(&trace.spans), "root starts at BASE_TIME, before the window");
}

#[test]
fn zipkin_bare_term_matches_annotation_value() {
    let trace =
        trace_of(vec![SpanBuilder::new("svc", "op", 3, 1).event(10, "cache.miss", Vec::<KeyValue>::new()).build()]);
    let q = TraceQuery {
        tags: vec![TagFilter { key: "cache.miss".into(), value: None }],
        rule: MatchRule::ZipkinJoint,
        ..TraceQuery::default()
    };
    assert!(q.matches(&trace.spans));
}
