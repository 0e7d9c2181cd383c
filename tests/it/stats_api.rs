//! Live statistics over real sockets: our REST API (`/api/v1/...`, OpenAPI) and Jaeger's SPM
//! endpoints (`/api/metrics/...`), fed by OTLP spans and polled until the assembler flushes.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Status};
use serde_json::Value;
use tracehound::testkit::TestServer;

use crate::common::*;

const MS: u64 = 1_000_000;

/// A server holding [`seed_request`]'s two traces plus 20 `inventory` `GET /items` server spans of
/// 100 ms, each its own trace, five of them failed.
async fn server() -> TestServer {
    let server = TestServer::start().await;
    let start = recent_nanos();
    export_grpc(server.addrs.otlp_grpc, seed_request(start), false).await.unwrap();
    let spans = (0..20u8)
        .map(|i| {
            let mut trace = [0x5e; 16];
            trace[15] = i;
            let mut s = span(trace, 1, None, "GET /items", 2, start + u64::from(i) * MS, 100 * MS);
            if i < 5 {
                s.status = Some(Status { code: StatusCode::Error as i32, message: "out of stock".into() });
            }
            s
        })
        .collect();
    export_grpc(server.addrs.otlp_grpc, request(vec![resource_spans("inventory", spans)]), false).await.unwrap();
    server
}

/// GETs `url` until `ready` holds for the 200 response (the statistics are flushed about twice a
/// second, traces count once idle for the 2 s test timeout), or panics after 15 s.
async fn poll(url: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get_json(url).await;
        if status == 200 && ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "GET {url}: still {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn find<'a>(list: &'a Value, key: &str, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|item| item[key] == name)
}

fn near(value: &Value, expected: f64, tolerance: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() <= expected * tolerance)
}

#[tokio::test]
async fn services_and_operations_report_calls_errors_rates_and_percentiles() {
    let server = server().await;
    let base = format!("http://{}/api/v1/stats", server.addrs.query);
    let body = poll(&format!("{base}/services"), |b| {
        find(&b["services"], "service", "inventory").is_some_and(|s| s["calls"] == 20)
            && find(&b["services"], "service", "frontend").is_some()
    })
    .await;
    let inventory = find(&body["services"], "service", "inventory").unwrap();
    assert_eq!((inventory["errors"].as_u64(), inventory["errorRate"].as_f64()), (Some(5), Some(0.25)));
    assert!(near(&inventory["p50Ms"], 100.0, 0.011) && near(&inventory["p99Ms"], 100.0, 0.011), "{inventory}");
    let seconds = body["windowSeconds"].as_f64().unwrap();
    // The 60 latest minute buckets: 59 whole minutes and the current one so far.
    assert!((3_540.0..=3_600.0).contains(&seconds), "{body}");
    assert!(near(&inventory["ratePerSecond"], 20.0 / seconds, 1e-9), "{inventory}");
    let frontend = find(&body["services"], "service", "frontend").unwrap();
    assert_eq!((frontend["calls"].as_u64(), frontend["errors"].as_u64()), (Some(3), Some(1)));
    assert_eq!(body["spanKinds"], serde_json::json!([]));

    // Server spans only: the failed client span no longer counts.
    let (status, servers) = get_json(&format!("{base}/services?spanKind=server&lookback=5m")).await;
    assert_eq!(status, 200);
    let frontend = find(&servers["services"], "service", "frontend").unwrap();
    assert_eq!((frontend["calls"].as_u64(), frontend["errors"].as_u64()), (Some(2), Some(0)));
    assert_eq!(servers["spanKinds"], serde_json::json!(["server"]));

    // Root operations count once their trace completes.
    let ops = poll(&format!("{base}/operations?service=frontend"), |b| {
        find(&b["rootOperations"], "operation", "GET /cart").is_some()
    })
    .await;
    let names: Vec<&str> =
        ops["operations"].as_array().unwrap().iter().map(|o| o["operation"].as_str().unwrap()).collect();
    assert_eq!(names, ["GET /cart", "GET /health", "call cart"]);
    let call = find(&ops["operations"], "operation", "call cart").unwrap();
    assert_eq!((call["calls"].as_u64(), call["errorRate"].as_f64()), (Some(1), Some(1.0)));
    assert!(near(&call["p95Ms"], 20.0, 0.011), "{call}");
    let root = find(&ops["rootOperations"], "operation", "GET /cart").unwrap();
    assert_eq!(root["calls"], 1);
    // The whole trace lasted from the root's start to its end: 50 ms.
    assert!(near(&root["p50Ms"], 50.0, 0.011), "{root}");
    assert_eq!(ops["service"], "frontend");
    server.stop().await;
}

#[tokio::test]
async fn timeseries_has_a_point_per_minute_at_every_level() {
    let server = server().await;
    let base = format!("http://{}/api/v1/stats/timeseries", server.addrs.query);
    let calls =
        |b: &Value| b["points"].as_array().map_or(0, |p| p.iter().map(|p| p["calls"].as_u64().unwrap()).sum::<u64>());
    let series = poll(&format!("{base}?service=inventory&lookback=5m"), |b| calls(b) == 20).await;
    assert_eq!((series["level"].as_str(), series["stepSeconds"].as_u64()), (Some("service"), Some(60)));
    let points = series["points"].as_array().unwrap();
    assert_eq!(points.len(), 5, "{series}");
    let busy: Vec<&Value> = points.iter().filter(|p| p["calls"].as_u64() > Some(0)).collect();
    assert!(busy.iter().all(|p| near(&p["quantiles"]["0.5"], 100.0, 0.011)), "{series}");
    let idle = points.iter().find(|p| p["calls"] == 0).unwrap();
    assert_eq!(idle["quantiles"], serde_json::json!({"0.5": null, "0.95": null, "0.99": null}));
    assert!(idle["time"].as_str().unwrap().ends_with(":00Z"), "{idle}");

    let op =
        get_json(&format!("{base}?service=inventory&operation=GET%20%2Fitems&quantiles=0.99&step=5m&lookback=10m"))
            .await
            .1;
    assert_eq!((op["level"].as_str(), op["stepSeconds"].as_u64()), (Some("operation"), Some(300)));
    assert_eq!(calls(&op), 20);
    let keys: Vec<&String> = op["points"][0]["quantiles"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["0.99"]);

    let traces =
        poll(&format!("{base}?service=frontend&operation=GET%20%2Fcart&level=trace&lookback=5m"), |b| calls(b) == 1)
            .await;
    let point = traces["points"].as_array().unwrap().iter().find(|p| p["calls"] == 1).unwrap();
    assert!(near(&point["quantiles"]["0.5"], 50.0, 0.011), "{traces}");

    // A day back: whole 15-minute buckets.
    let day = get_json(&format!("{base}?service=inventory&lookback=24h")).await.1;
    assert_eq!(day["stepSeconds"], 900);
    assert_eq!(calls(&day), 20);
    server.stop().await;
}

#[tokio::test]
async fn dependencies_carry_calls_errors_and_callee_latency() {
    let server = server().await;
    let url = format!("http://{}/api/v1/dependencies?lookback=1h", server.addrs.query);
    let body = poll(&url, |b| b["dependencies"].as_array().is_some_and(|d| !d.is_empty())).await;
    let edge = &body["dependencies"][0];
    assert_eq!((edge["caller"].as_str(), edge["callee"].as_str()), (Some("frontend"), Some("cart")));
    // The call failed: `cart`'s `load` did not, but the client span that made it did.
    assert_eq!((edge["calls"].as_u64(), edge["errors"].as_u64()), (Some(1), Some(1)));
    // The callee span (`cart` `load`) lasted 10 ms.
    assert!(near(&edge["p50Ms"], 10.0, 0.011), "{edge}");
    assert_eq!(body["dependencies"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_json_error_naming_them() {
    let server = TestServer::start().await;
    let base = format!("http://{}/api/v1", server.addrs.query);
    for (path, param) in [
        ("stats/services?lookback=forever", "lookback"),
        ("stats/services?start=1700000000000", "start"),
        ("stats/services?end=2023-11-14T22:13:20Z&start=2023-11-14T23:00:00Z", "start"),
        ("stats/services?start=2023-11-14T22:00:00Z&lookback=1h", "lookback"),
        ("stats/services?spanKind=sever", "spanKind"),
        ("stats/services?spanKind=server&spanKind=client", "spanKind"),
        ("stats/operations", "service"),
        ("stats/timeseries?lookback=1h", "service"),
        ("stats/timeseries?service=a&quantiles=2", "quantiles"),
        ("stats/timeseries?service=a&step=30s", "step"),
        ("stats/timeseries?service=a&level=span", "level"),
        ("stats/timeseries?service=a&level=trace", "operation"),
        ("dependencies?end=now", "end"),
    ] {
        let (status, body) = get_json(&format!("{base}/{path}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_else(|| panic!("{path}: {body}"));
        assert!(message.contains(param), "{path}: {message}");
    }
    let (status, body) = get_json(&format!("{base}/stats/timeseries?service=nobody")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("nobody"));
    let (status, body) = get_json(&format!("{base}/stats/services")).await;
    assert_eq!((status, &body["services"]), (200, &serde_json::json!([])));
    server.stop().await;
}

#[tokio::test]
async fn openapi_document_parses_and_lists_every_path() {
    let server = TestServer::start().await;
    let (status, content_type, text) = get_text(&format!("http://{}/api/v1/openapi.json", server.addrs.query)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "/api/v1/dependencies",
            "/api/v1/openapi.json",
            "/api/v1/stats/operations",
            "/api/v1/stats/services",
            "/api/v1/stats/timeseries",
            "/api/v1/traces",
            "/api/v1/traces/{traceId}"
        ]
    );
    for (path, item) in paths {
        assert!(item["get"]["responses"]["200"].is_object(), "{path}");
    }
    let services = &doc["paths"]["/api/v1/stats/services"]["get"];
    assert!(services["responses"]["400"].is_object());
    let params: Vec<&str> =
        services["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["start", "end", "lookback", "spanKind"]);
    server.stop().await;
}

#[tokio::test]
async fn jaeger_spm_metrics_have_jaegers_names_labels_and_units() {
    let server = server().await;
    let base = format!("http://{}/api/metrics", server.addrs.query);
    let window = "lookback=3600000&step=60000&ratePer=600000";
    let calls = poll(&format!("{base}/calls?service=inventory&{window}"), |b| {
        b["metrics"][0]["metricPoints"]
            .as_array()
            .and_then(|p| p.last())
            .is_some_and(|p| p["gaugeValue"]["doubleValue"] != 0.0)
    })
    .await;
    assert_eq!((calls["name"].as_str(), calls["type"].as_str()), (Some("service_call_rate"), Some("GAUGE")));
    assert_eq!(calls["metrics"][0]["labels"], serde_json::json!([{"name": "service_name", "value": "inventory"}]));
    let points = calls["metrics"][0]["metricPoints"].as_array().unwrap();
    assert_eq!(points.len(), 61);
    assert!(points[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    // 20 calls over the last ten minutes (nine whole ones and the current one so far), per second.
    let rate = points[60]["gaugeValue"]["doubleValue"].as_f64().unwrap();
    assert!((20.0 / 600.0..=20.0 / 540.0).contains(&rate), "{rate}");
    assert_eq!(points[0]["gaugeValue"]["doubleValue"], 0.0);

    let (_, latencies) =
        get_json(&format!("{base}/latencies?service=inventory&quantile=0.95&groupByOperation=true&{window}")).await;
    assert_eq!(latencies["name"], "service_operation_latencies");
    assert_eq!(latencies["help"], "0.95th quantile latency, grouped by service & operation");
    let metric = &latencies["metrics"][0];
    assert_eq!(
        metric["labels"],
        serde_json::json!([{"name": "service_name", "value": "inventory"}, {"name": "operation", "value": "GET /items"}])
    );
    assert!(near(&metric["metricPoints"][60]["gaugeValue"]["doubleValue"], 100.0, 0.011), "{metric}");

    let (_, errors) = get_json(&format!("{base}/errors?service=inventory&{window}")).await;
    assert_eq!(errors["name"], "service_error_rate");
    assert_eq!(errors["metrics"][0]["metricPoints"][60]["gaugeValue"]["doubleValue"], 0.25);

    // Both spellings of a span kind; a service without such spans has no series.
    for kind in ["client", "SPAN_KIND_CLIENT"] {
        let (_, client) =
            get_json(&format!("{base}/errors?service=frontend&service=inventory&spanKind={kind}&{window}")).await;
        assert_eq!(client["metrics"].as_array().unwrap().len(), 1, "{client}");
        assert_eq!(client["metrics"][0]["labels"][0]["value"], "frontend");
        assert_eq!(client["metrics"][0]["metricPoints"][60]["gaugeValue"]["doubleValue"], 1.0);
    }

    let (status, minstep) = get_json(&format!("{base}/minstep")).await;
    assert_eq!(status, 200);
    assert_eq!(minstep, serde_json::json!({"data": 60000, "total": 0, "limit": 0, "offset": 0, "errors": null}));
    server.stop().await;
}

#[tokio::test]
async fn jaeger_spm_refuses_bad_parameters_in_its_envelope() {
    let server = TestServer::start().await;
    let base = format!("http://{}/api/metrics", server.addrs.query);
    for (path, param) in [
        ("calls", "service"),
        ("latencies?service=a", "quantile"),
        ("latencies?service=a&quantile=1.5", "quantile"),
        ("errors?service=a&spanKind=bogus", "spanKind"),
        ("calls?service=a&step=soon", "step"),
        ("calls?service=a&groupByOperation=maybe", "groupByOperation"),
    ] {
        let (status, body) = get_json(&format!("{base}/{path}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["errors"][0]["code"], 400, "{path}: {body}");
        let msg = body["errors"][0]["msg"].as_str().unwrap();
        assert!(msg.starts_with(&format!("unable to parse param '{param}'")), "{path}: {msg}");
    }
    let (status, empty) = get_json(&format!("{base}/calls?service=nobody")).await;
    assert_eq!((status, &empty["metrics"]), (200, &serde_json::json!([])));
    server.stop().await;
}
