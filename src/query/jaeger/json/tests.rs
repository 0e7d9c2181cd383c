use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::model::{AnyValue, KeyValue, SpanKind, StatusCode};
use crate::testkit::{span_id, trace_of, SpanBuilder, BASE_TIME};

/// Start of built spans in microseconds.
const BASE_MICROS: u64 = BASE_TIME / 1_000;
const TRACE: u128 = 0x5b8e_fff7_9803_8103_d269_b633_813f_c60c;

fn span(name: &str) -> SpanBuilder {
    SpanBuilder::new("checkout", name, TRACE, 0x11)
}

fn encode(builder: SpanBuilder) -> JaegerSpan {
    trace_to_jaeger(&trace_of(vec![builder.build()])).spans.remove(0)
}

fn text(value: &str) -> AnyValue {
    AnyValue::String(value.into())
}

fn tag<'a>(span: &'a JaegerSpan, key: &str) -> Option<&'a JaegerKeyValue> {
    span.tags.iter().find(|kv| kv.key == key)
}

fn keys(tags: &[JaegerKeyValue]) -> Vec<&str> {
    tags.iter().map(|kv| kv.key.as_str()).collect()
}

#[test]
fn server_span_with_error_serializes_fully() {
    let record = span("GET /cart")
        .timing(0, 250_000_000)
        .resource_attr("host.name", text("web-1"))
        .attr("http.method", text("GET"))
        .event(100_000_000, "retry", vec![])
        .status(StatusCode::Error, "timeout")
        .build();
    let text = serde_json::to_string(&trace_to_jaeger(&trace_of(vec![record]))).unwrap();
    let expected = concat!(
        r#"{"traceID":"5b8efff798038103d269b633813fc60c","spans":[{"traceID":"5b8efff798038103d269b633813fc60c","#,
        r#""spanID":"0000000000000011","flags":1,"operationName":"GET /cart","references":[],"#,
        r#""startTime":1700000000000000,"duration":250000,"tags":["#,
        r#"{"key":"http.method","type":"string","value":"GET"},"#,
        r#"{"key":"span.kind","type":"string","value":"server"},"#,
        r#"{"key":"otel.status_code","type":"string","value":"ERROR"},"#,
        r#"{"key":"error","type":"bool","value":true},"#,
        r#"{"key":"otel.status_description","type":"string","value":"timeout"}],"#,
        r#""logs":[{"timestamp":1700000000100000,"fields":[{"key":"event","type":"string","value":"retry"}]}],"#,
        r#""processID":"p1","warnings":null}],"#,
        r#""processes":{"p1":{"serviceName":"checkout","tags":[{"key":"host.name","type":"string","value":"web-1"}]}},"#,
        r#""warnings":null}"#
    );
    assert_eq!(text, expected);
}

#[test]
fn client_span_with_links_scope_and_counts_serializes_fully() {
    let record = span("charge")
        .kind(SpanKind::Client)
        .parent(0x22)
        .timing(1_500, 1_000_999)
        .scope("io.example.pay", "1.2.0")
        .attr("retries", AnyValue::Int(2))
        .event(2_000, "ack", vec![KeyValue::new("bytes", AnyValue::Int(12))])
        .link(0xabc, 0x33, vec![])
        .status(StatusCode::Ok, "")
        .with(|r| {
            r.span.flags = 0x301;
            r.span.trace_state = "vendor=1".into();
            r.span.dropped_links_count = 2;
        })
        .build();
    let expected = json!({
        "traceID": "5b8efff798038103d269b633813fc60c",
        "spanID": "0000000000000011",
        "flags": 1,
        "operationName": "charge",
        "references": [
            {"refType": "CHILD_OF", "traceID": "5b8efff798038103d269b633813fc60c", "spanID": "0000000000000022"},
            {"refType": "FOLLOWS_FROM", "traceID": "0000000000000abc", "spanID": "0000000000000033"}
        ],
        "startTime": BASE_MICROS + 1,
        "duration": 1000,
        "tags": [
            {"key": "retries", "type": "int64", "value": 2},
            {"key": "otel.scope.name", "type": "string", "value": "io.example.pay"},
            {"key": "otel.library.name", "type": "string", "value": "io.example.pay"},
            {"key": "otel.scope.version", "type": "string", "value": "1.2.0"},
            {"key": "otel.library.version", "type": "string", "value": "1.2.0"},
            {"key": "span.kind", "type": "string", "value": "client"},
            {"key": "otel.status_code", "type": "string", "value": "OK"},
            {"key": "w3c.tracestate", "type": "string", "value": "vendor=1"},
            {"key": "otel.dropped_links_count", "type": "int64", "value": 2}
        ],
        "logs": [{"timestamp": BASE_MICROS + 3, "fields": [
            {"key": "event", "type": "string", "value": "ack"},
            {"key": "bytes", "type": "int64", "value": 12}
        ]}],
        "processID": "p1",
        "warnings": null
    });
    let jaeger = trace_to_jaeger(&trace_of(vec![record])).spans.remove(0);
    assert_eq!(serde_json::to_value(jaeger).unwrap(), expected);
}

#[test]
fn trace_id_is_16_digits_when_high_half_is_zero() {
    let trace =
        trace_to_jaeger(&trace_of(vec![SpanBuilder::new("svc", "op", 0xd269_b633_813f_c60c, 1).parent(2).build()]));
    assert_eq!(trace.trace_id, "d269b633813fc60c");
    assert_eq!(trace.spans[0].trace_id, "d269b633813fc60c");
    assert_eq!(trace.spans[0].references[0].trace_id, "d269b633813fc60c");
}

#[test]
fn trace_id_is_32_digits_when_high_half_is_set() {
    assert_eq!(encode(span("op")).trace_id, "5b8efff798038103d269b633813fc60c");
}

#[test]
fn root_span_has_no_references() {
    assert!(encode(span("op")).references.is_empty());
}

#[test]
fn links_become_follows_from_after_parent() {
    let jaeger = encode(span("op").link(7, 8, vec![]).parent(0x22).link(9, 10, vec![]));
    let refs: Vec<(JaegerRefType, &str)> = jaeger.references.iter().map(|r| (r.ref_type, r.span_id.as_str())).collect();
    assert_eq!(
        refs,
        [
            (JaegerRefType::ChildOf, "0000000000000022"),
            (JaegerRefType::FollowsFrom, "0000000000000008"),
            (JaegerRefType::FollowsFrom, "000000000000000a"),
        ]
    );
}

#[test]
fn child_of_link_attribute_makes_a_child_of_reference() {
    let attributes = vec![KeyValue::new(semconv::OPENTRACING_REF_TYPE, text("child_of"))];
    let jaeger = encode(span("op").link(7, 8, attributes));
    assert_eq!(jaeger.references[0].ref_type, JaegerRefType::ChildOf);
    assert_eq!(jaeger.references[0].trace_id, "0000000000000007");
}

#[test]
fn times_are_truncated_to_microseconds() {
    let jaeger = encode(span("op").timing(1_999, 2_999));
    assert_eq!((jaeger.start_time, jaeger.duration), (BASE_MICROS + 1, 2));
    assert_eq!(encode(span("op").timing(0, 999)).duration, 0);
}

#[test]
fn span_kind_is_a_lower_case_tag() {
    for (kind, name) in [
        (SpanKind::Client, "client"),
        (SpanKind::Server, "server"),
        (SpanKind::Producer, "producer"),
        (SpanKind::Consumer, "consumer"),
        (SpanKind::Internal, "internal"),
    ] {
        let jaeger = encode(span("op").kind(kind));
        assert_eq!(tag(&jaeger, semconv::SPAN_KIND), Some(&JaegerKeyValue::string("span.kind", name)));
    }
}

#[test]
fn unspecified_kind_has_no_span_kind_tag() {
    assert!(encode(span("op").kind(SpanKind::Unspecified)).tags.is_empty());
}

#[test]
fn unset_status_sets_no_tags() {
    let jaeger = encode(span("op").kind(SpanKind::Unspecified).status(StatusCode::Unset, "ignored"));
    assert!(jaeger.tags.is_empty());
}

#[test]
fn ok_status_sets_status_code() {
    let jaeger = encode(span("op").kind(SpanKind::Unspecified).status(StatusCode::Ok, ""));
    assert_eq!(jaeger.tags, [JaegerKeyValue::string("otel.status_code", "OK")]);
}

#[test]
fn error_status_sets_bool_error_and_description() {
    let jaeger = encode(span("op").kind(SpanKind::Unspecified).status(StatusCode::Error, "boom"));
    assert_eq!(
        jaeger.tags,
        [
            JaegerKeyValue::string("otel.status_code", "ERROR"),
            JaegerKeyValue::bool("error", true),
            JaegerKeyValue::string("otel.status_description", "boom"),
        ]
    );
}

#[test]
fn error_status_without_message_has_no_description() {
    let jaeger = encode(span("op").status(StatusCode::Error, ""));
    assert!(tag(&jaeger, semconv::OTEL_STATUS_DESCRIPTION).is_none());
}

#[test]
fn derived_tag_replaces_an_attribute_of_the_same_key() {
    let jaeger = encode(
        span("op")
            .attr(semconv::ERROR, AnyValue::Bool(false))
            .attr("http.route", text("/cart"))
            .status(StatusCode::Error, ""),
    );
    assert_eq!(keys(&jaeger.tags), ["http.route", "span.kind", "otel.status_code", "error"]);
    assert_eq!(tag(&jaeger, semconv::ERROR).unwrap().value, json!(true));
}

#[test]
fn scope_sets_scope_and_library_tags() {
    let jaeger = encode(span("op").kind(SpanKind::Unspecified).scope("io.example", "2.0"));
    assert_eq!(
        keys(&jaeger.tags),
        ["otel.scope.name", "otel.library.name", "otel.scope.version", "otel.library.version"]
    );
    let only_name = encode(span("op").kind(SpanKind::Unspecified).scope("io.example", ""));
    assert_eq!(keys(&only_name.tags), ["otel.scope.name", "otel.library.name"]);
}

#[test]
fn trace_state_becomes_w3c_tracestate_tag() {
    let jaeger = encode(span("op").with(|r| r.span.trace_state = "rojo=1".into()));
    assert_eq!(tag(&jaeger, semconv::W3C_TRACESTATE), Some(&JaegerKeyValue::string("w3c.tracestate", "rojo=1")));
}

#[test]
fn dropped_counts_are_int64_tags_when_positive() {
    let jaeger = encode(span("op").kind(SpanKind::Unspecified).with(|r| {
        r.span.dropped_attributes_count = 1;
        r.span.dropped_events_count = 2;
    }));
    assert_eq!(
        jaeger.tags,
        [
            JaegerKeyValue::int64("otel.dropped_attributes_count", 1),
            JaegerKeyValue::int64("otel.dropped_events_count", 2),
        ]
    );
}

#[test]
fn attributes_keep_their_types() {
    let jaeger = encode(
        span("op")
            .kind(SpanKind::Unspecified)
            .attr("s", text("x"))
            .attr("b", AnyValue::Bool(true))
            .attr("i", AnyValue::Int(-42))
            .attr("d", AnyValue::Double(3.25))
            .attr("bytes", AnyValue::Bytes(vec![1, 2, 3]))
            .attr("list", AnyValue::Array(vec![text("a"), AnyValue::Int(1)]))
            .attr("map", AnyValue::KvList(vec![KeyValue::new("k", AnyValue::Bool(false))]))
            .attr("empty", AnyValue::Empty),
    );
    assert_eq!(
        serde_json::to_value(&jaeger.tags).unwrap(),
        json!([
            {"key": "s", "type": "string", "value": "x"},
            {"key": "b", "type": "bool", "value": true},
            {"key": "i", "type": "int64", "value": -42},
            {"key": "d", "type": "float64", "value": 3.25},
            {"key": "bytes", "type": "binary", "value": "AQID"},
            {"key": "list", "type": "string", "value": "[\"a\",1]"},
            {"key": "map", "type": "string", "value": "{\"k\":false}"},
            {"key": "empty", "type": "string", "value": ""}
        ])
    );
}

#[test]
fn large_int64_is_a_string() {
    let max_safe = (1_i64 << 53) - 1;
    assert_eq!(JaegerKeyValue::int64("k", max_safe).value, json!(max_safe));
    assert_eq!(JaegerKeyValue::int64("k", -max_safe).value, json!(-max_safe));
    assert_eq!(JaegerKeyValue::int64("k", max_safe + 1).value, json!("9007199254740992"));
    assert_eq!(JaegerKeyValue::int64("k", i64::MIN).value, json!("-9223372036854775808"));
    assert_eq!(JaegerKeyValue::int64("k", i64::MAX).value_type, JaegerValueType::Int64);
}

#[test]
fn non_finite_double_is_a_string_value() {
    let kv = JaegerKeyValue::from_attribute(&KeyValue::new("d", AnyValue::Double(f64::NAN)));
    assert_eq!((kv.value_type, kv.value), (JaegerValueType::Float64, json!("NaN")));
}

#[test]
fn events_become_logs_with_event_field_first() {
    let jaeger = encode(span("op").event(1_500, "retry", vec![KeyValue::new("attempt", AnyValue::Int(2))]));
    assert_eq!(
        jaeger.logs,
        [JaegerLog {
            timestamp: BASE_MICROS + 1,
            fields: vec![JaegerKeyValue::string("event", "retry"), JaegerKeyValue::int64("attempt", 2)],
        }]
    );
}

#[test]
fn event_attribute_named_event_suppresses_the_name() {
    let jaeger = encode(span("op").event(0, "log", vec![KeyValue::new("event", text("custom"))]));
    assert_eq!(jaeger.logs[0].fields, [JaegerKeyValue::string("event", "custom")]);
}

#[test]
fn flags_keep_only_w3c_bits_and_are_omitted_when_zero() {
    assert_eq!(encode(span("op").with(|r| r.span.flags = 0x301)).flags, 1);
    let unsampled = encode(span("op").with(|r| r.span.flags = 0x100));
    assert_eq!(unsampled.flags, 0);
    assert!(serde_json::to_value(&unsampled).unwrap().get("flags").is_none());
}

#[test]
fn warnings_are_null() {
    let value = serde_json::to_value(trace_to_jaeger(&trace_of(vec![span("op").build()]))).unwrap();
    assert_eq!(value["warnings"], serde_json::Value::Null);
    assert_eq!(value["spans"][0]["warnings"], serde_json::Value::Null);
}

#[test]
fn processes_are_shared_between_identical_resources() {
    // Separate Arcs with equal contents: comparison is by content, not pointer.
    let a = span("a").resource_attr("host.name", text("web-1")).build();
    let b = span("b").resource_attr("host.name", text("web-1")).build();
    assert!(!Arc::ptr_eq(&a.resource, &b.resource));
    let trace = trace_to_jaeger(&trace_of(vec![a, b]));
    assert_eq!(trace.processes.len(), 1);
    assert_eq!(trace.spans[0].process_id, "p1");
    assert_eq!(trace.spans[1].process_id, "p1");
}

#[test]
fn distinct_resources_get_ids_in_first_seen_order() {
    let records: Vec<_> = (0..11)
        .map(|i| SpanBuilder::new(&format!("svc-{i}"), "op", TRACE, i + 1).build())
        .chain([SpanBuilder::new("svc-0", "again", TRACE, 99).build()])
        .collect();
    let trace = trace_to_jaeger(&trace_of(records));
    let ids: Vec<&str> = trace.spans.iter().map(|s| s.process_id.as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p1"]);
    // Serialized in first-seen order, so p10 follows p9 rather than p1.
    let text = serde_json::to_string(&trace.processes).unwrap();
    assert!(text.find("\"p9\"").unwrap() < text.find("\"p10\"").unwrap());
    assert!(text.find("\"p2\"").unwrap() < text.find("\"p10\"").unwrap());
    assert_eq!(trace.processes.get("p11").unwrap().service_name, "svc-10");
}

#[test]
fn process_tags_are_resource_attributes_without_service_name() {
    let trace = trace_to_jaeger(&trace_of(vec![span("op")
        .resource_attr("host.name", text("web-1"))
        .resource_attr("process.pid", AnyValue::Int(42))
        .build()]));
    let process = trace.processes.get("p1").unwrap();
    assert_eq!(process.service_name, "checkout");
    assert_eq!(process.tags, [JaegerKeyValue::string("host.name", "web-1"), JaegerKeyValue::int64("process.pid", 42)]);
}

#[test]
fn missing_service_name_is_unknown_service() {
    let record = span("op").with(|r| Arc::make_mut(&mut r.resource).attributes.clear()).build();
    let trace = trace_to_jaeger(&trace_of(vec![record]));
    assert_eq!(trace.processes.get("p1").unwrap().service_name, "unknown_service");
}

#[test]
fn trace_keeps_the_order_of_its_spans() {
    let trace = trace_of(vec![
        span("late").timing(5_000, 1).with(|r| r.span.span_id = span_id(3)).build(),
        span("early").with(|r| r.span.span_id = span_id(4)).build(),
    ]);
    let names: Vec<String> = trace_to_jaeger(&trace).spans.into_iter().map(|s| s.operation_name).collect();
    assert_eq!(names, ["late", "early"]);
}
