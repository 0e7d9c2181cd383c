//! Clock-skew adjustment over real sockets: adjusted by default in every Jaeger API (legacy HTTP,
//! api_v3 HTTP, both gRPC services), stored data in the raw views, our REST API and Zipkin's.

use tracehound::proto::jaeger::api_v2::query_service_client::QueryServiceClient as V2Client;
use tracehound::proto::jaeger::api_v2::GetTraceRequest as V2GetTrace;
use tracehound::proto::jaeger::api_v3::query_service_client::QueryServiceClient as V3Client;
use tracehound::proto::jaeger::api_v3::GetTraceRequest as V3GetTrace;
use tracehound::testkit::TestServer;

use crate::common::*;

const SKEWED: [u8; 16] = [0x5a; 16];
const MS: u64 = 1_000_000;
const ADJUSTED: &str = "This span's timestamps were adjusted by -1s";

/// `front` on host a calls `back` on host b (100 ms client span); b's clock runs 1 s ahead, so the
/// server span (80 ms) and its child appear a second late.
async fn skewed_server() -> (TestServer, u64) {
    let server = TestServer::start().await;
    let t = recent_nanos();
    let on_host = |service: &str, host: &str, spans| {
        let mut group = resource_spans(service, spans);
        let resource = group.resource.as_mut().unwrap();
        resource.attributes.retain(|kv| kv.key != "host.name");
        resource.attributes.push(attr("host.name", s(host)));
        group
    };
    let client = span(SKEWED, 1, None, "GET /checkout", 3, t, 100 * MS);
    let handler = span(SKEWED, 2, Some(1), "POST /pay", 2, t + 1_010 * MS, 80 * MS);
    let query = span(SKEWED, 3, Some(2), "SELECT", 3, t + 1_020 * MS, 30 * MS);
    export_grpc(
        server.addrs.otlp_grpc,
        request(vec![on_host("front", "a", vec![client]), on_host("back", "b", vec![handler, query])]),
        false,
    )
    .await
    .unwrap();
    (server, t)
}

fn jaeger_span<'a>(trace: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    trace["spans"].as_array().unwrap().iter().find(|s| s["spanID"] == id).unwrap()
}

#[tokio::test]
async fn jaeger_http_adjusts_by_default_and_raw_shows_what_was_stored() {
    let (server, t) = skewed_server().await;
    let base = format!("http://{}/api", server.addrs.query);
    let id = hex(&SKEWED);
    let (status, body) = get_json(&format!("{base}/traces/{id}")).await;
    assert_eq!(status, 200);
    let trace = &body["data"][0];
    let handler = jaeger_span(trace, "0000000000000002");
    // Centred in the client: (100 − 80) / 2 = 10 ms after it starts.
    assert_eq!(handler["startTime"], (t + 10 * MS) / 1_000);
    assert_eq!(handler["duration"], 80_000);
    assert_eq!(handler["warnings"], serde_json::json!([ADJUSTED]));
    assert!(tag(&handler["tags"], "@jaeger@warnings").is_none(), "warnings are not a tag");
    let query = jaeger_span(trace, "0000000000000003");
    assert_eq!(query["startTime"], (t + 20 * MS) / 1_000, "the server's child moves with it");
    assert_eq!(jaeger_span(trace, "0000000000000001")["warnings"], serde_json::Value::Null);

    for raw in ["raw=true", "raw=1", "raw=True"] {
        let (_, body) = get_json(&format!("{base}/traces/{id}?{raw}")).await;
        let handler = jaeger_span(&body["data"][0], "0000000000000002");
        assert_eq!(handler["startTime"], (t + 1_010 * MS) / 1_000, "{raw}");
        assert_eq!(handler["warnings"], serde_json::Value::Null);
    }
    // Search answers are adjusted too, unless raw.
    let search = format!("{base}/traces?service=back&lookback=1h");
    let (_, found) = get_json(&search).await;
    assert_eq!(jaeger_span(&found["data"][0], "0000000000000002")["warnings"], serde_json::json!([ADJUSTED]));
    let (_, found) = get_json(&format!("{search}&raw=true")).await;
    assert_eq!(jaeger_span(&found["data"][0], "0000000000000002")["warnings"], serde_json::Value::Null);
    let (_, by_ids) = get_json(&format!("{base}/traces?traceID={id}")).await;
    assert_eq!(jaeger_span(&by_ids["data"][0], "0000000000000002")["startTime"], (t + 10 * MS) / 1_000);
    server.stop().await;
}

fn otlp_span<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    otlp_spans(body).find(|s| s["name"] == name).unwrap()
}

fn warnings_attribute(span: &serde_json::Value) -> Option<Vec<String>> {
    let attrs = span["attributes"].as_array()?;
    let kv = attrs.iter().find(|kv| kv["key"] == "@jaeger@warnings")?;
    Some(
        kv["value"]["arrayValue"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["stringValue"].as_str().unwrap().to_owned())
            .collect(),
    )
}

#[tokio::test]
async fn api_v3_and_rest_carry_warnings_as_an_attribute() {
    let (server, t) = skewed_server().await;
    let id = hex(&SKEWED);
    let q = server.addrs.query;
    let (_, v3) = get_json(&format!("http://{q}/api/v3/traces/{id}")).await;
    let handler = otlp_span(&v3["result"], "POST /pay");
    assert_eq!(handler["startTimeUnixNano"], (t + 10 * MS).to_string());
    assert_eq!(handler["endTimeUnixNano"], (t + 90 * MS).to_string());
    assert_eq!(warnings_attribute(handler), Some(vec![ADJUSTED.to_owned()]));
    for raw in ["raw_traces=true", "rawTraces=true"] {
        let (_, v3) = get_json(&format!("http://{q}/api/v3/traces/{id}?{raw}")).await;
        let handler = otlp_span(&v3["result"], "POST /pay");
        assert_eq!(handler["startTimeUnixNano"], (t + 1_010 * MS).to_string(), "{raw}");
        assert_eq!(warnings_attribute(handler), None);
    }
    let (status, bad) = get_json(&format!("http://{q}/api/v3/traces/{id}?raw_traces=maybe")).await;
    assert_eq!(status, 400, "{bad}");

    // Our REST API shows what was stored unless asked, as the UI does, to adjust.
    let (_, rest) = get_json(&format!("http://{q}/api/v1/traces/{id}")).await;
    assert_eq!(warnings_attribute(otlp_span(&rest, "POST /pay")), None);
    let (_, rest) = get_json(&format!("http://{q}/api/v1/traces/{id}?adjustClockSkew=true")).await;
    let handler = otlp_span(&rest, "POST /pay");
    assert_eq!(handler["startTimeUnixNano"], (t + 10 * MS).to_string());
    assert_eq!(warnings_attribute(handler), Some(vec![ADJUSTED.to_owned()]));
    let (status, _) = get_json(&format!("http://{q}/api/v1/traces/{id}?adjustClockSkew=perhaps")).await;
    assert_eq!(status, 400);

    // Zipkin's API is raw: Zipkin Lens corrects skew itself.
    let (_, zipkin) = get_json(&format!("http://{}/api/v2/trace/{id}", server.addrs.zipkin)).await;
    let handler = zipkin.as_array().unwrap().iter().find(|s| s["id"] == "0000000000000002").unwrap();
    assert_eq!(handler["timestamp"], (t + 1_010 * MS) / 1_000);
    server.stop().await;
}

#[tokio::test]
async fn grpc_query_services_adjust_unless_raw_traces() {
    let (server, t) = skewed_server().await;
    let mut v2 = V2Client::new(channel(server.addrs.jaeger_query_grpc).await);
    for (raw, start, warnings) in [(false, t + 10 * MS, vec![ADJUSTED.to_owned()]), (true, t + 1_010 * MS, vec![])] {
        let mut stream = v2
            .get_trace(V2GetTrace { trace_id: SKEWED.to_vec(), raw_traces: raw, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        let mut spans = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            spans.extend(chunk.spans);
        }
        let handler = spans.iter().find(|s| s.operation_name == "POST /pay").unwrap();
        let got = handler.start_time.as_ref().unwrap();
        // api_v2 spans are built from Jaeger's microsecond model.
        assert_eq!((got.seconds as u64 * 1_000_000_000 + got.nanos as u64) / 1_000, start / 1_000, "raw {raw}");
        assert_eq!(handler.warnings, warnings, "raw {raw}");
    }
    let mut v3 = V3Client::new(channel(server.addrs.jaeger_query_grpc).await);
    for (raw, start) in [(false, t + 10 * MS), (true, t + 1_010 * MS)] {
        let mut stream = v3
            .get_trace(V3GetTrace { trace_id: hex(&SKEWED), raw_traces: raw, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        let data = stream.message().await.unwrap().unwrap();
        let handler = data
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .find(|s| s.name == "POST /pay")
            .unwrap();
        assert_eq!(handler.start_time_unix_nano, start, "raw {raw}");
        assert_eq!(handler.attributes.iter().any(|kv| kv.key == "@jaeger@warnings"), !raw);
    }
    server.stop().await;
}
