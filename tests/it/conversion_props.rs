//! Property tests: arbitrary valid OTLP requests survive protobuf decode → model → Zipkin and
//! Jaeger JSON with ids, timestamps, names and attribute values intact.

use std::sync::Arc;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, ArrayValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use proptest::prelude::*;
use prost::Message;
use tracehound::model::Trace;
use tracehound::query::jaeger::json::trace_to_jaeger;
use tracehound::query::zipkin::json::span_to_zipkin;
use tracehound::receiver::otlp::convert::{decode_protobuf, request_into_model};

use crate::common::{attr, request, resource_spans};

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9 /_.-]{0,16}".prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        any::<i64>().prop_map(Value::IntValue),
        (-1e12f64..1e12).prop_map(Value::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => arb_scalar(),
        1 => proptest::collection::vec(arb_scalar(), 0..3).prop_map(|values| {
            Value::ArrayValue(ArrayValue {
                values: values
                    .into_iter()
                    .map(|v| opentelemetry_proto::tonic::common::v1::AnyValue { value: Some(v) })
                    .collect(),
            })
        }),
    ]
}

prop_compose! {
    fn arb_span()(
        trace in proptest::array::uniform16(any::<u8>()).prop_filter("non-zero", |a| a.iter().any(|b| *b != 0)),
        id in 1u64..,
        parent in proptest::option::of(1u64..),
        name in "[a-zA-Z0-9 /_.-]{1,24}",
        kind in 0i32..6,
        start in 1_000_000_000u64..4_000_000_000_000_000_000,
        duration in 0u64..100_000_000_000,
        // Keys outside every name the translators derive or consume, so each attribute is shown as is.
        attrs in proptest::collection::btree_map("x\\.[a-z]{1,8}", arb_value(), 0..5),
    ) -> Span {
        let mut span = crate::common::span(trace, id, parent, &name, kind, start, duration);
        span.attributes = attrs.into_iter().map(|(k, v)| attr(&k, v)).collect();
        span
    }
}

/// What a string-only format shows for an OTLP value.
fn text(value: &Value) -> String {
    match value {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        Value::BytesValue(b) => base64::engine::general_purpose::STANDARD.encode(b),
        _ => String::new(),
    }
}

fn short_hex(trace: &[u8]) -> String {
    let hex = crate::common::hex(trace);
    if trace[..8].iter().all(|b| *b == 0) {
        hex[16..].to_owned()
    } else {
        hex
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn otlp_survives_into_zipkin_and_jaeger(spans in proptest::collection::vec(arb_span(), 1..8)) {
        let bytes = request(vec![resource_spans("svc", spans.clone())]).encode_to_vec();
        let converted = request_into_model(decode_protobuf(&bytes).unwrap());
        prop_assert_eq!(converted.rejected, 0);
        let records: Vec<_> = converted.batch.into_records().collect();
        prop_assert_eq!(records.len(), spans.len());
        for (record, original) in records.iter().zip(&spans) {
            let zipkin = serde_json::to_value(span_to_zipkin(record)).unwrap();
            prop_assert_eq!(&zipkin["traceId"], &serde_json::json!(short_hex(&original.trace_id)));
            prop_assert_eq!(&zipkin["id"], &serde_json::json!(crate::common::hex(&original.span_id)));
            prop_assert_eq!(&zipkin["name"], &serde_json::json!(original.name));
            prop_assert_eq!(&zipkin["timestamp"], &serde_json::json!(original.start_time_unix_nano / 1000));
            let micros = (original.end_time_unix_nano - original.start_time_unix_nano) / 1000;
            prop_assert_eq!(&zipkin["duration"], &serde_json::json!(micros.max(1)));
            for kv in &original.attributes {
                let value = kv.value.as_ref().and_then(|v| v.value.as_ref()).unwrap();
                if matches!(value, Value::ArrayValue(_)) {
                    let shown: serde_json::Value = serde_json::from_str(zipkin["tags"][&kv.key].as_str().unwrap()).unwrap();
                    prop_assert!(shown.is_array());
                } else {
                    prop_assert_eq!(&zipkin["tags"][&kv.key], &serde_json::json!(text(value)));
                }
            }

            let trace = Trace { trace_id: record.span.trace_id, spans: vec![Arc::new(record.clone())] };
            let jaeger = serde_json::to_value(trace_to_jaeger(&trace)).unwrap();
            let span = &jaeger["spans"][0];
            prop_assert_eq!(&span["traceID"], &serde_json::json!(short_hex(&original.trace_id)));
            prop_assert_eq!(&span["spanID"], &serde_json::json!(crate::common::hex(&original.span_id)));
            prop_assert_eq!(&span["operationName"], &serde_json::json!(original.name));
            prop_assert_eq!(&span["startTime"], &serde_json::json!(original.start_time_unix_nano / 1000));
            prop_assert_eq!(&span["duration"], &serde_json::json!(micros));
            let tags = span["tags"].as_array().unwrap();
            for kv in &original.attributes {
                let tag = tags.iter().find(|t| t["key"] == kv.key.as_str()).unwrap();
                let value = kv.value.as_ref().and_then(|v| v.value.as_ref()).unwrap();
                let expected = match value {
                    Value::StringValue(s) => serde_json::json!({"key": kv.key, "type": "string", "value": s}),
                    Value::BoolValue(b) => serde_json::json!({"key": kv.key, "type": "bool", "value": b}),
                    Value::IntValue(i) if i.unsigned_abs() < (1 << 53) => serde_json::json!({"key": kv.key, "type": "int64", "value": i}),
                    Value::IntValue(i) => serde_json::json!({"key": kv.key, "type": "int64", "value": i.to_string()}),
                    Value::DoubleValue(d) => serde_json::json!({"key": kv.key, "type": "float64", "value": d}),
                    Value::BytesValue(_) => serde_json::json!({"key": kv.key, "type": "binary", "value": text(value)}),
                    _ => tag.clone(),
                };
                prop_assert_eq!(tag, &expected);
            }
            if let Some(parent) = &record.span.parent_span_id {
                prop_assert_eq!(&span["references"][0]["spanID"], &serde_json::json!(parent.to_string()));
                prop_assert_eq!(&span["references"][0]["refType"], &serde_json::json!("CHILD_OF"));
            }
        }
    }
}
