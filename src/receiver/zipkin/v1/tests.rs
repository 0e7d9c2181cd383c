use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::receiver::zipkin::v1_json::decode_spans;

const TRACE: &str = "9c1e4d2a7b3f5e60";
const SPAN: &str = "7d8e9fa0b1c2d3e4";
const PARENT: &str = "1a2b3c4d5e6f7081";

const FRONTEND: &str = r#"{"serviceName":"frontend","ipv4":"10.0.1.15","port":51234}"#;
const ORDERS: &str = r#"{"serviceName":"orders","ipv4":"10.0.3.7","port":8080}"#;
const KAFKA: &str = r#"{"serviceName":"kafka","ipv4":"10.0.9.1","port":9092}"#;

/// Decodes one v1 JSON span object (the list brackets are added) and converts it.
fn convert(span_json: &str) -> Vec<ZipkinSpan> {
    let mut spans = decode_spans(format!("[{span_json}]").as_bytes()).expect("valid v1 JSON");
    assert_eq!(spans.len(), 1);
    v1_into_v2(spans.remove(0).expect("valid span"))
}

/// A v1 span with the test ids, extra keys spliced in.
fn span_json(rest: &str) -> String {
    format!(r#"{{"traceId":"{TRACE}","parentId":"{PARENT}","id":"{SPAN}","name":"get /orders"{rest}}}"#)
}

fn frontend() -> Endpoint {
    Endpoint {
        service_name: Some("frontend".into()),
        ipv4: Some(Ipv4Addr::new(10, 0, 1, 15)),
        ipv6: None,
        port: Some(51234),
    }
}

fn orders() -> Endpoint {
    Endpoint {
        service_name: Some("orders".into()),
        ipv4: Some(Ipv4Addr::new(10, 0, 3, 7)),
        ipv6: None,
        port: Some(8080),
    }
}

fn kafka() -> Endpoint {
    Endpoint {
        service_name: Some("kafka".into()),
        ipv4: Some(Ipv4Addr::new(10, 0, 9, 1)),
        ipv6: None,
        port: Some(9092),
    }
}

fn annotation(timestamp: u64, value: &str) -> Annotation {
    Annotation { timestamp, value: value.into() }
}

fn tag(key: &str, value: &str) -> (String, String) {
    (key.into(), value.into())
}

#[test]
fn splits_client_and_server_annotations_into_client_and_shared_server() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":1700000000100000,"duration":207000,
        "annotations":[
          {{"timestamp":1700000000100000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1700000000139000,"value":"ws","endpoint":{FRONTEND}}},
          {{"timestamp":1700000000151000,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1700000000251000,"value":"ss","endpoint":{ORDERS}}},
          {{"timestamp":1700000000304000,"value":"wr","endpoint":{FRONTEND}}},
          {{"timestamp":1700000000307000,"value":"cr","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[
          {{"key":"http.path","value":"/orders","endpoint":{FRONTEND}}},
          {{"key":"http.path","value":"/api/orders","endpoint":{ORDERS}}},
          {{"key":"clnt/finagle.version","value":"6.45.0","endpoint":{FRONTEND}}},
          {{"key":"srv/finagle.version","value":"6.44.0","endpoint":{ORDERS}}},
          {{"key":"ca","value":true,"endpoint":{FRONTEND}}},
          {{"key":"sa","value":true,"endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    let (client, server) = (&spans[0], &spans[1]);

    assert_eq!(client.kind, SpanKind::Client);
    assert!(!client.shared);
    assert_eq!(client.local_endpoint, Some(frontend()));
    assert_eq!(client.remote_endpoint, Some(orders()));
    assert_eq!((client.timestamp, client.duration), (Some(1700000000100000), Some(207000)));
    assert_eq!(client.annotations, vec![annotation(1700000000139000, "ws"), annotation(1700000000304000, "wr")]);
    assert_eq!(client.tags, vec![tag("http.path", "/orders"), tag("clnt/finagle.version", "6.45.0")]);

    assert_eq!(server.kind, SpanKind::Server);
    assert!(server.shared);
    assert_eq!(server.local_endpoint, Some(orders()));
    assert_eq!(server.remote_endpoint, Some(frontend()));
    assert_eq!((server.timestamp, server.duration), (Some(1700000000151000), Some(100000)));
    assert!(server.annotations.is_empty());
    assert_eq!(server.tags, vec![tag("http.path", "/api/orders"), tag("srv/finagle.version", "6.44.0")]);

    for span in &spans {
        assert_eq!(span.trace_id.to_short_hex(), TRACE);
        assert_eq!(span.id.to_string(), SPAN);
        assert_eq!(span.parent_id.map(|p| p.to_string()).as_deref(), Some(PARENT));
        assert_eq!(span.name, "get /orders");
    }
}

#[test]
fn split_rpc_without_addresses_takes_each_side_as_the_others_remote() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":100,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":110,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":190,"value":"ss","endpoint":{ORDERS}}},
          {{"timestamp":200,"value":"cr","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].remote_endpoint, Some(orders()));
    assert_eq!(spans[1].remote_endpoint, Some(frontend()));
    // No explicit timing: each side from its own annotations.
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(100), Some(100)));
    assert_eq!((spans[1].timestamp, spans[1].duration), (Some(110), Some(80)));
}

#[test]
fn loopback_rpc_still_splits_into_client_and_shared_server() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":100,"duration":100,"annotations":[
          {{"timestamp":100,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":120,"value":"sr","endpoint":{FRONTEND}}},
          {{"timestamp":170,"value":"ss","endpoint":{FRONTEND}}},
          {{"timestamp":200,"value":"cr","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    assert_eq!((spans[0].kind, spans[0].shared), (SpanKind::Client, false));
    assert_eq!((spans[1].kind, spans[1].shared), (SpanKind::Server, true));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(100), Some(100)));
    assert_eq!((spans[1].timestamp, spans[1].duration), (Some(120), Some(50)));
    // Zipkin gives loopback sides no remote endpoint.
    assert!(spans.iter().all(|span| span.local_endpoint == Some(frontend()) && span.remote_endpoint.is_none()));
}

#[test]
fn client_only_span_takes_server_address_as_remote() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":1000,"duration":250,"annotations":[
          {{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1250,"value":"cr","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[{{"key":"sa","value":true,"endpoint":{ORDERS}}},
          {{"key":"http.method","value":"GET","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    let client = &spans[0];
    assert_eq!((client.kind, client.shared), (SpanKind::Client, false));
    assert_eq!(client.local_endpoint, Some(frontend()));
    assert_eq!(client.remote_endpoint, Some(orders()));
    assert_eq!((client.timestamp, client.duration), (Some(1000), Some(250)));
    assert!(client.annotations.is_empty());
    assert_eq!(client.tags, vec![tag("http.method", "GET")]);
}

#[test]
fn server_only_span_with_explicit_timing_takes_client_address_as_remote() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":1000,"duration":400,"annotations":[
          {{"timestamp":1000,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1200,"value":"db.query","endpoint":{ORDERS}}},
          {{"timestamp":1400,"value":"ss","endpoint":{ORDERS}}}],
        "binaryAnnotations":[{{"key":"ca","value":true,"endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    let server = &spans[0];
    assert_eq!(server.kind, SpanKind::Server);
    // It has its own timestamp and duration, so it is not the shared half of a client's span.
    assert!(!server.shared);
    assert_eq!(server.local_endpoint, Some(orders()));
    assert_eq!(server.remote_endpoint, Some(frontend()));
    assert_eq!((server.timestamp, server.duration), (Some(1000), Some(400)));
    assert_eq!(server.annotations, vec![annotation(1200, "db.query")]);
}

#[test]
fn server_only_span_without_explicit_timestamp_is_shared() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1100,"value":"ss","endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    assert_eq!((spans[0].kind, spans[0].shared), (SpanKind::Server, true));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(1000), Some(100)));
}

#[test]
fn lone_sr_is_an_unfinished_shared_server_span() {
    let spans =
        convert(&span_json(&format!(r#","annotations":[{{"timestamp":1000,"value":"sr","endpoint":{ORDERS}}}]"#)));
    assert_eq!(spans.len(), 1);
    assert_eq!((spans[0].kind, spans[0].shared), (SpanKind::Server, true));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(1000), None));
}

#[test]
fn lone_cs_is_an_unfinished_client_span() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":1000,"annotations":[
          {{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1040,"value":"ws","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    assert_eq!((spans[0].kind, spans[0].shared), (SpanKind::Client, false));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(1000), None));
    assert_eq!(spans[0].annotations, vec![annotation(1040, "ws")]);
}

#[test]
fn lone_cr_stays_an_annotation_on_a_client_span() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[{{"timestamp":1000,"value":"cr","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[{{"key":"sa","value":true,"endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].kind, SpanKind::Client);
    assert_eq!(spans[0].timestamp, None);
    assert_eq!(spans[0].annotations, vec![annotation(1000, "cr")]);
    assert_eq!(spans[0].remote_endpoint, Some(orders()));
}

#[test]
fn cs_and_sr_without_finish_split_without_durations() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1050,"value":"sr","endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    assert_eq!((spans[0].kind, spans[0].timestamp, spans[0].duration), (SpanKind::Client, Some(1000), None));
    assert_eq!((spans[1].kind, spans[1].timestamp, spans[1].duration), (SpanKind::Server, Some(1050), None));
    assert!(spans[1].shared);
}

#[test]
fn missing_cs_is_recovered_from_explicit_timing_that_ends_at_cr() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":1000,"duration":300,"annotations":[
          {{"timestamp":1300,"value":"cr","endpoint":{FRONTEND}}},
          {{"timestamp":1100,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1200,"value":"ss","endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    let client = spans.iter().find(|span| span.kind == SpanKind::Client).expect("client side");
    assert_eq!((client.timestamp, client.duration, client.shared), (Some(1000), Some(300), false));
    let server = spans.iter().find(|span| span.kind == SpanKind::Server).expect("server side");
    assert_eq!((server.timestamp, server.duration, server.shared), (Some(1100), Some(100), true));
}

#[test]
fn explicit_timestamp_and_duration_win_over_annotations_on_the_client_side() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":999,"duration":500,"annotations":[
          {{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1100,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1200,"value":"ss","endpoint":{ORDERS}}},
          {{"timestamp":1300,"value":"cr","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!((spans[0].kind, spans[0].timestamp, spans[0].duration), (SpanKind::Client, Some(999), Some(500)));
    // The server side has only its own annotations.
    assert_eq!((spans[1].kind, spans[1].timestamp, spans[1].duration), (SpanKind::Server, Some(1100), Some(100)));
}

#[test]
fn explicit_timestamp_without_duration_does_not_override_annotations() {
    let spans = convert(&span_json(&format!(
        r#","timestamp":999,"annotations":[
          {{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1300,"value":"cr","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(1000), Some(300)));
}

#[test]
fn span_without_annotations_keeps_explicit_timing() {
    let spans = convert(&span_json(r#","timestamp":1000,"duration":20,"debug":true"#));
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!((span.kind, span.shared), (SpanKind::Unspecified, false));
    assert_eq!((span.timestamp, span.duration), (Some(1000), Some(20)));
    assert_eq!((span.local_endpoint.as_ref(), span.remote_endpoint.as_ref()), (None, None));
    assert!(span.debug);
}

#[test]
fn local_span_takes_lc_endpoint_and_keeps_component_as_tag() {
    let spans = convert(&span_json(
        r#","timestamp":1000,"duration":20,
        "binaryAnnotations":[{"key":"lc","value":"spring-async","endpoint":{"serviceName":"orders"}}]"#,
    ));
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.kind, SpanKind::Unspecified);
    assert_eq!(span.local_endpoint.as_ref().and_then(|e| e.service_name.as_deref()), Some("orders"));
    assert_eq!(span.tags, vec![tag("lc", "spring-async")]);
    assert_eq!((span.timestamp, span.duration), (Some(1000), Some(20)));
}

#[test]
fn empty_lc_only_marks_the_local_endpoint() {
    let spans = convert(&span_json(
        r#","timestamp":1000,"duration":20,"binaryAnnotations":[{"key":"lc","value":"","endpoint":{"serviceName":"orders"}}]"#,
    ));
    assert_eq!(spans[0].local_endpoint.as_ref().and_then(|e| e.service_name.as_deref()), Some("orders"));
    assert!(spans[0].tags.is_empty());
}

#[test]
fn producer_takes_broker_address_and_wire_send_duration() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"ms","endpoint":{FRONTEND}}},
          {{"timestamp":1051,"value":"ws","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[{{"key":"ma","value":true,"endpoint":{KAFKA}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    assert_eq!((spans[0].kind, spans[0].shared), (SpanKind::Producer, false));
    assert_eq!(spans[0].remote_endpoint, Some(kafka()));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(1000), Some(51)));
    assert!(spans[0].annotations.is_empty());
}

#[test]
fn consumer_is_timed_from_wire_receive_to_mr() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":2000,"value":"wr","endpoint":{ORDERS}}},
          {{"timestamp":2051,"value":"mr","endpoint":{ORDERS}}}],
        "binaryAnnotations":[{{"key":"ma","value":true,"endpoint":{KAFKA}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    assert_eq!((spans[0].kind, spans[0].shared), (SpanKind::Consumer, false));
    assert_eq!(spans[0].local_endpoint, Some(orders()));
    assert_eq!(spans[0].remote_endpoint, Some(kafka()));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(2000), Some(51)));
}

#[test]
fn producer_and_consumer_in_one_span_split_into_producer_and_shared_consumer() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"ms","endpoint":{FRONTEND}}},
          {{"timestamp":1039,"value":"ws","endpoint":{FRONTEND}}},
          {{"timestamp":1400,"value":"wr","endpoint":{ORDERS}}},
          {{"timestamp":1403,"value":"mr","endpoint":{ORDERS}}}],
        "binaryAnnotations":[{{"key":"ma","value":true,"endpoint":{KAFKA}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    let (producer, consumer) = (&spans[0], &spans[1]);
    assert_eq!((producer.kind, producer.shared), (SpanKind::Producer, false));
    assert_eq!((producer.timestamp, producer.duration), (Some(1000), Some(39)));
    assert_eq!((consumer.kind, consumer.shared), (SpanKind::Consumer, true));
    assert_eq!((consumer.timestamp, consumer.duration), (Some(1400), Some(3)));
    assert!(spans.iter().all(|span| span.remote_endpoint == Some(kafka())));
}

#[test]
fn keeps_128_bit_trace_id() {
    let json = format!(r#"{{"traceId":"463ac35c9f6413ad48485a3953bb6124","id":"{SPAN}","name":"get"}}"#);
    let spans = convert(&json);
    assert_eq!(spans[0].trace_id.to_short_hex(), "463ac35c9f6413ad48485a3953bb6124");
    assert_eq!(spans[0].trace_id.high(), 0x463ac35c9f6413ad);
}

#[test]
fn drops_parent_id_equal_to_id() {
    let spans = convert(&format!(r#"{{"traceId":"{TRACE}","parentId":"{SPAN}","id":"{SPAN}","name":"get"}}"#));
    assert_eq!(spans[0].parent_id, None);
}

#[test]
fn keeps_name_case_and_debug() {
    let spans = convert(&format!(r#"{{"traceId":"{TRACE}","id":"{SPAN}","name":"GET /Orders","debug":true}}"#));
    assert_eq!(spans[0].name, "GET /Orders");
    assert!(spans[0].debug);
}

#[test]
fn negative_derived_duration_is_absent() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1000,"value":"ss","endpoint":{ORDERS}}},
          {{"timestamp":900,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":800,"value":"cr","endpoint":{FRONTEND}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(|span| span.duration.is_none()));
}

#[test]
fn core_annotation_without_endpoint_is_a_plain_annotation() {
    let spans = convert(&span_json(r#","timestamp":1000,"annotations":[{"timestamp":1000,"value":"sr"}]"#));
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].kind, SpanKind::Unspecified);
    assert_eq!(spans[0].annotations, vec![annotation(1000, "sr")]);
    assert_eq!(spans[0].timestamp, Some(1000));
}

#[test]
fn data_of_a_further_service_folds_into_the_non_shared_span() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}},
          {{"timestamp":1010,"value":"sr","endpoint":{ORDERS}}},
          {{"timestamp":1020,"value":"cache.miss","endpoint":{KAFKA}}},
          {{"timestamp":1090,"value":"ss","endpoint":{ORDERS}}},
          {{"timestamp":1100,"value":"cr","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[{{"key":"region","value":"eu-west-1","endpoint":{KAFKA}}}]"#
    )));
    assert_eq!(spans.len(), 2);
    let client = &spans[0];
    assert_eq!((client.kind, client.local_endpoint.clone()), (SpanKind::Client, Some(frontend())));
    assert_eq!(client.annotations, vec![annotation(1020, "cache.miss")]);
    assert_eq!(client.tags, vec![tag("region", "eu-west-1")]);
    assert!(spans[1].shared);
}

#[test]
fn two_services_with_only_plain_annotations_give_one_span() {
    let spans = convert(&span_json(&format!(
        r#","annotations":[
          {{"timestamp":1000,"value":"foo","endpoint":{FRONTEND}}},
          {{"timestamp":1100,"value":"bar","endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].local_endpoint, Some(frontend()));
    assert_eq!(spans[0].annotations, vec![annotation(1000, "foo"), annotation(1100, "bar")]);
}

#[test]
fn finagle_client_address_with_server_service_name_loses_the_name() {
    let spans = convert(&span_json(
        r#","timestamp":1000,"duration":400,"annotations":[
          {"timestamp":1000,"value":"sr","endpoint":{"serviceName":"orders","ipv4":"10.0.3.7"}},
          {"timestamp":1400,"value":"ss","endpoint":{"serviceName":"orders","ipv4":"10.0.3.7"}}],
        "binaryAnnotations":[{"key":"ca","value":true,"endpoint":{"serviceName":"orders","ipv4":"10.0.1.15","port":63840}}]"#,
    ));
    let remote = spans[0].remote_endpoint.clone().expect("client socket kept");
    assert_eq!(remote.service_name, None);
    assert_eq!((remote.ipv4, remote.port), (Some(Ipv4Addr::new(10, 0, 1, 15)), Some(63840)));
}

#[test]
fn address_annotations_without_core_annotations() {
    let both = convert(&span_json(&format!(
        r#","binaryAnnotations":[{{"key":"ca","value":true,"endpoint":{FRONTEND}}},{{"key":"sa","value":true,"endpoint":{ORDERS}}}]"#
    )));
    assert_eq!((both[0].kind, both[0].local_endpoint.clone()), (SpanKind::Unspecified, Some(frontend())));
    assert_eq!(both[0].remote_endpoint, Some(orders()));

    let client_address =
        convert(&span_json(&format!(r#","binaryAnnotations":[{{"key":"ca","value":true,"endpoint":{FRONTEND}}}]"#)));
    assert_eq!(
        (client_address[0].kind, client_address[0].remote_endpoint.clone()),
        (SpanKind::Server, Some(frontend()))
    );

    let server_address =
        convert(&span_json(&format!(r#","binaryAnnotations":[{{"key":"sa","value":true,"endpoint":{ORDERS}}}]"#)));
    assert_eq!(
        (server_address[0].kind, server_address[0].remote_endpoint.clone()),
        (SpanKind::Unspecified, Some(orders()))
    );
}

#[test]
fn text_address_value_counts_and_false_does_not() {
    let text = convert(&span_json(&format!(
        r#","annotations":[{{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[{{"key":"sa","value":"1","endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(text[0].remote_endpoint, Some(orders()));
    assert!(text[0].tags.is_empty());

    let falsy = convert(&span_json(&format!(
        r#","annotations":[{{"timestamp":1000,"value":"cs","endpoint":{FRONTEND}}}],
        "binaryAnnotations":[{{"key":"sa","value":false,"endpoint":{ORDERS}}}]"#
    )));
    assert_eq!(falsy[0].remote_endpoint, None);
}

#[test]
fn boolean_binary_annotations_other_than_addresses_are_dropped() {
    let spans = convert(&span_json(
        r#","binaryAnnotations":[{"key":"cache.hit","value":true},{"key":"http.status_code","value":200}]"#,
    ));
    assert_eq!(spans[0].tags, vec![tag("http.status_code", "200")]);
}

#[test]
fn repeated_tag_key_keeps_the_last_value() {
    let spans = convert(&span_json(
        r#","binaryAnnotations":[{"key":"error","value":"timeout"},{"key":"error","value":"db down"}]"#,
    ));
    assert_eq!(spans[0].tags, vec![tag("error", "db down")]);
}

#[test]
fn annotations_come_out_sorted_without_duplicates() {
    let spans = convert(&span_json(
        r#","annotations":[{"timestamp":30,"value":"c"},{"timestamp":10,"value":"a"},{"timestamp":30,"value":"c"},{"timestamp":20,"value":"b"}]"#,
    ));
    assert_eq!(spans[0].annotations, vec![annotation(10, "a"), annotation(20, "b"), annotation(30, "c")]);
}

#[test]
fn service_names_match_ignoring_case_but_are_kept_as_sent() {
    let spans = convert(&span_json(
        r#","annotations":[
          {"timestamp":1000,"value":"sr","endpoint":{"serviceName":"Orders"}},
          {"timestamp":1100,"value":"ss","endpoint":{"serviceName":"orders"}}]"#,
    ));
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].local_endpoint.as_ref().and_then(|e| e.service_name.as_deref()), Some("Orders"));
    assert_eq!((spans[0].timestamp, spans[0].duration), (Some(1000), Some(100)));
}

fn arb_endpoint() -> impl Strategy<Value = Option<Endpoint>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec!["frontend", "FRONTEND", "orders", "kafka", ""])
            .prop_map(|name| Some(Endpoint { service_name: Some(name.to_owned()), ..Endpoint::default() })),
        Just(Some(Endpoint { ipv4: Some(Ipv4Addr::LOCALHOST), ..Endpoint::default() })),
    ]
}

fn arb_annotation() -> impl Strategy<Value = V1Annotation> {
    let values = vec!["cs", "sr", "ss", "cr", "ms", "mr", "ws", "wr", "error", "retry"];
    (0u64..2000, prop::sample::select(values), arb_endpoint()).prop_map(|(timestamp, value, endpoint)| V1Annotation {
        timestamp,
        value: value.to_owned(),
        endpoint,
    })
}

fn arb_binary_annotation() -> impl Strategy<Value = V1BinaryAnnotation> {
    let keys = vec!["ca", "sa", "ma", "lc", "http.path", "error"];
    let value = prop_oneof![any::<bool>().prop_map(V1Value::Bool), "[a-z/]{0,4}".prop_map(V1Value::String)];
    (prop::sample::select(keys), value, arb_endpoint()).prop_map(|(key, value, endpoint)| V1BinaryAnnotation {
        key: key.to_owned(),
        value,
        endpoint,
    })
}

fn arb_span() -> impl Strategy<Value = V1Span> {
    (
        (1u64..u64::MAX, 1u64..u64::MAX, 0u64..4, prop::option::of(any::<bool>())),
        (prop::option::of(0u64..2000), prop::option::of(0u64..2000), any::<bool>()),
        prop::collection::vec(arb_annotation(), 0..10),
        prop::collection::vec(arb_binary_annotation(), 0..6),
    )
        .prop_filter_map(
            "valid ids",
            |((trace, id, high, parent), (timestamp, duration, debug), annotations, binary)| {
                Some(V1Span {
                    trace_id: TraceId::from_halves(high, trace).ok()?,
                    name: "op".into(),
                    id: SpanId::from_array(id.to_be_bytes()).ok()?,
                    // Sometimes the span's own id, which must be dropped.
                    parent_id: parent.and_then(|own| SpanId::from_array(if own { id } else { 1 }.to_be_bytes()).ok()),
                    timestamp,
                    duration,
                    annotations,
                    binary_annotations: binary,
                    debug,
                })
            },
        )
}

proptest! {
    #[test]
    fn conversion_keeps_ids_and_gives_at_most_one_non_shared_span(span in arb_span()) {
        let (trace_id, id, debug) = (span.trace_id, span.id, span.debug);
        let converted = v1_into_v2(span);
        prop_assert!(!converted.is_empty() && converted.len() <= 2, "{} spans", converted.len());
        prop_assert!(converted.iter().filter(|s| !s.shared).count() <= 1);
        for out in &converted {
            prop_assert_eq!(out.trace_id, trace_id);
            prop_assert_eq!(out.id, id);
            prop_assert_eq!(out.debug, debug);
            prop_assert_ne!(out.parent_id, Some(id));
            prop_assert_ne!(out.duration, Some(0));
            prop_assert!(!(out.shared && out.kind == SpanKind::Client));
        }
    }

    #[test]
    fn conversion_never_panics_on_any_annotation_values(
        values in prop::collection::vec(("[a-z]{0,3}", any::<u64>(), arb_endpoint()), 0..12),
        timestamp in prop::option::of(any::<u64>()),
        duration in prop::option::of(any::<u64>()),
    ) {
        let span = V1Span {
            trace_id: TraceId::from_halves(0, 1).unwrap(),
            name: String::new(),
            id: SpanId::from_array([1; 8]).unwrap(),
            parent_id: None,
            timestamp,
            duration,
            annotations: values
                .into_iter()
                .map(|(value, timestamp, endpoint)| V1Annotation { timestamp, value, endpoint })
                .collect(),
            binary_annotations: Vec::new(),
            debug: false,
        };
        let converted = v1_into_v2(span);
        prop_assert!(converted.len() <= 2);
    }
}
