//! Interop with the official OpenTelemetry Python SDK: its OTLP gRPC and OTLP/HTTP exporters send
//! one trace (tests/interop/otel_sdk_export.py), and the Zipkin and Jaeger query APIs must give it
//! back with ids, parents, kinds, typed attributes, status, events and links mapped.
//!
//! Needs the interop venv that `scripts/test` creates and names in `TRACEHOUND_TEST_PYTHON`;
//! without it each test says so and passes, except under CI (`CI` set), where it fails.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;
use tracehound::telemetry::ReceiverKind;
use tracehound::testkit::TestServer;

use crate::common::{contains_str, poll_json, references, same_trace_id, tag};

const PYTHON_ENV: &str = "TRACEHOUND_TEST_PYTHON";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/otel_sdk_export.py");
const ROOT: &str = "GET /checkout";
const CLIENT: &str = "SELECT orders";
const INTERNAL: &str = "compute";
/// How long a query may take to show a trace the receiver already acknowledged.
const QUERY_DEADLINE: Duration = Duration::from_secs(15);

#[tokio::test]
async fn python_sdk_grpc_exporter_round_trips() {
    round_trip(Protocol::Grpc).await;
}

#[tokio::test]
async fn python_sdk_http_exporter_round_trips() {
    round_trip(Protocol::Http).await;
}

#[derive(Debug, Clone, Copy)]
enum Protocol {
    Grpc,
    Http,
}

/// What the script printed: the trace id and each span's id by name, all lowercase hex.
#[derive(Debug, Deserialize)]
struct Exported {
    trace_id: String,
    spans: HashMap<String, String>,
}

impl Exported {
    fn span_id(&self, name: &str) -> &str {
        self.spans.get(name).unwrap_or_else(|| panic!("the exporter printed no id for span {name:?}: {self:?}"))
    }
}

async fn round_trip(protocol: Protocol) {
    let Some(python) = std::env::var_os(PYTHON_ENV) else {
        // Under CI the test command always provides the venv: its absence is a failure there.
        assert!(
            std::env::var_os("CI").is_none(),
            "{PYTHON_ENV} is not set under CI: run the tests through scripts/test"
        );
        eprintln!("skipped: {PYTHON_ENV} is not set, so the interop venv is missing (run scripts/test)");
        return;
    };
    let server = TestServer::start().await;
    let (flag, endpoint, receiver) = match protocol {
        Protocol::Grpc => ("grpc", format!("http://{}", server.addrs.otlp_grpc), ReceiverKind::OtlpGrpc),
        Protocol::Http => ("http", format!("http://{}/v1/traces", server.addrs.otlp_http), ReceiverKind::OtlpHttp),
    };
    let service = unique_service(flag);

    let exported = run_exporter(&python, flag, &endpoint, &service).await;
    assert_eq!(
        server.telemetry().receiver(receiver).spans_accepted.get(),
        3,
        "the {receiver:?} receiver should count the 3 spans it acknowledged"
    );

    check_zipkin_trace(server.addrs.zipkin, &service, &exported).await;
    check_jaeger_trace(server.addrs.query, &service, &exported).await;
    let zipkin_services = format!("http://{}/api/v2/services", server.addrs.zipkin);
    poll_json(&zipkin_services, QUERY_DEADLINE, |body| contains_str(body, &service)).await;
    let jaeger_services = format!("http://{}/api/services", server.addrs.query);
    poll_json(&jaeger_services, QUERY_DEADLINE, |body| contains_str(&body["data"], &service)).await;

    server.stop().await;
}

/// A service name no other test uses; lowercase, because Zipkin lowercases service names.
fn unique_service(protocol: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("py-sdk-{protocol}-{}-{nanos}", std::process::id())
}

/// Runs the Python exporter against `endpoint` and parses the ids it printed.
async fn run_exporter(python: &OsStr, protocol: &str, endpoint: &str, service: &str) -> Exported {
    let mut command = tokio::process::Command::new(python);
    command
        .arg(SCRIPT)
        .args(["--protocol", protocol, "--endpoint", endpoint, "--service", service])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // The collector is on loopback: no proxy and no OTEL_* setting from the environment may
    // redirect or reshape the export.
    for (name, _) in std::env::vars_os() {
        let strip = {
            let name = name.to_string_lossy();
            name.starts_with("OTEL_") || name.to_ascii_lowercase().ends_with("_proxy")
        };
        if strip {
            command.env_remove(name);
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("{SCRIPT} did not finish within 60 s"))
        .unwrap_or_else(|e| panic!("could not run {python:?} {SCRIPT}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python SDK export over {protocol} to {endpoint} failed ({}):\n{stderr}{stdout}",
        output.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{SCRIPT} printed no ids ({e}):\n{stdout}\nstderr:\n{stderr}"))
}

async fn check_zipkin_trace(zipkin: SocketAddr, service: &str, exported: &Exported) {
    let url = format!("http://{zipkin}/api/v2/trace/{}", exported.trace_id);
    let body = poll_json(&url, QUERY_DEADLINE, |body| body.as_array().is_some_and(|spans| spans.len() == 3)).await;
    let spans = body.as_array().map(Vec::as_slice).unwrap_or_default();
    let span = |name: &str| {
        let id = exported.span_id(name);
        let span = spans
            .iter()
            .find(|span| span["id"] == id)
            .unwrap_or_else(|| panic!("zipkin trace has no span {id} ({name}): {body:#}"));
        assert_eq!(span["traceId"], exported.trace_id.as_str(), "zipkin traceId of {name}: {span:#}");
        // Zipkin itself lowercases span names, so either case is a faithful answer.
        let got = span["name"].as_str().unwrap_or_default();
        assert!(got.eq_ignore_ascii_case(name), "zipkin name of {name}: {span:#}");
        assert_eq!(span["localEndpoint"]["serviceName"], service, "zipkin localEndpoint of {name}: {span:#}");
        span
    };

    let root = span(ROOT);
    assert!(root["parentId"].is_null(), "zipkin root has a parentId: {root:#}");
    assert_eq!(root["kind"], "SERVER", "{root:#}");
    for (key, value) in
        [("http.request.method", "GET"), ("http.response.status_code", "200"), ("retry", "true"), ("ratio", "0.5")]
    {
        assert_eq!(root["tags"][key], value, "zipkin tag {key} of {ROOT}: {root:#}");
    }

    let client = span(CLIENT);
    assert_eq!(client["parentId"], exported.span_id(ROOT), "{client:#}");
    assert_eq!(client["kind"], "CLIENT", "{client:#}");
    assert_eq!(client["remoteEndpoint"]["serviceName"], "postgres", "peer.service: {client:#}");
    assert_eq!(client["tags"]["otel.status_code"], "ERROR", "{client:#}");
    assert_eq!(client["tags"]["error"], "deadlock", "status description: {client:#}");
    let annotations = client["annotations"].as_array().map(Vec::as_slice).unwrap_or_default();
    assert!(
        annotations.iter().any(|a| a["value"].as_str().is_some_and(|v| v.contains("retrying"))),
        "zipkin annotation for event \"retrying\": {client:#}"
    );

    let internal = span(INTERNAL);
    assert_eq!(internal["parentId"], exported.span_id(CLIENT), "{internal:#}");
    // Zipkin has no INTERNAL kind: a local span carries none.
    assert!(internal["kind"].is_null(), "zipkin kind of an INTERNAL span: {internal:#}");
}

async fn check_jaeger_trace(query: SocketAddr, service: &str, exported: &Exported) {
    let url = format!("http://{query}/api/traces/{}", exported.trace_id);
    let body =
        poll_json(&url, QUERY_DEADLINE, |body| body["data"][0]["spans"].as_array().is_some_and(|s| s.len() == 3)).await;
    let trace = &body["data"][0];
    let spans = trace["spans"].as_array().map(Vec::as_slice).unwrap_or_default();
    let span = |name: &str| {
        let id = exported.span_id(name);
        let span = spans
            .iter()
            .find(|span| span["spanID"] == id)
            .unwrap_or_else(|| panic!("jaeger trace has no span {id} ({name}): {body:#}"));
        let trace_id = span["traceID"].as_str().unwrap_or_default();
        assert!(same_trace_id(trace_id, &exported.trace_id), "jaeger traceID of {name}: {span:#}");
        assert_eq!(span["operationName"], name, "{span:#}");
        let process = &trace["processes"][span["processID"].as_str().unwrap_or_default()];
        assert_eq!(process["serviceName"], service, "jaeger process of {name}: {trace:#}");
        assert_eq!(tag(&process["tags"], "deployment.environment"), Some(("string", &json!("test"))), "{process:#}");
        span
    };

    let root = span(ROOT);
    assert!(references(root, "CHILD_OF").is_empty(), "jaeger root has a parent: {root:#}");
    for (key, kind, value) in [
        ("http.request.method", "string", json!("GET")),
        ("http.response.status_code", "int64", json!(200)),
        ("retry", "bool", json!(true)),
        ("ratio", "float64", json!(0.5)),
        ("span.kind", "string", json!("server")),
    ] {
        assert_eq!(tag(&root["tags"], key), Some((kind, &value)), "jaeger tag {key} of {ROOT}: {root:#}");
    }

    let client = span(CLIENT);
    assert_eq!(references(client, "CHILD_OF"), [exported.span_id(ROOT)], "{client:#}");
    assert_eq!(tag(&client["tags"], "span.kind"), Some(("string", &json!("client"))), "{client:#}");
    assert_eq!(tag(&client["tags"], "error"), Some(("bool", &json!(true))), "{client:#}");
    let logs = client["logs"].as_array().map(Vec::as_slice).unwrap_or_default();
    let retrying = logs
        .iter()
        .find(|log| tag(&log["fields"], "event").is_some_and(|(_, value)| value == "retrying"))
        .unwrap_or_else(|| panic!("jaeger log with event=retrying: {client:#}"));
    assert_eq!(tag(&retrying["fields"], "attempt"), Some(("int64", &json!(2))), "{retrying:#}");

    let internal = span(INTERNAL);
    assert_eq!(references(internal, "CHILD_OF"), [exported.span_id(CLIENT)], "{internal:#}");
    // OTLP span links become FOLLOWS_FROM references.
    assert_eq!(references(internal, "FOLLOWS_FROM"), [exported.span_id(CLIENT)], "{internal:#}");
    if let Some(kind) = tag(&internal["tags"], "span.kind") {
        assert_eq!(kind, ("string", &json!("internal")), "{internal:#}");
    }
}
