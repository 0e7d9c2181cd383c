//! Jaeger's api_v3 over HTTP (`/api/v3/...`) over real sockets, as current Jaeger UI and
//! Grafana's Jaeger data source (api_v3 mode) call it.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::common::*;

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_nanos(time).to_string()
}

/// `query.*` parameters for the last hour, snake_case as Grafana sends them.
fn last_hour(extra: &str) -> String {
    let now = SystemTime::now();
    format!(
        "query.start_time_min={}&query.start_time_max={}{extra}",
        rfc3339(now - Duration::from_secs(3_600)),
        rfc3339(now + Duration::from_secs(60))
    )
}

fn span_names(result: &Value) -> Vec<String> {
    let mut names: Vec<String> = otlp_spans(result).map(|s| s["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn services_operations_and_one_trace() {
    let (server, _) = seeded().await;
    let base = format!("http://{}/api/v3", server.addrs.query);
    let (status, body) = get_json(&format!("{base}/services")).await;
    assert_eq!((status, body), (200, serde_json::json!({"services": ["cart", "frontend"]})));

    let (status, body) = get_json(&format!("{base}/operations?service=frontend")).await;
    assert_eq!(status, 200);
    let ops = body["operations"].as_array().unwrap();
    assert!(ops.contains(&serde_json::json!({"name": "GET /cart", "spanKind": "server"})), "{body}");
    assert!(ops.contains(&serde_json::json!({"name": "call cart", "spanKind": "client"})), "{body}");
    let (_, body) = get_json(&format!("{base}/operations?service=frontend&span_kind=client")).await;
    assert_eq!(body["operations"], serde_json::json!([{"name": "call cart", "spanKind": "client"}]));
    let (status, body) = get_json(&format!("{base}/operations")).await;
    assert_eq!((status, body["error"]["httpCode"].as_u64()), (400, Some(400)));

    let (status, body) = get_json(&format!("{base}/traces/{}", hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    assert_eq!(span_names(&body["result"]), ["GET /cart", "call cart", "load"]);
    let first = &body["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(first["traceId"], hex(&CHECKOUT));
    assert!(first["kind"].is_u64() && first["startTimeUnixNano"].is_string(), "{first}");

    let (status, body) = get_json(&format!("{base}/traces/{}", "12".repeat(16))).await;
    assert_eq!(status, 404);
    assert_eq!((body["error"]["httpCode"].as_u64(), body["error"]["grpcCode"].as_u64()), (Some(404), Some(5)));
    let (status, _) = get_json(&format!("{base}/traces/{}?start_time=tomorrow", hex(&CHECKOUT))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn search_and_summaries_take_query_parameters() {
    let (server, start) = seeded().await;
    let base = format!("http://{}/api/v3", server.addrs.query);
    let (status, body) = get_json(&format!("{base}/traces?{}", last_hour("&query.service_name=frontend"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(span_names(&body["result"]), ["GET /cart", "GET /health", "call cart", "load"]);

    let attrs = serde_urlencoded::to_string([("query.attributes", r#"{"db.system":"redis"}"#)]).unwrap();
    let (_, body) = get_json(&format!("{base}/traces?{}", last_hour(&format!("&{attrs}")))).await;
    assert_eq!(span_names(&body["result"]), ["GET /cart", "call cart", "load"]);

    let (status, body) = get_json(&format!(
        "{base}/trace-summaries?{}",
        last_hour("&query.serviceName=frontend&query.durationMin=20ms")
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let summaries = body["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1, "{body}");
    let s = &summaries[0];
    assert_eq!(s["traceId"], hex(&CHECKOUT));
    assert_eq!((s["rootServiceName"].as_str(), s["rootOperationName"].as_str()), (Some("frontend"), Some("GET /cart")));
    assert_eq!(s["minStartTimeUnixNano"], start.to_string());
    assert_eq!(s["maxEndTimeUnixNano"], (start + 50_000_000).to_string());
    assert_eq!(
        (s["spanCount"].as_u64(), s["errorSpanCount"].as_u64(), s["orphanSpanCount"].as_u64()),
        (Some(3), Some(1), Some(0))
    );
    assert_eq!(
        s["services"],
        serde_json::json!([{"name": "cart", "spanCount": 1, "errorSpanCount": 0}, {"name": "frontend", "spanCount": 2, "errorSpanCount": 1}])
    );

    // A 64-bit trace id is still written with 32 hex digits.
    let (_, body) = get_json(&format!(
        "{base}/trace-summaries?{}",
        last_hour("&query.serviceName=frontend&query.operationName=GET%20/health")
    ))
    .await;
    assert_eq!(body["summaries"][0]["traceId"], "000000000000000000f067aa0ba902b7", "{body}");

    // Nothing found is a 404 in api_v3.
    let (status, body) = get_json(&format!("{base}/traces?{}", last_hour("&query.service_name=nobody"))).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], "No traces found");
    // The time range is required.
    let (status, body) = get_json(&format!("{base}/traces?query.service_name=frontend")).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("query.startTimeMin is required"), "{body}");
}
