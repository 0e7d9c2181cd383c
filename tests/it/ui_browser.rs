//! The web UI in a real headless Chromium against a real tracehound: `ui/test/browser/run.mjs`
//! (playwright-core driving Debian's `/usr/bin/chromium`) ingests its traces over OTLP/HTTP and
//! checks search, the waterfall, span detail, markup in span data staying text, deep links,
//! services, dependencies and opening files, with no console errors. Screenshots of each view go
//! to `ui/test-output/screenshots/`.
//!
//! `scripts/test` installs Chromium and `ui/node_modules` and sets `TRACEHOUND_TEST_BROWSER`;
//! without it the test says so and passes, except under CI (`CI` set), where it fails.

use std::process::Stdio;
use std::time::Duration;

use tracehound::testkit::TestServer;

const BROWSER_ENV: &str = "TRACEHOUND_TEST_BROWSER";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/test/browser/run.mjs");

#[tokio::test(flavor = "multi_thread")]
async fn the_ui_works_in_headless_chromium() {
    if std::env::var_os(BROWSER_ENV).is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{BROWSER_ENV} is not set under CI: run the tests through scripts/test"
        );
        eprintln!("skipped: {BROWSER_ENV} is not set, so Chromium or playwright-core is missing (run scripts/test)");
        return;
    }
    let server = TestServer::start().await;
    let child = tokio::process::Command::new("node")
        .arg(SCRIPT)
        .env("TRACEHOUND_URL", format!("http://{}", server.addrs.query))
        .env("TRACEHOUND_OTLP_HTTP", format!("http://{}", server.addrs.otlp_http))
        .env("TRACEHOUND_REQUIRE_EMBEDDED_UI", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let out = tokio::time::timeout(Duration::from_secs(150), child.wait_with_output())
        .await
        .expect("the browser tests took over 150 s")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "browser tests failed ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("ok "), "the browser tests ran no check:\n{stdout}");
}
