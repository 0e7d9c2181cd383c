//! Zipkin v1 thrift (zipkinCore.thrift, PROTOCOLS §3.4): the `POST /api/v1/spans` body with
//! `Content-Type: application/x-thrift`, a TBinaryProtocol `list<Span>`, decoded into [`V1Span`]s
//! for the shared v1 → v2 conversion.
//!
//! Rules, and why:
//! - the list, its structs and their field types must be well formed, else the whole request is
//!   refused ([`ThriftError`]): nothing after a structural error can be trusted;
//! - a span with a missing or zero trace id or span id is rejected alone ([`InvalidSpan`]), so
//!   one bad span does not cost the rest of the batch; a malformed fixed-width binary annotation
//!   value (a BOOL that is not 1 byte, an I32 that is not 4 ...) rejects its span the same way;
//! - `trace_id_high` ‖ `trace_id` form the 128-bit trace id; `parent_id` 0 means none;
//! - zipkinCore has no "unset" for i64s, so a zero or negative `timestamp`/`duration` is absent
//!   (Zipkin treats them the same); a negative annotation timestamp reads as 0;
//! - endpoints: `ipv4` 0, `port` 0 and an empty `service_name` mean unknown (the port's bits are
//!   read as unsigned, as Zipkin does); `ipv6` is used only when it is 16 bytes;
//! - binary annotation values become text the way Zipkin's v1 JSON shows them: BOOL → bool,
//!   STRING → text (invalid UTF-8 replaced, as Zipkin's Java reader does), I16/I32/I64 → decimal,
//!   DOUBLE (8 bytes big-endian) → shortest round-trip decimal, BYTES → standard base64; a missing
//!   or unknown `annotation_type` is treated as BYTES, the one rendering that loses nothing;
//! - strings (names, keys, values) are decoded lossily for the same reason; unknown fields are
//!   skipped.
//!
//! [`encode_spans`] writes what [`decode_spans`] reads (for tests and test clients): numbers as
//! their two's-complement `i64`, absent parts left out, bool and text annotations as BOOL and
//! STRING, so `decode(encode(spans)) == spans` for spans whose times fit in `i64`.

#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;

use super::span::Endpoint;
use super::v1::{V1Annotation, V1BinaryAnnotation, V1Span, V1Value};
use crate::model::{IdError, InvalidSpan, SpanId, TraceId};
use crate::receiver::thrift::schema::{read_list, read_struct, FieldSpec, StructSpec};
use crate::receiver::thrift::{BinaryReader, BinaryWriter, FieldType, ThriftError, ThriftRead, ThriftWrite};

const SPAN: StructSpec = StructSpec {
    name: "Span",
    fields: &[
        FieldSpec::optional(1, "trace_id", FieldType::I64),
        FieldSpec::optional(3, "name", FieldType::Binary),
        FieldSpec::optional(4, "id", FieldType::I64),
        FieldSpec::optional(5, "parent_id", FieldType::I64),
        FieldSpec::optional(6, "annotations", FieldType::List),
        FieldSpec::optional(8, "binary_annotations", FieldType::List),
        FieldSpec::optional(9, "debug", FieldType::Bool),
        FieldSpec::optional(10, "timestamp", FieldType::I64),
        FieldSpec::optional(11, "duration", FieldType::I64),
        FieldSpec::optional(12, "trace_id_high", FieldType::I64),
    ],
};

const ENDPOINT: StructSpec = StructSpec {
    name: "Endpoint",
    fields: &[
        FieldSpec::optional(1, "ipv4", FieldType::I32),
        FieldSpec::optional(2, "port", FieldType::I16),
        FieldSpec::optional(3, "service_name", FieldType::Binary),
        FieldSpec::optional(4, "ipv6", FieldType::Binary),
    ],
};

const ANNOTATION: StructSpec = StructSpec {
    name: "Annotation",
    fields: &[
        FieldSpec::optional(1, "timestamp", FieldType::I64),
        FieldSpec::optional(2, "value", FieldType::Binary),
        FieldSpec::optional(3, "host", FieldType::Struct),
    ],
};

const BINARY_ANNOTATION: StructSpec = StructSpec {
    name: "BinaryAnnotation",
    fields: &[
        FieldSpec::optional(1, "key", FieldType::Binary),
        FieldSpec::optional(2, "value", FieldType::Binary),
        FieldSpec::optional(3, "annotation_type", FieldType::I32),
        FieldSpec::optional(4, "host", FieldType::Struct),
    ],
};

/// zipkinCore.thrift `AnnotationType` codes.
mod annotation_type {
    pub const BOOL: i32 = 0;
    pub const BYTES: i32 = 1;
    pub const I16: i32 = 2;
    pub const I32: i32 = 3;
    pub const I64: i32 = 4;
    pub const DOUBLE: i32 = 5;
    pub const STRING: i32 = 6;
}

/// Decodes a binary-protocol `list<Span>`: each span decoded, or the reason it was left out.
pub fn decode_spans(body: &[u8]) -> Result<Vec<Result<V1Span, InvalidSpan>>, ThriftError> {
    let mut r = BinaryReader::new(body);
    let spans = read_list(&mut r, FieldType::Struct, read_span)?;
    r.expect_end("list of spans")?;
    Ok(spans)
}

/// Encodes spans as a binary-protocol `list<Span>`.
pub fn encode_spans(spans: &[V1Span]) -> Vec<u8> {
    let mut w = BinaryWriter::new();
    w.write_list_begin(FieldType::Struct, spans.len());
    spans.iter().for_each(|span| write_span(&mut w, span));
    w.into_bytes()
}

/// A span's fields as sent, before its ids are checked.
#[derive(Default)]
struct WireSpan {
    trace_id: Option<i64>,
    trace_id_high: i64,
    name: String,
    id: Option<i64>,
    parent_id: i64,
    annotations: Vec<V1Annotation>,
    binary_annotations: Vec<Result<V1BinaryAnnotation, InvalidSpan>>,
    debug: bool,
    timestamp: i64,
    duration: i64,
}

fn read_span<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<Result<V1Span, InvalidSpan>, ThriftError> {
    let mut wire = WireSpan::default();
    read_struct(r, &SPAN, |r, id| {
        match id {
            1 => wire.trace_id = Some(r.read_i64()?),
            3 => wire.name = lossy(r.read_binary()?),
            4 => wire.id = Some(r.read_i64()?),
            5 => wire.parent_id = r.read_i64()?,
            6 => wire.annotations = read_list(r, FieldType::Struct, read_annotation)?,
            8 => wire.binary_annotations = read_list(r, FieldType::Struct, read_binary_annotation)?,
            9 => wire.debug = r.read_bool()?,
            10 => wire.timestamp = r.read_i64()?,
            11 => wire.duration = r.read_i64()?,
            _ => wire.trace_id_high = r.read_i64()?,
        }
        Ok(())
    })?;
    Ok(wire.into_span())
}

impl WireSpan {
    fn into_span(self) -> Result<V1Span, InvalidSpan> {
        let low = self.trace_id.ok_or_else(|| InvalidSpan::Field("span has no trace_id (field 1)".into()))?;
        let trace_id = TraceId::from_halves(self.trace_id_high as u64, low as u64)?;
        let id = self.id.ok_or_else(|| InvalidSpan::Field("span has no id (field 4)".into()))?;
        let id = span_id(id)?;
        let parent_id = match self.parent_id {
            0 => None,
            parent => Some(span_id(parent)?),
        };
        Ok(V1Span {
            trace_id,
            name: self.name,
            id,
            parent_id,
            timestamp: positive(self.timestamp),
            duration: positive(self.duration),
            annotations: self.annotations,
            binary_annotations: self.binary_annotations.into_iter().collect::<Result<_, _>>()?,
            debug: self.debug,
        })
    }
}

fn span_id(id: i64) -> Result<SpanId, IdError> {
    SpanId::from_array(id.to_be_bytes())
}

/// zipkinCore cannot send "unset" for an i64, so 0 (and nonsense below it) means absent.
fn positive(value: i64) -> Option<u64> {
    u64::try_from(value).ok().filter(|v| *v > 0)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_annotation<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<V1Annotation, ThriftError> {
    let mut annotation = V1Annotation { timestamp: 0, value: String::new(), endpoint: None };
    read_struct(r, &ANNOTATION, |r, id| {
        match id {
            1 => annotation.timestamp = u64::try_from(r.read_i64()?).unwrap_or(0),
            2 => annotation.value = lossy(r.read_binary()?),
            _ => annotation.endpoint = Some(read_endpoint(r)?),
        }
        Ok(())
    })?;
    Ok(annotation)
}

fn read_binary_annotation<'a, R: ThriftRead<'a>>(
    r: &mut R,
) -> Result<Result<V1BinaryAnnotation, InvalidSpan>, ThriftError> {
    let (mut key, mut value, mut value_type, mut endpoint) = (String::new(), &[][..], annotation_type::BYTES, None);
    read_struct(r, &BINARY_ANNOTATION, |r, id| {
        match id {
            1 => key = lossy(r.read_binary()?),
            2 => value = r.read_binary()?,
            3 => value_type = r.read_i32()?,
            _ => endpoint = Some(read_endpoint(r)?),
        }
        Ok(())
    })?;
    Ok(render_value(&key, value, value_type).map(|value| V1BinaryAnnotation { key, value, endpoint }))
}

/// A binary annotation's value as Zipkin's v1 JSON would show it.
fn render_value(key: &str, value: &[u8], value_type: i32) -> Result<V1Value, InvalidSpan> {
    Ok(match value_type {
        annotation_type::BOOL => {
            let [b] = fixed_width(key, "BOOL", value)?;
            V1Value::Bool(b == 1)
        }
        annotation_type::STRING => V1Value::String(lossy(value)),
        annotation_type::I16 => V1Value::String(i16::from_be_bytes(fixed_width(key, "I16", value)?).to_string()),
        annotation_type::I32 => V1Value::String(i32::from_be_bytes(fixed_width(key, "I32", value)?).to_string()),
        annotation_type::I64 => V1Value::String(i64::from_be_bytes(fixed_width(key, "I64", value)?).to_string()),
        annotation_type::DOUBLE => V1Value::String(f64::from_be_bytes(fixed_width(key, "DOUBLE", value)?).to_string()),
        _ => V1Value::String(base64::engine::general_purpose::STANDARD.encode(value)),
    })
}

/// The value of a fixed-width annotation type, which must be exactly `N` bytes.
fn fixed_width<const N: usize>(key: &str, type_name: &str, value: &[u8]) -> Result<[u8; N], InvalidSpan> {
    value.try_into().map_err(|_| {
        InvalidSpan::Field(format!(
            "binary annotation {key:?} of type {type_name} must be {N} bytes, got {}",
            value.len()
        ))
    })
}

fn read_endpoint<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<Endpoint, ThriftError> {
    let mut endpoint = Endpoint::default();
    read_struct(r, &ENDPOINT, |r, id| {
        match id {
            // The address bits, big-endian, in a signed i32.
            1 => endpoint.ipv4 = Some(Ipv4Addr::from(r.read_i32()? as u32)).filter(|ip| !ip.is_unspecified()),
            // The port's bits in a signed i16: 65535 arrives as -1.
            2 => endpoint.port = Some(r.read_i16()? as u16).filter(|port| *port != 0),
            3 => endpoint.service_name = Some(lossy(r.read_binary()?)).filter(|name| !name.is_empty()),
            _ => endpoint.ipv6 = <[u8; 16]>::try_from(r.read_binary()?).ok().map(Ipv6Addr::from),
        }
        Ok(())
    })?;
    Ok(endpoint)
}

fn write_span(w: &mut BinaryWriter, span: &V1Span) {
    w.write_struct_begin();
    write_i64_field(w, 1, span.trace_id.low() as i64);
    w.write_field_begin(FieldType::Binary, 3);
    w.write_string(&span.name);
    write_i64_field(w, 4, span.id.to_u64() as i64);
    if let Some(parent) = span.parent_id {
        write_i64_field(w, 5, parent.to_u64() as i64);
    }
    w.write_field_begin(FieldType::List, 6);
    w.write_list_begin(FieldType::Struct, span.annotations.len());
    for annotation in &span.annotations {
        w.write_struct_begin();
        write_i64_field(w, 1, annotation.timestamp as i64);
        w.write_field_begin(FieldType::Binary, 2);
        w.write_string(&annotation.value);
        write_host(w, 3, annotation.endpoint.as_ref());
        w.write_struct_end();
    }
    w.write_field_begin(FieldType::List, 8);
    w.write_list_begin(FieldType::Struct, span.binary_annotations.len());
    for annotation in &span.binary_annotations {
        let (value_type, value) = match &annotation.value {
            V1Value::Bool(b) => (annotation_type::BOOL, vec![u8::from(*b)]),
            V1Value::String(text) => (annotation_type::STRING, text.as_bytes().to_vec()),
        };
        w.write_struct_begin();
        w.write_field_begin(FieldType::Binary, 1);
        w.write_string(&annotation.key);
        w.write_field_begin(FieldType::Binary, 2);
        w.write_binary(&value);
        w.write_field_begin(FieldType::I32, 3);
        w.write_i32(value_type);
        write_host(w, 4, annotation.endpoint.as_ref());
        w.write_struct_end();
    }
    if span.debug {
        w.write_field_begin(FieldType::Bool, 9);
        w.write_bool(true);
    }
    if let Some(timestamp) = span.timestamp {
        write_i64_field(w, 10, timestamp as i64);
    }
    if let Some(duration) = span.duration {
        write_i64_field(w, 11, duration as i64);
    }
    if span.trace_id.high() != 0 {
        write_i64_field(w, 12, span.trace_id.high() as i64);
    }
    w.write_struct_end();
}

fn write_i64_field(w: &mut BinaryWriter, id: i16, value: i64) {
    w.write_field_begin(FieldType::I64, id);
    w.write_i64(value);
}

fn write_host(w: &mut BinaryWriter, id: i16, endpoint: Option<&Endpoint>) {
    let Some(endpoint) = endpoint else { return };
    w.write_field_begin(FieldType::Struct, id);
    w.write_struct_begin();
    if let Some(ipv4) = endpoint.ipv4 {
        w.write_field_begin(FieldType::I32, 1);
        w.write_i32(u32::from(ipv4) as i32);
    }
    if let Some(port) = endpoint.port {
        w.write_field_begin(FieldType::I16, 2);
        w.write_i16(port as i16);
    }
    if let Some(service_name) = &endpoint.service_name {
        w.write_field_begin(FieldType::Binary, 3);
        w.write_string(service_name);
    }
    if let Some(ipv6) = endpoint.ipv6 {
        w.write_field_begin(FieldType::Binary, 4);
        w.write_binary(&ipv6.octets());
    }
    w.write_struct_end();
}
