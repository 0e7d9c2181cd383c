//! Zipkin v2 query API over a real socket.

use tracehound::testkit::TestServer;

use crate::common::*;

#[tokio::test]
async fn name_lists_are_sorted_and_need_service_name() {
    let (server, _) = seeded().await;
    let base = format!("http://{}", server.addrs.zipkin);
    assert_eq!(get_json(&format!("{base}/api/v2/services")).await.1, serde_json::json!(["cart", "frontend"]));
    assert_eq!(
        get_json(&format!("{base}/api/v2/spans?serviceName=frontend")).await.1,
        serde_json::json!(["GET /cart", "GET /health", "call cart"])
    );
    assert_eq!(
        get_json(&format!("{base}/api/v2/remoteServices?serviceName=frontend")).await.1,
        serde_json::json!(["cart"])
    );
    // A remote service arriving later but sorting first is listed first.
    let mut auth = span(HEALTH, 9, Some(1), "check token", 3, recent_nanos(), 1_000);
    auth.attributes = vec![attr("peer.service", s("auth"))];
    export_grpc(server.addrs.otlp_grpc, request(vec![resource_spans("frontend", vec![auth])]), false).await.unwrap();
    assert_eq!(
        get_json(&format!("{base}/api/v2/remoteServices?serviceName=frontend")).await.1,
        serde_json::json!(["auth", "cart"])
    );
    let (status, content_type, body) = get_text(&format!("{base}/api/v2/spans")).await;
    assert_eq!((status, content_type.as_str()), (400, "text/plain; charset=utf-8"));
    assert!(body.contains("serviceName"));
    // Also under /zipkin, as Zipkin serves it.
    assert_eq!(get_json(&format!("{base}/zipkin/api/v2/services")).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn trace_by_id_matches_zipkin_json_and_unknown_is_404_text() {
    let (server, start) = seeded().await;
    let base = format!("http://{}", server.addrs.zipkin);
    let (status, spans) = get_json(&format!("{base}/api/v2/trace/{}", hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    let client = spans.as_array().unwrap().iter().find(|s| s["id"] == "0000000000000002").unwrap();
    assert_eq!(client["traceId"], hex(&CHECKOUT));
    assert_eq!(client["parentId"], "0000000000000001");
    assert_eq!(client["kind"], "CLIENT");
    assert_eq!(client["name"], "call cart");
    assert_eq!(client["timestamp"], (start + 1_000_000) / 1000);
    assert_eq!(client["duration"], 20_000);
    assert_eq!(client["localEndpoint"]["serviceName"], "frontend");
    assert_eq!(client["remoteEndpoint"]["serviceName"], "cart");
    assert_eq!(client["tags"]["error"], "upstream timeout");
    assert_eq!(client["tags"]["otel.status_code"], "ERROR");
    assert_eq!(client["tags"]["host.name"], "box-1");
    assert_eq!(client["annotations"][0]["timestamp"], (start + 2_000_000) / 1000);
    assert!(client["annotations"][0]["value"].as_str().unwrap().contains("retry"), "{}", client["annotations"]);

    let (status, _, body) = get_text(&format!("{base}/api/v2/trace/00000000000000000000000000000abc")).await;
    assert_eq!(status, 404);
    assert_eq!(body, "00000000000000000000000000000abc not found");
    assert_eq!(get_text(&format!("{base}/api/v2/trace/not-hex")).await.0, 400);
    server.stop().await;
}

#[tokio::test]
async fn short_and_upper_case_ids_find_64_bit_traces() {
    let (server, _) = seeded().await;
    let base = format!("http://{}", server.addrs.zipkin);
    // HEALTH is 64-bit: Zipkin shows 16 hex digits; a 15-digit id is left-padded.
    let (status, spans) = get_json(&format!("{base}/api/v2/trace/f067aa0ba902b7")).await;
    assert_eq!(status, 200);
    assert_eq!(spans[0]["traceId"], "00f067aa0ba902b7");
    assert_eq!(get_json(&format!("{base}/api/v2/trace/00F067AA0BA902B7")).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn ids_are_strict_a_64_bit_and_a_128_bit_trace_sharing_low_bits_stay_apart() {
    // Zipkin's default (STRICT_TRACE_ID=true): the whole id identifies a trace.
    let server = TestServer::start().await;
    let low = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
    let short: [u8; 16] = [[0; 8], low].concat().try_into().unwrap();
    let long: [u8; 16] = [[0xaa; 8], low].concat().try_into().unwrap();
    let t = recent_nanos();
    let spans = vec![span(short, 1, None, "short", 2, t, 1_000), span(long, 2, None, "long", 2, t, 1_000)];
    export_grpc(server.addrs.otlp_grpc, request(vec![resource_spans("svc", spans)]), false).await.unwrap();
    let base = format!("http://{}/api/v2/trace", server.addrs.zipkin);
    let (_, by_short) = get_json(&format!("{base}/123456789abcdef0")).await;
    assert_eq!(by_short.as_array().unwrap().len(), 1);
    assert_eq!(by_short[0]["name"], "short");
    assert_eq!(by_short[0]["traceId"], "123456789abcdef0");
    let (_, by_long) = get_json(&format!("{base}/{}", hex(&long))).await;
    assert_eq!(by_long.as_array().unwrap().len(), 1);
    assert_eq!(by_long[0]["name"], "long");
    server.stop().await;
}

#[tokio::test]
async fn search_honours_zipkin_parameters_and_units() {
    let (server, start) = seeded().await;
    let base = format!("http://{}/api/v2/traces", server.addrs.zipkin);
    let ids = |traces: &serde_json::Value| -> Vec<String> {
        traces.as_array().unwrap().iter().map(|t| t[0]["traceId"].as_str().unwrap().to_owned()).collect()
    };
    let (_, all) = get_json(&format!("{base}?serviceName=frontend")).await;
    assert_eq!(ids(&all), vec!["00f067aa0ba902b7".to_string(), hex(&CHECKOUT)], "newest first");
    let (_, by_name) = get_json(&format!("{base}?serviceName=FRONTEND&spanName=get%20/cart")).await;
    assert_eq!(ids(&by_name), vec![hex(&CHECKOUT)], "names compare ignoring case");
    // Durations are µs: the checkout root lasts 50,000 µs, the health check 1,000 µs.
    let (_, slow) = get_json(&format!("{base}?serviceName=frontend&minDuration=40000")).await;
    assert_eq!(ids(&slow), vec![hex(&CHECKOUT)]);
    let (_, none) = get_json(&format!("{base}?serviceName=frontend&minDuration=60000")).await;
    assert_eq!(ids(&none), Vec::<String>::new());
    let (_, errors) = get_json(&format!("{base}?annotationQuery=error%20and%20http.request.method%3DGET")).await;
    assert_eq!(ids(&errors), vec![hex(&CHECKOUT)]);
    // Zipkin shows a failed span's `error` tag as its status message, and searches it that way.
    let (_, by_message) = get_json(&format!("{base}?annotationQuery=error%3Dupstream%20timeout")).await;
    assert_eq!(ids(&by_message), vec![hex(&CHECKOUT)]);
    let (_, remote) = get_json(&format!("{base}?serviceName=frontend&remoteServiceName=cart")).await;
    assert_eq!(ids(&remote), vec![hex(&CHECKOUT)]);
    // endTs/lookback are ms: a window ending before the traces finds nothing.
    let end_ms = start / 1_000_000 - 1;
    let (_, before) = get_json(&format!("{base}?endTs={end_ms}&lookback=60000")).await;
    assert_eq!(ids(&before), Vec::<String>::new());
    let (_, limited) = get_json(&format!("{base}?limit=1")).await;
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let (status, _, body) = get_text(&format!("{base}?maxDuration=10")).await;
    assert_eq!(status, 400);
    assert_eq!(body, "maxDuration is only valid with minDuration");
    assert_eq!(get_text(&format!("{base}?limit=zero")).await.0, 400);
    server.stop().await;
}

#[tokio::test]
async fn trace_many_returns_the_known_traces_and_refuses_fewer_than_two_ids() {
    let (server, _) = seeded().await;
    let base = format!("http://{}/api/v2/traceMany", server.addrs.zipkin);
    // The health trace's 64-bit id, given without its leading zeros and in upper case.
    let health = hex(&HEALTH).trim_start_matches('0').to_ascii_uppercase();
    let unknown = "ab".repeat(16);
    let (status, traces) = get_json(&format!("{base}?traceIds={},{health},{unknown}", hex(&CHECKOUT))).await;
    assert_eq!(status, 200);
    let traces = traces.as_array().unwrap();
    assert_eq!(traces.len(), 2);
    assert_eq!(traces[0].as_array().unwrap().len(), 3);
    assert_eq!(traces[1][0]["name"], "GET /health");
    let (status, none) = get_json(&format!("{base}?traceIds={unknown},{}", "cd".repeat(16))).await;
    assert_eq!((status, none), (200, serde_json::json!([])));
    for query in [String::new(), format!("traceIds={}", hex(&CHECKOUT)), format!("traceIds={health},{}", hex(&HEALTH))]
    {
        let (status, _, body) = get_text(&format!("{base}?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn autocomplete_offers_the_configured_keys_and_the_values_seen() {
    let server = tracehound::testkit::TestServer::start_with(|s| {
        s.store.autocomplete_keys = vec!["http.request.method".into(), "db.system".into()];
    })
    .await;
    export_grpc(server.addrs.otlp_grpc, seed_request(recent_nanos()), false).await.unwrap();
    let base = format!("http://{}/api/v2", server.addrs.zipkin);
    let (_, keys) = get_json(&format!("{base}/autocompleteKeys")).await;
    assert_eq!(keys, serde_json::json!(["http.request.method", "db.system"]));
    let (_, values) = get_json(&format!("{base}/autocompleteValues?key=db.system")).await;
    assert_eq!(values, serde_json::json!(["redis"]));
    let (_, values) = get_json(&format!("{base}/autocompleteValues?key=http.request.method")).await;
    assert_eq!(values, serde_json::json!(["GET"]));
    let (_, values) = get_json(&format!("{base}/autocompleteValues?key=peer.service")).await;
    assert_eq!(values, serde_json::json!([]));
    let (status, _, _) = get_text(&format!("{base}/autocompleteValues")).await;
    assert_eq!(status, 400);
    server.stop().await;
}
