use proptest::prelude::*;

use super::*;

// ---- hand-written thrift, independent of the encoder under test ---------------------------------

/// A `list<Span>` whose spans `spans` write.
fn raw_list(spans: &[&dyn Fn(&mut BinaryWriter)]) -> Vec<u8> {
    let mut w = BinaryWriter::new();
    w.write_list_begin(FieldType::Struct, spans.len());
    spans.iter().for_each(|span| {
        w.write_struct_begin();
        span(&mut w);
        w.write_struct_end();
    });
    w.into_bytes()
}

fn i64_field(w: &mut BinaryWriter, id: i16, value: i64) {
    w.write_field_begin(FieldType::I64, id);
    w.write_i64(value);
}

/// Trace id 1, span id 2, name "op".
fn ids(w: &mut BinaryWriter) {
    i64_field(w, 1, 1);
    i64_field(w, 4, 2);
    w.write_field_begin(FieldType::Binary, 3);
    w.write_string("op");
}

fn binary_annotation(w: &mut BinaryWriter, key: &str, value: &[u8], value_type: i32) {
    w.write_struct_begin();
    w.write_field_begin(FieldType::Binary, 1);
    w.write_string(key);
    w.write_field_begin(FieldType::Binary, 2);
    w.write_binary(value);
    w.write_field_begin(FieldType::I32, 3);
    w.write_i32(value_type);
    w.write_struct_end();
}

fn one_span(write: &dyn Fn(&mut BinaryWriter)) -> Result<V1Span, InvalidSpan> {
    let mut spans = decode_spans(&raw_list(&[write])).expect("well-formed list");
    assert_eq!(spans.len(), 1);
    spans.remove(0)
}

fn values(annotations: &[(&str, &[u8], i32)]) -> Result<Vec<V1Value>, InvalidSpan> {
    let span = one_span(&|w| {
        ids(w);
        w.write_field_begin(FieldType::List, 8);
        w.write_list_begin(FieldType::Struct, annotations.len());
        for (key, value, value_type) in annotations {
            binary_annotation(w, key, value, *value_type);
        }
    })?;
    Ok(span.binary_annotations.into_iter().map(|a| a.value).collect())
}

// ---- mapping ------------------------------------------------------------------------------------

#[test]
fn decodes_every_span_field() {
    let span = one_span(&|w| {
        i64_field(w, 12, -1);
        i64_field(w, 1, 0x0102);
        w.write_field_begin(FieldType::Binary, 3);
        w.write_string("get /users");
        i64_field(w, 4, -2);
        i64_field(w, 5, 7);
        w.write_field_begin(FieldType::List, 6);
        w.write_list_begin(FieldType::Struct, 1);
        w.write_struct_begin();
        i64_field(w, 1, 1_700_000_000_000_001);
        w.write_field_begin(FieldType::Binary, 2);
        w.write_string("sr");
        w.write_field_begin(FieldType::Struct, 3);
        w.write_struct_begin();
        w.write_field_begin(FieldType::I32, 1);
        w.write_i32(0xC0A8_0001_u32 as i32);
        w.write_field_begin(FieldType::I16, 2);
        w.write_i16(-1);
        w.write_field_begin(FieldType::Binary, 3);
        w.write_string("users");
        w.write_field_begin(FieldType::Binary, 4);
        w.write_binary(&Ipv6Addr::LOCALHOST.octets());
        w.write_struct_end();
        w.write_struct_end();
        w.write_field_begin(FieldType::Bool, 9);
        w.write_bool(true);
        i64_field(w, 10, 1_700_000_000_000_000);
        i64_field(w, 11, 250);
        // Unknown field, skipped.
        w.write_field_begin(FieldType::Binary, 42);
        w.write_string("ignored");
    })
    .expect("valid span");
    let expected = V1Span {
        trace_id: TraceId::from_halves(u64::MAX, 0x0102).expect("non-zero"),
        name: "get /users".into(),
        id: SpanId::from_array((-2i64).to_be_bytes()).expect("non-zero"),
        parent_id: Some(SpanId::from_array(7u64.to_be_bytes()).expect("non-zero")),
        timestamp: Some(1_700_000_000_000_000),
        duration: Some(250),
        annotations: vec![V1Annotation {
            timestamp: 1_700_000_000_000_001,
            value: "sr".into(),
            endpoint: Some(Endpoint {
                service_name: Some("users".into()),
                ipv4: Some(Ipv4Addr::new(192, 168, 0, 1)),
                ipv6: Some(Ipv6Addr::LOCALHOST),
                port: Some(65535),
            }),
        }],
        binary_annotations: vec![],
        debug: true,
    };
    assert_eq!(span, expected);
}

#[test]
fn renders_each_annotation_type_as_text() {
    let rendered = values(&[
        ("b", &[1], annotation_type::BOOL),
        ("f", &[0], annotation_type::BOOL),
        ("x", &[0, 0xff, 7], annotation_type::BYTES),
        ("s", &(-2i16).to_be_bytes(), annotation_type::I16),
        ("i", &i32::MIN.to_be_bytes(), annotation_type::I32),
        ("l", &1_234_567_890_123i64.to_be_bytes(), annotation_type::I64),
        ("d", &1.5f64.to_be_bytes(), annotation_type::DOUBLE),
        ("t", b"caf\xc3\xa9 \xff", annotation_type::STRING),
        ("u", b"hi", 99),
    ]);
    let text = |s: &str| V1Value::String(s.into());
    assert_eq!(
        rendered,
        Ok(vec![
            V1Value::Bool(true),
            V1Value::Bool(false),
            text("AP8H"),
            text("-2"),
            text("-2147483648"),
            text("1234567890123"),
            text("1.5"),
            text("café \u{fffd}"),
            text("aGk="),
        ])
    );
}

#[test]
fn malformed_fixed_width_value_rejects_only_its_span() {
    let body = raw_list(&[
        &|w| {
            ids(w);
            w.write_field_begin(FieldType::List, 8);
            w.write_list_begin(FieldType::Struct, 1);
            binary_annotation(w, "port", &[0, 0, 1], annotation_type::I32);
        },
        &ids,
    ]);
    let spans = decode_spans(&body).expect("well-formed list");
    assert_eq!(
        spans[0],
        Err(InvalidSpan::Field("binary annotation \"port\" of type I32 must be 4 bytes, got 3".into()))
    );
    assert!(spans[1].is_ok());
}

#[test]
fn zero_or_missing_ids_reject_only_their_span() {
    let body = raw_list(&[
        &|w| {
            i64_field(w, 1, 0);
            i64_field(w, 4, 2);
        },
        &|w| {
            i64_field(w, 1, 1);
            i64_field(w, 4, 0);
        },
        &|w| i64_field(w, 4, 2),
        &|w| i64_field(w, 1, 1),
        &ids,
    ]);
    let spans = decode_spans(&body).expect("well-formed list");
    assert_eq!(spans[0], Err(InvalidSpan::Id(IdError::Zero("trace id"))));
    assert_eq!(spans[1], Err(InvalidSpan::Id(IdError::Zero("span id"))));
    assert!(matches!(&spans[2], Err(InvalidSpan::Field(m)) if m.contains("trace_id")));
    assert!(matches!(&spans[3], Err(InvalidSpan::Field(m)) if m.contains("no id")));
    assert!(spans[4].is_ok());
}

#[test]
fn zero_parent_and_non_positive_times_are_absent() {
    let span = one_span(&|w| {
        ids(w);
        i64_field(w, 5, 0);
        i64_field(w, 10, -5);
        i64_field(w, 11, 0);
        w.write_field_begin(FieldType::List, 6);
        w.write_list_begin(FieldType::Struct, 1);
        w.write_struct_begin();
        i64_field(w, 1, -1);
        w.write_struct_end();
    })
    .expect("valid span");
    assert_eq!((span.parent_id, span.timestamp, span.duration), (None, None, None));
    assert_eq!(span.trace_id.high(), 0);
    assert_eq!(span.annotations, [V1Annotation { timestamp: 0, value: String::new(), endpoint: None }]);
}

#[test]
fn unknown_endpoint_parts_are_absent() {
    let span = one_span(&|w| {
        ids(w);
        w.write_field_begin(FieldType::List, 6);
        w.write_list_begin(FieldType::Struct, 1);
        w.write_struct_begin();
        w.write_field_begin(FieldType::Struct, 3);
        w.write_struct_begin();
        w.write_field_begin(FieldType::I32, 1);
        w.write_i32(0);
        w.write_field_begin(FieldType::I16, 2);
        w.write_i16(0);
        w.write_field_begin(FieldType::Binary, 3);
        w.write_string("");
        w.write_field_begin(FieldType::Binary, 4);
        w.write_binary(&[1, 2, 3, 4]);
        w.write_struct_end();
        w.write_struct_end();
    })
    .expect("valid span");
    assert_eq!(span.annotations[0].endpoint, Some(Endpoint::default()));
}

// ---- structural errors --------------------------------------------------------------------------

#[test]
fn structural_errors_refuse_the_whole_list() {
    let mut w = BinaryWriter::new();
    w.write_list_begin(FieldType::I64, 1);
    w.write_i64(1);
    assert_eq!(
        decode_spans(&w.into_bytes()).unwrap_err().to_string(),
        "list at byte 0 holds i64 elements, expected struct"
    );

    let mistyped = raw_list(&[&|w| {
        ids(w);
        w.write_field_begin(FieldType::List, 6);
        w.write_list_begin(FieldType::Binary, 1);
        w.write_string("cs");
    }]);
    assert_eq!(
        decode_spans(&mistyped).unwrap_err().to_string(),
        "element 0: Span.annotations: list at byte 39 holds binary elements, expected struct"
    );

    let mut trailing = raw_list(&[&ids]);
    trailing.push(0);
    assert!(matches!(decode_spans(&trailing), Err(ThriftError::TrailingBytes { count: 1, .. })));

    let body = raw_list(&[&ids, &ids]);
    for len in 0..body.len() {
        assert!(decode_spans(&body[..len]).is_err(), "prefix of {len} bytes decoded");
    }
}

#[test]
fn empty_list_decodes_to_no_spans() {
    assert_eq!(decode_spans(&encode_spans(&[])), Ok(vec![]));
}

// ---- properties ---------------------------------------------------------------------------------

fn arb_endpoint() -> impl Strategy<Value = Endpoint> {
    (
        proptest::option::of("[a-z]{1,8}"),
        proptest::option::of(1..=u32::MAX),
        proptest::option::of(any::<u128>()),
        proptest::option::of(1..=u16::MAX),
    )
        .prop_map(|(service_name, ipv4, ipv6, port)| Endpoint {
            service_name,
            ipv4: ipv4.map(Ipv4Addr::from),
            ipv6: ipv6.map(Ipv6Addr::from),
            port,
        })
}

fn arb_v1_span() -> impl Strategy<Value = V1Span> {
    let time = 1..=i64::MAX as u64;
    let annotation = (0..=i64::MAX as u64, "\\PC{0,8}", proptest::option::of(arb_endpoint()))
        .prop_map(|(timestamp, value, endpoint)| V1Annotation { timestamp, value, endpoint });
    let value = prop_oneof![any::<bool>().prop_map(V1Value::Bool), "\\PC{0,8}".prop_map(V1Value::String)];
    let binary_annotation = ("[a-z.]{0,8}", value, proptest::option::of(arb_endpoint()))
        .prop_map(|(key, value, endpoint)| V1BinaryAnnotation { key, value, endpoint });
    (
        (any::<u64>(), 1..=u64::MAX, 1..=u64::MAX, proptest::option::of(1..=u64::MAX), "\\PC{0,12}"),
        (proptest::option::of(time.clone()), proptest::option::of(time), any::<bool>()),
        proptest::collection::vec(annotation, 0..4),
        proptest::collection::vec(binary_annotation, 0..4),
    )
        .prop_map(
            |((high, low, id, parent, name), (timestamp, duration, debug), annotations, binary_annotations)| {
                let span_id = |id: u64| SpanId::from_array(id.to_be_bytes()).expect("generated non-zero");
                V1Span {
                    trace_id: TraceId::from_halves(high, low).expect("generated non-zero"),
                    name,
                    id: span_id(id),
                    parent_id: parent.map(span_id),
                    timestamp,
                    duration,
                    annotations,
                    binary_annotations,
                    debug,
                }
            },
        )
}

proptest! {
    #[test]
    fn spans_survive_encode_then_decode(spans in proptest::collection::vec(arb_v1_span(), 0..5)) {
        let decoded = decode_spans(&encode_spans(&spans));
        prop_assert_eq!(decoded, Ok(spans.into_iter().map(Ok).collect::<Vec<_>>()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_spans(&bytes);
    }

    #[test]
    fn corrupted_lists_never_panic(
        spans in proptest::collection::vec(arb_v1_span(), 1..3),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut body = encode_spans(&spans);
        let i = at.index(body.len());
        body[i] = byte;
        let _ = decode_spans(&body);
    }
}

/// Writes seed inputs for the fuzz target: `cargo test --lib write_zipkin_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "writes fuzz seeds under fuzz/seeds"]
fn write_zipkin_fuzz_seeds() {
    let endpoint = Endpoint {
        service_name: Some("frontend".into()),
        ipv4: Some(Ipv4Addr::new(10, 0, 3, 7)),
        ipv6: None,
        port: Some(8080),
    };
    let span = |id: u64, parent: Option<u64>| V1Span {
        trace_id: TraceId::from_halves(0, 0x9c1e_4d2a_7b3f_5e60).expect("non-zero"),
        name: "get /orders".into(),
        id: SpanId::from_array(id.to_be_bytes()).expect("non-zero"),
        parent_id: parent.map(|p| SpanId::from_array(p.to_be_bytes()).expect("non-zero")),
        timestamp: Some(1_700_000_000_123_456),
        duration: Some(2750),
        annotations: vec![
            V1Annotation { timestamp: 1_700_000_000_123_456, value: "sr".into(), endpoint: Some(endpoint.clone()) },
            V1Annotation { timestamp: 1_700_000_000_126_206, value: "ss".into(), endpoint: Some(endpoint.clone()) },
        ],
        binary_annotations: vec![
            V1BinaryAnnotation {
                key: "http.path".into(),
                value: V1Value::String("/orders".into()),
                endpoint: Some(endpoint.clone()),
            },
            V1BinaryAnnotation { key: "ca".into(), value: V1Value::Bool(true), endpoint: Some(endpoint.clone()) },
        ],
        debug: false,
    };
    let mut bare = span(3, None);
    bare.annotations.clear();
    bare.binary_annotations.clear();
    bare.trace_id = TraceId::from_halves(1, 2).expect("non-zero");
    let seeds =
        [("one", vec![span(1, None)]), ("tree", vec![span(1, None), span(2, Some(1)), bare]), ("empty", vec![])];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/zipkin_thrift");
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    for (name, spans) in seeds {
        std::fs::write(dir.join(name), encode_spans(&spans)).expect("write seed");
    }
}
