use std::time::Duration;

use super::*;
use crate::model::query::TagFilter;

fn search(pairs: &[(&str, &str)]) -> Result<TraceQuery, QueryError> {
    let raw = serde_urlencoded::to_string(pairs).unwrap();
    parse_search(&Params::parse(Some(&raw)).unwrap()).map(|(query, _)| query)
}

fn reason(result: Result<TraceQuery, QueryError>) -> String {
    result.expect_err("should be refused").to_string()
}

#[test]
fn rfc3339_times_keep_nanoseconds_and_honour_offsets() {
    let utc = parse_rfc3339_nanos("t", "2026-11-20T10:00:00.123456789Z").unwrap();
    assert_eq!(utc.0 % 1_000_000_000, 123_456_789);
    let plus_two = parse_rfc3339_nanos("t", "2026-11-20T12:00:00.123456789+02:00").unwrap();
    assert_eq!(plus_two, utc);
    let minus = parse_rfc3339_nanos("t", "2026-11-20T04:30:00.123456789-05:30").unwrap();
    assert_eq!(minus, utc);
    assert_eq!(parse_rfc3339_nanos("t", "2026-11-20T10:00:00Z").unwrap().0 % 1_000_000_000, 0);
    // An unescaped `+` in a query string decodes as a space.
    assert_eq!(parse_rfc3339_nanos("t", "2026-11-20T12:00:00.123456789 02:00").unwrap(), utc);
    for bad in ["yesterday", "2026-11-20", "2026-11-20T10:00:00+2:00", "2026-11-20T10:00:00+xx:00"] {
        assert!(parse_rfc3339_nanos("t", bad).is_err(), "{bad}");
    }
}

#[test]
fn camel_and_snake_case_parameters_are_the_same_query() {
    let camel = search(&[
        ("query.serviceName", "checkout"),
        ("query.operationName", "GET /cart"),
        ("query.attributes", r#"{"http.status_code":"500"}"#),
        ("query.startTimeMin", "2026-11-20T10:00:00Z"),
        ("query.startTimeMax", "2026-11-20T11:00:00Z"),
        ("query.durationMin", "1.5ms"),
        ("query.durationMax", "2s"),
        ("query.searchDepth", "7"),
    ])
    .unwrap();
    let snake = search(&[
        ("query.service_name", "checkout"),
        ("query.operation_name", "GET /cart"),
        ("query.attributes", r#"{"http.status_code":"500"}"#),
        ("query.start_time_min", "2026-11-20T10:00:00Z"),
        ("query.start_time_max", "2026-11-20T11:00:00Z"),
        ("query.duration_min", "1.5ms"),
        ("query.duration_max", "2s"),
        ("query.num_traces", "7"),
    ])
    .unwrap();
    assert_eq!(camel, snake);
    assert_eq!(camel.service.as_deref(), Some("checkout"));
    assert_eq!(camel.tags, [TagFilter { key: "http.status_code".into(), value: Some("500".into()) }]);
    assert_eq!(camel.min_duration, Some(Duration::from_micros(1_500)));
    assert_eq!(camel.limit, 7);
    // [min, max): the maximum itself is excluded.
    assert_eq!(camel.start_max.0 - camel.start_min.0, 3_600_000_000_000 - 1);
}

#[test]
fn the_time_range_is_required_and_bad_values_are_refused() {
    let min = ("query.startTimeMin", "2026-11-20T10:00:00Z");
    let max = ("query.startTimeMax", "2026-11-20T11:00:00Z");
    assert!(reason(search(&[max])).contains("query.startTimeMin is required"));
    assert!(reason(search(&[min])).contains("query.startTimeMax is required"));
    assert!(reason(search(&[("query.startTimeMin", "2026-11-20T11:00:00Z"), max])).contains("after"));
    assert!(reason(search(&[min, max, ("query.durationMin", "fast")])).starts_with("query.durationMin"));
    assert!(reason(search(&[min, max, ("query.searchDepth", "0")])).contains("searchDepth"));
    assert!(reason(search(&[min, max, ("query.attributes", "a=b")])).contains("query.attributes"));
    assert!(reason(search(&[min, max, ("query.filter", "x")])).contains("not supported"));
    assert_eq!(search(&[min, max]).unwrap().limit, grpc_v3::DEFAULT_SEARCH_DEPTH);
}
