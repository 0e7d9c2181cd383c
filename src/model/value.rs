//! Typed attribute values (OTLP's `AnyValue`) and their text forms for formats that only carry strings.

use base64::Engine;

/// An attribute value of any OTLP type.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AnyValue {
    /// No value (OTLP allows an empty AnyValue).
    #[default]
    Empty,
    /// UTF-8 text.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Double(f64),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A list of values, possibly of mixed types.
    Array(Vec<AnyValue>),
    /// A nested map of key-value pairs.
    KvList(Vec<KeyValue>),
}

/// A named attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// Attribute key.
    pub key: String,
    /// Attribute value.
    pub value: AnyValue,
}

impl KeyValue {
    /// Builds a key-value pair.
    pub fn new(key: impl Into<String>, value: AnyValue) -> Self {
        Self { key: key.into(), value }
    }
}

impl AnyValue {
    /// The value as one string, the way the OpenTelemetry translators render attributes for
    /// string-only formats: scalars plainly, bytes as base64, arrays and maps as JSON text.
    pub fn to_text(&self) -> String {
        match self {
            Self::String(s) => s.clone(),
            _ => {
                let mut text = String::new();
                self.write_text(&mut text);
                text
            }
        }
    }

    /// Appends [`to_text`](Self::to_text)'s string to `out`, building no intermediate value.
    pub fn write_text(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            Self::Empty => {}
            Self::String(s) => out.push_str(s),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
            Self::Double(d) if d.is_finite() => {
                let _ = write!(out, "{d}");
            }
            Self::Double(d) => out.push_str(&format_double(*d)),
            Self::Bytes(b) => base64::engine::general_purpose::STANDARD.encode_string(b, out),
            Self::Array(_) | Self::KvList(_) => {
                let mut bytes = std::mem::take(out).into_bytes();
                // Writing JSON into a vector cannot fail, and JSON text is UTF-8.
                let _ = serde_json::to_writer(&mut bytes, &JsonView(self));
                *out = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            }
        }
    }

    /// The value as JSON: scalars as JSON scalars, bytes as base64 strings, maps as objects.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Self::Empty => Value::Null,
            Self::String(s) => Value::String(s.clone()),
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Double(d) => {
                serde_json::Number::from_f64(*d).map(Value::Number).unwrap_or_else(|| Value::String(format_double(*d)))
            }
            Self::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Self::Array(values) => Value::Array(values.iter().map(Self::to_json).collect()),
            Self::KvList(pairs) => Value::Object(pairs.iter().map(|kv| (kv.key.clone(), kv.value.to_json())).collect()),
        }
    }

    /// Heap bytes the value owns (its inline size is counted by its container).
    fn heap_bytes(&self) -> usize {
        match self {
            Self::String(s) => heap_block(s.capacity()),
            Self::Bytes(b) => heap_block(b.capacity()),
            Self::Array(values) => {
                heap_block(values.capacity() * std::mem::size_of::<Self>())
                    + values.iter().map(Self::heap_bytes).sum::<usize>()
            }
            Self::KvList(pairs) => heap_bytes(pairs),
            _ => 0,
        }
    }
}

/// Formats a float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` does, which the translators use.
fn format_double(d: f64) -> String {
    if d.is_nan() {
        "NaN".to_owned()
    } else if d.is_infinite() {
        if d > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        d.to_string()
    }
}

/// Serializes a value as [`AnyValue::to_json`] would build it, without building it.
struct JsonView<'a>(&'a AnyValue);

impl serde::Serialize for JsonView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.0 {
            AnyValue::Empty => serializer.serialize_unit(),
            AnyValue::String(s) => serializer.serialize_str(s),
            AnyValue::Bool(b) => serializer.serialize_bool(*b),
            AnyValue::Int(i) => serializer.serialize_i64(*i),
            AnyValue::Double(d) if d.is_finite() => serializer.serialize_f64(*d),
            AnyValue::Double(d) => serializer.serialize_str(&format_double(*d)),
            AnyValue::Bytes(b) => serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            AnyValue::Array(values) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for v in values {
                    seq.serialize_element(&JsonView(v))?;
                }
                seq.end()
            }
            // A map keeps the last of repeated keys, in serde_json's key order: built as to_json does.
            AnyValue::KvList(_) => self.0.to_json().serialize(serializer),
        }
    }
}

/// The first value with this key.
pub(crate) fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

/// Bytes the allocator really uses for a heap block of `requested` bytes: glibc malloc adds an
/// 8-byte header, rounds up to 16 and never hands out less than 32. Budgets built from plain
/// lengths undercount spans made of many short strings by half or more.
pub(crate) fn heap_block(requested: usize) -> usize {
    if requested == 0 {
        0
    } else {
        ((requested + 8 + 15) & !15).max(32)
    }
}

/// Heap bytes of a list of attributes: the vector's buffer plus what each key and value owns.
pub(crate) fn heap_bytes(attributes: &Vec<KeyValue>) -> usize {
    heap_block(attributes.capacity() * std::mem::size_of::<KeyValue>())
        + attributes.iter().map(|kv| heap_block(kv.key.capacity()) + kv.value.heap_bytes()).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_maps_render_as_json_text() {
        let array = AnyValue::Array(vec![AnyValue::String("a".into()), AnyValue::Int(2)]);
        assert_eq!(array.to_text(), r#"["a",2]"#);
        let map = AnyValue::KvList(vec![KeyValue::new("k", AnyValue::Bool(true))]);
        assert_eq!(map.to_text(), r#"{"k":true}"#);
    }

    #[test]
    fn scalars_render_plainly() {
        assert_eq!(AnyValue::Double(1.5).to_text(), "1.5");
        assert_eq!(AnyValue::Double(2.0).to_text(), "2");
        assert_eq!(AnyValue::Double(f64::INFINITY).to_text(), "+Inf");
        assert_eq!(AnyValue::Bytes(vec![1, 2, 3]).to_text(), "AQID");
        assert_eq!(AnyValue::Int(-7).to_text(), "-7");
    }

    fn arb_value() -> impl proptest::strategy::Strategy<Value = AnyValue> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(AnyValue::Empty),
            ".{0,8}".prop_map(AnyValue::String),
            any::<bool>().prop_map(AnyValue::Bool),
            any::<i64>().prop_map(AnyValue::Int),
            any::<f64>().prop_map(AnyValue::Double),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), Just(1e21), Just(1e-7)]
                .prop_map(AnyValue::Double),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(AnyValue::Bytes),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(AnyValue::Array),
                proptest::collection::vec(("[ab]{0,2}", inner), 0..4)
                    .prop_map(|pairs| AnyValue::KvList(pairs.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The direct writer renders what building the JSON tree (or the plain scalar) renders.
        #[test]
        fn write_text_renders_as_the_json_tree_does(value in arb_value(), prefix in ".{0,3}") {
            let expected = match &value {
                AnyValue::Array(_) | AnyValue::KvList(_) => value.to_json().to_string(),
                AnyValue::Empty => String::new(),
                AnyValue::String(s) => s.clone(),
                AnyValue::Bool(b) => b.to_string(),
                AnyValue::Int(i) => i.to_string(),
                AnyValue::Double(d) => format_double(*d),
                AnyValue::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
            };
            let mut out = prefix.clone();
            value.write_text(&mut out);
            proptest::prop_assert_eq!(out, format!("{prefix}{expected}"));
            proptest::prop_assert_eq!(value.to_text(), expected);
        }
    }
}
