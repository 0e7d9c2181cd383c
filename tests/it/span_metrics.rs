//! `/metrics` over real sockets: the span metrics and service-graph metrics that the Collector's
//! `spanmetrics` and `servicegraph` connectors would give for the same OTLP spans, checked line by
//! line and then parsed by Prometheus' own Python parser (`prometheus_client`, from the interop
//! venv that `scripts/test` names in `TRACEHOUND_TEST_PYTHON`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Status};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tracehound::testkit::TestServer;

use crate::common::*;

const MS: u64 = 1_000_000;
const PYTHON_ENV: &str = "TRACEHOUND_TEST_PYTHON";
const PARSER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/parse_prometheus.py");

fn status(code: StatusCode) -> Option<Status> {
    Some(Status { code: code as i32, message: String::new() })
}

/// One checkout trace across four services plus 20 `inventory GET /items` server spans of exactly
/// 100 ms (a bucket bound), five of them failed.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    let start = recent_nanos();
    let t = [0x77; 16];
    let mut call = span(t, 2, Some(1), "call checkout", 3, start + MS, 12 * MS);
    call.status = status(StatusCode::Error);
    let mut serve = span(t, 3, Some(2), "POST /checkout", 2, start + 2 * MS, 10 * MS);
    serve.status = status(StatusCode::Ok);
    let mut query = span(t, 4, Some(3), "SELECT orders", 3, start + 3 * MS, 3 * MS);
    query.attributes = vec![attr("db.system", s("postgresql")), attr("db.name", s("orders"))];
    let publish = span(t, 5, Some(3), "publish", 4, start + 7 * MS, MS);
    let consume = span(t, 6, Some(5), "consume", 5, start + 9 * MS, 4 * MS);
    let items = (0..20u8).map(|i| {
        let mut trace = [0x6d; 16];
        trace[15] = i;
        let mut s = span(trace, 1, None, "GET /items", 2, start + u64::from(i) * MS, 100 * MS);
        if i < 5 {
            s.status = status(StatusCode::Error);
        }
        s
    });
    let groups = vec![
        resource_spans("frontend", vec![span(t, 1, None, "GET /", 2, start, 30 * MS), call]),
        resource_spans("checkout", vec![serve, query, publish]),
        resource_spans("worker", vec![consume]),
        resource_spans("inventory", items.collect()),
    ];
    export_grpc(server.addrs.otlp_grpc, request(groups), false).await.unwrap();
    server
}

/// GETs `/metrics` until it holds `line`, or panics after 15 s (traces count in the service graph
/// once idle for the tests' 2 s timeout).
async fn metrics_with(server: &TestServer, line: &str) -> String {
    let url = format!("http://{}/metrics", server.addrs.query);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, content_type, body) = get_text(&url).await;
        assert_eq!(status, 200);
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        if body.lines().any(|l| l == line) {
            return body;
        }
        assert!(Instant::now() < deadline, "no line {line:?} in /metrics:\n{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[tokio::test]
async fn span_metrics_and_service_graph_metrics_follow_the_collector_connectors() {
    let server = server().await;
    let edge = r#"client="frontend",server="checkout",connection_type="""#;
    let text = metrics_with(&server, &format!("traces_service_graph_request_total{{{edge}}} 1")).await;

    // Span metrics: one series per service, span name, kind and status code.
    let items = |status: &str| {
        format!(
            r#"service_name="inventory",span_name="GET /items",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_{status}""#
        )
    };
    for (status, n) in [("UNSET", 15), ("ERROR", 5)] {
        let labels = items(status);
        assert!(has(&text, &format!("traces_span_metrics_calls_total{{{labels}}} {n}")), "{status}:\n{text}");
        // Exactly 100 ms is counted in the le="100" bucket, not only in the next.
        assert!(has(&text, &format!("traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"50\"}} 0")));
        assert!(has(&text, &format!("traces_span_metrics_duration_milliseconds_bucket{{{labels},le=\"100\"}} {n}")));
        let sum = n * 100;
        assert!(has(&text, &format!("traces_span_metrics_duration_milliseconds_sum{{{labels}}} {sum}")));
        assert!(has(&text, &format!("traces_span_metrics_duration_milliseconds_count{{{labels}}} {n}")));
    }
    let serve = r#"service_name="checkout",span_name="POST /checkout",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_OK""#;
    assert!(has(&text, &format!("traces_span_metrics_calls_total{{{serve}}} 1")), "{text}");
    let call = r#"service_name="frontend",span_name="call checkout",span_kind="SPAN_KIND_CLIENT",status_code="STATUS_CODE_ERROR""#;
    assert!(has(&text, &format!("traces_span_metrics_duration_milliseconds_sum{{{call}}} 12")), "{text}");

    // Service graph: the client's latency and the server's, the client's failure.
    assert!(has(&text, &format!("traces_service_graph_request_failed_total{{{edge}}} 1")), "{text}");
    assert!(has(&text, &format!("traces_service_graph_request_server_seconds_sum{{{edge}}} 0.01")), "{text}");
    assert!(has(&text, &format!("traces_service_graph_request_client_seconds_sum{{{edge}}} 0.012")), "{text}");
    assert!(has(&text, &format!("traces_service_graph_request_server_seconds_bucket{{{edge},le=\"0.01\"}} 1")));
    assert!(has(&text, &format!("traces_service_graph_request_client_seconds_bucket{{{edge},le=\"0.01\"}} 0")));
    let db = r#"client="checkout",server="orders",connection_type="database""#;
    assert!(has(&text, &format!("traces_service_graph_request_total{{{db}}} 1")), "{text}");
    let queue = r#"client="checkout",server="worker",connection_type="messaging_system""#;
    assert!(has(&text, &format!("traces_service_graph_request_total{{{queue}}} 1")), "{text}");
    assert!(has(&text, &format!("traces_service_graph_request_failed_total{{{queue}}} 0")), "{text}");

    // Tracehound's own figures are still there, with the series-limit counters.
    assert!(has(&text, "tracehound_receiver_spans_accepted_total{receiver=\"otlp_grpc\"} 26"), "{text}");
    assert!(has(&text, "tracehound_stats_span_metrics_overflowed_total 0"));
    assert!(has(&text, "tracehound_stats_service_graph_overflowed_total 0"));

    // The dependency APIs see the database and the queue too.
    let (_, deps) = get_json(&format!("http://{}/api/dependencies?endTs={}", server.addrs.query, now_ms())).await;
    let pairs: Vec<(&str, &str)> = deps["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["parent"].as_str().unwrap(), d["child"].as_str().unwrap()))
        .collect();
    assert_eq!(pairs, [("checkout", "orders"), ("checkout", "worker"), ("frontend", "checkout")]);

    parsed_by_prometheus_client(&text).await;
}

fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
}

/// Feeds the exposition to `prometheus_client`'s parser and checks the families it read.
async fn parsed_by_prometheus_client(text: &str) {
    let Some(python) = std::env::var_os(PYTHON_ENV) else {
        // Under CI the test command always provides the venv: its absence is a failure there.
        assert!(
            std::env::var_os("CI").is_none(),
            "{PYTHON_ENV} is not set under CI: run the tests through scripts/test"
        );
        eprintln!("skipped the prometheus_client check: {PYTHON_ENV} is not set (run scripts/test)");
        return;
    };
    let mut child = tokio::process::Command::new(python)
        .arg(PARSER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the prometheus_client parser");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "prometheus_client refused /metrics: {}", String::from_utf8_lossy(&out.stderr));
    let families: Value = serde_json::from_slice(&out.stdout).unwrap();
    let family = |name: &str| {
        families.as_array().unwrap().iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("no family {name}"))
    };
    // The parser names counters without `_total` and histograms without their suffixes.
    for (name, kind) in [
        ("traces_span_metrics_calls", "counter"),
        ("traces_span_metrics_duration_milliseconds", "histogram"),
        ("traces_service_graph_request", "counter"),
        ("traces_service_graph_request_failed", "counter"),
        ("traces_service_graph_request_server_seconds", "histogram"),
        ("traces_service_graph_request_client_seconds", "histogram"),
        ("tracehound_receiver_spans_received", "counter"),
    ] {
        assert_eq!(family(name)["type"], kind, "{name}");
    }
    let sample = family("traces_span_metrics_duration_milliseconds")["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["name"] == "traces_span_metrics_duration_milliseconds_bucket"
                && s["labels"]["service_name"] == "inventory"
                && s["labels"]["status_code"] == "STATUS_CODE_UNSET"
                && s["labels"]["le"].as_str().and_then(|le| le.parse::<f64>().ok()) == Some(100.0)
        })
        .cloned();
    assert_eq!(sample.and_then(|s| s["value"].as_f64()), Some(15.0));
}
