//! The exact requests Grafana's Zipkin and Jaeger data sources make (health check, metadata,
//! search, trace by id, service graph; Jaeger's legacy and api_v3 modes), and the fields Grafana
//! reads from each answer (PROTOCOLS §8.1). The README's "Grafana" section gives the data-source
//! settings these stand for.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as u64
}

#[tokio::test]
async fn zipkin_data_source() {
    let (server, _) = seeded().await;
    let zipkin = format!("http://{}", server.addrs.zipkin);
    // "Save & test" lists services; the query editor lists span names for one.
    let (status, services) = get_json(&format!("{zipkin}/api/v2/services")).await;
    assert_eq!((status, services), (200, serde_json::json!(["cart", "frontend"])));
    let (_, spans) = get_json(&format!("{zipkin}/api/v2/spans?serviceName=frontend")).await;
    assert!(spans.as_array().unwrap().contains(&"GET /cart".into()));
    // Search: Grafana shows each trace's root name, duration and id.
    let (status, traces) =
        get_json(&format!("{zipkin}/api/v2/traces?serviceName=frontend&spanName=GET%20%2Fcart")).await;
    assert_eq!(status, 200);
    let trace = traces.as_array().unwrap()[0].as_array().unwrap();
    let root = trace.iter().find(|s| s.get("parentId").is_none()).unwrap();
    assert_eq!((root["name"].as_str(), root["duration"].as_u64()), (Some("GET /cart"), Some(50_000)));
    assert_eq!(root["traceId"], hex(&CHECKOUT));
    let (status, spans) = get_json(&format!("{zipkin}/api/v2/trace/{}", hex(&CHECKOUT))).await;
    assert_eq!((status, spans.as_array().unwrap().len()), (200, 3));
}

#[tokio::test]
async fn jaeger_data_source() {
    let (server, _) = seeded().await;
    let jaeger = format!("http://{}", server.addrs.query);
    let (status, services) = get_json(&format!("{jaeger}/api/services")).await;
    assert_eq!(status, 200);
    assert!(!services["data"].as_array().unwrap().is_empty(), "the health check fails on an empty list");
    let (_, ops) = get_json(&format!("{jaeger}/api/services/frontend/operations")).await;
    assert!(ops["data"].as_array().unwrap().contains(&"GET /cart".into()));
    // Search: tags as JSON (Grafana turns its logfmt field into it), durations Go-style, start and
    // end in µs, and `lookback=custom` for a picked time range.
    let (end, start) = (now_us(), now_us() - 3_600_000_000);
    let tags = "%7B%22peer.service%22%3A%22cart%22%7D";
    let url = format!(
        "{jaeger}/api/traces?service=frontend&operation=call%20cart&tags={tags}&minDuration=10ms&maxDuration=1s&limit=20&start={start}&end={end}&lookback=custom"
    );
    let (status, found) = get_json(&url).await;
    assert_eq!(status, 200, "{found}");
    let ids: Vec<&str> = found["data"].as_array().unwrap().iter().map(|t| t["traceID"].as_str().unwrap()).collect();
    assert_eq!(ids, [hex(&CHECKOUT)]);
    // Trace by id, with the optional time range; Grafana reads data[0].
    let (status, trace) = get_json(&format!("{jaeger}/api/traces/{}?start={start}&end={end}", hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    assert_eq!(trace["data"][0]["spans"].as_array().unwrap().len(), 3);
    assert!(trace["data"][0]["processes"].is_object());
    // Node graph: dependencies over the last hour, in milliseconds.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let deps_url = format!("{jaeger}/api/dependencies?endTs={}&lookback=3600000", end / 1_000 + 60_000);
    let deps = poll_json(&deps_url, Duration::from_secs(15), |b| !b["data"].as_array().unwrap().is_empty()).await;
    assert_eq!(deps["data"][0]["parent"], "frontend");
    assert_eq!(deps["data"][0]["child"], "cart");
}

#[tokio::test]
async fn jaeger_data_source_in_api_v3_mode() {
    let (server, _) = seeded().await;
    let jaeger = format!("http://{}", server.addrs.query);
    let now = SystemTime::now();
    let time = |t: SystemTime| humantime::format_rfc3339_nanos(t).to_string();
    // Times go unescaped, as Grafana sends them.
    let url = format!(
        "{jaeger}/api/v3/traces?query.service_name=frontend&query.operation_name=GET%20%2Fcart&query.start_time_min={}&query.start_time_max={}&query.num_traces=20",
        time(now - Duration::from_secs(3_600)),
        time(now + Duration::from_secs(60))
    );
    let (status, found) = get_json(&url).await;
    assert_eq!(status, 200, "{found}");
    assert!(found["result"]["resourceSpans"].as_array().is_some_and(|r| !r.is_empty()));
    let url = format!(
        "{jaeger}/api/v3/traces/{}?start_time={}&end_time={}",
        hex(&CHECKOUT),
        time(now - Duration::from_secs(3_600)),
        time(now)
    );
    let (status, trace) = get_json(&url).await;
    assert_eq!(status, 200, "{trace}");
    assert!(trace["result"]["resourceSpans"].is_array());
    let (status, missing) = get_json(&format!("{jaeger}/api/v3/traces/{}", "fe".repeat(16))).await;
    assert_eq!((status, missing["error"]["httpCode"].as_u64()), (404, Some(404)));
}
