use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::receiver::zipkin::span::Endpoint;
use crate::receiver::zipkin::v1::v1_into_v2;

/// A finagle-style client span as a v1 tracer reports it.
const CLIENT_SPAN: &str = r#"[{
  "traceId": "9c1e4d2a7b3f5e60", "name": "get /orders", "id": "7d8e9fa0b1c2d3e4",
  "parentId": "1a2b3c4d5e6f7081", "timestamp": 1700000000100000, "duration": 207000, "debug": true,
  "annotations": [
    {"timestamp": 1700000000100000, "value": "cs",
     "endpoint": {"serviceName": "frontend", "ipv4": "10.0.1.15", "port": 51234}},
    {"timestamp": 1700000000307000, "value": "cr",
     "endpoint": {"serviceName": "frontend", "ipv4": "10.0.1.15", "port": 51234}}
  ],
  "binaryAnnotations": [
    {"key": "http.path", "value": "/orders", "endpoint": {"serviceName": "frontend", "ipv4": "10.0.1.15"}},
    {"key": "http.status_code", "value": 200},
    {"key": "sa", "value": true, "endpoint": {"serviceName": "orders", "ipv6": "2001:db8::7", "port": 8080}}
  ]
}]"#;

fn decode_one(json: &str) -> Result<V1Span, InvalidSpan> {
    let mut spans = decode_spans(json.as_bytes()).expect("valid v1 JSON");
    assert_eq!(spans.len(), 1);
    spans.remove(0)
}

fn malformed_message(json: &str) -> String {
    match decode_spans(json.as_bytes()) {
        Err(IngestError::Malformed(message)) => message,
        other => panic!("expected a malformed-request error, got {other:?}"),
    }
}

#[test]
fn empty_body_whitespace_and_empty_list_have_no_spans() {
    for body in ["", "  \n\t", "[]", " [ ] "] {
        assert!(decode_spans(body.as_bytes()).expect("accepted").is_empty(), "{body:?}");
    }
}

#[test]
fn decodes_every_field_of_a_v1_span() {
    let span = decode_one(CLIENT_SPAN).expect("valid span");
    assert_eq!(span.trace_id.to_short_hex(), "9c1e4d2a7b3f5e60");
    assert_eq!(span.id.to_string(), "7d8e9fa0b1c2d3e4");
    assert_eq!(span.parent_id.map(|p| p.to_string()).as_deref(), Some("1a2b3c4d5e6f7081"));
    assert_eq!(span.name, "get /orders");
    assert_eq!((span.timestamp, span.duration, span.debug), (Some(1700000000100000), Some(207000), true));
    let frontend = Endpoint {
        service_name: Some("frontend".into()),
        ipv4: Some(Ipv4Addr::new(10, 0, 1, 15)),
        ipv6: None,
        port: Some(51234),
    };
    assert_eq!(
        span.annotations,
        vec![
            V1Annotation { timestamp: 1700000000100000, value: "cs".into(), endpoint: Some(frontend.clone()) },
            V1Annotation { timestamp: 1700000000307000, value: "cr".into(), endpoint: Some(frontend) },
        ]
    );
    assert_eq!(span.binary_annotations.len(), 3);
    assert_eq!(span.binary_annotations[0].value, V1Value::String("/orders".into()));
    assert_eq!(span.binary_annotations[1].value, V1Value::String("200".into()));
    assert_eq!(span.binary_annotations[1].endpoint, None);
    let server = &span.binary_annotations[2];
    assert_eq!((server.key.as_str(), &server.value), ("sa", &V1Value::Bool(true)));
    assert_eq!(
        server.endpoint,
        Some(Endpoint {
            service_name: Some("orders".into()),
            ipv4: None,
            ipv6: Some("2001:db8::7".parse().unwrap()),
            port: Some(8080)
        })
    );
}

#[test]
fn decoded_client_span_converts_to_a_client_span_with_remote() {
    let spans = v1_into_v2(decode_one(CLIENT_SPAN).expect("valid span"));
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].kind, crate::model::SpanKind::Client);
    assert_eq!(spans[0].remote_endpoint.as_ref().and_then(|e| e.service_name.as_deref()), Some("orders"));
    assert_eq!(spans[0].tags, vec![("http.path".into(), "/orders".into()), ("http.status_code".into(), "200".into())]);
}

#[test]
fn number_values_become_decimal_text() {
    let span = decode_one(
        r#"[{"traceId":"1","id":"2","binaryAnnotations":[
          {"key":"retries","value":-3},{"key":"ratio","value":0.25},{"key":"big","value":18446744073709551615}]}]"#,
    )
    .expect("valid span");
    let values: Vec<_> = span.binary_annotations.iter().map(|b| b.value.clone()).collect();
    assert_eq!(
        values,
        vec![
            V1Value::String("-3".into()),
            V1Value::String("0.25".into()),
            V1Value::String("18446744073709551615".into())
        ]
    );
}

#[test]
fn null_list_and_object_values_are_skipped_as_zipkin_does() {
    let span = decode_one(
        r#"[{"traceId":"1","id":"2","binaryAnnotations":[
          {"key":"a","value":null},{"key":"b"},{"key":"c","value":[1,{"x":2}]},{"key":"d","value":{"y":[]}},
          {"key":"kept","value":"yes","endpoint":null}]}]"#,
    )
    .expect("valid span");
    assert_eq!(span.binary_annotations.len(), 1);
    assert_eq!(span.binary_annotations[0].key, "kept");
}

#[test]
fn bad_span_id_rejects_only_that_span() {
    let spans = decode_spans(
        br#"[{"traceId":"9c1e4d2a7b3f5e60","id":"not-hex","name":"bad"},
             {"traceId":"9c1e4d2a7b3f5e60","id":"7d8e9fa0b1c2d3e4","name":"good"}]"#,
    )
    .expect("request accepted");
    assert_eq!(spans.len(), 2);
    assert!(matches!(spans[0], Err(InvalidSpan::Id(_))), "{:?}", spans[0]);
    assert_eq!(spans[1].as_ref().map(|s| s.name.as_str()), Ok("good"));
}

#[test]
fn zero_missing_and_too_long_ids_reject_the_span() {
    let cases = [
        r#"[{"traceId":"0000000000000000","id":"2"}]"#,
        r#"[{"traceId":"1","id":"0000000000000000"}]"#,
        r#"[{"id":"2"}]"#,
        r#"[{"traceId":"1"}]"#,
        r#"[{"traceId":"1","id":null}]"#,
        r#"[{"traceId":"1","id":"2","parentId":"xyz"}]"#,
        r#"[{"traceId":"0123456789abcdef0123456789abcdef0","id":"2"}]"#,
    ];
    for json in cases {
        assert!(decode_one(json).is_err(), "{json}");
    }
}

#[test]
fn empty_and_zero_parent_ids_mean_root() {
    for parent in ["\"\"", "\"0000000000000000\"", "null"] {
        let span = decode_one(&format!(r#"[{{"traceId":"1","id":"2","parentId":{parent}}}]"#)).expect("valid span");
        assert_eq!(span.parent_id, None, "{parent}");
    }
}

#[test]
fn accepts_128_bit_and_upper_case_ids() {
    let span =
        decode_one(r#"[{"traceId":"463AC35C9F6413AD48485A3953BB6124","id":"A2FB4A1D1A96D312"}]"#).expect("valid");
    assert_eq!(span.trace_id.to_short_hex(), "463ac35c9f6413ad48485a3953bb6124");
    assert_eq!(span.id.to_string(), "a2fb4a1d1a96d312");
}

#[test]
fn incomplete_annotations_reject_the_span() {
    for annotation in [r#"{"value":"cs"}"#, r#"{"timestamp":1}"#, r#"{"timestamp":1,"value":null}"#] {
        let json = format!(r#"[{{"traceId":"1","id":"2","annotations":[{annotation}]}}]"#);
        assert!(matches!(decode_one(&json), Err(InvalidSpan::Field(_))), "{annotation}");
    }
    let keyless = r#"[{"traceId":"1","id":"2","binaryAnnotations":[{"value":"x"}]}]"#;
    assert!(matches!(decode_one(keyless), Err(InvalidSpan::Field(_))));
}

#[test]
fn times_accept_strings_and_floats_and_treat_zero_or_negative_as_absent() {
    let span =
        decode_one(r#"[{"traceId":"1","id":"2","timestamp":"1700000000100000","duration":12.9}]"#).expect("valid");
    // A fraction rounds up, as for v2: a duration is never shortened.
    assert_eq!((span.timestamp, span.duration), (Some(1700000000100000), Some(13)));
    let span = decode_one(r#"[{"traceId":"1","id":"2","timestamp":0,"duration":-5}]"#).expect("valid");
    assert_eq!((span.timestamp, span.duration), (None, None));
    let span = decode_one(r#"[{"traceId":"1","id":"2","timestamp":null,"duration":"-5"}]"#).expect("valid");
    assert_eq!((span.timestamp, span.duration), (None, None));
}

#[test]
fn endpoints_follow_zipkin_rules() {
    let span = decode_one(
        r#"[{"traceId":"1","id":"2","annotations":[
          {"timestamp":1,"value":"a","endpoint":{"serviceName":"svc","ipv6":"::ffff:10.0.0.1","port":0}},
          {"timestamp":2,"value":"b","endpoint":{"serviceName":"","ipv4":"not an ip","port":70000}},
          {"timestamp":3,"value":"c","endpoint":{"ipv4":"::1","port":443}}]}]"#,
    )
    .expect("valid span");
    let endpoints: Vec<_> = span.annotations.iter().map(|a| a.endpoint.clone()).collect();
    assert_eq!(
        endpoints,
        vec![
            Some(Endpoint {
                service_name: Some("svc".into()),
                ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
                ..Endpoint::default()
            }),
            None,
            Some(Endpoint { ipv6: Some(Ipv6Addr::LOCALHOST), port: Some(443), ..Endpoint::default() }),
        ]
    );
}

#[test]
fn unknown_keys_and_nulls_are_ignored() {
    let span = decode_one(
        r#"[{"traceId":"1","id":"2","name":null,"debug":null,"annotations":null,"binaryAnnotations":null,
            "extra":{"nested":[1,2,{"deep":true}]},"timestamp":5}]"#,
    )
    .expect("valid span");
    assert_eq!((span.name.as_str(), span.debug, span.timestamp), ("", false, Some(5)));
}

#[test]
fn malformed_json_is_refused_with_its_position() {
    let message = malformed_message("[{\"traceId\":\"1\",\n\"id\":}]");
    assert!(message.starts_with("invalid Zipkin v1 JSON: "), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn wrong_shapes_are_refused() {
    for json in [
        r#"{"traceId":"1","id":"2"}"#,
        r#"[1]"#,
        r#"[{"traceId":1,"id":"2"}]"#,
        r#"[{"traceId":"1","id":"2","timestamp":true}]"#,
        r#"[{"traceId":"1","id":"2","timestamp":"soon"}]"#,
        r#"[{"traceId":"1","id":"2","annotations":{}}]"#,
        r#"[{"traceId":"1","id":"2","debug":"yes"}]"#,
        r#"[] trailing"#,
        "null",
    ] {
        let message = malformed_message(json);
        assert!(message.starts_with("invalid Zipkin v1 JSON: "), "{json}: {message}");
    }
}

#[test]
fn v2_json_on_the_v1_path_is_refused_with_a_pointer_to_v2() {
    let v2 = r#"[{"traceId":"9c1e4d2a7b3f5e60","id":"7d8e9fa0b1c2d3e4","kind":"SERVER","name":"post /orders",
        "timestamp":1700000000123456,"duration":2750,"localEndpoint":{"serviceName":"orders"},
        "tags":{"http.method":"POST"}}]"#;
    let message = malformed_message(v2);
    assert!(message.contains("looks like Zipkin v2 JSON; POST it to /api/v2/spans"), "{message}");
    assert!(message.contains("`localEndpoint`"), "{message}");
    // Only `tags` is enough, and one v2 span among v1 spans refuses the request.
    let mixed = r#"[{"traceId":"1","id":"2","binaryAnnotations":[]},{"traceId":"1","id":"3","tags":{}}]"#;
    assert!(malformed_message(mixed).contains("span 1 has `tags`"));
}

#[test]
fn v1_span_with_binary_annotations_and_a_stray_v2_key_is_accepted() {
    let json = r#"[{"traceId":"1","id":"2","kind":"CLIENT","binaryAnnotations":[]}]"#;
    assert!(decode_one(json).is_ok());
}

#[test]
fn looks_like_v1_detects_binary_annotations() {
    assert!(looks_like_v1(CLIENT_SPAN.as_bytes()));
    assert!(!looks_like_v1(br#"[{"traceId":"1","id":"2","localEndpoint":{"serviceName":"a"}}]"#));
    assert!(!looks_like_v1(b""));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(spans) = decode_spans(&body) {
            for span in spans.into_iter().flatten() {
                let _ = v1_into_v2(span);
            }
        }
    }

    #[test]
    fn json_like_text_never_panics(text in r#"[\[\]{}:,"a-z0-9 .\-]{0,200}"#) {
        let body = format!(r#"[{{"traceId":"1","id":"2","annotations":[{text}"#);
        let _ = decode_spans(body.as_bytes());
        let _ = decode_spans(text.as_bytes());
    }
}

proptest! {
    /// v1 spans through the encoder and back: every field the same.
    #[test]
    fn encode_then_decode_gives_the_same_spans(ids in prop::collection::vec((1u64..u64::MAX, 1u64..u64::MAX, 1u64..1 << 50), 1..5)) {
        let endpoint = Endpoint { service_name: Some("svc".into()), ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)), port: Some(80), ..Endpoint::default() };
        let spans: Vec<V1Span> = ids
            .iter()
            .map(|&(trace, id, ts)| V1Span {
                trace_id: crate::model::TraceId::from_hex(&format!("{trace:x}")).unwrap(),
                name: "op".into(),
                id: SpanId::from_hex(&format!("{id:x}")).unwrap(),
                parent_id: None,
                timestamp: Some(ts),
                duration: Some(7),
                annotations: vec![V1Annotation { timestamp: ts, value: "cs".into(), endpoint: Some(endpoint.clone()) }],
                binary_annotations: vec![V1BinaryAnnotation { key: "k".into(), value: V1Value::String("v".into()), endpoint: Some(endpoint.clone()) }],
                debug: false,
            })
            .collect();
        let back: Vec<V1Span> = decode_spans(&encode_spans(&spans)).unwrap().into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(back, spans);
    }
}
