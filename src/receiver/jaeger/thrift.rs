//! Jaeger's thrift `Batch` (jaeger.thrift, PROTOCOLS §6.2) decoded into the api_v2 protobuf
//! [`Batch`], so every Jaeger format meets the model through one conversion. Covers the collector's
//! `POST /api/traces` body (a bare binary-protocol struct) and the agent's UDP datagrams (one
//! `Agent.emitBatch` message each, compact on 6831, binary on 6832).
//!
//! The mapping follows Jaeger's own thrift→domain converter:
//! - ids are unsigned 64-bit halves sent as `i64`: `trace_id` = high ‖ low (16 bytes, big-endian),
//!   `span_id` 8 bytes; zero ids are kept, validating them is the model conversion's job;
//! - a non-zero `parentSpanId` becomes a CHILD_OF reference inserted first, unless a CHILD_OF
//!   reference to the same trace and span is already there (Jaeger's `MaybeAddParentSpanID`);
//! - times are µs: `startTime` → `Timestamp`, `duration` → `Duration`, log timestamps likewise;
//! - `TagType` (STRING 0, DOUBLE 1, BOOL 2, LONG 3, BINARY 4) maps to `ValueType` by name, not by
//!   number; only the value field the type names is kept; an unknown tag type becomes a STRING
//!   tag describing it, as Jaeger does, rather than failing the batch;
//! - the `Process` becomes the batch's process; spans' own `process` stays `None`;
//! - `seqNo`, `stats` and unknown fields are skipped; missing required fields fail the whole
//!   payload with `Struct.field is required`, as Apache's generated readers do.
//!
//! The encoders (tests, benches, fuzz seeds, test clients) invert the mapping with these choices,
//! which make `decode(encode(b)) == b` for every batch thrift can express (16-byte trace ids,
//! 8-byte span ids, µs-aligned times, a process, start and duration set): `parentSpanId` is the
//! first reference when that is a CHILD_OF in the span's own trace (it also stays in
//! `references`), else 0; ids of other lengths are right-aligned into their halves; times are
//! truncated to µs; an unknown `ValueType` is sent as STRING with `v_str`; a missing process is
//! sent with an empty service name; per-span processes, process ids and warnings are dropped.

#[cfg(test)]
mod tests;

use prost_types::{Duration, Timestamp};

use crate::proto::jaeger::api_v2::{Batch, KeyValue, Log, Process, Span, SpanRef, SpanRefType, ValueType};
use crate::receiver::thrift::schema::{read_list, read_struct, FieldSpec, StructSpec};
use crate::receiver::thrift::{
    BinaryReader, BinaryWriter, CompactReader, CompactWriter, FieldType, MessageType, Protocol, ThriftError,
    ThriftRead, ThriftWrite,
};

/// The agent's one method, on both UDP ports.
const EMIT_BATCH: &str = "emitBatch";

const EMIT_BATCH_ARGS: StructSpec =
    StructSpec { name: "emitBatch_args", fields: &[FieldSpec::required(1, "batch", FieldType::Struct)] };

const BATCH: StructSpec = StructSpec {
    name: "Batch",
    fields: &[FieldSpec::required(1, "process", FieldType::Struct), FieldSpec::required(2, "spans", FieldType::List)],
};

const PROCESS: StructSpec = StructSpec {
    name: "Process",
    fields: &[
        FieldSpec::required(1, "serviceName", FieldType::Binary),
        FieldSpec::optional(2, "tags", FieldType::List),
    ],
};

const SPAN: StructSpec = StructSpec {
    name: "Span",
    fields: &[
        FieldSpec::required(1, "traceIdLow", FieldType::I64),
        FieldSpec::required(2, "traceIdHigh", FieldType::I64),
        FieldSpec::required(3, "spanId", FieldType::I64),
        FieldSpec::required(4, "parentSpanId", FieldType::I64),
        FieldSpec::required(5, "operationName", FieldType::Binary),
        FieldSpec::optional(6, "references", FieldType::List),
        FieldSpec::required(7, "flags", FieldType::I32),
        FieldSpec::required(8, "startTime", FieldType::I64),
        FieldSpec::required(9, "duration", FieldType::I64),
        FieldSpec::optional(10, "tags", FieldType::List),
        FieldSpec::optional(11, "logs", FieldType::List),
    ],
};

const SPAN_REF: StructSpec = StructSpec {
    name: "SpanRef",
    fields: &[
        FieldSpec::required(1, "refType", FieldType::I32),
        FieldSpec::required(2, "traceIdLow", FieldType::I64),
        FieldSpec::required(3, "traceIdHigh", FieldType::I64),
        FieldSpec::required(4, "spanId", FieldType::I64),
    ],
};

const LOG: StructSpec = StructSpec {
    name: "Log",
    fields: &[FieldSpec::required(1, "timestamp", FieldType::I64), FieldSpec::required(2, "fields", FieldType::List)],
};

const TAG: StructSpec = StructSpec {
    name: "Tag",
    fields: &[
        FieldSpec::required(1, "key", FieldType::Binary),
        FieldSpec::required(2, "vType", FieldType::I32),
        FieldSpec::optional(3, "vStr", FieldType::Binary),
        FieldSpec::optional(4, "vDouble", FieldType::Double),
        FieldSpec::optional(5, "vBool", FieldType::Bool),
        FieldSpec::optional(6, "vLong", FieldType::I64),
        FieldSpec::optional(7, "vBinary", FieldType::Binary),
    ],
};

/// jaeger.thrift `TagType` codes.
mod tag_type {
    pub const STRING: i32 = 0;
    pub const DOUBLE: i32 = 1;
    pub const BOOL: i32 = 2;
    pub const LONG: i32 = 3;
    pub const BINARY: i32 = 4;
}

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Decodes a bare binary-protocol `Batch`, as `POST /api/traces` carries it.
pub fn decode_batch(body: &[u8]) -> Result<Batch, ThriftError> {
    let mut r = BinaryReader::new(body);
    let batch = read_batch(&mut r)?;
    r.expect_end("Batch struct")?;
    Ok(batch)
}

/// Decodes one agent UDP datagram: an `Agent.emitBatch` message (oneway or call).
pub fn decode_emit_batch(datagram: &[u8], protocol: Protocol) -> Result<Batch, ThriftError> {
    match protocol {
        Protocol::Binary => read_emit_batch(BinaryReader::new(datagram)),
        Protocol::Compact => read_emit_batch(CompactReader::new(datagram)),
    }
}

/// Encodes a batch as a bare binary-protocol `Batch` struct.
pub fn encode_batch(batch: &Batch) -> Vec<u8> {
    let mut w = BinaryWriter::new();
    write_batch(&mut w, batch);
    w.into_bytes()
}

/// Encodes a batch as a oneway `Agent.emitBatch` message (sequence id 0), as agent clients send it.
pub fn encode_emit_batch(batch: &Batch, protocol: Protocol) -> Vec<u8> {
    fn write<W: ThriftWrite>(mut w: W, batch: &Batch) -> Vec<u8> {
        w.write_message_begin(EMIT_BATCH, MessageType::Oneway, 0);
        w.write_struct_begin();
        w.write_field_begin(FieldType::Struct, 1);
        write_batch(&mut w, batch);
        w.write_struct_end();
        w.into_bytes()
    }
    match protocol {
        Protocol::Binary => write(BinaryWriter::new(), batch),
        Protocol::Compact => write(CompactWriter::new(), batch),
    }
}

fn read_emit_batch<'a, R: ThriftRead<'a>>(mut r: R) -> Result<Batch, ThriftError> {
    let header = r.read_message_begin()?;
    if header.name != EMIT_BATCH {
        return Err(ThriftError::UnexpectedMethod {
            expected: EMIT_BATCH,
            found: header.name.chars().take(64).collect(),
            message_type: header.message_type,
        });
    }
    // The IDL declares emitBatch oneway; accept CALL too, whichever a client library sends.
    if !matches!(header.message_type, MessageType::Oneway | MessageType::Call) {
        return Err(ThriftError::UnexpectedMessageType { expected: "oneway or call", found: header.message_type });
    }
    let mut batch = Batch::default();
    read_struct(&mut r, &EMIT_BATCH_ARGS, |r, _| {
        batch = read_batch(r)?;
        Ok(())
    })?;
    r.expect_end("emitBatch message")?;
    Ok(batch)
}

fn read_batch<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<Batch, ThriftError> {
    let mut batch = Batch::default();
    // seqNo (3) and stats (4) are the client's own bookkeeping: skipped like unknown fields.
    read_struct(r, &BATCH, |r, id| {
        match id {
            1 => batch.process = Some(read_process(r)?),
            _ => batch.spans = read_list(r, FieldType::Struct, read_span)?,
        }
        Ok(())
    })?;
    Ok(batch)
}

fn read_process<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<Process, ThriftError> {
    let mut process = Process::default();
    read_struct(r, &PROCESS, |r, id| {
        match id {
            1 => process.service_name = r.read_string()?.to_owned(),
            _ => process.tags = read_list(r, FieldType::Struct, read_tag)?,
        }
        Ok(())
    })?;
    Ok(process)
}

fn read_span<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<Span, ThriftError> {
    let mut span = Span::default();
    let (mut trace_low, mut trace_high, mut span_id, mut parent_id) = (0i64, 0i64, 0i64, 0i64);
    read_struct(r, &SPAN, |r, id| {
        match id {
            1 => trace_low = r.read_i64()?,
            2 => trace_high = r.read_i64()?,
            3 => span_id = r.read_i64()?,
            4 => parent_id = r.read_i64()?,
            5 => span.operation_name = r.read_string()?.to_owned(),
            6 => span.references = read_list(r, FieldType::Struct, read_span_ref)?,
            // Same 32 bits, unsigned in the model.
            7 => span.flags = r.read_i32()? as u32,
            8 => span.start_time = Some(timestamp_from_micros(r.read_i64()?)),
            9 => span.duration = Some(duration_from_micros(r.read_i64()?)),
            10 => span.tags = read_list(r, FieldType::Struct, read_tag)?,
            _ => span.logs = read_list(r, FieldType::Struct, read_log)?,
        }
        Ok(())
    })?;
    span.trace_id = trace_id_bytes(trace_high, trace_low);
    span.span_id = span_id_bytes(span_id);
    if parent_id != 0 {
        let parent = span_id_bytes(parent_id);
        let named = span.references.iter().any(|reference| {
            reference.ref_type == SpanRefType::ChildOf as i32
                && reference.trace_id == span.trace_id
                && reference.span_id == parent
        });
        if !named {
            let child_of =
                SpanRef { trace_id: span.trace_id.clone(), span_id: parent, ref_type: SpanRefType::ChildOf as i32 };
            span.references.insert(0, child_of);
        }
    }
    Ok(span)
}

fn read_span_ref<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<SpanRef, ThriftError> {
    let (mut ref_type, mut trace_low, mut trace_high, mut span_id) = (0i32, 0i64, 0i64, 0i64);
    read_struct(r, &SPAN_REF, |r, id| {
        match id {
            // CHILD_OF 0 and FOLLOWS_FROM 1 in both IDLs; other values are kept as sent.
            1 => ref_type = r.read_i32()?,
            2 => trace_low = r.read_i64()?,
            3 => trace_high = r.read_i64()?,
            _ => span_id = r.read_i64()?,
        }
        Ok(())
    })?;
    Ok(SpanRef { trace_id: trace_id_bytes(trace_high, trace_low), span_id: span_id_bytes(span_id), ref_type })
}

fn read_log<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<Log, ThriftError> {
    let mut log = Log::default();
    read_struct(r, &LOG, |r, id| {
        match id {
            1 => log.timestamp = Some(timestamp_from_micros(r.read_i64()?)),
            _ => log.fields = read_list(r, FieldType::Struct, read_tag)?,
        }
        Ok(())
    })?;
    Ok(log)
}

fn read_tag<'a, R: ThriftRead<'a>>(r: &mut R) -> Result<KeyValue, ThriftError> {
    let mut key = String::new();
    let mut tag_type = tag_type::STRING;
    let mut value = KeyValue::default();
    read_struct(r, &TAG, |r, id| {
        match id {
            1 => key = r.read_string()?.to_owned(),
            2 => tag_type = r.read_i32()?,
            3 => value.v_str = r.read_string()?.to_owned(),
            4 => value.v_float64 = r.read_double()?,
            5 => value.v_bool = r.read_bool()?,
            6 => value.v_int64 = r.read_i64()?,
            _ => value.v_binary = r.read_binary()?.to_vec(),
        }
        Ok(())
    })?;
    // Keep only the value the type names, so the KeyValue equals what a protobuf client sends.
    let tag = match tag_type {
        tag_type::STRING => KeyValue { v_type: ValueType::String as i32, v_str: value.v_str, ..KeyValue::default() },
        tag_type::DOUBLE => {
            KeyValue { v_type: ValueType::Float64 as i32, v_float64: value.v_float64, ..KeyValue::default() }
        }
        tag_type::BOOL => KeyValue { v_type: ValueType::Bool as i32, v_bool: value.v_bool, ..KeyValue::default() },
        tag_type::LONG => KeyValue { v_type: ValueType::Int64 as i32, v_int64: value.v_int64, ..KeyValue::default() },
        tag_type::BINARY => {
            KeyValue { v_type: ValueType::Binary as i32, v_binary: value.v_binary, ..KeyValue::default() }
        }
        unknown => KeyValue {
            v_type: ValueType::String as i32,
            v_str: format!("unknown tag type {unknown}"),
            ..KeyValue::default()
        },
    };
    Ok(KeyValue { key, ..tag })
}

/// The 16-byte big-endian trace id of two thrift halves.
fn trace_id_bytes(high: i64, low: i64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&high.to_be_bytes());
    bytes.extend_from_slice(&low.to_be_bytes());
    bytes
}

fn span_id_bytes(id: i64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

fn timestamp_from_micros(micros: i64) -> Timestamp {
    let nanos = micros.rem_euclid(MICROS_PER_SECOND) * 1000;
    Timestamp { seconds: micros.div_euclid(MICROS_PER_SECOND), nanos: nanos as i32 }
}

fn duration_from_micros(micros: i64) -> Duration {
    // Protobuf Duration: seconds and nanos carry the same sign.
    let nanos = (micros % MICROS_PER_SECOND) * 1000;
    Duration { seconds: micros / MICROS_PER_SECOND, nanos: nanos as i32 }
}

/// A timestamp in µs since the epoch, rounded down; 0 when absent.
fn timestamp_micros(timestamp: Option<&Timestamp>) -> i64 {
    timestamp.map_or(0, |t| micros(t.seconds, i64::from(t.nanos).div_euclid(1000)))
}

/// A duration in µs, truncated toward zero; 0 when absent.
fn duration_micros(duration: Option<&Duration>) -> i64 {
    duration.map_or(0, |d| micros(d.seconds, i64::from(d.nanos) / 1000))
}

fn micros(seconds: i64, sub_second_micros: i64) -> i64 {
    let micros = i128::from(seconds) * i128::from(MICROS_PER_SECOND) + i128::from(sub_second_micros);
    micros.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Right-aligns up to the last 8 bytes of `bytes` into a big-endian integer.
fn be_i64(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    let tail = &bytes[bytes.len().saturating_sub(8)..];
    buf[8 - tail.len()..].copy_from_slice(tail);
    i64::from_be_bytes(buf)
}

/// A trace id's (high, low) halves; shorter ids are the low half.
fn trace_id_halves(bytes: &[u8]) -> (i64, i64) {
    let split = bytes.len().saturating_sub(8);
    (be_i64(&bytes[..split]), be_i64(&bytes[split..]))
}

fn write_batch<W: ThriftWrite>(w: &mut W, batch: &Batch) {
    w.write_struct_begin();
    w.write_field_begin(FieldType::Struct, 1);
    write_process(w, batch.process.as_ref().unwrap_or(&Process::default()));
    w.write_field_begin(FieldType::List, 2);
    w.write_list_begin(FieldType::Struct, batch.spans.len());
    batch.spans.iter().for_each(|span| write_span(w, span));
    w.write_struct_end();
}

fn write_process<W: ThriftWrite>(w: &mut W, process: &Process) {
    w.write_struct_begin();
    w.write_field_begin(FieldType::Binary, 1);
    w.write_string(&process.service_name);
    write_tags(w, 2, &process.tags);
    w.write_struct_end();
}

fn write_span<W: ThriftWrite>(w: &mut W, span: &Span) {
    let (trace_high, trace_low) = trace_id_halves(&span.trace_id);
    let parent_id = span
        .references
        .first()
        .filter(|first| {
            first.ref_type == SpanRefType::ChildOf as i32 && trace_id_halves(&first.trace_id) == (trace_high, trace_low)
        })
        .map_or(0, |first| be_i64(&first.span_id));
    w.write_struct_begin();
    for (id, value) in [(1, trace_low), (2, trace_high), (3, be_i64(&span.span_id)), (4, parent_id)] {
        w.write_field_begin(FieldType::I64, id);
        w.write_i64(value);
    }
    w.write_field_begin(FieldType::Binary, 5);
    w.write_string(&span.operation_name);
    if !span.references.is_empty() {
        w.write_field_begin(FieldType::List, 6);
        w.write_list_begin(FieldType::Struct, span.references.len());
        span.references.iter().for_each(|reference| write_span_ref(w, reference));
    }
    w.write_field_begin(FieldType::I32, 7);
    w.write_i32(span.flags as i32);
    w.write_field_begin(FieldType::I64, 8);
    w.write_i64(timestamp_micros(span.start_time.as_ref()));
    w.write_field_begin(FieldType::I64, 9);
    w.write_i64(duration_micros(span.duration.as_ref()));
    write_tags(w, 10, &span.tags);
    if !span.logs.is_empty() {
        w.write_field_begin(FieldType::List, 11);
        w.write_list_begin(FieldType::Struct, span.logs.len());
        for log in &span.logs {
            w.write_struct_begin();
            w.write_field_begin(FieldType::I64, 1);
            w.write_i64(timestamp_micros(log.timestamp.as_ref()));
            w.write_field_begin(FieldType::List, 2);
            w.write_list_begin(FieldType::Struct, log.fields.len());
            log.fields.iter().for_each(|field| write_tag(w, field));
            w.write_struct_end();
        }
    }
    w.write_struct_end();
}

fn write_span_ref<W: ThriftWrite>(w: &mut W, reference: &SpanRef) {
    let (trace_high, trace_low) = trace_id_halves(&reference.trace_id);
    w.write_struct_begin();
    w.write_field_begin(FieldType::I32, 1);
    w.write_i32(reference.ref_type);
    for (id, value) in [(2, trace_low), (3, trace_high), (4, be_i64(&reference.span_id))] {
        w.write_field_begin(FieldType::I64, id);
        w.write_i64(value);
    }
    w.write_struct_end();
}

/// Writes an optional `list<Tag>` field, left out when empty.
fn write_tags<W: ThriftWrite>(w: &mut W, id: i16, tags: &[KeyValue]) {
    if !tags.is_empty() {
        w.write_field_begin(FieldType::List, id);
        w.write_list_begin(FieldType::Struct, tags.len());
        tags.iter().for_each(|tag| write_tag(w, tag));
    }
}

fn write_tag<W: ThriftWrite>(w: &mut W, tag: &KeyValue) {
    w.write_struct_begin();
    w.write_field_begin(FieldType::Binary, 1);
    w.write_string(&tag.key);
    let value_type = ValueType::try_from(tag.v_type).unwrap_or(ValueType::String);
    let tag_type = match value_type {
        ValueType::String => tag_type::STRING,
        ValueType::Float64 => tag_type::DOUBLE,
        ValueType::Bool => tag_type::BOOL,
        ValueType::Int64 => tag_type::LONG,
        ValueType::Binary => tag_type::BINARY,
    };
    w.write_field_begin(FieldType::I32, 2);
    w.write_i32(tag_type);
    match value_type {
        ValueType::String => {
            w.write_field_begin(FieldType::Binary, 3);
            w.write_string(&tag.v_str);
        }
        ValueType::Float64 => {
            w.write_field_begin(FieldType::Double, 4);
            w.write_double(tag.v_float64);
        }
        ValueType::Bool => {
            w.write_field_begin(FieldType::Bool, 5);
            w.write_bool(tag.v_bool);
        }
        ValueType::Int64 => {
            w.write_field_begin(FieldType::I64, 6);
            w.write_i64(tag.v_int64);
        }
        ValueType::Binary => {
            w.write_field_begin(FieldType::Binary, 7);
            w.write_binary(&tag.v_binary);
        }
    }
    w.write_struct_end();
}
