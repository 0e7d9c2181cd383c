use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::query::TagFilter;
use crate::model::SpanKind;
use crate::testkit::SpanBuilder;

const NOW_MS: u64 = 1_764_000_000_000;

fn query(pairs: &[(&str, &str)]) -> Result<TraceQuery, ApiError> {
    let raw = serde_urlencoded::to_string(pairs).unwrap();
    parse_query::<TraceSearchQuery>(Some(&raw))?.to_query(NOW_MS)
}

fn reason(result: Result<TraceQuery, ApiError>) -> String {
    result.expect_err("should be refused").to_string()
}

#[test]
fn every_parameter_reaches_the_query() {
    let q = query(&[
        ("service", "checkout"),
        ("operation", "GET /cart"),
        ("spanKind", "server"),
        ("tags", r#"{"http.status_code":"500","retry":true}"#),
        ("minDuration", "1.5ms"),
        ("maxDuration", "2s"),
        ("lookback", "15m"),
        ("limit", "50"),
    ])
    .unwrap();
    assert_eq!(q.service.as_deref(), Some("checkout"));
    assert_eq!(q.operation.as_deref(), Some("GET /cart"));
    assert_eq!(q.span_kind, Some(SpanKind::Server));
    assert_eq!(
        q.tags,
        [
            TagFilter { key: "http.status_code".into(), value: Some("500".into()) },
            TagFilter { key: "retry".into(), value: Some("true".into()) }
        ]
    );
    assert_eq!((q.min_duration, q.max_duration), (Some(Duration::from_micros(1_500)), Some(Duration::from_secs(2))));
    assert_eq!(q.start_min, UnixNanos::from_millis(NOW_MS - 15 * 60_000));
    assert_eq!(q.start_max, UnixNanos::from_millis(NOW_MS));
    assert_eq!((q.limit, q.rule), (50, MatchRule::SingleSpan));
}

#[test]
fn defaults_are_the_last_hour_and_twenty_traces() {
    let q = query(&[("service", ""), ("minDuration", "")]).unwrap();
    assert_eq!((q.service, q.min_duration, q.limit), (None, None, DEFAULT_LIMIT));
    assert_eq!(q.start_min, UnixNanos::from_millis(NOW_MS - 3_600_000));
    let q = query(&[("start", "2025-11-24T10:00:00Z"), ("end", "2025-11-24T11:00:00Z")]).unwrap();
    assert_eq!(q.start_max.0 - q.start_min.0, 3_600 * 1_000_000_000);
}

#[test]
fn bad_parameters_are_named() {
    assert!(reason(query(&[("limit", "0")])).starts_with("parameter 'limit'"));
    assert!(reason(query(&[("limit", "1001")])).starts_with("parameter 'limit'"));
    assert!(reason(query(&[("tags", "http.status_code=500")])).starts_with("parameter 'tags'"));
    assert!(reason(query(&[("minDuration", "soon")])).starts_with("parameter 'minDuration'"));
    assert!(reason(query(&[("minDuration", "2s"), ("maxDuration", "1s")])).starts_with("parameter 'maxDuration'"));
    assert!(reason(query(&[("spanKind", "sideways")])).starts_with("parameter 'spanKind'"));
    assert!(reason(query(&[("start", "yesterday")])).starts_with("parameter 'start'"));
}

#[test]
fn summary_counts_spans_and_errors_per_service_from_the_root() {
    let spans = vec![
        SpanBuilder::new("api", "SELECT", 7, 3).parent(2).kind(SpanKind::Client).timing(5_000, 1_000).build(),
        SpanBuilder::new("web", "GET /", 7, 1).kind(SpanKind::Server).timing(1_000, 50_000).build(),
        SpanBuilder::new("api", "handle", 7, 2)
            .parent(1)
            .timing(2_000, 60_000)
            .status(StatusCode::Error, "boom")
            .build(),
    ];
    let start = spans[1].span.start.0;
    let trace = Trace { trace_id: spans[0].span.trace_id, spans: spans.into_iter().map(Arc::new).collect() };
    let summary = TraceSummary::of(&trace).unwrap();
    assert_eq!(
        (summary.root_service.as_str(), summary.root_operation.as_str(), summary.has_root),
        ("web", "GET /", true)
    );
    assert_eq!(summary.start_time_unix_nano, start.to_string());
    // From the root's start to the latest end, the overrunning child's.
    assert_eq!(summary.duration_nanos, 61_000);
    assert_eq!((summary.span_count, summary.error_count, summary.orphan_count), (3, 1, 0));
    assert_eq!(summary.end_time_unix_nano, (start - 1_000 + 62_000).to_string());
    assert_eq!(
        summary.services,
        [
            ServiceSpans { name: "api".into(), span_count: 2, error_count: 1 },
            ServiceSpans { name: "web".into(), span_count: 1, error_count: 0 }
        ]
    );
    assert_eq!(summary.trace_id.len(), 32);
}

#[test]
fn a_trace_without_its_root_is_summarised_from_its_earliest_span() {
    let spans = vec![
        SpanBuilder::new("api", "late", 8, 3).parent(9).timing(9_000, 1_000).build(),
        SpanBuilder::new("db", "early", 8, 2).parent(9).timing(1_000, 1_000).build(),
    ];
    let trace = Trace { trace_id: spans[0].span.trace_id, spans: spans.into_iter().map(Arc::new).collect() };
    let summary = TraceSummary::of(&trace).unwrap();
    assert_eq!((summary.root_operation.as_str(), summary.has_root), ("early", false));
    assert_eq!(summary.orphan_count, 2);
}
