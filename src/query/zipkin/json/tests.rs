use serde_json::json;

use super::*;
use crate::model::{AnyValue, KeyValue, SpanKind, StatusCode, UnixNanos};
use crate::testkit::{trace_of, SpanBuilder, BASE_TIME};

/// Start of built spans in microseconds.
const BASE_MICROS: u64 = BASE_TIME / 1_000;

fn span(name: &str) -> SpanBuilder {
    SpanBuilder::new("checkout", name, 0x5b8e_fff7_9803_8103_d269_b633_813f_c60c, 0x11)
}

fn encode(builder: SpanBuilder) -> ZipkinSpan {
    span_to_zipkin(&builder.build())
}

fn text(value: &str) -> AnyValue {
    AnyValue::String(value.into())
}

fn tag<'a>(span: &'a ZipkinSpan, key: &str) -> Option<&'a str> {
    span.tags.get(key).map(String::as_str)
}

#[test]
fn server_span_serializes_in_zipkin_key_order() {
    let record = span("GET /cart")
        .parent(0x22)
        .timing(123_456, 2_750_000)
        .attr("http.method", text("GET"))
        .attr(semconv::NET_HOST_IP, text("10.0.3.7"))
        .attr(semconv::NET_HOST_PORT, AnyValue::Int(8080))
        .attr(semconv::NET_PEER_IP, text("10.0.1.15"))
        .attr(semconv::NET_PEER_PORT, AnyValue::Int(51234))
        .status(StatusCode::Error, "db timeout")
        .build();
    let text = serde_json::to_string(&span_to_zipkin(&record)).unwrap();
    let expected = concat!(
        r#"{"traceId":"5b8efff798038103d269b633813fc60c","parentId":"0000000000000022","id":"0000000000000011","#,
        r#""kind":"SERVER","name":"GET /cart","timestamp":1700000000000123,"duration":2750,"#,
        r#""localEndpoint":{"serviceName":"checkout","ipv4":"10.0.3.7","port":8080},"#,
        r#""remoteEndpoint":{"ipv4":"10.0.1.15","port":51234},"#,
        r#""tags":{"error":"db timeout","http.method":"GET","otel.status_code":"ERROR"}}"#
    );
    assert_eq!(text, expected);
}

#[test]
fn client_span_with_everything_serializes_fully() {
    let record = span("charge")
        .kind(SpanKind::Client)
        .parent(0x22)
        .timing(1_500, 1_000_999)
        .resource_attr("host.name", text("web-1"))
        .scope("io.example.pay", "1.2.0")
        .attr(semconv::PEER_SERVICE, text("payments"))
        .attr(semconv::SERVER_ADDRESS, text("pay.internal"))
        .attr(semconv::NETWORK_PEER_ADDRESS, text("2001:db8::7"))
        .attr(semconv::SERVER_PORT, AnyValue::Int(443))
        .attr("retry", AnyValue::Bool(false))
        .event(2_000, "sent", vec![])
        .event(3_000, "ack", vec![KeyValue::new("bytes", AnyValue::Int(12))])
        .link(7, 8, vec![])
        .status(StatusCode::Ok, "")
        .with(|r| {
            r.span.trace_state = "vendor=1".into();
            r.span.dropped_events_count = 2;
        })
        .build();
    let expected = json!({
        "traceId": "5b8efff798038103d269b633813fc60c",
        "parentId": "0000000000000022",
        "id": "0000000000000011",
        "kind": "CLIENT",
        "name": "charge",
        "timestamp": BASE_MICROS + 1,
        "duration": 1000,
        "localEndpoint": {"serviceName": "checkout"},
        "remoteEndpoint": {"serviceName": "payments", "ipv6": "2001:db8::7", "port": 443},
        "annotations": [
            {"timestamp": BASE_MICROS + 3, "value": "sent"},
            {"timestamp": BASE_MICROS + 4, "value": r#""ack": {"bytes":12}"#}
        ],
        "tags": {
            "host.name": "web-1",
            "network.peer.address": "2001:db8::7",
            "otel.dropped_events_count": "2",
            "otel.library.name": "io.example.pay",
            "otel.library.version": "1.2.0",
            "otel.scope.name": "io.example.pay",
            "otel.scope.version": "1.2.0",
            "otel.status_code": "OK",
            "otlp.link.0": "00000000000000000000000000000007|0000000000000008||{}|0",
            "retry": "false",
            "server.address": "pay.internal",
            "server.port": "443",
            "w3c.tracestate": "vendor=1"
        }
    });
    assert_eq!(serde_json::to_value(span_to_zipkin(&record)).unwrap(), expected);
}

#[test]
fn absent_fields_are_omitted_not_null() {
    let record = span("").kind(SpanKind::Unspecified).build();
    let value = serde_json::to_value(span_to_zipkin(&record)).unwrap();
    assert_eq!(
        value,
        json!({
            "traceId": "5b8efff798038103d269b633813fc60c",
            "id": "0000000000000011",
            "timestamp": BASE_MICROS,
            "duration": 1000,
            "localEndpoint": {"serviceName": "checkout"}
        })
    );
}

#[test]
fn internal_span_has_no_kind_but_a_span_kind_tag() {
    let encoded = encode(span("work").kind(SpanKind::Internal));
    assert_eq!(encoded.kind, None);
    assert_eq!(encoded.tags.get("span.kind").map(String::as_str), Some("internal"));
}

#[test]
fn unspecified_span_has_no_kind() {
    assert_eq!(encode(span("work").kind(SpanKind::Unspecified)).kind, None);
}

#[test]
fn rpc_and_messaging_kinds_are_upper_case() {
    for (kind, name) in [
        (SpanKind::Client, "CLIENT"),
        (SpanKind::Server, "SERVER"),
        (SpanKind::Producer, "PRODUCER"),
        (SpanKind::Consumer, "CONSUMER"),
    ] {
        let value = serde_json::to_value(encode(span("op").kind(kind))).unwrap();
        assert_eq!(value["kind"], name);
    }
}

#[test]
fn trace_id_is_16_digits_when_high_half_is_zero() {
    let zipkin = encode(SpanBuilder::new("svc", "op", 0xd269_b633_813f_c60c, 1));
    assert_eq!(zipkin.trace_id, "d269b633813fc60c");
    assert_eq!(zipkin.id, "0000000000000001");
}

#[test]
fn trace_id_is_32_digits_when_high_half_is_set() {
    assert_eq!(encode(span("op")).trace_id, "5b8efff798038103d269b633813fc60c");
}

#[test]
fn root_span_has_no_parent_id() {
    assert_eq!(encode(span("op")).parent_id, None);
}

#[test]
fn parent_equal_to_own_id_is_dropped() {
    assert_eq!(encode(span("op").parent(0x11)).parent_id, None);
}

#[test]
fn times_are_truncated_to_microseconds() {
    let zipkin = encode(span("op").timing(1_999, 2_999));
    assert_eq!(zipkin.timestamp, Some(BASE_MICROS + 1));
    assert_eq!(zipkin.duration, Some(2));
}

#[test]
fn duration_is_at_least_one_microsecond() {
    assert_eq!(encode(span("op").timing(0, 999)).duration, Some(1));
    assert_eq!(encode(span("op").timing(0, 0)).duration, Some(1));
}

#[test]
fn local_endpoint_takes_host_address_and_consumes_it() {
    let zipkin =
        encode(span("op").attr(semconv::NET_HOST_IP, text("10.0.0.1")).attr(semconv::NET_HOST_PORT, text("8080")));
    let local = zipkin.local_endpoint.unwrap();
    assert_eq!(local.service_name.as_deref(), Some("checkout"));
    assert_eq!(local.ipv4, Some(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(local.port, Some(8080));
    assert!(zipkin.tags.is_empty());
}

#[test]
fn local_endpoint_accepts_network_local_attributes() {
    let zipkin = encode(
        span("op")
            .attr(semconv::NETWORK_LOCAL_ADDRESS, text("::1"))
            .attr(semconv::NETWORK_LOCAL_PORT, AnyValue::Int(9411)),
    );
    let local = zipkin.local_endpoint.unwrap();
    assert_eq!(local.ipv6, Some(Ipv6Addr::LOCALHOST));
    assert_eq!(local.port, Some(9411));
    assert!(zipkin.tags.is_empty());
}

#[test]
fn unparsable_host_ip_stays_a_tag() {
    let zipkin = encode(span("op").attr(semconv::NET_HOST_IP, text("not-an-ip")));
    assert_eq!(zipkin.local_endpoint.as_ref().unwrap().ipv4, None);
    assert_eq!(tag(&zipkin, semconv::NET_HOST_IP), Some("not-an-ip"));
}

#[test]
fn client_remote_service_follows_the_spec_ranking() {
    let zipkin = encode(
        span("op")
            .kind(SpanKind::Client)
            .attr(semconv::DB_NAME, text("orders"))
            .attr(semconv::PEER_ADDRESS, text("peer-address"))
            .attr(semconv::SERVER_ADDRESS, text("db.internal")),
    );
    let remote = zipkin.remote_endpoint.as_ref().unwrap();
    assert_eq!(remote.service_name.as_deref(), Some("db.internal"));
    // Remote attributes are kept as tags: only the local endpoint consumes its sources.
    assert_eq!(tag(&zipkin, semconv::SERVER_ADDRESS), Some("db.internal"));
}

#[test]
fn db_name_is_the_last_remote_service_fallback() {
    let zipkin = encode(span("op").kind(SpanKind::Producer).attr(semconv::DB_NAME, text("orders")));
    assert_eq!(zipkin.remote_endpoint.unwrap().service_name.as_deref(), Some("orders"));
}

#[test]
fn server_span_names_its_remote_only_from_peer_service() {
    let without = encode(span("op").attr(semconv::SERVER_ADDRESS, text("me.internal")));
    assert_eq!(without.remote_endpoint, None);
    let with = encode(span("op").attr(semconv::PEER_SERVICE, text("frontend")));
    assert_eq!(with.remote_endpoint.unwrap().service_name.as_deref(), Some("frontend"));
}

#[test]
fn server_span_ignores_server_port_for_its_remote() {
    let zipkin = encode(
        span("op").attr(semconv::NETWORK_PEER_ADDRESS, text("10.1.1.1")).attr(semconv::SERVER_PORT, AnyValue::Int(443)),
    );
    let remote = zipkin.remote_endpoint.unwrap();
    assert_eq!(remote.ipv4, Some(Ipv4Addr::new(10, 1, 1, 1)));
    assert_eq!(remote.port, None);
}

#[test]
fn remote_ip_must_parse_and_picks_ipv4_or_ipv6() {
    let v6 = encode(span("op").kind(SpanKind::Client).attr(semconv::NET_SOCK_PEER_ADDR, text("fe80::1")));
    assert_eq!(v6.remote_endpoint.unwrap().ipv6, Some("fe80::1".parse().unwrap()));
    let bad = encode(span("op").attr(semconv::NET_PEER_IP, text("example.com")));
    assert_eq!(bad.remote_endpoint, None);
}

#[test]
fn remote_endpoint_with_only_a_port_is_absent() {
    let zipkin = encode(span("op").kind(SpanKind::Client).attr(semconv::NET_PEER_PORT, AnyValue::Int(80)));
    assert_eq!(zipkin.remote_endpoint, None);
}

#[test]
fn attribute_values_render_as_text() {
    let zipkin = encode(
        span("op")
            .attr("b", AnyValue::Bool(true))
            .attr("i", AnyValue::Int(-3))
            .attr("d", AnyValue::Double(2.5))
            .attr("bytes", AnyValue::Bytes(vec![1, 2, 3]))
            .attr("list", AnyValue::Array(vec![text("a"), AnyValue::Int(1)]))
            .attr("map", AnyValue::KvList(vec![KeyValue::new("z", AnyValue::Bool(false))]))
            .attr("empty", AnyValue::Empty),
    );
    let expected: BTreeMap<String, String> = [
        ("b", "true"),
        ("i", "-3"),
        ("d", "2.5"),
        ("bytes", "AQID"),
        ("list", r#"["a",1]"#),
        ("map", r#"{"z":false}"#),
        ("empty", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(zipkin.tags, expected);
}

#[test]
fn resource_attributes_are_copied_into_tags_and_span_attributes_win() {
    let zipkin = encode(
        span("op")
            .resource_attr("host.name", text("web-1"))
            .resource_attr("deployment.environment", text("prod"))
            .attr("deployment.environment", text("canary")),
    );
    assert_eq!(tag(&zipkin, "host.name"), Some("web-1"));
    assert_eq!(tag(&zipkin, "deployment.environment"), Some("canary"));
    assert_eq!(tag(&zipkin, semconv::SERVICE_NAME), None);
}

#[test]
fn missing_service_name_is_unknown_service() {
    let zipkin = encode(span("op").with(|r| std::sync::Arc::make_mut(&mut r.resource).attributes.clear()));
    assert_eq!(zipkin.local_endpoint.unwrap().service_name.as_deref(), Some("unknown_service"));
}

#[test]
fn scope_sets_scope_and_library_tags() {
    let zipkin = encode(span("op").scope("io.example", "2.0"));
    assert_eq!(tag(&zipkin, semconv::OTEL_SCOPE_NAME), Some("io.example"));
    assert_eq!(tag(&zipkin, semconv::OTEL_SCOPE_VERSION), Some("2.0"));
    assert_eq!(tag(&zipkin, semconv::OTEL_LIBRARY_NAME), Some("io.example"));
    assert_eq!(tag(&zipkin, semconv::OTEL_LIBRARY_VERSION), Some("2.0"));
}

#[test]
fn empty_scope_version_sets_no_version_tags() {
    let zipkin = encode(span("op").scope("io.example", ""));
    assert_eq!(tag(&zipkin, semconv::OTEL_SCOPE_NAME), Some("io.example"));
    assert_eq!(tag(&zipkin, semconv::OTEL_SCOPE_VERSION), None);
    assert_eq!(tag(&zipkin, semconv::OTEL_LIBRARY_VERSION), None);
}

#[test]
fn unset_status_sets_no_tags() {
    let zipkin = encode(span("op").status(StatusCode::Unset, "ignored"));
    assert!(zipkin.tags.is_empty());
}

#[test]
fn ok_status_sets_only_the_status_code() {
    let zipkin = encode(span("op").status(StatusCode::Ok, "fine"));
    assert_eq!(tag(&zipkin, semconv::OTEL_STATUS_CODE), Some("OK"));
    assert_eq!(tag(&zipkin, semconv::ERROR), None);
    assert_eq!(zipkin.tags.len(), 1);
}

#[test]
fn error_status_sets_error_tag_to_message() {
    let zipkin = encode(span("op").status(StatusCode::Error, "connection refused"));
    assert_eq!(tag(&zipkin, semconv::OTEL_STATUS_CODE), Some("ERROR"));
    assert_eq!(tag(&zipkin, semconv::ERROR), Some("connection refused"));
}

#[test]
fn error_status_without_message_sets_empty_error_tag() {
    let zipkin = encode(span("op").status(StatusCode::Error, ""));
    assert_eq!(tag(&zipkin, semconv::ERROR), Some(""));
}

#[test]
fn error_false_attribute_is_dropped() {
    let boolean = encode(span("op").attr(semconv::ERROR, AnyValue::Bool(false)));
    assert_eq!(tag(&boolean, semconv::ERROR), None);
    let string = encode(span("op").attr(semconv::ERROR, text("false")));
    assert_eq!(tag(&string, semconv::ERROR), None);
}

#[test]
fn event_without_attributes_is_its_name() {
    let zipkin = encode(span("op").event(1_500, "cache miss", vec![]));
    assert_eq!(zipkin.annotations, vec![ZipkinAnnotation { timestamp: BASE_MICROS + 1, value: "cache miss".into() }]);
}

#[test]
fn event_with_attributes_is_quoted_name_and_json_object() {
    let attributes = vec![
        KeyValue::new("z", text("last")),
        KeyValue::new("a", AnyValue::Array(vec![AnyValue::Int(1), AnyValue::Bool(true)])),
        KeyValue::new("bin", AnyValue::Bytes(vec![0xff])),
    ];
    let zipkin = encode(span("op").event(0, "retry \"1\"", attributes));
    assert_eq!(zipkin.annotations[0].value, r#""retry \"1\"": {"a":[1,true],"bin":"/w==","z":"last"}"#);
}

#[test]
fn links_become_indexed_tags_in_contrib_form() {
    let zipkin = encode(
        span("op")
            .link(0xabc, 0x1, vec![KeyValue::new("k", text("v"))])
            .link(0x5b8e_fff7_9803_8103_d269_b633_813f_c60d, 0x2, vec![])
            .with(|r| {
                r.span.links[0].trace_state = "a=1".into();
                r.span.links[0].dropped_attributes_count = 3;
            }),
    );
    assert_eq!(
        tag(&zipkin, "otlp.link.0"),
        Some(r#"00000000000000000000000000000abc|0000000000000001|a=1|{"k":"v"}|3"#)
    );
    assert_eq!(tag(&zipkin, "otlp.link.1"), Some("5b8efff798038103d269b633813fc60d|0000000000000002||{}|0"));
}

#[test]
fn dropped_counts_become_tags_when_positive() {
    let zipkin = encode(span("op").with(|r| {
        r.span.dropped_attributes_count = 1;
        r.span.dropped_links_count = 4;
    }));
    assert_eq!(tag(&zipkin, semconv::OTEL_DROPPED_ATTRIBUTES_COUNT), Some("1"));
    assert_eq!(tag(&zipkin, semconv::OTEL_DROPPED_EVENTS_COUNT), None);
    assert_eq!(tag(&zipkin, semconv::OTEL_DROPPED_LINKS_COUNT), Some("4"));
}

#[test]
fn trace_state_becomes_w3c_tracestate_tag() {
    let zipkin = encode(span("op").with(|r| r.span.trace_state = "rojo=00f067aa0ba902b7".into()));
    assert_eq!(tag(&zipkin, semconv::W3C_TRACESTATE), Some("rojo=00f067aa0ba902b7"));
}

#[test]
fn debug_and_shared_are_written_only_when_true() {
    let mut zipkin = encode(span("op"));
    zipkin.debug = Some(false);
    zipkin.shared = Some(true);
    let value = serde_json::to_value(&zipkin).unwrap();
    assert!(value.get("debug").is_none());
    assert_eq!(value["shared"], true);
}

#[test]
fn trace_keeps_the_order_of_its_spans() {
    let trace = trace_of(vec![
        span("late").timing(5_000, 1).with(|r| r.span.span_id = crate::testkit::span_id(3)).build(),
        span("early").with(|r| r.span.span_id = crate::testkit::span_id(4)).build(),
    ]);
    let names: Vec<String> = trace_to_zipkin(&trace).into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["late", "early"]);
}

#[test]
fn epoch_start_still_has_a_timestamp() {
    let zipkin = encode(span("op").at(UnixNanos(0), UnixNanos(5_000)));
    assert_eq!((zipkin.timestamp, zipkin.duration), (Some(0), Some(5)));
}
