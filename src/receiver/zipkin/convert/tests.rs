use super::*;
use crate::model::{Scope, SpanRecord, Trace};
use crate::query::zipkin::json::trace_to_zipkin;
use crate::receiver::zipkin::v2_json::decode_spans;
use std::sync::Arc;

fn convert_json(json: &str) -> Converted {
    spans_into_model(decode_spans(json.as_bytes()).expect("valid JSON"))
}

fn records(converted: &Converted) -> Vec<SpanRecord> {
    converted.batch.clone().into_records().collect()
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attribute(key)
}

const SERVER: &str = r#"[{"traceId":"9c1e4d2a7b3f5e60","parentId":"1a2b3c4d5e6f7081","id":"7d8e9fa0b1c2d3e4",
  "kind":"SERVER","name":"post /orders","timestamp":1700000000123456,"duration":2750,
  "localEndpoint":{"serviceName":"orders","ipv4":"10.0.3.7","port":8080},
  "remoteEndpoint":{"serviceName":"web","ipv4":"10.0.1.15","port":51234},
  "annotations":[{"timestamp":1700000000123500,"value":"wr"}],
  "tags":{"http.method":"POST","error":"db timeout","host.name":"node-1"}}]"#;

#[test]
fn maps_endpoints_kind_times_and_error() {
    let converted = convert_json(SERVER);
    assert_eq!((converted.received, converted.rejected), (1, 0));
    let records = records(&converted);
    let record = &records[0];
    let span = &record.span;
    assert_eq!(record.service_name(), "orders");
    assert_eq!(record.resource.attributes[1], KeyValue::new("host.name", AnyValue::String("node-1".into())));
    assert_eq!(span.trace_id.to_hex(), "00000000000000009c1e4d2a7b3f5e60");
    assert_eq!(span.kind, SpanKind::Server);
    assert_eq!(span.start, UnixNanos(1_700_000_000_123_456_000));
    assert_eq!(span.duration_nanos(), 2_750_000);
    assert_eq!(span.status, Status { code: StatusCode::Error, message: "db timeout".into() });
    assert_eq!(attr(span, "net.host.ip"), Some(&AnyValue::String("10.0.3.7".into())));
    assert_eq!(attr(span, "net.host.port"), Some(&AnyValue::Int(8080)));
    assert_eq!(attr(span, "peer.service"), Some(&AnyValue::String("web".into())));
    assert_eq!(attr(span, "net.peer.ip"), Some(&AnyValue::String("10.0.1.15".into())));
    assert_eq!(attr(span, "error"), None, "the error tag became the status");
    assert_eq!(span.events[0].name, "wr");
}

#[test]
fn zipkin_spans_read_back_as_sent() {
    let converted = convert_json(SERVER);
    let spans: Vec<_> = records(&converted).into_iter().map(Arc::new).collect();
    let out = trace_to_zipkin(&Trace { trace_id: spans[0].span.trace_id, spans });
    let mut json = serde_json::to_value(&out).unwrap();
    // The one addition: the status code tag the specification requires beside `error`.
    let tags = json[0]["tags"].as_object_mut().unwrap();
    assert_eq!(tags.remove("otel.status_code"), Some("ERROR".into()));
    let sent: serde_json::Value = serde_json::from_str(SERVER).unwrap();
    assert_eq!(json, sent);
}

#[test]
fn any_error_value_is_an_error_and_true_has_no_message() {
    for (value, message) in [("true", ""), ("", ""), ("false", "false"), ("boom", "boom")] {
        let json = format!(r#"[{{"traceId":"1","id":"2","timestamp":1,"tags":{{"error":"{value}"}}}}]"#);
        let span = &records(&convert_json(&json))[0].span;
        assert_eq!(span.status, Status { code: StatusCode::Error, message: message.into() }, "{value}");
    }
}

#[test]
fn otel_tags_restore_status_scope_links_and_counts() {
    let json = r#"[{"traceId":"5b8efff798038103d269b633813fc60c","id":"eee19b7ec3c1b174","timestamp":10,"duration":5,
      "localEndpoint":{"serviceName":"api"},
      "tags":{"otel.status_code":"OK","otel.scope.name":"io.lib","otel.scope.version":"1.0",
        "otel.library.name":"io.lib","otel.library.version":"1.0","w3c.tracestate":"k=v",
        "otel.dropped_attributes_count":"2","span.kind":"internal",
        "otlp.link.0":"5b8efff798038103d269b633813fc60c|eee19b7ec3c1b173|t=1|{\"a\":1}|0"}}]"#;
    let records = records(&convert_json(json));
    let record = &records[0];
    assert_eq!(*record.scope, Scope { name: "io.lib".into(), version: "1.0".into(), ..Scope::default() });
    let span = &record.span;
    assert_eq!(span.status.code, StatusCode::Ok);
    assert_eq!(span.kind, SpanKind::Internal);
    assert_eq!(span.trace_state, "k=v");
    assert_eq!(span.dropped_attributes_count, 2);
    assert_eq!(span.links.len(), 1);
    assert_eq!(span.links[0].span_id.to_hex(), "eee19b7ec3c1b173");
    assert_eq!(span.links[0].trace_state, "t=1");
    assert_eq!(span.links[0].attributes, vec![KeyValue::new("a", AnyValue::Int(1))]);
    assert!(span.attributes.is_empty(), "{:?}", span.attributes);
}

#[test]
fn annotations_with_attributes_become_typed_events() {
    let json = r#"[{"traceId":"1","id":"2","timestamp":10,"annotations":[
        {"timestamp":11,"value":"\"retry\": {\"attempt\":2,\"ok\":false}"},
        {"timestamp":12,"value":"cache|{\"hit\":true}|1"},
        {"timestamp":13,"value":"plain: text"}]}]"#;
    let events = records(&convert_json(json))[0].span.events.clone();
    assert_eq!(events[0].name, "retry");
    assert_eq!(
        events[0].attributes,
        vec![KeyValue::new("attempt", AnyValue::Int(2)), KeyValue::new("ok", AnyValue::Bool(false))]
    );
    assert_eq!(events[1].name, "cache");
    assert_eq!(events[1].dropped_attributes_count, 1);
    assert_eq!(events[2].name, "plain: text");
    assert!(events[2].attributes.is_empty());
}

#[test]
fn absent_timestamp_starts_at_first_annotation_and_reads_back_absent() {
    let json = r#"[{"traceId":"1","id":"2","annotations":[{"timestamp":500,"value":"x"}]}]"#;
    let records = records(&convert_json(json));
    assert_eq!(records[0].span.start, UnixNanos::from_micros(500));
    let spans: Vec<_> = records.into_iter().map(Arc::new).collect();
    let out = trace_to_zipkin(&Trace { trace_id: spans[0].span.trace_id, spans });
    assert_eq!(out[0].timestamp, None);
    assert!(!out[0].tags.contains_key("otel.zipkin.absentField.startTime"));
}

#[test]
fn bad_spans_are_rejected_alone() {
    let json = r#"[{"traceId":"zz","id":"2"},{"id":"3"},{"traceId":"1","id":"0"},
        {"traceId":"1","id":"4","kind":"SIDEWAYS"},{"traceId":"1","id":"5","timestamp":1}]"#;
    let converted = convert_json(json);
    assert_eq!((converted.received, converted.rejected), (5, 4));
    assert_eq!(converted.batch.span_count(), 1);
    assert!(converted.first_error.unwrap().contains("trace id"));
}

#[test]
fn shared_server_and_client_are_two_spans_with_one_id() {
    let json = r#"[
      {"traceId":"a","id":"b","kind":"CLIENT","name":"get","timestamp":10,"duration":9,"localEndpoint":{"serviceName":"web"}},
      {"traceId":"a","id":"b","kind":"SERVER","name":"get","timestamp":12,"duration":5,"shared":true,"localEndpoint":{"serviceName":"api"}}]"#;
    let records = records(&convert_json(json));
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].span.span_id, records[1].span.span_id);
    assert!(!records[0].span.shared && records[1].span.shared);
    assert_eq!((records[0].service_name(), records[1].service_name()), ("web", "api"));
}

#[test]
fn v1_json_is_refused_on_the_v2_path() {
    let err = decode_spans(br#"[{"traceId":"1","id":"1","binaryAnnotations":[]}]"#).unwrap_err();
    assert!(err.to_string().contains("/api/v1/spans"), "{err}");
}

#[test]
fn proto_round_trips_every_field() {
    use crate::receiver::zipkin::v2_proto;
    let decoded: Vec<_> = decode_spans(SERVER.as_bytes()).unwrap().into_iter().map(Result::unwrap).collect();
    let mut with_flags = decoded.clone();
    with_flags[0].debug = true;
    with_flags[0].shared = true;
    with_flags[0].tags.sort();
    // Endpoint.ipv6 (field 3) travels as 16 bytes.
    let ipv6: std::net::Ipv6Addr = "2001:db8::7".parse().unwrap();
    with_flags[0].local_endpoint.as_mut().unwrap().ipv6 = Some(ipv6);
    with_flags[0].remote_endpoint.as_mut().unwrap().ipv6 = Some(std::net::Ipv6Addr::LOCALHOST);
    let bytes = v2_proto::encode_spans(&with_flags);
    let back: Vec<_> = v2_proto::decode_spans(&bytes).unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(back, with_flags);
    assert_eq!(back[0].local_endpoint.as_ref().unwrap().ipv6, Some(ipv6));
}

#[test]
fn proto_body_must_be_a_list_of_spans() {
    use crate::receiver::zipkin::v2_proto;
    assert!(v2_proto::decode_spans(b"").unwrap().is_empty());
    let err = v2_proto::decode_spans(b"\x12\x00").unwrap_err();
    assert!(err.to_string().contains("ListOfSpans"), "{err}");
    assert!(v2_proto::decode_spans(b"\x0a\xff").is_err());
}

mod props {
    use super::*;
    use crate::testkit::SpanBuilder;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9./_-]{0,12}"
    }

    fn record() -> impl Strategy<Value = SpanRecord> {
        (
            text(),
            text(),
            1u64..u64::MAX,
            any::<u64>(),
            prop::option::of(1u64..u64::MAX),
            0usize..6,
            prop::collection::vec((text(), text()), 0..4),
            prop::collection::vec((text(), any::<i64>()), 0..3),
            0u8..3,
            any::<bool>(),
        )
            .prop_map(|(service, name, span, trace_lo, parent, kind, strings, ints, status, shared)| {
                let kinds = SpanKind::ALL;
                let mut builder = SpanBuilder::new(&service, &name, u128::from(trace_lo) | 1 << 64, span)
                    .kind(kinds[kind])
                    .timing(1_000 * (span % 1000), 1_000 * (1 + span % 5000));
                if let Some(parent) = parent {
                    builder = builder.parent(parent);
                }
                for (k, v) in strings {
                    builder = builder.attr(&format!("s.{k}"), AnyValue::String(v));
                }
                for (k, v) in ints {
                    builder = builder.attr(&format!("i.{k}"), AnyValue::Int(v));
                }
                builder = match status {
                    0 => builder,
                    1 => builder.status(StatusCode::Ok, ""),
                    _ => builder.status(StatusCode::Error, "failed"),
                };
                builder.with(|r| r.span.shared = shared && r.span.kind == SpanKind::Server).build()
            })
    }

    proptest! {
        /// Zipkin JSON out, decoded and converted back, then out again: the same JSON.
        #[test]
        fn zipkin_json_round_trip_is_stable(records in prop::collection::vec(record(), 1..6)) {
            let trace_id = records[0].span.trace_id;
            let first = trace_to_zipkin(&Trace { trace_id, spans: records.into_iter().map(Arc::new).collect() });
            let json = serde_json::to_vec(&first).unwrap();
            let converted = spans_into_model(decode_spans(&json).unwrap());
            prop_assert_eq!(converted.rejected, 0);
            let again: Vec<_> = converted.batch.into_records().map(Arc::new).collect();
            let second = trace_to_zipkin(&Trace { trace_id, spans: again });
            // Spans are regrouped by service on the way in, so compare them in a fixed order.
            let sorted = |spans: &[crate::query::zipkin::json::ZipkinSpan]| {
                let mut texts: Vec<String> = spans.iter().map(|s| serde_json::to_string(s).unwrap()).collect();
                texts.sort();
                texts
            };
            prop_assert_eq!(sorted(&first), sorted(&second));
        }

        /// Zipkin spans through proto3 and back: every field the same.
        #[test]
        fn zipkin_proto_round_trip_keeps_every_field(records in prop::collection::vec(record(), 1..6)) {
            use crate::receiver::zipkin::v2_proto;
            let trace_id = records[0].span.trace_id;
            let json = serde_json::to_vec(&trace_to_zipkin(&Trace { trace_id, spans: records.into_iter().map(Arc::new).collect() })).unwrap();
            let mut spans: Vec<_> = decode_spans(&json).unwrap().into_iter().map(Result::unwrap).collect();
            for span in &mut spans {
                span.tags.sort();
            }
            let back: Vec<_> = v2_proto::decode_spans(&v2_proto::encode_spans(&spans)).unwrap().into_iter().map(Result::unwrap).collect();
            prop_assert_eq!(back, spans);
        }

        /// Arbitrary bytes never panic the v2 decoders, and every decoded span is counted.
        #[test]
        fn v2_decoders_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(spans) = decode_spans(&body) {
                let n = spans.len();
                let converted = spans_into_model(spans);
                prop_assert_eq!(converted.received, n);
            }
            if let Ok(spans) = crate::receiver::zipkin::v2_proto::decode_spans(&body) {
                let converted = spans_into_model(spans);
                prop_assert_eq!(converted.received, converted.batch.span_count() + converted.rejected);
            }
        }
    }
}
