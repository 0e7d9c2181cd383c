use super::*;

fn hist(nanos: &[u64]) -> Histogram {
    let mut h = Histogram::default();
    for &n in nanos {
        h.record(n);
    }
    h
}

fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_duration_on_a_bound_falls_in_that_bounds_bucket() {
    let h = hist(&[0, 2 * MS, 2 * MS + 1, 15_000 * MS, 15_000 * MS + 1, u64::MAX]);
    assert_eq!(h.counts[0], 2, "0 and exactly 2 ms are le=2");
    assert_eq!(h.counts[1], 1, "just over 2 ms is le=4");
    assert_eq!(h.counts[15], 1, "exactly 15 s is le=15000");
    assert_eq!(h.counts[16], 2, "above 15 s is only +Inf");
    assert_eq!(h.count(), 6);
    assert_eq!(h.sum_nanos(), u128::from(4 * MS + 1 + 30_000 * MS + 1) + u128::from(u64::MAX));
}

#[test]
fn span_metrics_render_as_the_span_metrics_connector_names_them() {
    let mut m = ConnectorMetrics::new(10);
    let h = hist(&[1_500_000, 3 * MS, 3 * MS, 20_000 * MS]);
    assert!(m.add_spans("cart", "GET /cart", SpanKind::Server, StatusCode::Unset, &h, 7));
    let mut text = String::new();
    m.render(&mut text);
    let labels =
        r#"service_name="cart",span_name="GET /cart",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_UNSET""#;
    assert!(text.contains("# TYPE traces_span_metrics_calls_total counter\n"));
    assert!(text.contains(&format!("traces_span_metrics_calls_total{{{labels}}} 4\n")));
    assert!(text.contains("# TYPE traces_span_metrics_duration_milliseconds histogram\n"));
    let buckets = lines_of(&text, "traces_span_metrics_duration_milliseconds_bucket");
    let expected: Vec<String> = [
        ("2", 1),
        ("4", 3),
        ("6", 3),
        ("8", 3),
        ("10", 3),
        ("50", 3),
        ("100", 3),
        ("200", 3),
        ("400", 3),
        ("800", 3),
        ("1000", 3),
        ("1400", 3),
        ("2000", 3),
        ("5000", 3),
        ("10000", 3),
        ("15000", 3),
        ("+Inf", 4),
    ]
    .iter()
    .map(|(le, n)| format!("traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"{le}\"}} {n}"))
    .collect();
    assert_eq!(buckets, expected);
    assert!(text.contains(&format!("traces_span_metrics_duration_milliseconds_sum{{{labels}}} 20007.5\n")));
    assert!(text.contains(&format!("traces_span_metrics_duration_milliseconds_count{{{labels}}} 4\n")));
}

#[test]
fn service_graph_metrics_render_as_the_service_graph_connector_names_them() {
    let mut m = ConnectorMetrics::new(10);
    let calls = EdgeCalls { requests: 3, failed: 1, server: hist(&[5 * MS, 5 * MS, MS]), client: hist(&[7 * MS; 3]) };
    assert!(m.add_edge("web", "orders", ConnectionType::Database, &calls, 1));
    assert!(m.add_edge("web", "api", ConnectionType::Direct, &calls, 1));
    let mut text = String::new();
    m.render(&mut text);
    assert_eq!(
        lines_of(&text, "traces_service_graph_request_total"),
        [
            r#"traces_service_graph_request_total{client="web",server="api",connection_type=""} 3"#,
            r#"traces_service_graph_request_total{client="web",server="orders",connection_type="database"} 3"#,
        ]
    );
    assert!(
        text.contains(r#"traces_service_graph_request_failed_total{client="web",server="api",connection_type=""} 1"#)
    );
    let api = r#"client="web",server="api",connection_type="""#;
    assert!(text.contains(&format!("traces_service_graph_request_server_seconds_bucket{{{api},le=\"0.002\"}} 1\n")));
    assert!(text.contains(&format!("traces_service_graph_request_server_seconds_bucket{{{api},le=\"0.006\"}} 3\n")));
    assert!(text.contains(&format!("traces_service_graph_request_server_seconds_sum{{{api}}} 0.011\n")));
    assert!(text.contains(&format!("traces_service_graph_request_client_seconds_bucket{{{api},le=\"0.006\"}} 0\n")));
    assert!(text.contains(&format!("traces_service_graph_request_client_seconds_bucket{{{api},le=\"0.008\"}} 3\n")));
    assert!(text.contains(&format!("traces_service_graph_request_client_seconds_count{{{api}}} 3\n")));
    for family in ["traces_service_graph_request_server_seconds", "traces_service_graph_request_client_seconds"] {
        assert!(text.contains(&format!("# TYPE {family} histogram\n")));
    }
}

#[test]
fn series_beyond_the_cap_fold_into_one_overflow_series() {
    let mut m = ConnectorMetrics::new(2);
    let one = hist(&[MS]);
    for name in ["a", "b", "c", "d"] {
        let kept = m.add_spans("svc", name, SpanKind::Internal, StatusCode::Ok, &one, 0);
        assert_eq!(kept, name < "c");
    }
    // A known series still takes more spans when the cap is reached.
    assert!(m.add_spans("svc", "a", SpanKind::Internal, StatusCode::Ok, &one, 0));
    let mut text = String::new();
    m.render(&mut text);
    assert!(text.contains("traces_span_metrics_calls_total{otel_metric_overflow=\"true\"} 2\n"));
    assert!(text.contains("traces_span_metrics_duration_milliseconds_count{otel_metric_overflow=\"true\"} 2\n"));
    assert!(text.contains(r#"span_name="a",span_kind="SPAN_KIND_INTERNAL",status_code="STATUS_CODE_OK"} 2"#));
    assert_eq!(lines_of(&text, "traces_span_metrics_calls_total{").len(), 3);
    // No service-graph overflow series while nothing overflowed.
    assert!(!text.contains("traces_service_graph_request_total{otel_metric_overflow"));
}

#[test]
fn idle_series_expire_and_free_their_place() {
    let mut m = ConnectorMetrics::new(1);
    let one = hist(&[MS]);
    assert!(m.add_spans("old", "op", SpanKind::Server, StatusCode::Unset, &one, 10));
    assert!(!m.add_spans("new", "op", SpanKind::Server, StatusCode::Unset, &one, 20));
    m.expire(15);
    assert_eq!(m.series(), (0, 0));
    assert!(m.add_spans("new", "op", SpanKind::Server, StatusCode::Unset, &one, 21));
}

#[test]
fn label_values_are_escaped() {
    let mut m = ConnectorMetrics::new(10);
    m.add_spans("a\"b", "line\nbreak \\ end", SpanKind::Client, StatusCode::Error, &hist(&[1]), 0);
    let mut text = String::new();
    m.render(&mut text);
    assert!(text.contains(
        r#"traces_span_metrics_calls_total{service_name="a\"b",span_name="line\nbreak \\ end",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR"} 1"#
    ));
    assert_eq!(text.lines().filter(|l| l.starts_with("break")).count(), 0, "no raw newline inside a label");
}
