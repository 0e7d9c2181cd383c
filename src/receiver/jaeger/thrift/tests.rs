use proptest::prelude::*;

use super::*;

// ---- hand-written thrift, independent of the encoders under test --------------------------------

const TRACE_LOW: i64 = 0x0102_0304_0506_0708;
const TRACE_HIGH: i64 = 0x1112_1314_1516_1718;

fn trace_bytes() -> Vec<u8> {
    trace_id_bytes(TRACE_HIGH, TRACE_LOW)
}

/// A `Batch` with process `svc` (and `process_tags`) and the spans `spans` writes.
fn raw_batch(process_tags: impl FnOnce(&mut BinaryWriter), spans: &[&dyn Fn(&mut BinaryWriter)]) -> Vec<u8> {
    let mut w = BinaryWriter::new();
    w.write_struct_begin();
    w.write_field_begin(FieldType::Struct, 1);
    w.write_struct_begin();
    w.write_field_begin(FieldType::Binary, 1);
    w.write_string("svc");
    process_tags(&mut w);
    w.write_struct_end();
    w.write_field_begin(FieldType::List, 2);
    w.write_list_begin(FieldType::Struct, spans.len());
    spans.iter().for_each(|span| span(&mut w));
    w.write_struct_end();
    w.into_bytes()
}

fn no_tags(_: &mut BinaryWriter) {}

/// A span with every required field, the given parent and references, `name` unless `None`.
fn raw_span(w: &mut BinaryWriter, parent: i64, refs: &[(i32, i64)], name: Option<&str>) {
    w.write_struct_begin();
    for (id, value) in [(1, TRACE_LOW), (2, TRACE_HIGH), (3, 3), (4, parent), (8, 1_000_000), (9, 20)] {
        w.write_field_begin(FieldType::I64, id);
        w.write_i64(value);
    }
    if let Some(name) = name {
        w.write_field_begin(FieldType::Binary, 5);
        w.write_string(name);
    }
    w.write_field_begin(FieldType::I32, 7);
    w.write_i32(1);
    if !refs.is_empty() {
        w.write_field_begin(FieldType::List, 6);
        w.write_list_begin(FieldType::Struct, refs.len());
        for (ref_type, span_id) in refs {
            w.write_struct_begin();
            w.write_field_begin(FieldType::I32, 1);
            w.write_i32(*ref_type);
            for (id, value) in [(2, TRACE_LOW), (3, TRACE_HIGH), (4, *span_id)] {
                w.write_field_begin(FieldType::I64, id);
                w.write_i64(value);
            }
            w.write_struct_end();
        }
    }
    w.write_struct_end();
}

fn raw_tag(w: &mut BinaryWriter, key: &str, tag_type: i32, values: impl FnOnce(&mut BinaryWriter)) {
    w.write_struct_begin();
    w.write_field_begin(FieldType::Binary, 1);
    w.write_string(key);
    w.write_field_begin(FieldType::I32, 2);
    w.write_i32(tag_type);
    values(w);
    w.write_struct_end();
}

fn span_ref(span_id: u64, ref_type: SpanRefType) -> SpanRef {
    SpanRef { trace_id: trace_bytes(), span_id: span_id.to_be_bytes().to_vec(), ref_type: ref_type as i32 }
}

fn emit_message(name: &str, message_type: MessageType, batch: &[u8]) -> Vec<u8> {
    let mut w = BinaryWriter::new();
    w.write_message_begin(name, message_type, 1);
    let mut bytes = w.into_bytes();
    bytes.extend_from_slice(&[12, 0, 1]);
    bytes.extend_from_slice(batch);
    bytes.push(0);
    bytes
}

// ---- mapping ------------------------------------------------------------------------------------

#[test]
fn maps_each_tag_type_by_name_not_number() {
    let body = raw_batch(
        |w| {
            w.write_field_begin(FieldType::List, 2);
            w.write_list_begin(FieldType::Struct, 5);
            raw_tag(w, "s", 0, |w| {
                w.write_field_begin(FieldType::Binary, 3);
                w.write_string("text");
                // A value the type does not name is dropped.
                w.write_field_begin(FieldType::I64, 6);
                w.write_i64(5);
            });
            raw_tag(w, "d", 1, |w| {
                w.write_field_begin(FieldType::Double, 4);
                w.write_double(1.5);
            });
            raw_tag(w, "b", 2, |w| {
                w.write_field_begin(FieldType::Bool, 5);
                w.write_bool(true);
            });
            raw_tag(w, "l", 3, |w| {
                w.write_field_begin(FieldType::I64, 6);
                w.write_i64(-7);
            });
            raw_tag(w, "x", 4, |w| {
                w.write_field_begin(FieldType::Binary, 7);
                w.write_binary(&[0, 0xff]);
            });
        },
        &[],
    );
    let tags = decode_batch(&body).expect("valid batch").process.expect("process").tags;
    let kv = |key: &str, v_type: ValueType| KeyValue { key: key.into(), v_type: v_type as i32, ..KeyValue::default() };
    assert_eq!(
        tags,
        [
            KeyValue { v_str: "text".into(), ..kv("s", ValueType::String) },
            KeyValue { v_float64: 1.5, ..kv("d", ValueType::Float64) },
            KeyValue { v_bool: true, ..kv("b", ValueType::Bool) },
            KeyValue { v_int64: -7, ..kv("l", ValueType::Int64) },
            KeyValue { v_binary: vec![0, 0xff], ..kv("x", ValueType::Binary) },
        ]
    );
}

#[test]
fn unknown_tag_type_becomes_a_descriptive_string() {
    let body = raw_batch(
        |w| {
            w.write_field_begin(FieldType::List, 2);
            w.write_list_begin(FieldType::Struct, 1);
            raw_tag(w, "odd", 9, |_| {});
        },
        &[],
    );
    let tags = decode_batch(&body).expect("valid batch").process.expect("process").tags;
    let expected = KeyValue {
        key: "odd".into(),
        v_type: ValueType::String as i32,
        v_str: "unknown tag type 9".into(),
        ..KeyValue::default()
    };
    assert_eq!(tags, [expected]);
}

#[test]
fn parent_span_id_becomes_first_child_of_ref() {
    let body = raw_batch(no_tags, &[&|w| raw_span(w, 5, &[], Some("op")), &|w| raw_span(w, 5, &[(1, 9)], Some("op"))]);
    let batch = decode_batch(&body).expect("valid batch");
    assert_eq!(batch.spans[0].references, [span_ref(5, SpanRefType::ChildOf)]);
    assert_eq!(batch.spans[1].references, [span_ref(5, SpanRefType::ChildOf), span_ref(9, SpanRefType::FollowsFrom)]);
}

#[test]
fn parent_already_named_by_a_child_of_ref_is_not_added_again() {
    let body = raw_batch(
        no_tags,
        &[&|w| raw_span(w, 5, &[(1, 7), (0, 5)], Some("op")), &|w| raw_span(w, 5, &[(1, 5)], Some("op"))],
    );
    let batch = decode_batch(&body).expect("valid batch");
    assert_eq!(batch.spans[0].references, [span_ref(7, SpanRefType::FollowsFrom), span_ref(5, SpanRefType::ChildOf)]);
    // A FOLLOWS_FROM to the parent does not make it the parent.
    assert_eq!(batch.spans[1].references, [span_ref(5, SpanRefType::ChildOf), span_ref(5, SpanRefType::FollowsFrom)]);
}

#[test]
fn maps_ids_process_flags_and_times() {
    let body = raw_batch(no_tags, &[&|w| raw_span(w, 0, &[], Some("GET /"))]);
    let batch = decode_batch(&body).expect("valid batch");
    assert_eq!(batch.process, Some(Process { service_name: "svc".into(), tags: vec![] }));
    let span = &batch.spans[0];
    assert_eq!(span.trace_id, [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(span.span_id, [0, 0, 0, 0, 0, 0, 0, 3]);
    assert_eq!(span.operation_name, "GET /");
    assert!(span.references.is_empty());
    assert_eq!(span.flags, 1);
    assert_eq!(span.start_time, Some(Timestamp { seconds: 1, nanos: 0 }));
    assert_eq!(span.duration, Some(Duration { seconds: 0, nanos: 20_000 }));
    assert_eq!(span.process, None);
}

#[test]
fn ids_are_unsigned_halves_and_times_are_microseconds() {
    assert_eq!(trace_id_bytes(-1, 1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(span_id_bytes(i64::MIN), [0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(timestamp_from_micros(1_700_000_000_123_456), Timestamp { seconds: 1_700_000_000, nanos: 123_456_000 });
    assert_eq!(timestamp_from_micros(-1), Timestamp { seconds: -1, nanos: 999_999_000 });
    assert_eq!(duration_from_micros(-1_500_000), Duration { seconds: -1, nanos: -500_000_000 });
    for micros in [0, 1, -1, 1_500_000, -1_500_000, i64::MAX, i64::MIN] {
        assert_eq!(timestamp_micros(Some(&timestamp_from_micros(micros))), micros);
        assert_eq!(duration_micros(Some(&duration_from_micros(micros))), micros);
    }
}

#[test]
fn negative_flags_keep_their_bits() {
    let mut span = arb_free_span();
    span.flags = 0x8000_0001;
    let batch = Batch { spans: vec![span], process: Some(Process::default()) };
    assert_eq!(decode_batch(&encode_batch(&batch)), Ok(batch));
}

// ---- errors -------------------------------------------------------------------------------------

#[test]
fn missing_required_fields_are_named() {
    let no_name = raw_batch(no_tags, &[&|w| raw_span(w, 0, &[], Some("ok")), &|w| raw_span(w, 0, &[], None)]);
    let err = decode_batch(&no_name).unwrap_err();
    assert_eq!(err.to_string(), "Batch.spans: element 1: Span.operationName is required");
    assert_eq!(err.root_cause(), &ThriftError::MissingField { strukt: "Span", field: "operationName" });

    let no_type = raw_batch(
        |w| {
            w.write_field_begin(FieldType::List, 2);
            w.write_list_begin(FieldType::Struct, 1);
            w.write_struct_begin();
            w.write_field_begin(FieldType::Binary, 1);
            w.write_string("k");
            w.write_struct_end();
        },
        &[],
    );
    assert_eq!(
        decode_batch(&no_type).unwrap_err().to_string(),
        "Batch.process: Process.tags: element 0: Tag.vType is required"
    );

    let mut w = BinaryWriter::new();
    w.write_struct_begin();
    w.write_field_begin(FieldType::List, 2);
    w.write_list_begin(FieldType::Struct, 0);
    w.write_struct_end();
    assert_eq!(decode_batch(&w.into_bytes()).unwrap_err().to_string(), "Batch.process is required");
}

#[test]
fn emit_batch_names_an_unexpected_method() {
    let batch = raw_batch(no_tags, &[]);
    let err =
        decode_emit_batch(&emit_message("emitZipkinBatch", MessageType::Oneway, &batch), Protocol::Binary).unwrap_err();
    assert_eq!(err.to_string(), "unexpected method \"emitZipkinBatch\" in a oneway message, expected emitBatch");
}

#[test]
fn emit_batch_accepts_call_and_oneway_only() {
    let batch = raw_batch(no_tags, &[&|w| raw_span(w, 0, &[], Some("op"))]);
    let expected = decode_batch(&batch).expect("valid batch");
    for message_type in [MessageType::Oneway, MessageType::Call] {
        let message = emit_message("emitBatch", message_type, &batch);
        assert_eq!(decode_emit_batch(&message, Protocol::Binary).as_ref(), Ok(&expected));
    }
    let err = decode_emit_batch(&emit_message("emitBatch", MessageType::Reply, &batch), Protocol::Binary).unwrap_err();
    assert_eq!(err.to_string(), "unexpected reply message, expected oneway or call");
}

#[test]
fn emit_batch_in_the_wrong_protocol_is_refused() {
    let batch = Batch { spans: vec![arb_free_span()], process: Some(Process::default()) };
    let compact = encode_emit_batch(&batch, Protocol::Compact);
    assert!(matches!(decode_emit_batch(&compact, Protocol::Binary), Err(ThriftError::InvalidMessageHeader { .. })));
    let binary = encode_emit_batch(&batch, Protocol::Binary);
    assert!(matches!(decode_emit_batch(&binary, Protocol::Compact), Err(ThriftError::InvalidMessageHeader { .. })));
}

#[test]
fn non_strict_binary_emit_batch_is_accepted() {
    let batch = raw_batch(no_tags, &[&|w| raw_span(w, 0, &[], Some("op"))]);
    let mut w = BinaryWriter::new();
    w.write_message_begin_non_strict("emitBatch", MessageType::Call, 0);
    let mut message = w.into_bytes();
    message.extend_from_slice(&[12, 0, 1]);
    message.extend_from_slice(&batch);
    message.push(0);
    assert_eq!(decode_emit_batch(&message, Protocol::Binary), decode_batch(&batch));
}

#[test]
fn truncated_input_is_an_error_at_every_length() {
    let mut span = arb_free_span();
    span.tags = vec![KeyValue { key: "k".into(), v_str: "v".into(), ..KeyValue::default() }];
    span.logs = vec![Log { timestamp: Some(Timestamp { seconds: 1, nanos: 0 }), fields: span.tags.clone() }];
    let batch = Batch { spans: vec![span], process: Some(Process { service_name: "svc".into(), tags: vec![] }) };
    let bare = encode_batch(&batch);
    for len in 0..bare.len() {
        assert!(decode_batch(&bare[..len]).is_err(), "prefix of {len} bytes decoded");
    }
    for protocol in [Protocol::Binary, Protocol::Compact] {
        let message = encode_emit_batch(&batch, protocol);
        for len in 0..message.len() {
            assert!(decode_emit_batch(&message[..len], protocol).is_err(), "{protocol:?} prefix of {len} bytes");
        }
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut body = raw_batch(no_tags, &[]);
    body.extend_from_slice(&[0, 0]);
    let err = decode_batch(&body).unwrap_err();
    assert_eq!(err, ThriftError::TrailingBytes { offset: body.len() - 2, count: 2, after: "Batch struct" });
}

#[test]
fn skips_seq_no_stats_and_unknown_fields() {
    let mut body = raw_batch(no_tags, &[]);
    body.pop(); // reopen the Batch struct
    let mut w = BinaryWriter::new();
    w.write_field_begin(FieldType::I64, 3);
    w.write_i64(42);
    w.write_field_begin(FieldType::Struct, 4);
    w.write_struct_begin();
    for id in 1..=3 {
        w.write_field_begin(FieldType::I64, id);
        w.write_i64(0);
    }
    w.write_struct_end();
    w.write_field_begin(FieldType::Map, 99);
    w.write_map_begin(FieldType::Binary, FieldType::Binary, 1);
    w.write_string("a");
    w.write_string("b");
    w.write_struct_end();
    body.extend(w.into_bytes());
    let batch = decode_batch(&body).expect("extra fields skipped");
    assert_eq!(batch.process.map(|p| p.service_name), Some("svc".to_owned()));
}

// ---- properties ---------------------------------------------------------------------------------

/// A span with nothing but ids and times, for tests that only vary one part.
fn arb_free_span() -> Span {
    Span {
        trace_id: trace_bytes(),
        span_id: vec![0, 0, 0, 0, 0, 0, 0, 9],
        operation_name: "op".into(),
        start_time: Some(Timestamp { seconds: 1_700_000_000, nanos: 5_000 }),
        duration: Some(Duration { seconds: 0, nanos: 1_000 }),
        ..Span::default()
    }
}

fn arb_key_value() -> impl Strategy<Value = KeyValue> {
    let float = any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan());
    ("[a-z.]{0,8}", 0..5u8, "\\PC{0,8}", float, any::<i64>(), any::<bool>()).prop_map(
        |(key, which, text, float, int, flag)| {
            let kv = |v_type: ValueType| KeyValue { key, v_type: v_type as i32, ..KeyValue::default() };
            match which {
                0 => KeyValue { v_str: text, ..kv(ValueType::String) },
                1 => KeyValue { v_float64: float, ..kv(ValueType::Float64) },
                2 => KeyValue { v_bool: flag, ..kv(ValueType::Bool) },
                3 => KeyValue { v_int64: int, ..kv(ValueType::Int64) },
                _ => KeyValue { v_binary: text.into_bytes(), ..kv(ValueType::Binary) },
            }
        },
    )
}

fn arb_timestamp() -> impl Strategy<Value = Timestamp> {
    (-1_000_000_000_000i64..10_000_000_000, 0..1_000_000i32)
        .prop_map(|(seconds, micros)| Timestamp { seconds, nanos: micros * 1000 })
}

fn arb_duration() -> impl Strategy<Value = Duration> {
    (-1_000_000i64..1_000_000, 0..1_000_000i32).prop_map(|(seconds, micros)| Duration {
        seconds,
        nanos: if seconds < 0 { -micros * 1000 } else { micros * 1000 },
    })
}

fn arb_span() -> impl Strategy<Value = Span> {
    let refs = proptest::collection::vec((any::<bool>(), any::<[u8; 16]>(), any::<[u8; 8]>(), 0..2i32), 0..3);
    (
        (any::<[u8; 16]>(), any::<[u8; 8]>(), "\\PC{0,12}", refs, any::<u32>()),
        (arb_timestamp(), arb_duration()),
        proptest::collection::vec(arb_key_value(), 0..4),
        proptest::collection::vec((arb_timestamp(), proptest::collection::vec(arb_key_value(), 0..3)), 0..3),
    )
        .prop_map(|((trace_id, span_id, operation_name, refs, flags), (start, duration), tags, logs)| Span {
            trace_id: trace_id.to_vec(),
            span_id: span_id.to_vec(),
            operation_name,
            // Some references point into the span's own trace, so the first may become the parent.
            references: refs
                .into_iter()
                .map(|(same_trace, other_trace, span_id, ref_type)| SpanRef {
                    trace_id: if same_trace { trace_id.to_vec() } else { other_trace.to_vec() },
                    span_id: span_id.to_vec(),
                    ref_type,
                })
                .collect(),
            flags,
            start_time: Some(start),
            duration: Some(duration),
            tags,
            logs: logs.into_iter().map(|(t, fields)| Log { timestamp: Some(t), fields }).collect(),
            ..Span::default()
        })
}

fn arb_batch() -> impl Strategy<Value = Batch> {
    ("\\PC{0,12}", proptest::collection::vec(arb_key_value(), 0..3), proptest::collection::vec(arb_span(), 0..4))
        .prop_map(|(service_name, tags, spans)| Batch { spans, process: Some(Process { service_name, tags }) })
}

proptest! {
    #[test]
    fn batches_survive_encode_then_decode(batch in arb_batch()) {
        prop_assert_eq!(decode_batch(&encode_batch(&batch)), Ok(batch.clone()));
        for protocol in [Protocol::Binary, Protocol::Compact] {
            prop_assert_eq!(decode_emit_batch(&encode_emit_batch(&batch, protocol), protocol), Ok(batch.clone()));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_batch(&bytes);
        let _ = decode_emit_batch(&bytes, Protocol::Binary);
        let _ = decode_emit_batch(&bytes, Protocol::Compact);
    }

    #[test]
    fn corrupted_batches_never_panic(batch in arb_batch(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for protocol in [Protocol::Binary, Protocol::Compact] {
            let mut message = encode_emit_batch(&batch, protocol);
            let i = at.index(message.len());
            message[i] = byte;
            let _ = decode_emit_batch(&message, protocol);
        }
    }
}

/// Writes seed inputs for the fuzz targets: `cargo test --lib write_jaeger_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "writes fuzz seeds under fuzz/seeds"]
fn write_jaeger_fuzz_seeds() {
    let small =
        Batch { spans: vec![arb_free_span()], process: Some(Process { service_name: "svc".into(), tags: vec![] }) };
    let mut full = arb_free_span();
    full.references = vec![span_ref(5, SpanRefType::ChildOf), span_ref(6, SpanRefType::FollowsFrom)];
    full.tags = vec![
        KeyValue { key: "http.method".into(), v_str: "GET".into(), ..KeyValue::default() },
        KeyValue { key: "error".into(), v_type: ValueType::Bool as i32, v_bool: true, ..KeyValue::default() },
        KeyValue { key: "n".into(), v_type: ValueType::Int64 as i32, v_int64: -3, ..KeyValue::default() },
        KeyValue { key: "x".into(), v_type: ValueType::Float64 as i32, v_float64: 0.25, ..KeyValue::default() },
        KeyValue { key: "b".into(), v_type: ValueType::Binary as i32, v_binary: vec![1, 2], ..KeyValue::default() },
    ];
    full.logs =
        vec![Log { timestamp: Some(Timestamp { seconds: 1_700_000_000, nanos: 9_000 }), fields: full.tags.clone() }];
    let process = Process { service_name: "frontend".into(), tags: full.tags[..2].to_vec() };
    let full = Batch { spans: vec![full.clone(), arb_free_span(), full], process: Some(process) };
    let empty = Batch { spans: vec![], process: Some(Process { service_name: "idle".into(), tags: vec![] }) };

    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let write = |target: &str, name: &str, bytes: Vec<u8>| {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        std::fs::write(dir.join(name), bytes).expect("write seed");
    };
    for (name, batch) in [("small", &small), ("full", &full), ("empty", &empty)] {
        // The binary target tries both the bare struct and the emitBatch message on every input.
        write("jaeger_thrift_binary", &format!("{name}_batch"), encode_batch(batch));
        write("jaeger_thrift_binary", &format!("{name}_emit"), encode_emit_batch(batch, Protocol::Binary));
        write("jaeger_thrift_compact", &format!("{name}_emit"), encode_emit_batch(batch, Protocol::Compact));
    }
}
