use proptest::prelude::*;

use super::schema::{read_list, read_struct, FieldSpec, StructSpec};
use super::*;

/// Any thrift value, to drive both protocols generically. Doubles are kept as bits so that NaN
/// payloads compare equal.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bool(bool),
    Byte(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    Double(u64),
    Binary(Vec<u8>),
    Struct(Vec<(i16, Value)>),
    List(FieldType, Vec<Value>),
    Set(FieldType, Vec<Value>),
    Map(FieldType, FieldType, Vec<(Value, Value)>),
}

impl Value {
    fn field_type(&self) -> FieldType {
        match self {
            Self::Bool(_) => FieldType::Bool,
            Self::Byte(_) => FieldType::Byte,
            Self::I16(_) => FieldType::I16,
            Self::I32(_) => FieldType::I32,
            Self::I64(_) => FieldType::I64,
            Self::Double(_) => FieldType::Double,
            Self::Binary(_) => FieldType::Binary,
            Self::Struct(_) => FieldType::Struct,
            Self::List(..) => FieldType::List,
            Self::Set(..) => FieldType::Set,
            Self::Map(..) => FieldType::Map,
        }
    }

    fn write<W: ThriftWrite>(&self, w: &mut W) {
        match self {
            Self::Bool(v) => w.write_bool(*v),
            Self::Byte(v) => w.write_byte(*v),
            Self::I16(v) => w.write_i16(*v),
            Self::I32(v) => w.write_i32(*v),
            Self::I64(v) => w.write_i64(*v),
            Self::Double(bits) => w.write_double(f64::from_bits(*bits)),
            Self::Binary(v) => w.write_binary(v),
            Self::Struct(fields) => {
                w.write_struct_begin();
                for (id, value) in fields {
                    w.write_field_begin(value.field_type(), *id);
                    value.write(w);
                }
                w.write_struct_end();
            }
            Self::List(element_type, values) | Self::Set(element_type, values) => {
                if matches!(self, Self::List(..)) {
                    w.write_list_begin(*element_type, values.len());
                } else {
                    w.write_set_begin(*element_type, values.len());
                }
                values.iter().for_each(|v| v.write(w));
            }
            Self::Map(key_type, value_type, entries) => {
                w.write_map_begin(*key_type, *value_type, entries.len());
                for (k, v) in entries {
                    k.write(w);
                    v.write(w);
                }
            }
        }
    }

    fn read<'a, R: ThriftRead<'a>>(r: &mut R, field_type: FieldType) -> Result<Self, ThriftError> {
        Ok(match field_type {
            FieldType::Bool => Self::Bool(r.read_bool()?),
            FieldType::Byte => Self::Byte(r.read_byte()?),
            FieldType::I16 => Self::I16(r.read_i16()?),
            FieldType::I32 => Self::I32(r.read_i32()?),
            FieldType::I64 => Self::I64(r.read_i64()?),
            FieldType::Double => Self::Double(r.read_double()?.to_bits()),
            FieldType::Binary => Self::Binary(r.read_binary()?.to_vec()),
            FieldType::Struct => {
                r.read_struct_begin()?;
                let mut fields = Vec::new();
                while let Some(field) = r.read_field_begin()? {
                    fields.push((field.id, Self::read(r, field.field_type)?));
                }
                r.read_struct_end();
                Self::Struct(fields)
            }
            FieldType::List | FieldType::Set => {
                let header = if field_type == FieldType::List { r.read_list_begin()? } else { r.read_set_begin()? };
                let values = (0..header.len).map(|_| Self::read(r, header.element_type)).collect::<Result<_, _>>()?;
                if field_type == FieldType::List {
                    Self::List(header.element_type, values)
                } else {
                    Self::Set(header.element_type, values)
                }
            }
            FieldType::Map => {
                let header = r.read_map_begin()?;
                let entries = (0..header.len)
                    .map(|_| Ok((Self::read(r, header.key_type)?, Self::read(r, header.value_type)?)))
                    .collect::<Result<_, ThriftError>>()?;
                Self::Map(header.key_type, header.value_type, entries)
            }
        })
    }
}

const ALL_TYPES: [FieldType; 11] = [
    FieldType::Bool,
    FieldType::Byte,
    FieldType::I16,
    FieldType::I32,
    FieldType::I64,
    FieldType::Double,
    FieldType::Binary,
    FieldType::Struct,
    FieldType::Map,
    FieldType::Set,
    FieldType::List,
];

fn message_bytes(protocol: Protocol, name: &str, message_type: MessageType, seq: i32, body: &Value) -> Vec<u8> {
    fn go<W: ThriftWrite>(mut w: W, name: &str, message_type: MessageType, seq: i32, body: &Value) -> Vec<u8> {
        w.write_message_begin(name, message_type, seq);
        body.write(&mut w);
        w.into_bytes()
    }
    match protocol {
        Protocol::Binary => go(BinaryWriter::new(), name, message_type, seq, body),
        Protocol::Compact => go(CompactWriter::new(), name, message_type, seq, body),
    }
}

fn value_bytes(protocol: Protocol, value: &Value) -> Vec<u8> {
    fn go<W: ThriftWrite>(mut w: W, value: &Value) -> Vec<u8> {
        value.write(&mut w);
        w.into_bytes()
    }
    match protocol {
        Protocol::Binary => go(BinaryWriter::new(), value),
        Protocol::Compact => go(CompactWriter::new(), value),
    }
}

fn read_value(protocol: Protocol, bytes: &[u8], field_type: FieldType) -> Result<(Value, usize), ThriftError> {
    fn go<'a, R: ThriftRead<'a>>(mut r: R, field_type: FieldType) -> Result<(Value, usize), ThriftError> {
        let value = Value::read(&mut r, field_type)?;
        Ok((value, r.remaining()))
    }
    match protocol {
        Protocol::Binary => go(BinaryReader::new(bytes), field_type),
        Protocol::Compact => go(CompactReader::new(bytes), field_type),
    }
}

fn skip_value_bytes(protocol: Protocol, bytes: &[u8], field_type: FieldType) -> Result<usize, ThriftError> {
    fn go<'a, R: ThriftRead<'a>>(mut r: R, field_type: FieldType) -> Result<usize, ThriftError> {
        r.skip(field_type)?;
        Ok(r.remaining())
    }
    match protocol {
        Protocol::Binary => go(BinaryReader::new(bytes), field_type),
        Protocol::Compact => go(CompactReader::new(bytes), field_type),
    }
}

fn read_message(protocol: Protocol, bytes: &[u8]) -> Result<(String, MessageType, i32, Value), ThriftError> {
    fn go<'a, R: ThriftRead<'a>>(mut r: R) -> Result<(String, MessageType, i32, Value), ThriftError> {
        let header = r.read_message_begin()?;
        let body = Value::read(&mut r, FieldType::Struct)?;
        r.expect_end("message")?;
        Ok((header.name.to_owned(), header.message_type, header.sequence_id, body))
    }
    match protocol {
        Protocol::Binary => go(BinaryReader::new(bytes)),
        Protocol::Compact => go(CompactReader::new(bytes)),
    }
}

// ---- exact bytes --------------------------------------------------------------------------------

#[test]
fn binary_field_header_is_type_byte_and_big_endian_id() {
    let bytes = value_bytes(Protocol::Binary, &Value::Struct(vec![(1, Value::I32(1)), (300, Value::Bool(true))]));
    assert_eq!(bytes, [8, 0, 1, 0, 0, 0, 1, 2, 0x01, 0x2c, 1, 0]);
}

#[test]
fn compact_field_ids_use_deltas_then_long_form() {
    let value =
        Value::Struct(vec![(1, Value::I32(1)), (3, Value::I64(-1)), (2, Value::Byte(7)), (40, Value::Bool(false))]);
    let bytes = value_bytes(Protocol::Compact, &value);
    // delta 1 i32 zigzag(1)=2; delta 2 i64 zigzag(-1)=1; long form byte, zigzag(2)=4; long form bool
    // false (type 2) with zigzag(40)=80; STOP.
    assert_eq!(bytes, [0x15, 0x02, 0x26, 0x01, 0x03, 0x04, 0x07, 0x02, 80, 0x00]);
    assert_eq!(read_value(Protocol::Compact, &bytes, FieldType::Struct), Ok((value, 0)));
}

#[test]
fn compact_bool_fields_fold_the_value_into_the_header() {
    let bytes = value_bytes(Protocol::Compact, &Value::Struct(vec![(1, Value::Bool(true)), (2, Value::Bool(false))]));
    assert_eq!(bytes, [0x11, 0x12, 0x00]);
}

#[test]
fn compact_doubles_are_little_endian_and_binary_big_endian() {
    let value = Value::Double(1.5f64.to_bits());
    assert_eq!(value_bytes(Protocol::Compact, &value), 1.5f64.to_le_bytes());
    assert_eq!(value_bytes(Protocol::Binary, &value), 1.5f64.to_be_bytes());
}

#[test]
fn compact_lists_switch_to_the_long_header_at_fifteen_elements() {
    let short = Value::List(FieldType::I32, vec![Value::I32(0); 14]);
    assert_eq!(value_bytes(Protocol::Compact, &short)[0], 0xE5);
    let long = Value::List(FieldType::I32, vec![Value::I32(0); 15]);
    assert_eq!(&value_bytes(Protocol::Compact, &long)[..2], &[0xF5, 15]);
    let bools = Value::List(FieldType::Bool, vec![Value::Bool(true), Value::Bool(false)]);
    assert_eq!(value_bytes(Protocol::Compact, &bools), [0x21, 1, 2]);
}

#[test]
fn compact_empty_map_is_one_zero_byte() {
    let empty = Value::Map(FieldType::Byte, FieldType::Byte, vec![]);
    assert_eq!(value_bytes(Protocol::Compact, &empty), [0]);
    let one = Value::Map(FieldType::Binary, FieldType::I32, vec![(Value::Binary(b"k".to_vec()), Value::I32(-1))]);
    assert_eq!(value_bytes(Protocol::Compact, &one), [1, 0x85, 1, b'k', 1]);
}

#[test]
fn message_headers_match_each_protocol() {
    let empty = Value::Struct(vec![]);
    let binary = message_bytes(Protocol::Binary, "ab", MessageType::Oneway, 7, &empty);
    assert_eq!(binary, [0x80, 0x01, 0x00, 0x04, 0, 0, 0, 2, b'a', b'b', 0, 0, 0, 7, 0]);
    let compact = message_bytes(Protocol::Compact, "ab", MessageType::Call, 300, &empty);
    assert_eq!(compact, [0x82, 0x21, 0xac, 0x02, 2, b'a', b'b', 0]);
    for (protocol, bytes, message_type, seq) in
        [(Protocol::Binary, binary, MessageType::Oneway, 7), (Protocol::Compact, compact, MessageType::Call, 300)]
    {
        assert_eq!(read_message(protocol, &bytes), Ok(("ab".into(), message_type, seq, empty.clone())));
    }
}

#[test]
fn reads_old_non_strict_binary_message_header() {
    let mut w = BinaryWriter::new();
    w.write_message_begin_non_strict("emitBatch", MessageType::Call, 3);
    Value::Struct(vec![(1, Value::I64(9))]).write(&mut w);
    let bytes = w.into_bytes();
    assert_eq!(&bytes[..4], &[0, 0, 0, 9]);
    let (name, message_type, seq, _) = read_message(Protocol::Binary, &bytes).expect("non-strict header");
    assert_eq!((name.as_str(), message_type, seq), ("emitBatch", MessageType::Call, 3));
}

// ---- errors -------------------------------------------------------------------------------------

#[test]
fn truncated_value_reports_offset_and_what_was_read() {
    let bytes = [10, 0, 1, 0, 0, 0];
    let err = read_value(Protocol::Binary, &bytes, FieldType::Struct).unwrap_err();
    assert_eq!(err.to_string(), "unexpected end of input at byte 3 reading i64");
}

#[test]
fn oversized_list_is_refused_before_allocating() {
    // compact list<i64>, long form, 4294967295 elements, then 12 bytes.
    let mut bytes = vec![0xF6, 0xff, 0xff, 0xff, 0xff, 0x0f];
    bytes.extend([1; 12]);
    let err = read_value(Protocol::Compact, &bytes, FieldType::List).unwrap_err();
    assert_eq!(
        err.to_string(),
        "list of 4294967295 elements at byte 0 needs at least 4294967295 bytes, only 12 are left"
    );
    // binary list<i64> of 2 needs 16 bytes.
    let mut bytes = vec![10, 0, 0, 0, 2];
    bytes.extend([0; 12]);
    let err = read_value(Protocol::Binary, &bytes, FieldType::List).unwrap_err();
    assert!(matches!(err, ThriftError::ContainerTooLong { needed: 16, remaining: 12, .. }), "{err}");
}

#[test]
fn negative_binary_size_and_long_binary_are_refused() {
    let err = read_value(Protocol::Binary, &[0xff, 0xff, 0xff, 0xff], FieldType::Binary).unwrap_err();
    assert_eq!(err.to_string(), "negative binary length size -1 at byte 0");
    let err = read_value(Protocol::Compact, &[0x05, b'a'], FieldType::Binary).unwrap_err();
    assert_eq!(err.to_string(), "binary of 5 bytes at byte 0 exceeds the 1 bytes left");
}

#[test]
fn invalid_utf8_names_the_first_bad_byte() {
    let bytes = [0, 0, 0, 3, b'a', 0xff, b'b'];
    let err = BinaryReader::new(&bytes).read_string().unwrap_err();
    assert_eq!(err, ThriftError::InvalidUtf8 { offset: 5 });
}

#[test]
fn overlong_varint_is_refused() {
    let err = read_value(Protocol::Compact, &[0xff; 11], FieldType::I64).unwrap_err();
    assert_eq!(err, ThriftError::VarintTooLong { offset: 0, max: 10 });
    let err = read_value(Protocol::Compact, &[0xff; 6], FieldType::I32).unwrap_err();
    assert_eq!(err, ThriftError::VarintTooLong { offset: 0, max: 5 });
}

#[test]
fn unknown_type_codes_are_refused() {
    assert_eq!(
        read_value(Protocol::Binary, &[7, 0, 1], FieldType::Struct).unwrap_err(),
        ThriftError::UnknownType { offset: 0, code: 7 }
    );
    assert_eq!(
        read_value(Protocol::Compact, &[0x1d], FieldType::Struct).unwrap_err(),
        ThriftError::UnknownType { offset: 0, code: 13 }
    );
}

#[test]
fn bad_message_headers_are_refused() {
    let err = BinaryReader::new(&[0x80, 0x02, 0, 1]).read_message_begin().unwrap_err();
    assert_eq!(err.to_string(), "invalid message header at byte 0: version 0x80020000, expected 0x80010000");
    let err = CompactReader::new(&[0x81, 0x21]).read_message_begin().unwrap_err();
    assert_eq!(err.to_string(), "invalid message header at byte 0: protocol id 0x81, expected 0x82");
    let err = CompactReader::new(&[0x82, 0x22]).read_message_begin().unwrap_err();
    assert_eq!(err.to_string(), "invalid message header at byte 1: compact protocol version 2, expected 1");
    let err = CompactReader::new(&[0x82, 0xa1]).read_message_begin().unwrap_err();
    assert_eq!(err.to_string(), "invalid message header at byte 1: unknown message type 5");
}

#[test]
fn deep_nesting_stops_at_the_limit() {
    let mut nested = Value::Struct(vec![]);
    for _ in 0..MAX_DEPTH + 5 {
        nested = Value::Struct(vec![(1, nested)]);
    }
    let mut lists = Value::List(FieldType::I32, vec![]);
    for _ in 0..MAX_DEPTH + 5 {
        lists = Value::List(FieldType::List, vec![lists]);
    }
    for protocol in [Protocol::Binary, Protocol::Compact] {
        let err = skip_value_bytes(protocol, &value_bytes(protocol, &nested), FieldType::Struct).unwrap_err();
        assert!(matches!(err, ThriftError::TooDeep { limit: MAX_DEPTH, .. }), "{err}");
        let err = skip_value_bytes(protocol, &value_bytes(protocol, &lists), FieldType::List).unwrap_err();
        assert!(matches!(err, ThriftError::TooDeep { limit: MAX_DEPTH, .. }), "{err}");
    }
}

#[test]
fn trailing_bytes_after_a_message_are_an_error() {
    let mut bytes = message_bytes(Protocol::Compact, "m", MessageType::Call, 1, &Value::Struct(vec![]));
    bytes.push(0);
    assert_eq!(
        read_message(Protocol::Compact, &bytes).unwrap_err().to_string(),
        "1 trailing bytes at byte 6 after the end of the message"
    );
}

// ---- schema -------------------------------------------------------------------------------------

const POINT: StructSpec = StructSpec {
    name: "Point",
    fields: &[
        FieldSpec::required(1, "x", FieldType::I32),
        FieldSpec::optional(2, "label", FieldType::Binary),
        FieldSpec::optional(3, "tags", FieldType::List),
    ],
};

fn read_point(bytes: &[u8]) -> Result<(i32, String, Vec<String>), ThriftError> {
    let mut r = BinaryReader::new(bytes);
    let (mut x, mut label, mut tags) = (0, String::new(), Vec::new());
    read_struct(&mut r, &POINT, |r, id| {
        match id {
            1 => x = r.read_i32()?,
            2 => label = r.read_string()?.to_owned(),
            _ => tags = read_list(r, FieldType::Binary, |r| Ok(r.read_string()?.to_owned()))?,
        }
        Ok(())
    })?;
    r.expect_end("struct")?;
    Ok((x, label, tags))
}

#[test]
fn schema_skips_unknown_and_mistyped_optional_fields() {
    let value = Value::Struct(vec![
        (9, Value::Map(FieldType::I32, FieldType::Binary, vec![(Value::I32(1), Value::Binary(vec![1]))])),
        (2, Value::I64(5)),
        (1, Value::I32(-4)),
        (3, Value::List(FieldType::Binary, vec![Value::Binary(b"a".to_vec()), Value::Binary(b"b".to_vec())])),
    ]);
    let tags = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(read_point(&value_bytes(Protocol::Binary, &value)), Ok((-4, String::new(), tags)));
}

#[test]
fn schema_names_missing_and_mistyped_required_fields() {
    let missing = value_bytes(Protocol::Binary, &Value::Struct(vec![(2, Value::Binary(b"a".to_vec()))]));
    assert_eq!(read_point(&missing).unwrap_err().to_string(), "Point.x is required");
    let mistyped = value_bytes(Protocol::Binary, &Value::Struct(vec![(1, Value::I64(1))]));
    assert_eq!(read_point(&mistyped).unwrap_err().to_string(), "Point.x at byte 0 is i64, expected i32");
}

#[test]
fn schema_wraps_errors_with_field_and_element() {
    let bad_list = Value::Struct(vec![(1, Value::I32(1)), (3, Value::List(FieldType::I32, vec![Value::I32(1)]))]);
    let err = read_point(&value_bytes(Protocol::Binary, &bad_list)).unwrap_err();
    assert_eq!(err.to_string(), "Point.tags: list at byte 10 holds i32 elements, expected binary");
    let bad_element = Value::Struct(vec![
        (1, Value::I32(1)),
        (3, Value::List(FieldType::Binary, vec![Value::Binary(b"ok".to_vec()), Value::Binary(vec![b'x', 0xc3])])),
    ]);
    let err = read_point(&value_bytes(Protocol::Binary, &bad_element)).unwrap_err();
    assert_eq!(err.to_string(), "Point.tags: element 1: invalid UTF-8 at byte 26 in a string");
    assert_eq!(err.root_cause(), &ThriftError::InvalidUtf8 { offset: 26 });
}

// ---- properties ---------------------------------------------------------------------------------

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::I16),
        any::<i32>().prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        any::<u64>().prop_map(Value::Double),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(Value::Binary),
    ]
}

/// Keeps the values whose type matches the first one's: container elements share one type.
fn same_type(values: Vec<Value>) -> (FieldType, Vec<Value>) {
    let Some(first) = values.first().map(Value::field_type) else { return (FieldType::I32, values) };
    (first, values.into_iter().filter(|v| v.field_type() == first).collect())
}

fn arb_value() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 96, 8, |inner| {
        prop_oneof![
            proptest::collection::vec((any::<i16>(), inner.clone()), 0..6).prop_map(Value::Struct),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(|vs| {
                let (t, vs) = same_type(vs);
                Value::List(t, vs)
            }),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(|vs| {
                let (t, vs) = same_type(vs);
                Value::Set(t, vs)
            }),
            proptest::collection::vec((inner.clone(), inner), 0..5).prop_map(|entries| {
                let Some((k, v)) = entries.first().map(|(k, v)| (k.field_type(), v.field_type())) else {
                    return Value::Map(FieldType::Byte, FieldType::Byte, entries);
                };
                let entries = entries.into_iter().filter(|(a, b)| a.field_type() == k && b.field_type() == v).collect();
                Value::Map(k, v, entries)
            }),
            proptest::collection::vec(any::<i64>(), 0..40)
                .prop_map(|vs| Value::List(FieldType::I64, vs.into_iter().map(Value::I64).collect())),
            proptest::collection::vec(any::<bool>(), 0..40)
                .prop_map(|vs| Value::Set(FieldType::Bool, vs.into_iter().map(Value::Bool).collect())),
        ]
    })
}

fn arb_protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::Binary), Just(Protocol::Compact)]
}

proptest! {
    #[test]
    fn values_survive_write_then_read(protocol in arb_protocol(), value in arb_value()) {
        let bytes = value_bytes(protocol, &value);
        prop_assert_eq!(read_value(protocol, &bytes, value.field_type()), Ok((value.clone(), 0)));
        prop_assert_eq!(skip_value_bytes(protocol, &bytes, value.field_type()), Ok(0));
    }

    #[test]
    fn messages_survive_write_then_read(
        protocol in arb_protocol(),
        name in "\\PC{0,12}",
        message_type in prop_oneof![Just(MessageType::Call), Just(MessageType::Reply), Just(MessageType::Exception), Just(MessageType::Oneway)],
        seq in any::<i32>(),
        fields in proptest::collection::vec((any::<i16>(), arb_value()), 0..6),
    ) {
        let body = Value::Struct(fields);
        let bytes = message_bytes(protocol, &name, message_type, seq, &body);
        prop_assert_eq!(read_message(protocol, &bytes), Ok((name, message_type, seq, body)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(protocol in arb_protocol(), bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = read_message(protocol, &bytes);
        for field_type in ALL_TYPES {
            let _ = read_value(protocol, &bytes, field_type);
            let _ = skip_value_bytes(protocol, &bytes, field_type);
        }
    }

    #[test]
    fn corrupted_values_never_panic(
        protocol in arb_protocol(),
        value in arb_value(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = value_bytes(protocol, &value);
        if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
            bytes.truncate(cut.index(bytes.len()) + 1);
        }
        for field_type in ALL_TYPES {
            let _ = read_value(protocol, &bytes, field_type);
            let _ = skip_value_bytes(protocol, &bytes, field_type);
        }
    }
}
