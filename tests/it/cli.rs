//! The `tracehound` binary itself: documented flags, start-up on given addresses, clean stop on SIGTERM.

use std::time::Duration;

#[tokio::test]
async fn help_documents_every_listener_limit_and_config_file() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracehound")).arg("--help").output().await.unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--config",
        "--bind",
        "--otlp-grpc-addr",
        "--otlp-http-addr",
        "--zipkin-addr",
        "--query-addr",
        "--jaeger-grpc-addr",
        "--jaeger-http-addr",
        "--jaeger-compact-addr",
        "--jaeger-binary-addr",
        "--sampling-addr",
        "--sampling-strategies",
        "--max-request-bytes",
        "--memory-store-bytes",
        "--ingest-queue-spans",
        "--trace-idle-timeout",
        "--storage",
        "--data-dir",
        "--durability",
        "--retention",
        "--max-disk-bytes",
        "TRACEHOUND_BIND",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

#[tokio::test]
async fn binary_serves_on_configured_addresses_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tracehound.toml");
    // The file sets the query address; flags set the others; an env var sets the log level.
    std::fs::write(&config, "query-addr = \"127.0.0.1:0\"\n").unwrap();
    // Run where the default data directory, ./tracehound-data, is the test's own.
    let command = || {
        let mut command = crate::common::binary();
        command
            .args(["--config", config.to_str().unwrap()])
            .args(crate::common::EPHEMERAL_LISTENERS)
            .current_dir(dir.path());
        command
    };
    let listening = crate::common::Listening::start(command()).await;
    let address = |name: &str| listening.address(name);
    let query = address("query");
    let (status, body) = crate::common::get_json(&format!("http://{query}/api/services")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], serde_json::json!([]));
    // Zipkin ingest and Jaeger remote sampling answer on their own addresses.
    let zipkin = address("zipkin");
    let span = r#"[{"traceId":"1","id":"1","name":"x","timestamp":1700000000000000,"duration":1,"localEndpoint":{"serviceName":"cli"}}]"#;
    let response =
        crate::common::post(&format!("http://{zipkin}/api/v2/spans"), "application/json", None, span.into()).await;
    assert_eq!(response.status(), 202);
    let (status, body) = crate::common::get_json(&format!("http://{}/sampling?service=cli", address("sampling"))).await;
    assert_eq!((status, body["strategyType"].as_str()), (200, Some("PROBABILISTIC")));

    let mut child = listening.child;
    let pid = child.id().unwrap().to_string();
    let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("stops within 10 s").unwrap();
    assert!(status.success(), "exit status {status:?}");

    // The default store is on disk under ./tracehound-data: a restart still has the span.
    assert!(dir.path().join("tracehound-data/VERSION").is_file());
    let listening = crate::common::Listening::start(command()).await;
    let (status, body) = crate::common::get_json(&format!("http://{}/api/services", listening.address("query"))).await;
    assert_eq!((status, &body["data"]), (200, &serde_json::json!(["cli"])));
    let (status, body) = crate::common::get_json(&format!(
        "http://{}/api/traces/00000000000000000000000000000001",
        listening.address("query")
    ))
    .await;
    assert_eq!((status, body["data"][0]["spans"].as_array().map(Vec::len)), (200, Some(1)), "{body}");
    let mut child = listening.child;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test]
async fn invalid_configuration_fails_fast_with_a_message() {
    let output =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tracehound")).args(["--shards", "0"]).output().await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("shards"), "{stderr}");
}
