//! The disk store's durability promise: a child `tracehound --storage disk` ingests OTLP as fast
//! as four clients send it, is killed with SIGKILL at a random moment, and is restarted on the
//! same data directory; every span of every export the clients saw acknowledged is found. Both
//! modes keep everything through a process crash: strict syncs before acknowledging, relaxed has
//! handed the data to the operating system (its window is about a crash of the machine).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;
use tokio::process::Child;

use crate::common::*;

const SPANS_PER_EXPORT: u64 = 20;

/// Kill-and-restart rounds: 3 in the test suite; `scripts/crash-bench` asks for many more through
/// `TRACEHOUND_CRASH_ROUNDS`.
fn rounds(default: u64) -> u64 {
    std::env::var("TRACEHOUND_CRASH_ROUNDS").ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Starts the binary on the data directory; returns it with its OTLP/HTTP and query addresses.
async fn start(dir: &std::path::Path, durability: &str) -> (Child, String, String) {
    start_with(dir, durability, &[]).await
}

/// Like [`start`], with more arguments.
async fn start_with(dir: &std::path::Path, durability: &str, more: &[&str]) -> (Child, String, String) {
    let mut command = binary();
    command
        .args(["--storage", "disk", "--data-dir", dir.to_str().unwrap(), "--durability", durability])
        .args(more)
        .args(EPHEMERAL_LISTENERS)
        .args(["--query-addr", "127.0.0.1:0"]);
    let listening = Listening::start(command).await;
    let (otlp, query) = (listening.address("otlp_http"), listening.address("query"));
    (listening.child, otlp, query)
}

/// A trace id unique to (round, client, export).
fn trace_of(round: u64, client: u64, export: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(0xC0DE_0000 + round).to_be_bytes());
    id[8..].copy_from_slice(&((client << 40) | (export + 1)).to_be_bytes());
    id
}

#[tokio::test]
async fn acknowledged_spans_survive_sigkill() {
    kill_and_check("strict", rounds(3)).await;
}

#[tokio::test]
async fn acknowledged_spans_survive_sigkill_in_relaxed_mode() {
    kill_and_check("relaxed", rounds(2)).await;
}

async fn kill_and_check(durability: &str, rounds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<[u8; 16]> = Vec::new();
    // The last exports acknowledged before each kill, whose index entries were likely still in
    // memory (not yet written) when the server died.
    let mut last_before_kill: Vec<[u8; 16]> = Vec::new();
    for round in 0..rounds {
        let (mut child, otlp, _) = start(dir.path(), durability).await;
        let acked = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = (0..4u64)
            .map(|client| {
                let (otlp, acked) = (otlp.clone(), acked.clone());
                tokio::spawn(async move {
                    let http = reqwest::Client::new();
                    let start = recent_nanos();
                    for export in 0.. {
                        let trace = trace_of(round, client, export);
                        let spans = (1..=SPANS_PER_EXPORT)
                            .map(|i| {
                                let mut span = span(trace, i, (i > 1).then_some(1), "work", 2, start + i * 1_000, 500);
                                span.attributes.push(attr("export.id", s(&hex(&trace))));
                                span
                            })
                            .collect();
                        let body = request(vec![resource_spans("crash", spans)]).encode_to_vec();
                        let sent = http
                            .post(format!("http://{otlp}/v1/traces"))
                            .header("content-type", "application/x-protobuf")
                            .body(body)
                            .send()
                            .await;
                        match sent {
                            Ok(response) if response.status().is_success() => acked.lock().unwrap().push(trace),
                            Ok(response) => panic!("export refused: {}", response.status()),
                            // The server is gone: stop.
                            Err(_) => return,
                        }
                    }
                })
            })
            .collect();
        // A random moment between 300 and 1,000 ms in.
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() as u64;
        let delay = Duration::from_millis(300 + nanos % 700);
        tokio::time::sleep(delay).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        for c in clients {
            c.await.unwrap();
        }
        let round_acked = std::mem::take(&mut *acked.lock().unwrap());
        eprintln!("{durability} round {round}: killed after {delay:?}, {} exports acknowledged", round_acked.len());
        assert!(!round_acked.is_empty(), "round {round}: nothing was acknowledged before the kill");
        last_before_kill.extend(round_acked.iter().rev().take(10));
        acknowledged.extend(round_acked);
    }

    // Restart on the same directory: every acknowledged export is there, whole.
    let (mut child, _, query) = start(dir.path(), durability).await;
    let mut missing = Vec::new();
    for trace in &acknowledged {
        let (status, body) = get_json(&format!("http://{query}/api/v1/traces/{}", hex(trace))).await;
        let found = if status == 200 { otlp_spans(&body).count() } else { 0 };
        if found != SPANS_PER_EXPORT as usize {
            missing.push(format!("{}: {found} of {SPANS_PER_EXPORT} spans", hex(trace)));
        }
    }
    // Searches find them too: by a tag only that export's spans carry (Jaeger's API, as the UI
    // asks), for the last exports before each kill and a spread of the rest.
    let sample = last_before_kill.iter().chain(acknowledged.iter().step_by(acknowledged.len().div_ceil(40)));
    for trace in sample {
        let url = format!(
            "http://{query}/api/traces?service=crash&tags=%7B%22export.id%22%3A%22{}%22%7D&limit=5&lookback=1h",
            hex(trace)
        );
        let (status, body) = get_json(&url).await;
        let ids: Vec<&str> =
            body["data"].as_array().into_iter().flatten().filter_map(|t| t["traceID"].as_str()).collect();
        if status != 200 || ids != [hex(trace).as_str()] {
            missing.push(format!("{}: a search by its tag found {ids:?} ({status})", hex(trace)));
        }
    }
    child.start_kill().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged exports lost:\n{}",
        missing.len(),
        acknowledged.len(),
        missing.join("\n")
    );
}

/// Sends `count` traces (web server → web client → db server, every fifth db span failing).
async fn send_calls(otlp: &str, first: u64, count: u64) {
    let http = reqwest::Client::new();
    let start = recent_nanos();
    for t in first..first + count {
        let mut trace = [0u8; 16];
        trace[8..].copy_from_slice(&(0x5747_0000 + t).to_be_bytes());
        let at = start + t * 1_000;
        let web = vec![
            span(trace, 1, None, "GET /", 2, at, 9_000_000 + t * 10_000),
            span(trace, 2, Some(1), "call db", 3, at + 100, 5_000_000 + t * 7_000),
        ];
        let mut db = vec![span(trace, 3, Some(2), "query", 2, at + 200, 4_000_000 + t * 5_000)];
        if t % 5 == 0 {
            db[0].status = Some(opentelemetry_proto::tonic::trace::v1::Status { code: 2, message: "deadlock".into() });
        }
        let body = request(vec![resource_spans("web", web), resource_spans("db", db)]).encode_to_vec();
        let response = http
            .post(format!("http://{otlp}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

/// What the UI and `/metrics` show: RED figures and percentiles per service and operation, the
/// dependency graph, and the span and service-graph metrics (windows and rates, which move with the
/// clock, left out).
async fn figures(query: &str) -> (Vec<serde_json::Value>, serde_json::Value, Vec<String>) {
    // Traces complete one idle timeout (1 s) after their last span; the sweep runs every 250 ms.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut red = Vec::new();
    for service in ["web", "db"] {
        let (status, mut body) = get_json(&format!("http://{query}/api/v1/stats/operations?service={service}")).await;
        assert_eq!(status, 200, "{body}");
        strip_rates(&mut body);
        red.push(body);
    }
    let (status, mut graph) = get_json(&format!("http://{query}/api/v1/dependencies")).await;
    assert_eq!(status, 200, "{graph}");
    strip_rates(&mut graph);
    let (_, _, metrics) = get_text(&format!("http://{query}/metrics")).await;
    let metrics = metrics.lines().filter(|l| l.starts_with("traces_")).map(str::to_owned).collect();
    (red, graph, metrics)
}

fn strip_rates(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for moving in ["ratePerSecond", "start", "end", "windowSeconds"] {
                map.remove(moving);
            }
            map.values_mut().for_each(strip_rates);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_rates),
        _ => {}
    }
}

#[tokio::test]
async fn statistics_are_the_same_after_a_clean_stop_and_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let idle = ["--trace-idle-timeout", "1s"];
    // A clean stop saves a checkpoint covering everything.
    let (child, otlp, query) = start_with(dir.path(), "strict", &idle).await;
    send_calls(&otlp, 1, 40).await;
    let before_stop = figures(&query).await;
    assert!(before_stop.2.iter().any(|l| l.starts_with("traces_service_graph_request_total")), "{:?}", before_stop.2);
    let pid = child.id().unwrap().to_string();
    let mut child = child;
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    child.wait().await.unwrap();
    let (mut child, otlp, query) = start_with(dir.path(), "strict", &idle).await;
    let after_stop = figures(&query).await;
    assert!(after_stop == before_stop, "after a clean stop:\n{after_stop:?}\nbefore:\n{before_stop:?}");
    // SIGKILL leaves the checkpoint behind the spans written since: they are replayed.
    send_calls(&otlp, 41, 35).await;
    let before_kill = figures(&query).await;
    assert_ne!(before_kill, before_stop);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let (mut child, _, query) = start_with(dir.path(), "strict", &idle).await;
    let after_kill = figures(&query).await;
    child.start_kill().unwrap();
    assert!(after_kill == before_kill, "after SIGKILL:\n{after_kill:?}\nbefore:\n{before_kill:?}");
}
