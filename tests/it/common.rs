//! Helpers shared by the integration tests: OTLP request builders, a tonic OTLP client, HTTP calls.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span::Event, status::StatusCode, ResourceSpans, ScopeSpans, Span, Status};
use tonic::codec::CompressionEncoding;
use tracehound::receiver::otlp::grpc::EXPORT_PATH;
use tracehound::testkit::RawCodec;

/// Unix nanoseconds one minute ago, so default query windows include test spans.
pub fn recent_nanos() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    (now - Duration::from_secs(60)).as_nanos() as u64
}

/// A string attribute.
pub fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

/// A string value.
pub fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// A span with the given ids, timing (ns) and kind.
pub fn span(trace: [u8; 16], id: u64, parent: Option<u64>, name: &str, kind: i32, start: u64, dur: u64) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: id.to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| p.to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.into(),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur,
        ..Default::default()
    }
}

/// One resource (with `service.name`) and one scope around the spans.
pub fn resource_spans(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![attr("service.name", s(service)), attr("host.name", s("box-1"))],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope { name: "it".into(), version: "1.0".into(), ..Default::default() }),
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

/// A request of several resource groups.
pub fn request(groups: Vec<ResourceSpans>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest { resource_spans: groups }
}

/// Trace id of the seeded checkout trace.
pub const CHECKOUT: [u8; 16] =
    [0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36];
/// Trace id of the seeded health-check trace (64-bit: high half zero).
pub const HEALTH: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];

/// Two traces: `frontend GET /cart` (50 ms) calling `cart` (a failing client span and a 10 ms
/// server span with `db.system=redis`), and a 1 ms `frontend GET /health`.
pub fn seed_request(start: u64) -> ExportTraceServiceRequest {
    let mut client = span(CHECKOUT, 2, Some(1), "call cart", 3, start + 1_000_000, 20_000_000);
    client.attributes = vec![attr("peer.service", s("cart")), attr("http.request.method", s("GET"))];
    client.status = Some(Status { code: StatusCode::Error as i32, message: "upstream timeout".into() });
    client.events = vec![Event {
        time_unix_nano: start + 2_000_000,
        name: "retry".into(),
        attributes: vec![attr("attempt", Value::IntValue(2))],
        dropped_attributes_count: 0,
    }];
    let mut load = span(CHECKOUT, 3, Some(2), "load", 2, start + 2_000_000, 10_000_000);
    load.attributes = vec![attr("db.system", s("redis"))];
    request(vec![
        resource_spans(
            "frontend",
            vec![
                span(CHECKOUT, 1, None, "GET /cart", 2, start, 50_000_000),
                client,
                span(HEALTH, 7, None, "GET /health", 2, start + 100_000_000, 1_000_000),
            ],
        ),
        resource_spans("cart", vec![load]),
    ])
}

/// A server holding the two traces of [`seed_request`], and their start time.
pub async fn seeded() -> (tracehound::testkit::TestServer, u64) {
    let server = tracehound::testkit::TestServer::start().await;
    let start = recent_nanos();
    export_grpc(server.addrs.otlp_grpc, seed_request(start), false).await.unwrap();
    (server, start)
}

/// Connects a gRPC channel to a listener.
pub async fn channel(addr: SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// Calls OTLP `Export`, optionally gzip-compressed.
pub async fn export_grpc(
    addr: SocketAddr,
    req: ExportTraceServiceRequest,
    gzip: bool,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    if gzip {
        grpc = grpc.send_compressed(CompressionEncoding::Gzip);
    }
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<ExportTraceServiceRequest, ExportTraceServiceResponse>::default();
    grpc.unary(tonic::Request::new(req), http::uri::PathAndQuery::from_static(EXPORT_PATH), codec)
        .await
        .map(tonic::Response::into_inner)
}

/// Sends arbitrary bytes as the `Export` request message.
pub async fn export_raw_grpc(addr: SocketAddr, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    grpc.ready().await.unwrap();
    grpc.unary(tonic::Request::new(body), http::uri::PathAndQuery::from_static(EXPORT_PATH), RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// GETs a URL and parses the body as JSON (panics on a non-JSON body).
pub async fn get_json(url: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {status} non-JSON body {text:?}: {e}"));
    (status, json)
}

/// GETs a URL, returning status, content type and body text.
pub async fn get_text(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// POSTs a body with a content type and optional content encoding.
pub async fn post(url: &str, content_type: &str, encoding: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).header("content-type", content_type);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.body(body).send().await.unwrap()
}

/// gzip-compresses bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A Jaeger key-value's type and value, by key.
pub fn tag<'a>(tags: &'a serde_json::Value, key: &str) -> Option<(&'a str, &'a serde_json::Value)> {
    let kv = tags.as_array()?.iter().find(|kv| kv["key"] == key)?;
    Some((kv["type"].as_str().unwrap_or_default(), &kv["value"]))
}

/// The span ids a Jaeger span refers to with `ref_type`.
pub fn references<'a>(span: &'a serde_json::Value, ref_type: &str) -> Vec<&'a str> {
    let refs = span["references"].as_array().map(Vec::as_slice).unwrap_or_default();
    refs.iter().filter(|r| r["refType"] == ref_type).map(|r| r["spanID"].as_str().unwrap_or_default()).collect()
}

/// Jaeger may print a trace id without its leading zeros: compare the numbers, which also holds a
/// 64-bit id to a zero high half.
pub fn same_trace_id(got: &str, want: &str) -> bool {
    got.trim_start_matches('0').eq_ignore_ascii_case(want.trim_start_matches('0'))
}

/// True when a JSON array holds the string.
pub fn contains_str(list: &serde_json::Value, item: &str) -> bool {
    list.as_array().is_some_and(|items| items.iter().any(|v| v == item))
}

/// GETs `url` until its JSON body satisfies `ready`, for at most `deadline`: a receiver
/// acknowledges a batch once the pipeline took it (and UDP not at all), and the store sees it a
/// moment later.
pub async fn poll_json(url: &str, deadline: Duration, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let until = std::time::Instant::now() + deadline;
    loop {
        let last = match reqwest::get(url).await {
            Ok(response) => {
                let status = response.status();
                match response.bytes().await {
                    Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                        Ok(body) if status.is_success() && ready(&body) => return body,
                        Ok(body) => format!("{status}: {body:#}"),
                        Err(e) => format!("{status}, not JSON ({e}): {}", String::from_utf8_lossy(&bytes)),
                    },
                    Err(e) => format!("{status}, body unreadable: {e}"),
                }
            }
            Err(e) => format!("request failed: {e}"),
        };
        assert!(
            std::time::Instant::now() < until,
            "GET {url} gave no expected answer within {deadline:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Flags putting every listener but the query API's on an ephemeral loopback port.
pub const EPHEMERAL_LISTENERS: [&str; 18] = [
    "--otlp-grpc-addr",
    "127.0.0.1:0",
    "--otlp-http-addr",
    "127.0.0.1:0",
    "--zipkin-addr",
    "127.0.0.1:0",
    "--jaeger-grpc-addr",
    "127.0.0.1:0",
    "--jaeger-query-grpc-addr",
    "127.0.0.1:0",
    "--jaeger-http-addr",
    "127.0.0.1:0",
    "--jaeger-compact-addr",
    "127.0.0.1:0",
    "--jaeger-binary-addr",
    "127.0.0.1:0",
    "--sampling-addr",
    "127.0.0.1:0",
];

/// The `tracehound` binary with logs on stdout, uncoloured, at info level.
pub fn binary() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracehound"));
    command.env("TRACEHOUND_LOG", "info").env("NO_COLOR", "1");
    command
}

/// A started `tracehound` process and the addresses its "tracehound listening" line gives.
pub struct Listening {
    /// The process (killed when dropped).
    pub child: tokio::process::Child,
    line: String,
}

impl Listening {
    /// Starts `command` and waits (up to 30 s) until it listens; its output keeps being read.
    pub async fn start(mut command: tokio::process::Command) -> Self {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("tracehound listening") {
                    return line;
                }
            }
            panic!("tracehound exited before listening");
        })
        .await
        .expect("tracehound starts within 30 s");
        // Keep reading, so the process never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, line }
    }

    /// The address a listener is bound to, by its name in the log line (`query`, `otlp_http` …).
    pub fn address(&self, name: &str) -> String {
        self.line
            .split_whitespace()
            .find_map(|field| field.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} address in {:?}", self.line))
            .to_owned()
    }
}

/// Every span of an OTLP/JSON body (`resourceSpans` → `scopeSpans` → `spans`); none when absent.
pub fn otlp_spans(body: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    body["resourceSpans"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
        .flat_map(|ss| ss["spans"].as_array().into_iter().flatten())
}
