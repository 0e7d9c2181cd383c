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
const ROUNDS: u64 = 3;

/// Starts the binary on the data directory; returns it with its OTLP/HTTP and query addresses.
async fn start(dir: &std::path::Path, durability: &str) -> (Child, String, String) {
    let mut command = binary();
    command
        .args(["--storage", "disk", "--data-dir", dir.to_str().unwrap(), "--durability", durability])
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
    kill_and_check("strict", ROUNDS).await;
}

#[tokio::test]
async fn acknowledged_spans_survive_sigkill_in_relaxed_mode() {
    kill_and_check("relaxed", 2).await;
}

async fn kill_and_check(durability: &str, rounds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<[u8; 16]> = Vec::new();
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
                            .map(|i| span(trace, i, (i > 1).then_some(1), "work", 2, start + i * 1_000, 500))
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
        acknowledged.extend(round_acked);
    }

    // Restart on the same directory: every acknowledged export is there, whole.
    let (mut child, _, query) = start(dir.path(), durability).await;
    let mut missing = Vec::new();
    for trace in &acknowledged {
        let (status, body) = get_json(&format!("http://{query}/api/v1/traces/{}", hex(trace))).await;
        let found = if status == 200 {
            body["resourceSpans"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
                .map(|ss| ss["spans"].as_array().unwrap().len())
                .sum::<usize>()
        } else {
            0
        };
        if found != SPANS_PER_EXPORT as usize {
            missing.push(format!("{}: {found} of {SPANS_PER_EXPORT} spans", hex(trace)));
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
