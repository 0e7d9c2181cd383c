use opentelemetry_proto::tonic::common::v1::ArrayValue;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans as OtlpResourceSpans, ScopeSpans as OtlpScopeSpans};
use proptest::prelude::*;
use prost::Message;

use super::*;

fn kv(key: &str, value: Option<OtlpAnyValue>) -> OtlpKeyValue {
    OtlpKeyValue { key: key.into(), value, ..Default::default() }
}

fn otlp_span(trace: &[u8], span: &[u8], start: u64, end: u64) -> OtlpSpan {
    OtlpSpan {
        trace_id: trace.to_vec(),
        span_id: span.to_vec(),
        name: "op".into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

fn request(spans: Vec<OtlpSpan>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![OtlpResourceSpans {
            resource: Some(OtlpResource {
                attributes: vec![kv(
                    "service.name",
                    Some(OtlpAnyValue { value: Some(OtlpValue::StringValue("svc".into())) }),
                )],
                ..Default::default()
            }),
            scope_spans: vec![OtlpScopeSpans { scope: None, spans, schema_url: String::new() }],
            schema_url: String::new(),
        }],
    }
}

#[test]
fn invalid_spans_are_rejected_one_by_one() {
    let good = otlp_span(&[1; 16], &[2; 8], 10, 20);
    let zero_trace = otlp_span(&[0; 16], &[2; 8], 10, 20);
    let short_span = otlp_span(&[1; 16], &[2; 2], 10, 20);
    let backwards = otlp_span(&[1; 16], &[3; 8], 20, 10);
    let converted = request_into_model(request(vec![good, zero_trace, short_span, backwards]));
    assert_eq!(converted.received, 4);
    assert_eq!(converted.rejected, 3);
    assert_eq!(converted.batch.span_count(), 1);
    let partial = converted.partial_success().unwrap();
    assert_eq!(partial.rejected_spans, 3);
    assert!(partial.error_message.contains("trace id must not be all zero"), "{}", partial.error_message);
}

#[test]
fn fully_valid_request_has_no_partial_success() {
    let converted = request_into_model(request(vec![otlp_span(&[1; 16], &[2; 8], 10, 20)]));
    assert!(converted.partial_success().is_none());
}

#[test]
fn zero_parent_means_root_and_bad_links_are_counted_dropped() {
    let mut span = otlp_span(&[1; 16], &[2; 8], 10, 20);
    span.parent_span_id = vec![0; 8];
    span.links = vec![
        OtlpLink { trace_id: vec![1; 16], span_id: vec![9; 8], ..Default::default() },
        OtlpLink { trace_id: vec![1; 3], span_id: vec![9; 8], ..Default::default() },
    ];
    let span = span_into_model(span).unwrap();
    assert_eq!(span.parent_span_id, None);
    assert_eq!(span.links.len(), 1);
    assert_eq!(span.dropped_links_count, 1);
}

#[test]
fn every_value_type_converts() {
    let mut span = otlp_span(&[1; 16], &[2; 8], 10, 20);
    let v = |value| Some(OtlpAnyValue { value: Some(value) });
    span.attributes = vec![
        kv("s", v(OtlpValue::StringValue("x".into()))),
        kv("b", v(OtlpValue::BoolValue(true))),
        kv("i", v(OtlpValue::IntValue(-3))),
        kv("d", v(OtlpValue::DoubleValue(0.5))),
        kv("y", v(OtlpValue::BytesValue(vec![1, 2]))),
        kv(
            "a",
            v(OtlpValue::ArrayValue(ArrayValue { values: vec![OtlpAnyValue { value: Some(OtlpValue::IntValue(1)) }] })),
        ),
        kv("e", None),
        kv("p", v(OtlpValue::StringValueStrindex(4))),
    ];
    let span = span_into_model(span).unwrap();
    let got: Vec<_> = span.attributes.iter().map(|kv| kv.value.clone()).collect();
    assert_eq!(
        got,
        vec![
            AnyValue::String("x".into()),
            AnyValue::Bool(true),
            AnyValue::Int(-3),
            AnyValue::Double(0.5),
            AnyValue::Bytes(vec![1, 2]),
            AnyValue::Array(vec![AnyValue::Int(1)]),
            AnyValue::Empty,
            AnyValue::Empty,
        ]
    );
}

#[test]
fn json_follows_otlp_rules() {
    let body =
        br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
      "scopeSpans":[{"scope":{"name":"lib","version":"1.0"},"spans":[{
        "traceId":"6E0C63257DE34C92BF9EFCD03927272E","spanId":"5fb397be34d26b51","name":"GET /cart","kind":2,
        "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":1700000000250000000,
        "attributes":[{"key":"n","value":{"intValue":"42"}}],
        "status":{"code":2,"message":"timeout"},"someFutureField":true}]}]}]}"#;
    let converted = request_into_model(decode_json(body).unwrap());
    assert_eq!(converted.rejected, 0);
    let record = converted.batch.into_records().next().unwrap();
    assert_eq!(record.span.trace_id.to_string(), "6e0c63257de34c92bf9efcd03927272e");
    assert_eq!(record.span.end.0 - record.span.start.0, 250_000_000);
    assert_eq!(record.span.attributes[0].value, AnyValue::Int(42));
    assert_eq!(record.span.status.code, StatusCode::Error);
    assert_eq!(record.span.kind, SpanKind::Server);
    assert_eq!(record.service_name(), "checkout");
    assert_eq!(record.scope.name, "lib");
}

#[test]
fn json_rejects_base64_ids_and_enum_names() {
    let base64 = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"bgxjJX3jTJK/nvzQOScnLg==","spanId":"5fb397be34d26b51"}]}]}]}"#;
    assert!(decode_json(base64).is_err());
    let named = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"6e0c63257de34c92bf9efcd03927272e","spanId":"5fb397be34d26b51","kind":"SPAN_KIND_SERVER"}]}]}]}"#;
    assert!(decode_json(named).is_err());
    assert!(decode_json(b"  ").unwrap().resource_spans.is_empty());
    assert!(matches!(decode_json(b"{not json"), Err(IngestError::Malformed(_))));
}

#[test]
fn json_with_short_hex_id_is_rejected_per_span() {
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"5fb397be34d26b51"}]}]}]}"#;
    let converted = request_into_model(decode_json(body).unwrap());
    assert_eq!((converted.received, converted.rejected), (1, 1));
}

fn arb_value() -> impl Strategy<Value = OtlpValue> {
    let leaf = prop_oneof![
        ".{0,12}".prop_map(OtlpValue::StringValue),
        any::<bool>().prop_map(OtlpValue::BoolValue),
        any::<i64>().prop_map(OtlpValue::IntValue),
        any::<f64>().prop_filter("finite", |d| d.is_finite()).prop_map(OtlpValue::DoubleValue),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(OtlpValue::BytesValue),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        proptest::collection::vec(inner, 0..4).prop_map(|values| {
            OtlpValue::ArrayValue(ArrayValue {
                values: values.into_iter().map(|v| OtlpAnyValue { value: Some(v) }).collect(),
            })
        })
    })
}

prop_compose! {
    fn arb_span()(
        trace in proptest::array::uniform16(any::<u8>()).prop_filter("non-zero", |a| a.iter().any(|b| *b != 0)),
        span in proptest::array::uniform8(any::<u8>()).prop_filter("non-zero", |a| a.iter().any(|b| *b != 0)),
        name in ".{0,20}",
        kind in 0i32..6,
        start in 0u64..(u64::MAX / 2),
        duration in 0u64..10_000_000_000,
        attrs in proptest::collection::vec(("[a-z.]{1,10}", arb_value()), 0..5),
    ) -> OtlpSpan {
        OtlpSpan {
            trace_id: trace.to_vec(),
            span_id: span.to_vec(),
            name,
            kind,
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration,
            attributes: attrs
                .into_iter()
                .map(|(key, value)| kv(&key, Some(OtlpAnyValue { value: Some(value) })))
                .collect(),
            ..Default::default()
        }
    }
}

proptest! {
    #[test]
    fn protobuf_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(req) = decode_protobuf(&bytes) {
            let _ = request_into_model(req);
        }
    }

    #[test]
    fn json_decoder_never_panics(text in ".{0,256}") {
        if let Ok(req) = decode_json(text.as_bytes()) {
            let _ = request_into_model(req);
        }
    }

    #[test]
    fn valid_spans_survive_protobuf_round_trip(spans in proptest::collection::vec(arb_span(), 1..6)) {
        let req = request(spans.clone());
        let decoded = decode_protobuf(&req.encode_to_vec()).unwrap();
        let converted = request_into_model(decoded);
        prop_assert_eq!(converted.rejected, 0);
        let records: Vec<_> = converted.batch.into_records().collect();
        prop_assert_eq!(records.len(), spans.len());
        for (record, original) in records.iter().zip(&spans) {
            prop_assert_eq!(&record.span.trace_id.as_bytes()[..], &original.trace_id[..]);
            prop_assert_eq!(&record.span.span_id.as_bytes()[..], &original.span_id[..]);
            prop_assert_eq!(&record.span.name, &original.name);
            prop_assert_eq!(record.span.start.0, original.start_time_unix_nano);
            prop_assert_eq!(record.span.end.0, original.end_time_unix_nano);
            prop_assert_eq!(record.span.attributes.len(), original.attributes.len());
        }
    }
}
