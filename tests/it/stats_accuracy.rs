//! Accuracy of the live latency percentiles: 1,000,000 spans with heavy-tailed latencies
//! (log-normal, Pareto, bimodal; one operation each) go through the real ingest path (OTLP/gRPC),
//! and p50, p90, p99 and p99.9 read back from every statistics API must be within 1% of the exact
//! quantiles of what was sent (the sample element of rank floor(q·(n−1))).

use std::collections::BTreeMap;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tracehound::testkit::TestServer;

use crate::common::*;

const SPANS: usize = 1_000_000;
const PER_REQUEST: usize = 5_000;
const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];
const SERVICE: &str = "accuracy";

/// SplitMix64: a small deterministic generator, so every run sends the same latencies.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        let z = tracehound::testkit::splitmix64(self.0);
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos()
    }
}

/// Latency in nanoseconds for the `i`-th span of a distribution.
fn latency(distribution: &str, rng: &mut Rng) -> u64 {
    let ms = match distribution {
        // Median 50 ms, σ = 1: a long right tail.
        "lognormal" => (50f64.ln() + rng.normal()).exp(),
        // Pareto with scale 1 ms and shape 1.5: a heavy power-law tail.
        "pareto" => 1.0 / rng.unit().powf(1.0 / 1.5),
        // Two modes: fast cache hits around 5 ms, slow misses around 200 ms.
        _ => {
            if rng.unit() < 0.7 {
                (5f64.ln() + 0.3 * rng.normal()).exp()
            } else {
                (200f64.ln() + 0.3 * rng.normal()).exp()
            }
        }
    };
    (ms * 1e6).round().max(1.0) as u64
}

/// The sample element of rank floor(q·(n−1)).
fn exact(sorted: &[u64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize] as f64
}

fn check(what: &str, operation: &str, q: f64, got_ms: f64, exact_ns: f64, failures: &mut Vec<String>) {
    let exact_ms = exact_ns / 1e6;
    let error = (got_ms - exact_ms).abs() / exact_ms;
    if error > 0.01 {
        failures.push(format!(
            "{what} {operation} p{}: {got_ms} ms vs exact {exact_ms} ms ({:.3}%)",
            q * 100.0,
            error * 100.0
        ));
    }
}

/// Sends every span and returns each operation's sorted latencies.
async fn ingest(server: &TestServer) -> BTreeMap<&'static str, Vec<u64>> {
    let mut rng = Rng(0x5eed_1a7e);
    let mut latencies: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    let operations = ["lognormal", "pareto", "bimodal"];
    let start = recent_nanos();
    let mut sent = 0usize;
    let mut request_no = 0u64;
    while sent < SPANS {
        let n = PER_REQUEST.min(SPANS - sent);
        let spans = (0..n)
            .map(|i| {
                let global = sent + i;
                let operation = operations[global % operations.len()];
                let nanos = latency(operation, &mut rng);
                latencies.entry(operation).or_default().push(nanos);
                // 100 spans per trace, every span its own operation's child of the first.
                let mut trace = [0u8; 16];
                trace[..8].copy_from_slice(&(request_no + 1).to_be_bytes());
                trace[8..].copy_from_slice(&((i / 100) as u64 + 1).to_be_bytes());
                let parent = (i % 100 != 0).then(|| (i - i % 100) as u64 + 1);
                span(trace, i as u64 + 1, parent, operation, 2, start, nanos)
            })
            .collect();
        let request: ExportTraceServiceRequest = request(vec![resource_spans(SERVICE, spans)]);
        export_grpc(server.addrs.otlp_grpc, request, false).await.expect("export accepted");
        sent += n;
        request_no += 1;
    }
    for values in latencies.values_mut() {
        values.sort_unstable();
    }
    latencies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentiles_from_every_api_are_within_one_percent() {
    let server = TestServer::start_with(|s| {
        s.ingest.queue_spans = std::num::NonZeroUsize::new(2_000_000).unwrap();
        s.assembler.max_traces = std::num::NonZeroUsize::new(20_000).unwrap();
    })
    .await;
    let latencies = ingest(&server).await;
    let total: usize = latencies.values().map(Vec::len).sum();
    assert_eq!(total, SPANS);

    // Wait until the statistics hold every span (they are flushed about twice a second here).
    let services_url = format!("http://{}/api/v1/stats/services?lookback=1h", server.addrs.query);
    for _ in 0..200 {
        let (_, json) = get_json(&services_url).await;
        let calls = json["services"].as_array().and_then(|s| s.first()).and_then(|s| s["calls"].as_u64());
        if calls == Some(SPANS as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut failures = Vec::new();
    for (operation, sorted) in &latencies {
        // Our REST API: one step covering the whole window.
        let url = format!(
            "http://{}/api/v1/stats/timeseries?service={SERVICE}&operation={operation}&quantiles=0.5,0.9,0.99,0.999&lookback=1h&step=1h",
            server.addrs.query
        );
        let (status, json) = get_json(&url).await;
        assert_eq!(status, 200, "{json}");
        let points = json["points"].as_array().unwrap_or_else(|| panic!("no points: {json}"));
        let point = points.iter().find(|p| p["calls"].as_u64().unwrap_or(0) > 0).expect("a point with the calls");
        assert_eq!(point["calls"].as_u64(), Some(sorted.len() as u64), "{point}");
        for q in QUANTILES {
            let got = point["quantiles"][q.to_string()].as_f64().unwrap_or_else(|| panic!("p{q} in {point}"));
            check("REST", operation, q, got, exact(sorted, q), &mut failures);
        }

        // Jaeger's SPM API: per operation, one step covering the window.
        for q in QUANTILES {
            let url = format!(
                "http://{}/api/metrics/latencies?service={SERVICE}&quantile={q}&groupByOperation=true&spanKind=server&lookback=3600000&step=3600000",
                server.addrs.query
            );
            let (status, json) = get_json(&url).await;
            assert_eq!(status, 200, "{json}");
            let series = json["metrics"]
                .as_array()
                .and_then(|m| {
                    m.iter()
                        .find(|s| s["labels"].as_array().is_some_and(|l| l.iter().any(|l| l["value"] == *operation)))
                })
                .unwrap_or_else(|| panic!("no {operation} series: {json}"));
            let got = series["metricPoints"]
                .as_array()
                .and_then(|p| p.iter().filter_map(|p| p["gaugeValue"]["doubleValue"].as_f64()).find(|v| *v > 0.0))
                .unwrap_or_else(|| panic!("no point: {series}"));
            check("Jaeger SPM", operation, q, got, exact(sorted, q), &mut failures);
        }
    }
    server.stop().await;
    assert!(failures.is_empty(), "{} quantiles off by more than 1%:\n{}", failures.len(), failures.join("\n"));
}
