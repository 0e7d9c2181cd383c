//! How the disk store writes spans: as an OTLP protobuf `ExportTraceServiceRequest`, the format
//! whose decoder already carries every field of the model, plus the two flags OTLP has no field
//! for (Zipkin's `shared` and `debug`), kept in span-flag bits OTLP leaves unused. The encoder
//! writes the protobuf straight from the model (the query side's `encode_spans` builds message
//! structs first, cloning every string); a test holds the two byte for byte equal. fjall
//! compresses the values.

use std::sync::Arc;

use prost::encoding::{encode_key, encode_varint, WireType};

use crate::model::{AnyValue, KeyValue, Span, SpanRecord, StatusCode};
use crate::query::otlp::group_spans;
use crate::receiver::otlp::convert::{decode_protobuf, request_into_model};

/// Span-flag bit for a Zipkin shared span (OTLP uses bits 0–9).
const SHARED: u32 = 1 << 30;
/// Span-flag bit for a force-sampled (debug) span.
const DEBUG: u32 = 1 << 31;

/// A stored value that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("stored spans are unreadable: {0}")]
pub struct CorruptValue(String);

/// Encodes spans for storage: grouped by resource, then scope, as `encode_spans` groups them.
pub fn encode(records: &[Arc<SpanRecord>]) -> Vec<u8> {
    let groups = group_spans(records);
    let mut out = Vec::with_capacity(256 * records.len());
    for (resource, scopes) in groups {
        nested(&mut out, 1, |out| {
            nested(out, 1, |out| {
                attributes(out, 1, &resource.attributes);
                uint(out, 2, u64::from(resource.dropped_attributes_count));
            });
            for (scope, spans) in scopes {
                nested(out, 2, |out| {
                    nested(out, 1, |out| {
                        text(out, 1, &scope.name);
                        text(out, 2, &scope.version);
                        attributes(out, 3, &scope.attributes);
                        uint(out, 4, u64::from(scope.dropped_attributes_count));
                    });
                    for span in spans {
                        nested(out, 2, |out| write_span(out, span));
                    }
                });
            }
        });
    }
    out
}

fn write_span(out: &mut Vec<u8>, span: &Span) {
    bytes(out, 1, span.trace_id.as_bytes());
    bytes(out, 2, span.span_id.as_bytes());
    text(out, 3, &span.trace_state);
    if let Some(parent) = span.parent_span_id {
        bytes(out, 4, parent.as_bytes());
    }
    text(out, 5, &span.name);
    uint(out, 6, u64::from(span.kind.to_otlp() as u32));
    fixed64(out, 7, span.start.0);
    fixed64(out, 8, span.end.0);
    attributes(out, 9, &span.attributes);
    uint(out, 10, u64::from(span.dropped_attributes_count));
    for event in &span.events {
        nested(out, 11, |out| {
            fixed64(out, 1, event.time.0);
            text(out, 2, &event.name);
            attributes(out, 3, &event.attributes);
            uint(out, 4, u64::from(event.dropped_attributes_count));
        });
    }
    uint(out, 12, u64::from(span.dropped_events_count));
    for link in &span.links {
        nested(out, 13, |out| {
            bytes(out, 1, link.trace_id.as_bytes());
            bytes(out, 2, link.span_id.as_bytes());
            text(out, 3, &link.trace_state);
            attributes(out, 4, &link.attributes);
            uint(out, 5, u64::from(link.dropped_attributes_count));
            fixed32(out, 6, link.flags);
        });
    }
    uint(out, 14, u64::from(span.dropped_links_count));
    nested(out, 15, |out| {
        text(out, 2, &span.status.message);
        let code = match span.status.code {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        };
        uint(out, 3, code);
    });
    let flags = span.flags | if span.shared { SHARED } else { 0 } | if span.debug { DEBUG } else { 0 };
    fixed32(out, 16, flags);
}

fn attributes(out: &mut Vec<u8>, field: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        nested(out, field, |out| {
            text(out, 1, &kv.key);
            nested(out, 2, |out| value(out, &kv.value));
        });
    }
}

fn value(out: &mut Vec<u8>, v: &AnyValue) {
    match v {
        AnyValue::Empty => {}
        AnyValue::String(s) => {
            tag(out, 1, WireType::LengthDelimited);
            encode_varint(s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        AnyValue::Bool(b) => {
            tag(out, 2, WireType::Varint);
            encode_varint(u64::from(*b), out);
        }
        AnyValue::Int(i) => {
            tag(out, 3, WireType::Varint);
            encode_varint(*i as u64, out);
        }
        AnyValue::Double(d) => {
            tag(out, 4, WireType::SixtyFourBit);
            out.extend_from_slice(&d.to_le_bytes());
        }
        AnyValue::Array(values) => nested(out, 5, |out| {
            for item in values {
                nested(out, 1, |out| value(out, item));
            }
        }),
        AnyValue::KvList(pairs) => nested(out, 6, |out| attributes(out, 1, pairs)),
        AnyValue::Bytes(b) => {
            tag(out, 7, WireType::LengthDelimited);
            encode_varint(b.len() as u64, out);
            out.extend_from_slice(b);
        }
    }
}

fn tag(out: &mut Vec<u8>, field: u32, wire: WireType) {
    encode_key(field, wire, out);
}

/// A length-delimited field written by `f`, its length filled in afterwards.
fn nested(out: &mut Vec<u8>, field: u32, f: impl FnOnce(&mut Vec<u8>)) {
    tag(out, field, WireType::LengthDelimited);
    let at = out.len();
    out.push(0);
    f(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        encode_varint(len as u64, &mut prefix);
        out.splice(at..at + 1, prefix);
    }
}

/// Scalars and strings are left out when they hold their default, as protobuf encoders do.
fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        tag(out, field, WireType::Varint);
        encode_varint(v, out);
    }
}

fn fixed64(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        tag(out, field, WireType::SixtyFourBit);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn fixed32(out: &mut Vec<u8>, field: u32, v: u32) {
    if v != 0 {
        tag(out, field, WireType::ThirtyTwoBit);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        tag(out, field, WireType::LengthDelimited);
        encode_varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }
}

fn text(out: &mut Vec<u8>, field: u32, s: &str) {
    bytes(out, field, s.as_bytes());
}

/// Decodes spans written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<SpanRecord>, CorruptValue> {
    let request = decode_protobuf(bytes).map_err(|e| CorruptValue(e.to_string()))?;
    let converted = request_into_model(request);
    if converted.rejected > 0 {
        return Err(CorruptValue(format!("{} invalid spans", converted.rejected)));
    }
    Ok(converted
        .batch
        .into_records()
        .map(|mut r| {
            r.span.shared = r.span.flags & SHARED != 0;
            r.span.debug = r.span.flags & DEBUG != 0;
            r.span.flags &= !(SHARED | DEBUG);
            r
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::model::{Event, Link};
    use crate::query::otlp::encode_spans_flagged;
    use crate::testkit::SpanBuilder;

    fn every_field() -> Vec<Arc<SpanRecord>> {
        let values = vec![
            AnyValue::Empty,
            AnyValue::String("text".into()),
            AnyValue::Bool(true),
            AnyValue::Bool(false),
            AnyValue::Int(-7),
            AnyValue::Int(i64::MAX),
            AnyValue::Double(0.25),
            AnyValue::Double(-0.0),
            AnyValue::Bytes(vec![0, 1, 255]),
            AnyValue::Array(vec![AnyValue::Int(1), AnyValue::String("two".into()), AnyValue::Empty]),
            AnyValue::KvList(vec![KeyValue::new("inner", AnyValue::Double(1.5))]),
        ];
        let long = "x".repeat(300);
        let mut first = SpanBuilder::new("web", "GET /", 1, 1)
            .resource_attr("host.name", AnyValue::String("a".into()))
            .scope("lib", "1.2")
            .status(StatusCode::Error, "boom")
            .with(|r| {
                r.span.trace_state = "k=v".into();
                r.span.flags = 0x301;
                r.span.shared = true;
                r.span.dropped_attributes_count = 2;
                r.span.dropped_events_count = 3;
                r.span.dropped_links_count = 4;
                r.span.events.push(Event {
                    time: crate::model::UnixNanos(5),
                    name: long.clone(),
                    attributes: vec![KeyValue::new("e", AnyValue::Int(1))],
                    dropped_attributes_count: 1,
                });
                r.span.links.push(Link {
                    trace_id: crate::testkit::trace_id(9),
                    span_id: crate::model::SpanId::from_hex("3").unwrap(),
                    trace_state: "a=b".into(),
                    attributes: vec![KeyValue::new("l", AnyValue::Bool(true))],
                    dropped_attributes_count: 6,
                    flags: 1,
                });
            });
        for (i, v) in values.into_iter().enumerate() {
            first = first.attr(&format!("a{i}"), v);
        }
        let records = vec![
            first.build(),
            SpanBuilder::new("web", "child", 1, 2).parent(1).with(|r| r.span.debug = true).build(),
            SpanBuilder::new("db", "query", 1, 3).parent(2).status(StatusCode::Ok, "").build(),
            SpanBuilder::new("db", "query", 1, 4).parent(2).scope("other", "").build(),
        ];
        records.into_iter().map(Arc::new).collect()
    }

    #[test]
    fn the_direct_encoder_writes_what_the_message_encoder_writes() {
        let records = every_field();
        let expected = encode_spans_flagged(&records, |span| {
            (if span.shared { SHARED } else { 0 }) | (if span.debug { DEBUG } else { 0 })
        })
        .encode_to_vec();
        assert_eq!(encode(&records), expected);
        let back = decode(&encode(&records)).unwrap();
        let mut want: Vec<SpanRecord> = records.iter().map(|r| SpanRecord::clone(r)).collect();
        let mut got = back;
        want.sort_by_key(|r| r.span.span_id);
        got.sort_by_key(|r| r.span.span_id);
        assert_eq!(got, want);
    }
}
