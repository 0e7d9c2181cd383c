//! A full disk: a child `tracehound --storage disk` on a small tmpfs refuses exports with a
//! retryable error (HTTP 503 with Retry-After, gRPC UNAVAILABLE) once the disk is full, loses
//! nothing it acknowledged, and takes spans again once space is freed, without a restart.
//! Mounting needs root; elsewhere the store's own test with an injected write failure
//! (`a_failing_disk_refuses_writes_then_resumes_without_losing_acknowledged_spans`) stands in.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use prost::Message;

use crate::common::*;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<(tempfile::TempDir, Tmpfs)> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let path = dir.path().to_owned();
        mounted.then(|| (dir, Tmpfs(path)))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes into `path` until the file system is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5Au8; 64 * 1024];
    while file.write_all(&chunk).and_then(|_| file.sync_data()).is_ok() {}
    // Whatever is left is less than one chunk; take it too.
    let small = [0u8; 512];
    while file.write_all(&small).and_then(|_| file.sync_data()).is_ok() {}
}

fn trace(n: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&0xF011_0000u64.to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    id
}

fn export(n: u64) -> Vec<u8> {
    let start = recent_nanos();
    let spans = (1..=10).map(|i| span(trace(n), i, (i > 1).then_some(1), "fill", 2, start + i * 1_000, 500)).collect();
    request(vec![resource_spans("disk-full", spans)]).encode_to_vec()
}

async fn post_export(otlp: &str, n: u64) -> reqwest::Response {
    post(&format!("http://{otlp}/v1/traces"), "application/x-protobuf", None, export(n)).await
}

async fn start(data: &Path) -> (tokio::process::Child, String, String, SocketAddr) {
    let mut command = binary();
    command
        .args(["--storage", "disk", "--data-dir", data.to_str().unwrap()])
        .args(EPHEMERAL_LISTENERS)
        .args(["--query-addr", "127.0.0.1:0"]);
    let listening = Listening::start(command).await;
    let grpc: SocketAddr = listening.address("otlp_grpc").parse().unwrap();
    let (otlp, query) = (listening.address("otlp_http"), listening.address("query"));
    (listening.child, otlp, query, grpc)
}

#[tokio::test]
async fn a_full_disk_refuses_exports_as_retryable_and_ingest_resumes_when_space_returns() {
    let Some((_dir, tmpfs)) = Tmpfs::mount("64m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the store's injected-failure test covers this");
        return;
    };
    let data = tmpfs.0.join("data");
    let (mut child, otlp, query, grpc) = start(&data).await;
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        assert_eq!(post_export(&otlp, n).await.status(), 200);
        acknowledged.push(n);
    }
    let filler = tmpfs.0.join("filler");
    fill(&filler);

    // Full: refused with 503 and Retry-After (a few may still fit in what the engine had allocated).
    let mut n = 20;
    let refused = loop {
        let response = post_export(&otlp, n).await;
        if response.status() == 200 {
            acknowledged.push(n);
            n += 1;
            assert!(n < 2_000, "the full disk never refused a write");
            continue;
        }
        break response;
    };
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().get("retry-after").is_some(), "{:?}", refused.headers());
    let body = refused.text().await.unwrap();
    assert!(body.contains("No space left on device") || body.contains("cannot write"), "{body}");
    let status = export_grpc(grpc, request(vec![]), false).await;
    // An empty export has nothing to store; a real one is refused as UNAVAILABLE.
    assert!(status.is_ok());
    let refused_grpc = export_grpc(grpc, Message::decode(&export(n + 1)[..]).unwrap(), false).await.unwrap_err();
    assert_eq!(refused_grpc.code(), tonic::Code::Unavailable, "{refused_grpc:?}");

    // Space returns: the same server takes spans again, within its one-second retry interval.
    std::fs::remove_file(&filler).unwrap();
    let mut resumed = false;
    for attempt in 0..50 {
        if post_export(&otlp, n).await.status() == 200 {
            acknowledged.push(n);
            resumed = true;
            break;
        }
        assert!(attempt < 49, "ingest did not resume");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed);
    for m in n + 1..n + 20 {
        assert_eq!(post_export(&otlp, m).await.status(), 200);
        acknowledged.push(m);
    }
    let (_, _, metrics) = get_text(&format!("http://{query}/metrics")).await;
    let failures = metrics.lines().find(|l| l.starts_with("tracehound_store_write_failures_total")).unwrap();
    assert!(!failures.ends_with(" 0"), "{failures}");

    // Nothing acknowledged was lost, before or after a crash.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let (mut child, _, query, _) = start(&data).await;
    for n in &acknowledged {
        let (status, body) = get_json(&format!("http://{query}/api/v1/traces/{}", hex(&trace(*n)))).await;
        assert_eq!(status, 200, "acknowledged export {n} lost: {body}");
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
