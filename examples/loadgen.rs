//! End-to-end load generator: sends OTLP/gRPC `Export` requests, or Zipkin v2 JSON
//! `POST /api/v2/spans` (`--protocol zipkin-json`), as fast as the server takes them for a fixed
//! time and reports accepted spans per second, retries and errors, and, given the server's process
//! id, its CPU seconds per million spans and peak resident memory.
//!
//! ```text
//! cargo run --release --example loadgen                       # against an in-process server
//! target/release/tracehound --otlp-grpc-addr 127.0.0.1:24317 ... &
//! cargo run --release --example loadgen -- --target 127.0.0.1:24317 --pid $! --duration 15
//! cargo run --release --example loadgen -- --protocol zipkin-json --target 127.0.0.1:29411 --pid $!
//! ```
//!
//! Requests have the shape of the `ingest` bench (`benches/otlp_workload`): 100-span traces over
//! three services. Each body is encoded once; every request then gets fresh trace ids patched into
//! a copy of those bytes, so the server keeps seeing new traces while the generator spends almost
//! no CPU of its own (except with `--gzip`, where tonic compresses every request). Only loopback
//! targets are allowed: this is a benchmark tool, not a way to load someone else's server.

#[path = "../benches/otlp_workload/mod.rs"]
mod otlp_workload;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};

use clap::Parser;
use http::uri::PathAndQuery;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::transport::Channel;
use tracehound::receiver::otlp::grpc::EXPORT_PATH;
use tracehound::testkit::RawCodec;

use otlp_workload::{export_request, trace_id, Shape};

/// Send OTLP/gRPC trace exports to tracehound as fast as it accepts them, then report throughput.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Args {
    /// Address of a running tracehound's receiver for --protocol (127.0.0.1 only); without it, one is started in-process
    #[arg(long, value_name = "127.0.0.1:PORT")]
    target: Option<SocketAddr>,

    /// Wire format to send
    #[arg(long, value_enum, default_value_t = Protocol::OtlpGrpc)]
    protocol: Protocol,

    /// Process id of the server at --target: report its CPU time and peak RSS (from /proc)
    #[arg(long, value_name = "PID", requires = "target")]
    pid: Option<u32>,

    /// Seconds to send for; requests in flight at the end are still awaited
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,

    /// Requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,

    /// HTTP/2 connections the requests are spread over [default: one per 4 concurrent requests]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    connections: Option<u64>,

    /// Spans in each request
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    spans_per_request: u64,

    /// Compress requests with gzip (costs the generator CPU on every request)
    #[arg(long)]
    gzip: bool,
}

/// What the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Protocol {
    /// OTLP/gRPC `TraceService/Export`, protobuf.
    OtlpGrpc,
    /// Zipkin v2 JSON, `POST /api/v2/spans` over HTTP/1.1.
    ZipkinJson,
}

/// A retried request waits this long first, doubling up to [`MAX_BACKOFF`]. Deliberately shorter
/// than the server's RetryInfo hint: the point is to find how much the server takes.
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(250);
/// A request not answered in this time counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = Shape::with_spans(args.spans_per_request as usize);
    let template = Arc::new(RequestTemplate::new(shape, args.protocol)?);

    let (target, server, measured) = match args.target {
        Some(target) => {
            if target.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST) {
                bail!("refusing target {target}: only 127.0.0.1 targets are allowed");
            }
            (target, None, args.pid.map(|pid| (pid, "server")))
        }
        None => {
            let running = tracehound::server::start(tracehound::config::Settings::for_tests())
                .await
                .context("cannot start the in-process server")?;
            // In-process, the only process to measure is this one: generator and server together.
            let target = match args.protocol {
                Protocol::OtlpGrpc => running.addrs.otlp_grpc,
                Protocol::ZipkinJson => running.addrs.zipkin,
            };
            (target, Some(running), Some((std::process::id(), "loadgen + in-process server")))
        }
    };
    let before = match measured {
        Some((pid, _)) => Some(ProcessSample::read(pid).with_context(|| format!("cannot read /proc/{pid}"))?),
        None => None,
    };

    let connections = match args.protocol {
        Protocol::OtlpGrpc => args.connections.unwrap_or(args.concurrency.div_ceil(4)).min(args.concurrency),
        // HTTP/1.1: one connection per request in flight, kept alive by the client's pool.
        Protocol::ZipkinJson => args.concurrency,
    };
    let mut channels = Vec::new();
    let grpc_connections = if args.protocol == Protocol::OtlpGrpc { connections } else { 0 };
    for _ in 0..grpc_connections {
        let channel = Channel::from_shared(format!("http://{target}"))
            .context("invalid target")?
            .connect()
            .await
            .with_context(|| format!("cannot connect to {target}"))?;
        channels.push(channel);
    }

    let gzip = if args.gzip { "on" } else { "off" };
    println!(
        "loadgen: {:?} to {target}, {} s, {} requests in flight over {connections} connections, {} spans ({} traces) and \
         {} bytes per request, gzip {gzip}",
        args.protocol,
        args.duration,
        args.concurrency,
        shape.spans,
        shape.traces,
        template.body.len(),
    );
    let tally = Arc::new(Tally::default());
    // Each run starts from a different sequence number, so reruns against one server send new traces.
    let first_sequence = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let sequence = Arc::new(AtomicU64::new(first_sequence));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut workers = tokio::task::JoinSet::new();
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency as usize).build()?;
    for i in 0..args.concurrency as usize {
        let sender =
            Sender { template: template.clone(), sequence: sequence.clone(), tally: tally.clone(), gzip: args.gzip };
        match args.protocol {
            Protocol::OtlpGrpc => workers.spawn(sender.run_grpc(channels[i % channels.len()].clone(), deadline)),
            Protocol::ZipkinJson => {
                workers.spawn(sender.run_zipkin(http.clone(), format!("http://{target}/api/v2/spans"), deadline))
            }
        };
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();
    let after = match measured {
        Some((pid, _)) => Some(ProcessSample::read(pid).with_context(|| format!("cannot read /proc/{pid}"))?),
        None => None,
    };
    if let Some(server) = server {
        server.shutdown().await;
    }

    let report = Report { tally: &tally, elapsed, measured: measured.map(|(_, what)| what).zip(before).zip(after) };
    report.print();
    if tally.accepted.load(Ordering::Relaxed) == 0 {
        bail!("the server accepted no spans");
    }
    Ok(())
}

/// One encoded request and where its trace ids sit, so each request is a copy with new ids.
struct RequestTemplate {
    body: Vec<u8>,
    /// Byte offset of every span's trace id, with the index of its trace.
    trace_id_offsets: Vec<(usize, usize)>,
    shape: Shape,
    /// Ids are written as hex text (JSON) rather than raw bytes (protobuf).
    hex_ids: bool,
}

impl RequestTemplate {
    /// Recognisable placeholder ids: "THND", four 0xa5 bytes, the trace index.
    fn placeholder(trace: usize) -> [u8; 16] {
        let mut id = [0xa5; 16];
        id[..4].copy_from_slice(b"THND");
        id[8..].copy_from_slice(&(trace as u64).to_be_bytes());
        id
    }

    fn new(shape: Shape, protocol: Protocol) -> anyhow::Result<Self> {
        let placeholders: Vec<[u8; 16]> = (0..shape.traces).map(Self::placeholder).collect();
        let start = SystemTime::now().duration_since(UNIX_EPOCH)?.saturating_sub(Duration::from_secs(60));
        let request = export_request(shape, &placeholders, start.as_nanos() as u64);
        let (body, hex_ids) = match protocol {
            Protocol::OtlpGrpc => (request.encode_to_vec(), false),
            Protocol::ZipkinJson => {
                // The same spans as Zipkin JSON: through the model and the Zipkin encoder.
                let batch = tracehound::receiver::otlp::request_into_model(request).batch;
                let spans: Vec<_> =
                    batch.into_records().map(|r| tracehound::query::zipkin::json::span_to_zipkin(&r)).collect();
                (serde_json::to_vec(&spans)?, true)
            }
        };
        let needles: Vec<Vec<u8>> =
            placeholders.iter().map(|p| if hex_ids { hex::encode(p).into_bytes() } else { p.to_vec() }).collect();
        let width = needles[0].len();
        let trace_id_offsets: Vec<(usize, usize)> = body
            .windows(width)
            .enumerate()
            .filter_map(|(offset, w)| Some((offset, needles.iter().position(|n| n == w)?)))
            .collect();
        if trace_id_offsets.len() != shape.spans {
            bail!("found {} trace ids in a request of {} spans", trace_id_offsets.len(), shape.spans);
        }
        Ok(Self { body, trace_id_offsets, shape, hex_ids })
    }

    /// The body of request number `sequence`.
    fn body(&self, sequence: u64) -> Vec<u8> {
        let ids: Vec<Vec<u8>> = (0..self.shape.traces)
            .map(|t| {
                let id = trace_id(sequence, t);
                if self.hex_ids {
                    hex::encode(id).into_bytes()
                } else {
                    id.to_vec()
                }
            })
            .collect();
        let mut body = self.body.clone();
        for &(offset, trace) in &self.trace_id_offsets {
            body[offset..offset + ids[trace].len()].copy_from_slice(&ids[trace]);
        }
        body
    }
}

/// What all senders counted.
#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    retries: AtomicU64,
    errors: AtomicU64,
    latency_micros: AtomicU64,
    max_latency_micros: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(message);
    }
}

/// One request in flight at a time, in a loop until the deadline.
struct Sender {
    template: Arc<RequestTemplate>,
    sequence: Arc<AtomicU64>,
    tally: Arc<Tally>,
    gzip: bool,
}

impl Sender {
    /// Zipkin v2 JSON over HTTP/1.1: 202 counts the request's spans, 503 is retried.
    async fn run_zipkin(self, client: reqwest::Client, url: String, deadline: Instant) {
        let spans = self.template.shape.spans as u64;
        let mut backoff = MIN_BACKOFF;
        let mut retry = None;
        while Instant::now() < deadline {
            let sequence = retry.take().unwrap_or_else(|| self.sequence.fetch_add(1, Ordering::Relaxed));
            let mut body = self.template.body(sequence);
            let mut request = client.post(&url).header("content-type", "application/json");
            if self.gzip {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                let _ = encoder.write_all(&body);
                body = encoder.finish().unwrap_or_default();
                request = request.header("content-encoding", "gzip");
            }
            let sent = Instant::now();
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, request.body(body).send()).await;
            let latency = sent.elapsed().as_micros() as u64;
            match answer {
                Ok(Ok(response)) if response.status().as_u16() == 202 => {
                    self.tally.requests.fetch_add(1, Ordering::Relaxed);
                    self.tally.accepted.fetch_add(spans, Ordering::Relaxed);
                    self.tally.latency_micros.fetch_add(latency, Ordering::Relaxed);
                    self.tally.max_latency_micros.fetch_max(latency, Ordering::Relaxed);
                    backoff = MIN_BACKOFF;
                }
                Ok(Ok(response)) if response.status().as_u16() == 503 => {
                    self.tally.retries.fetch_add(1, Ordering::Relaxed);
                    retry = Some(sequence);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Ok(Ok(response)) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    self.tally.error(format!("HTTP {status}: {text}"));
                    tokio::time::sleep(MIN_BACKOFF).await;
                }
                Ok(Err(e)) => {
                    self.tally.error(format!("request failed: {e}"));
                    tokio::time::sleep(MIN_BACKOFF).await;
                }
                Err(_) => self.tally.error(format!("no answer within {REQUEST_TIMEOUT:?}")),
            }
        }
    }

    async fn run_grpc(self, channel: Channel, deadline: Instant) {
        let mut grpc = tonic::client::Grpc::new(channel);
        if self.gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        let spans = self.template.shape.spans as u64;
        let mut backoff = MIN_BACKOFF;
        let mut retry = None;
        while Instant::now() < deadline {
            // A retried request is sent again with the same trace ids.
            let sequence = retry.take().unwrap_or_else(|| self.sequence.fetch_add(1, Ordering::Relaxed));
            let body = self.template.body(sequence);
            if let Err(e) = grpc.ready().await {
                self.tally.error(format!("connection not ready: {e}"));
                tokio::time::sleep(MAX_BACKOFF).await;
                continue;
            }
            let sent = Instant::now();
            let call = grpc.unary(tonic::Request::new(body), PathAndQuery::from_static(EXPORT_PATH), RawCodec);
            let answer = tokio::time::timeout(REQUEST_TIMEOUT, call).await;
            let latency = sent.elapsed().as_micros() as u64;
            match answer {
                Ok(Ok(response)) => {
                    let rejected = ExportTraceServiceResponse::decode(&response.into_inner()[..])
                        .ok()
                        .and_then(|r| r.partial_success)
                        .map_or(0, |p| p.rejected_spans.max(0) as u64);
                    self.tally.requests.fetch_add(1, Ordering::Relaxed);
                    self.tally.accepted.fetch_add(spans.saturating_sub(rejected), Ordering::Relaxed);
                    self.tally.rejected.fetch_add(rejected, Ordering::Relaxed);
                    self.tally.latency_micros.fetch_add(latency, Ordering::Relaxed);
                    self.tally.max_latency_micros.fetch_max(latency, Ordering::Relaxed);
                    backoff = MIN_BACKOFF;
                }
                Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                    self.tally.retries.fetch_add(1, Ordering::Relaxed);
                    retry = Some(sequence);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Ok(Err(status)) => {
                    self.tally.error(format!("{:?}: {}", status.code(), status.message()));
                    tokio::time::sleep(MIN_BACKOFF).await;
                }
                Err(_) => self.tally.error(format!("no answer within {REQUEST_TIMEOUT:?}")),
            }
        }
    }
}

/// CPU time and memory of a process, from /proc.
#[derive(Debug, Clone, Copy)]
struct ProcessSample {
    cpu: Duration,
    peak_rss_bytes: u64,
}

impl ProcessSample {
    fn read(pid: u32) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name (field 2) may hold spaces: count fields from its closing parenthesis.
        // proc(5): utime and stime are fields 14 and 15, in clock ticks.
        let after_name = stat.rsplit_once(')').context("unexpected /proc/PID/stat format")?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| -> anyhow::Result<u64> {
            fields.get(i).context("short /proc/PID/stat")?.parse().context("non-numeric /proc/PID/stat field")
        };
        let cpu_ticks = ticks(11)? + ticks(12)?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let peak_kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM in /proc/PID/status")?;
        Ok(Self {
            cpu: Duration::from_secs_f64(cpu_ticks as f64 / clock_ticks_per_second() as f64),
            peak_rss_bytes: peak_kib * 1024,
        })
    }
}

/// `getconf CLK_TCK`, or 100, the value on every common Linux.
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

struct Report<'a> {
    tally: &'a Tally,
    elapsed: Duration,
    /// What was measured, and its samples before and after the run.
    measured: Option<((&'static str, ProcessSample), ProcessSample)>,
}

impl Report<'_> {
    fn print(&self) {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let t = self.tally;
        let (accepted, requests) = (get(&t.accepted), get(&t.requests));
        let secs = self.elapsed.as_secs_f64();
        let spans_per_sec = accepted as f64 / secs;
        let mean_latency_ms = get(&t.latency_micros) as f64 / requests.max(1) as f64 / 1000.0;
        println!("  elapsed            {secs:.2} s");
        println!("  accepted spans     {accepted} ({spans_per_sec:.0} spans/s)");
        println!(
            "  requests           {requests} ({:.1}/s, mean latency {mean_latency_ms:.1} ms, max {:.1} ms)",
            requests as f64 / secs,
            get(&t.max_latency_micros) as f64 / 1000.0
        );
        println!("  rejected spans     {}", get(&t.rejected));
        println!("  retries            {} (UNAVAILABLE)", get(&t.retries));
        println!("  errors             {}", get(&t.errors));
        if let Some(first) = t.first_error.lock().unwrap_or_else(|p| p.into_inner()).as_deref() {
            println!("  first error        {first}");
        }
        let mut summary = format!(
            "summary: spans_per_sec={spans_per_sec:.0} requests={requests} retries={} errors={}",
            get(&t.retries),
            get(&t.errors)
        );
        if let Some(((what, before), after)) = self.measured {
            let cpu = after.cpu.saturating_sub(before.cpu).as_secs_f64();
            let per_million = if accepted > 0 { cpu / (accepted as f64 / 1e6) } else { f64::NAN };
            let peak_mib = after.peak_rss_bytes as f64 / (1024.0 * 1024.0);
            println!("  {what}: CPU {cpu:.2} s ({:.2} cores), {per_million:.2} CPU s per million spans", cpu / secs);
            println!("  {what}: peak RSS {peak_mib:.1} MiB");
            // A wrong --pid (say, a shell wrapping the server) shows up as a process that idled.
            if accepted > 0 && cpu < 0.01 * secs {
                println!("  warning: that process used almost no CPU: is --pid the server listening on --target?");
            }
            summary.push_str(&format!(
                " cpu_s={cpu:.2} cpu_s_per_million_spans={per_million:.2} peak_rss_mib={peak_mib:.1}"
            ));
        }
        println!("{summary}");
    }
}
