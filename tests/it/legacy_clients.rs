//! Interop with independently written Zipkin and Jaeger clients: the OpenTelemetry SDK 1.21
//! Zipkin and Jaeger exporters, Uber's jaeger-client and py-zipkin each send one three-service
//! trace (tests/interop/legacy_clients.py), and both the Zipkin and the Jaeger query API must give
//! it back with ids, parents, services, kinds, tags, the error and the annotation mapped. No client
//! there speaks Zipkin v1 thrift or the agent's binary thrift, so for those two the script builds
//! the spans from jaeger-client's generated thrift classes and encodes them with Apache thrift.
//!
//! Needs the legacy venv that `scripts/test` creates and names in `TRACEHOUND_TEST_LEGACY_PYTHON`;
//! without it each test says so and passes, except under CI (`CI` set), where it fails.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tracehound::telemetry::ReceiverKind;
use tracehound::testkit::TestServer;

use crate::common::{contains_str, poll_json, references, same_trace_id, tag};

const PYTHON_ENV: &str = "TRACEHOUND_TEST_LEGACY_PYTHON";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/legacy_clients.py");

// The trace the script sends, whichever client sends it.
const WEB: &str = "web";
const CHECKOUT: &str = "checkout";
const PAYMENTS: &str = "payments";
const ROOT: &str = "GET /checkout";
const CHARGE: &str = "charge card";
const AUTHORIZE: &str = "authorize";
const EVENT: &str = "retrying";
const DECLINED: &str = "card declined";
const SPAN_COUNT: u64 = 3;

/// How long a query may take to show a trace, and UDP spans to arrive.
const DEADLINE: Duration = Duration::from_secs(15);

/// Jaeger strategies served to jaeger-client: a different answer for each of its services.
const STRATEGIES: &str = r#"{
  "service_strategies": [
    {"service": "web", "type": "probabilistic", "param": 1.0},
    {"service": "checkout", "type": "ratelimiting", "param": 50}
  ],
  "default_strategy": {"type": "probabilistic", "param": 0.5}
}"#;

/// What one client sends and so what the query APIs can give back.
#[derive(Debug, Clone, Copy)]
struct Client {
    /// The script's name for the client.
    name: &'static str,
    /// The receiver that must count its spans.
    receiver: ReceiverKind,
    /// Tags and log fields keep their types (int, bool, float); Zipkin's model has only strings.
    typed: bool,
    /// The root's bool tag arrives. Zipkin v1 thrift sends it as a BOOL binary annotation, which
    /// Zipkin (and so tracehound) drops unless it is an address (`ca`, `sa`, `ma`).
    bool_tags: bool,
    /// Span kinds are on the wire (OpenTelemetry's Zipkin v1 encoder leaves them out).
    kinds: bool,
    /// The error's description travels with it.
    error_message: bool,
    /// Width of the trace ids the client makes.
    trace_id_bits: u32,
    /// The charge span names its callee (`payments`) as its remote endpoint (v1 `sa`).
    remote_endpoint: bool,
}

const OTEL_ZIPKIN_JSON: Client = Client {
    name: "otel-zipkin-json",
    receiver: ReceiverKind::ZipkinV2Json,
    typed: false,
    bool_tags: true,
    kinds: true,
    error_message: true,
    trace_id_bits: 128,
    remote_endpoint: false,
};

#[tokio::test]
async fn otel_zipkin_json_v2_exporter_round_trips() {
    round_trip(OTEL_ZIPKIN_JSON).await;
}

#[tokio::test]
async fn otel_zipkin_json_v1_exporter_round_trips() {
    round_trip(Client {
        name: "otel-zipkin-json-v1",
        receiver: ReceiverKind::ZipkinV1Json,
        kinds: false,
        ..OTEL_ZIPKIN_JSON
    })
    .await;
}

#[tokio::test]
async fn otel_zipkin_proto_exporter_round_trips() {
    round_trip(Client { name: "otel-zipkin-proto", receiver: ReceiverKind::ZipkinV2Proto, ..OTEL_ZIPKIN_JSON }).await;
}

const OTEL_JAEGER_THRIFT_HTTP: Client = Client {
    name: "otel-jaeger-thrift-http",
    receiver: ReceiverKind::JaegerThriftHttp,
    typed: true,
    bool_tags: true,
    kinds: true,
    error_message: false,
    trace_id_bits: 128,
    remote_endpoint: false,
};

#[tokio::test]
async fn otel_jaeger_thrift_http_exporter_round_trips() {
    round_trip(OTEL_JAEGER_THRIFT_HTTP).await;
}

#[tokio::test]
async fn otel_jaeger_thrift_udp_exporter_round_trips() {
    round_trip(Client {
        name: "otel-jaeger-thrift-udp",
        receiver: ReceiverKind::JaegerAgentCompact,
        ..OTEL_JAEGER_THRIFT_HTTP
    })
    .await;
}

#[tokio::test]
async fn otel_jaeger_grpc_exporter_round_trips() {
    round_trip(Client { name: "otel-jaeger-grpc", receiver: ReceiverKind::JaegerGrpc, ..OTEL_JAEGER_THRIFT_HTTP })
        .await;
}

#[tokio::test]
async fn jaeger_client_with_remote_sampling_round_trips() {
    round_trip(Client {
        name: "jaeger-client",
        receiver: ReceiverKind::JaegerAgentCompact,
        trace_id_bits: 64,
        ..OTEL_JAEGER_THRIFT_HTTP
    })
    .await;
}

const PY_ZIPKIN_V1_JSON: Client = Client {
    name: "py-zipkin-v1-json",
    receiver: ReceiverKind::ZipkinV1Json,
    typed: false,
    bool_tags: true,
    kinds: true,
    error_message: true,
    trace_id_bits: 64,
    // py-zipkin's `sa` binary annotation (v1) or remoteEndpoint (v2).
    remote_endpoint: true,
};

#[tokio::test]
async fn py_zipkin_v1_json_round_trips() {
    round_trip(PY_ZIPKIN_V1_JSON).await;
}

#[tokio::test]
async fn py_zipkin_v2_json_round_trips() {
    round_trip(Client {
        name: "py-zipkin-v2-json",
        receiver: ReceiverKind::ZipkinV2Json,
        trace_id_bits: 128,
        ..PY_ZIPKIN_V1_JSON
    })
    .await;
}

#[tokio::test]
async fn py_zipkin_v2_proto_round_trips() {
    round_trip(Client { name: "py-zipkin-v2-proto", receiver: ReceiverKind::ZipkinV2Proto, ..PY_ZIPKIN_V1_JSON }).await;
}

/// The script's Zipkin v1 thrift client: typed binary annotations, an `sa`, a 128-bit trace id.
const THRIFT_ZIPKIN_V1: &str = "thrift-zipkin-v1";
/// The script's Jaeger agent client in binary thrift: one datagram per service's batch.
const JAEGER_AGENT_BINARY: &str = "jaeger-agent-binary";

#[tokio::test]
async fn zipkin_v1_thrift_round_trips() {
    round_trip(Client {
        name: THRIFT_ZIPKIN_V1,
        receiver: ReceiverKind::ZipkinV1Thrift,
        bool_tags: false,
        trace_id_bits: 128,
        ..PY_ZIPKIN_V1_JSON
    })
    .await;
}

#[tokio::test]
async fn jaeger_agent_binary_thrift_round_trips() {
    round_trip(Client {
        name: JAEGER_AGENT_BINARY,
        receiver: ReceiverKind::JaegerAgentBinary,
        ..OTEL_JAEGER_THRIFT_HTTP
    })
    .await;
}

/// What the script printed: the trace id and each span's id by name, lowercase hex as sent.
#[derive(Debug, Deserialize)]
struct Sent {
    trace_id: String,
    spans: HashMap<String, String>,
    /// jaeger-client only: the sampler each service's remote strategy installed.
    #[serde(default)]
    samplers: HashMap<String, String>,
}

impl Sent {
    fn span_id(&self, name: &str) -> &str {
        self.spans.get(name).unwrap_or_else(|| panic!("the client printed no id for span {name:?}: {self:?}"))
    }
}

async fn round_trip(client: Client) {
    let Some(python) = std::env::var_os(PYTHON_ENV) else {
        // Under CI the test command always provides the venv: its absence is a failure there.
        assert!(
            std::env::var_os("CI").is_none(),
            "{PYTHON_ENV} is not set under CI: run the tests through scripts/test"
        );
        eprintln!("skipped: {PYTHON_ENV} is not set, so the legacy interop venv is missing (run scripts/test)");
        return;
    };
    let mut strategies = tempfile::NamedTempFile::new().expect("temporary strategies file");
    strategies.write_all(STRATEGIES.as_bytes()).expect("write the strategies file");
    let strategies_path = strategies.path().to_path_buf();
    let server = TestServer::start_with(|settings| settings.sampling_strategies = Some(strategies_path)).await;

    let sent = run_client(&python, client, &server).await;
    assert_eq!(sent.trace_id.len() * 4, client.trace_id_bits as usize, "{} trace id width: {sent:?}", client.name);
    check_receiver_counters(&server, client).await;
    check_zipkin_trace(server.addrs.zipkin, client, &sent).await;
    check_jaeger_trace(server.addrs.query, client, &sent).await;
    if client.name == "jaeger-client" {
        check_remote_sampling(&sent);
    }

    let zipkin_services = format!("http://{}/api/v2/services", server.addrs.zipkin);
    poll_json(&zipkin_services, DEADLINE, |body| [WEB, CHECKOUT, PAYMENTS].iter().all(|s| contains_str(body, s))).await;
    let jaeger_services = format!("http://{}/api/services", server.addrs.query);
    poll_json(&jaeger_services, DEADLINE, |body| {
        [WEB, CHECKOUT, PAYMENTS].iter().all(|s| contains_str(&body["data"], s))
    })
    .await;

    server.stop().await;
}

/// Runs the script with `client` against the server and parses the ids it printed.
async fn run_client(python: &OsStr, client: Client, server: &TestServer) -> Sent {
    let addrs = &server.addrs;
    let mut command = tokio::process::Command::new(python);
    command
        .arg(SCRIPT)
        .arg(client.name)
        .args(["--zipkin", &addrs.zipkin.to_string()])
        .args(["--jaeger-grpc", &addrs.jaeger_grpc.to_string()])
        .args(["--jaeger-http", &addrs.jaeger_http.to_string()])
        .args(["--jaeger-compact", &addrs.jaeger_compact.to_string()])
        .args(["--jaeger-binary", &addrs.jaeger_binary.to_string()])
        .args(["--sampling", &addrs.sampling.to_string()])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    // The server is on loopback: no proxy, and no OTEL_* or JAEGER_* setting (both client
    // families read them) may redirect or reshape what is sent.
    for (name, _) in std::env::vars_os() {
        let strip = {
            let name = name.to_string_lossy();
            name.starts_with("OTEL_") || name.starts_with("JAEGER_") || name.to_ascii_lowercase().ends_with("_proxy")
        };
        if strip {
            command.env_remove(name);
        }
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("{SCRIPT} {} did not finish within 60 s", client.name))
        .unwrap_or_else(|e| panic!("could not run {python:?} {SCRIPT}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} could not send its trace ({}):\n{stderr}{stdout}", client.name, output.status);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{SCRIPT} {} printed no ids ({e}):\n{stdout}\nstderr:\n{stderr}", client.name))
}

/// The client's receiver counted the three spans and no other receiver counted any. UDP has no
/// acknowledgement, so the count may still be on its way when the client exits.
async fn check_receiver_counters(server: &TestServer, client: Client) {
    let telemetry = server.telemetry();
    let counters = telemetry.receiver(client.receiver);
    let deadline = Instant::now() + DEADLINE;
    while counters.spans_accepted.get() < SPAN_COUNT && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        counters.spans_accepted.get(),
        SPAN_COUNT,
        "the {:?} receiver should count the {SPAN_COUNT} spans {} sent",
        client.receiver,
        client.name
    );
    assert_eq!(counters.spans_rejected.get(), 0, "{:?} rejected spans of {}", client.receiver, client.name);
    let everywhere: u64 = ReceiverKind::ALL.iter().map(|&kind| telemetry.receiver(kind).spans_accepted.get()).sum();
    assert_eq!(everywhere, SPAN_COUNT, "spans of {} counted by another receiver too", client.name);
}

async fn check_zipkin_trace(zipkin: SocketAddr, client: Client, sent: &Sent) {
    let url = format!("http://{zipkin}/api/v2/trace/{}", sent.trace_id);
    let body = poll_json(&url, DEADLINE, |body| body.as_array().is_some_and(|spans| spans.len() == 3)).await;
    let spans = body.as_array().map(Vec::as_slice).unwrap_or_default();
    let span = |name: &str, service: &str| {
        let id = sent.span_id(name);
        let span = spans
            .iter()
            .find(|span| span["id"] == id)
            .unwrap_or_else(|| panic!("zipkin trace has no span {id} ({name}): {body:#}"));
        // A 64-bit trace id stays 16 digits, a 128-bit one 32.
        assert_eq!(span["traceId"], sent.trace_id.as_str(), "zipkin traceId of {name}: {span:#}");
        let got = span["name"].as_str().unwrap_or_default();
        assert!(got.eq_ignore_ascii_case(name), "zipkin name of {name}: {span:#}");
        assert_eq!(span["localEndpoint"]["serviceName"], service, "zipkin localEndpoint of {name}: {span:#}");
        // v1 clients send kinds as core annotations (cs, sr ...), which become `kind`.
        let annotations = span["annotations"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(
            !annotations.iter().any(|a| ["cs", "cr", "sr", "ss"].iter().any(|core| a["value"] == *core)),
            "zipkin v1 core annotations left in {name}: {span:#}"
        );
        span
    };
    let kind = |span: &Value, want: &str| {
        if client.kinds {
            assert_eq!(span["kind"], want, "zipkin kind: {span:#}");
        }
    };

    let root = span(ROOT, WEB);
    assert!(root["parentId"].is_null(), "zipkin root has a parentId: {root:#}");
    kind(root, "SERVER");
    // Zipkin tags are strings, whatever type the client gave them: v1 thrift's I32 and DOUBLE
    // binary annotations as decimal text.
    for (key, value) in [("http.method", "GET"), ("http.status_code", "200"), ("sample.ratio", "0.25")] {
        assert_eq!(root["tags"][key], value, "zipkin tag {key} of {ROOT}: {root:#}");
    }
    if client.bool_tags {
        assert_eq!(root["tags"]["cache.hit"], "true", "zipkin tag cache.hit of {ROOT}: {root:#}");
    } else {
        assert!(root["tags"]["cache.hit"].is_null(), "zipkin kept a BOOL binary annotation: {root:#}");
    }

    let charge = span(CHARGE, CHECKOUT);
    assert_eq!(charge["parentId"], sent.span_id(ROOT), "{charge:#}");
    kind(charge, "CLIENT");
    let annotation = charge["annotations"]
        .as_array()
        .and_then(|list| list.iter().find(|a| a["value"].as_str().is_some_and(|v| v.contains(EVENT))))
        .unwrap_or_else(|| panic!("zipkin annotation {EVENT:?} on {CHARGE}: {charge:#}"));
    assert_within(annotation["timestamp"].as_u64(), charge["timestamp"].as_u64(), charge["duration"].as_u64(), || {
        format!("zipkin annotation time outside its span: {charge:#}")
    });
    if client.remote_endpoint {
        assert_eq!(charge["remoteEndpoint"]["serviceName"], PAYMENTS, "{charge:#}");
    }
    if client.name == THRIFT_ZIPKIN_V1 {
        // v1 annotations have no fields: the attempt travels as an I64 binary annotation.
        assert_eq!(charge["tags"]["attempt"], "2", "zipkin tag attempt of {CHARGE}: {charge:#}");
    }

    let authorize = span(AUTHORIZE, PAYMENTS);
    assert_eq!(authorize["parentId"], sent.span_id(CHARGE), "{authorize:#}");
    kind(authorize, "SERVER");
    let error = authorize["tags"]["error"].as_str().unwrap_or_else(|| panic!("zipkin error tag: {authorize:#}"));
    if client.error_message {
        assert!(error.contains(DECLINED), "zipkin error tag should carry {DECLINED:?}: {authorize:#}");
    }
}

async fn check_jaeger_trace(query: SocketAddr, client: Client, sent: &Sent) {
    let url = format!("http://{query}/api/traces/{}", sent.trace_id);
    let body =
        poll_json(&url, DEADLINE, |body| body["data"][0]["spans"].as_array().is_some_and(|s| s.len() == 3)).await;
    let trace = &body["data"][0];
    let spans = trace["spans"].as_array().map(Vec::as_slice).unwrap_or_default();
    let span = |name: &str, service: &str| {
        let id = sent.span_id(name);
        let span = spans
            .iter()
            .find(|span| span["spanID"] == id)
            .unwrap_or_else(|| panic!("jaeger trace has no span {id} ({name}): {body:#}"));
        let trace_id = span["traceID"].as_str().unwrap_or_default();
        assert!(same_trace_id(trace_id, &sent.trace_id), "jaeger traceID of {name}: {span:#}");
        assert_eq!(span["operationName"], name, "{span:#}");
        let process = &trace["processes"][span["processID"].as_str().unwrap_or_default()];
        assert_eq!(process["serviceName"], service, "jaeger process of {name}: {trace:#}");
        span
    };
    let kind = |span: &Value, want: &str| {
        if client.kinds {
            assert_eq!(tag(&span["tags"], "span.kind"), Some(("string", &json!(want))), "jaeger span.kind: {span:#}");
        }
    };

    let root = span(ROOT, WEB);
    assert!(references(root, "CHILD_OF").is_empty(), "jaeger root has a parent: {root:#}");
    kind(root, "server");
    assert_eq!(tag(&root["tags"], "http.method"), Some(("string", &json!("GET"))), "{root:#}");
    if client.typed {
        assert_eq!(tag(&root["tags"], "http.status_code"), Some(("int64", &json!(200))), "{root:#}");
        assert_eq!(tag(&root["tags"], "cache.hit"), Some(("bool", &json!(true))), "{root:#}");
        assert_float_tag(&root["tags"], "sample.ratio", 0.25, root);
    } else {
        // The client's model (Zipkin) has only string tags: they stay strings.
        for (key, value) in [("http.status_code", "200"), ("sample.ratio", "0.25")] {
            assert_eq!(tag(&root["tags"], key), Some(("string", &json!(value))), "jaeger tag {key}: {root:#}");
        }
        let cache_hit = tag(&root["tags"], "cache.hit");
        if client.bool_tags {
            assert_eq!(cache_hit, Some(("string", &json!("true"))), "jaeger tag cache.hit: {root:#}");
        } else {
            assert_eq!(cache_hit, None, "a dropped BOOL binary annotation came back: {root:#}");
        }
    }

    let charge = span(CHARGE, CHECKOUT);
    assert_eq!(references(charge, "CHILD_OF"), [sent.span_id(ROOT)], "{charge:#}");
    kind(charge, "client");
    let logs = charge["logs"].as_array().map(Vec::as_slice).unwrap_or_default();
    let log = logs
        .iter()
        .find(|log| {
            let fields = log["fields"].as_array().map(Vec::as_slice).unwrap_or_default();
            fields.iter().any(|f| f["value"].as_str().is_some_and(|v| v.contains(EVENT)))
        })
        .unwrap_or_else(|| panic!("jaeger log {EVENT:?} on {CHARGE}: {charge:#}"));
    assert_within(log["timestamp"].as_u64(), charge["startTime"].as_u64(), charge["duration"].as_u64(), || {
        format!("jaeger log time outside its span: {charge:#}")
    });
    if client.typed {
        assert_eq!(tag(&log["fields"], "attempt"), Some(("int64", &json!(2))), "{log:#}");
    }
    if client.name == THRIFT_ZIPKIN_V1 {
        assert_eq!(tag(&charge["tags"], "attempt"), Some(("string", &json!("2"))), "{charge:#}");
    }

    let authorize = span(AUTHORIZE, PAYMENTS);
    assert_eq!(references(authorize, "CHILD_OF"), [sent.span_id(CHARGE)], "{authorize:#}");
    kind(authorize, "server");
    assert_eq!(tag(&authorize["tags"], "error"), Some(("bool", &json!(true))), "{authorize:#}");

    if client.name == "jaeger-client" {
        // The client's own process tags, and the sampler the remote strategy installed on the root.
        let process = &trace["processes"][root["processID"].as_str().unwrap_or_default()];
        let version = tag(&process["tags"], "jaeger.version").and_then(|(_, v)| v.as_str()).unwrap_or_default();
        assert!(version.starts_with("Python-"), "jaeger.version process tag: {process:#}");
        assert_eq!(tag(&root["tags"], "sampler.type"), Some(("string", &json!("probabilistic"))), "{root:#}");
        // The strategy's samplingRate 1.0 is written `1`, as Jaeger writes it; Python parses that
        // as an int, so jaeger-client sends sampler.param as an int64 tag, not a float64.
        let (kind, param) = tag(&root["tags"], "sampler.param").unwrap_or_else(|| panic!("sampler.param: {root:#}"));
        assert!(kind == "int64" || kind == "float64", "sampler.param type: {root:#}");
        assert_eq!(param.as_f64(), Some(1.0), "sampler.param: {root:#}");
    }
    if client.name == JAEGER_AGENT_BINARY {
        // Each batch's Process, with its typed tags, for the service that sent it.
        for span in [root, charge, authorize] {
            let process = &trace["processes"][span["processID"].as_str().unwrap_or_default()];
            let tags = &process["tags"];
            assert_eq!(tag(tags, "interop.client"), Some(("string", &json!(JAEGER_AGENT_BINARY))), "{process:#}");
            let pid = tag(tags, "process.pid").unwrap_or_else(|| panic!("process.pid process tag: {process:#}"));
            assert!(pid.0 == "int64" && pid.1.as_i64().is_some_and(|pid| pid > 0), "process.pid: {process:#}");
        }
    }
}

/// jaeger-client asked the sampling endpoint for each service and installed what it answered.
fn check_remote_sampling(sent: &Sent) {
    let want = [
        (WEB, "ProbabilisticSampler", 1.0),
        (CHECKOUT, "RateLimitingSampler", 50.0),
        (PAYMENTS, "ProbabilisticSampler", 0.5),
    ];
    for (service, sampler, param) in want {
        // Printed as `Name(param)`, the number as Python prints what the JSON held (`1`, `50.0`).
        let got = sent.samplers.get(service).map(String::as_str).unwrap_or_default();
        let parsed =
            got.strip_suffix(')').and_then(|s| s.split_once('(')).and_then(|(n, p)| Some((n, p.parse().ok()?)));
        assert_eq!(parsed, Some((sampler, param)), "sampler jaeger-client installed for {service}: {sent:?}");
    }
}

/// `time` lies within `[start, start + duration]` (all µs).
fn assert_within(time: Option<u64>, start: Option<u64>, duration: Option<u64>, context: impl Fn() -> String) {
    let (Some(time), Some(start), Some(duration)) = (time, start, duration) else {
        panic!("missing timestamp or duration: {}", context());
    };
    assert!(start <= time && time <= start + duration, "{time} not in [{start}, {}]: {}", start + duration, context());
}

/// A `float64` tag: Jaeger may print a whole float without its fraction, so compare numbers.
fn assert_float_tag(tags: &Value, key: &str, want: f64, span: &Value) {
    let (kind, value) = tag(tags, key).unwrap_or_else(|| panic!("jaeger tag {key}: {span:#}"));
    assert_eq!(kind, "float64", "jaeger tag {key}: {span:#}");
    assert_eq!(value.as_f64(), Some(want), "jaeger tag {key}: {span:#}");
}
