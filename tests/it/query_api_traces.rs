//! Our REST API's trace endpoints over real sockets: one trace as OTLP/JSON and OTLP protobuf,
//! and trace search answered with summaries.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::common::*;

#[tokio::test]
async fn a_trace_comes_back_as_the_otlp_it_was_sent_as() {
    let (server, start) = seeded().await;
    let sent = seed_request(start);
    let id = hex(&CHECKOUT);
    let url = format!("http://{}/api/v1/traces/{id}", server.addrs.query);
    let (status, content_type, body) = get_text(&url).await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    // The receivers' own OTLP/JSON decoding reads it back.
    let got: ExportTraceServiceRequest = serde_json::from_str(&body).unwrap();
    let names = |r: &ExportTraceServiceRequest| {
        let mut names: Vec<(String, String)> = r
            .resource_spans
            .iter()
            .flat_map(|rs| {
                let service = rs.resource.as_ref().unwrap().attributes[0].value.clone().unwrap();
                let service = format!("{:?}", service.value.unwrap());
                rs.scope_spans.iter().flat_map(move |ss| {
                    ss.spans.iter().map({
                        let service = service.clone();
                        move |s| (service.clone(), s.name.clone())
                    })
                })
            })
            .collect();
        names.sort();
        names
    };
    let mut want = sent.clone();
    // The health-check span is another trace.
    want.resource_spans[0].scope_spans[0].spans.retain(|s| s.trace_id == CHECKOUT);
    assert_eq!(names(&got), names(&want));
    let client = got
        .resource_spans
        .iter()
        .flat_map(|rs| rs.scope_spans.iter().flat_map(|ss| ss.spans.iter()))
        .find(|s| s.name == "call cart")
        .unwrap();
    let sent_client = &sent.resource_spans[0].scope_spans[0].spans[1];
    assert_eq!(client, sent_client, "span fields, events and status come back unchanged");
    assert!(body.contains(&format!("\"startTimeUnixNano\":\"{start}\"")), "nanoseconds as strings");

    // OTLP protobuf on request.
    let response = reqwest::Client::new().get(&url).header("accept", "application/x-protobuf").send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let decoded = ExportTraceServiceRequest::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(decoded, got);

    // gzip for clients that accept it.
    let response = reqwest::Client::new().get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    let zipped = response.bytes().await.unwrap();
    let mut inflated = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut inflated).unwrap();
    assert_eq!(inflated, body);

    let (status, body) = get_json(&format!("http://{}/api/v1/traces/{}", server.addrs.query, "ab".repeat(16))).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("not found"), "{body}");
    let (status, body) = get_json(&format!("http://{}/api/v1/traces/xyz", server.addrs.query)).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("parameter 'traceId'"), "{body}");
}

#[tokio::test]
async fn search_answers_with_one_summary_per_trace() {
    let (server, start) = seeded().await;
    let base = format!("http://{}/api/v1/traces", server.addrs.query);
    let (status, body) = get_json(&format!("{base}?service=frontend")).await;
    assert_eq!(status, 200, "{body}");
    let traces = body["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 2, "{body}");
    let checkout = traces.iter().find(|t| t["traceId"] == hex(&CHECKOUT)).unwrap();
    assert_eq!(checkout["rootService"], "frontend");
    assert_eq!(checkout["rootOperation"], "GET /cart");
    assert_eq!(checkout["hasRoot"], true);
    assert_eq!(checkout["startTimeUnixNano"], start.to_string());
    assert_eq!(checkout["durationNanos"], 50_000_000);
    assert_eq!((checkout["spanCount"].as_u64(), checkout["errorCount"].as_u64()), (Some(3), Some(1)));
    assert_eq!(
        checkout["services"],
        serde_json::json!([
            {"name": "cart", "spanCount": 1, "errorCount": 0},
            {"name": "frontend", "spanCount": 2, "errorCount": 1}
        ])
    );

    // Jaeger's rules: one span must carry every tag and be within the durations.
    let tags = urlencode(r#"{"peer.service":"cart"}"#);
    let (_, body) = get_json(&format!("{base}?service=frontend&tags={tags}&minDuration=15ms")).await;
    let ids: Vec<&str> = body["traces"].as_array().unwrap().iter().map(|t| t["traceId"].as_str().unwrap()).collect();
    assert_eq!(ids, [hex(&CHECKOUT)]);
    let (_, body) = get_json(&format!("{base}?service=frontend&tags={tags}&minDuration=25ms")).await;
    assert_eq!(body["traces"], serde_json::json!([]));
    let (_, body) = get_json(&format!("{base}?service=frontend&operation=GET%20/health&limit=1")).await;
    assert_eq!(body["traces"][0]["traceId"], hex(&HEALTH));

    for (query, param) in [("limit=5000", "limit"), ("tags=a=b", "tags"), ("maxDuration=1parsec", "maxDuration")] {
        let (status, body) = get_json(&format!("{base}?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with(&format!("parameter '{param}'")), "{body}");
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap()[1..].to_owned()
}
