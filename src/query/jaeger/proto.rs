//! Jaeger api_v2 protobuf spans out of the canonical model, by way of the UI-model encoding in
//! [`super::json`] so both Jaeger views apply the same mapping rules: ids as big-endian bytes,
//! times as Timestamp/Duration, typed tags, and each span carrying its own process.

use base64::Engine;

use super::json::{trace_to_jaeger, JaegerKeyValue, JaegerProcess, JaegerRefType, JaegerValueType};
use crate::model::Trace;
use crate::proto::jaeger::api_v2::{
    KeyValue as ProtoKeyValue, Log as ProtoLog, Process as ProtoProcess, Span as ProtoSpan, SpanRef, SpanRefType,
    ValueType,
};

/// Every span of a trace as api_v2 spans, each with its process.
pub fn trace_to_proto(trace: &Trace) -> Vec<ProtoSpan> {
    let jaeger = trace_to_jaeger(trace);
    jaeger
        .spans
        .into_iter()
        .map(|span| {
            let process = jaeger.processes.get(&span.process_id).map(process_to_proto);
            ProtoSpan {
                trace_id: hex_bytes(&span.trace_id, 16),
                span_id: hex_bytes(&span.span_id, 8),
                operation_name: span.operation_name,
                references: span
                    .references
                    .into_iter()
                    .map(|r| SpanRef {
                        trace_id: hex_bytes(&r.trace_id, 16),
                        span_id: hex_bytes(&r.span_id, 8),
                        ref_type: match r.ref_type {
                            JaegerRefType::ChildOf => SpanRefType::ChildOf,
                            JaegerRefType::FollowsFrom => SpanRefType::FollowsFrom,
                        } as i32,
                    })
                    .collect(),
                flags: span.flags,
                start_time: Some(micros_timestamp(span.start_time)),
                duration: Some(micros_duration(span.duration)),
                tags: span.tags.iter().map(key_value_to_proto).collect(),
                logs: span
                    .logs
                    .into_iter()
                    .map(|log| ProtoLog {
                        timestamp: Some(micros_timestamp(log.timestamp)),
                        fields: log.fields.iter().map(key_value_to_proto).collect(),
                    })
                    .collect(),
                process,
                process_id: span.process_id,
                warnings: span.warnings.unwrap_or_default(),
            }
        })
        .collect()
}

fn process_to_proto(process: &JaegerProcess) -> ProtoProcess {
    ProtoProcess {
        service_name: process.service_name.clone(),
        tags: process.tags.iter().map(key_value_to_proto).collect(),
    }
}

/// A UI-model tag as a typed protobuf tag (the UI model's JSON value holds the typed value).
fn key_value_to_proto(kv: &JaegerKeyValue) -> ProtoKeyValue {
    let mut out = ProtoKeyValue { key: kv.key.clone(), ..ProtoKeyValue::default() };
    let text = || match &kv.value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match kv.value_type {
        JaegerValueType::String => {
            out.v_type = ValueType::String as i32;
            out.v_str = text();
        }
        JaegerValueType::Bool => {
            out.v_type = ValueType::Bool as i32;
            out.v_bool = kv.value.as_bool().unwrap_or(false);
        }
        JaegerValueType::Int64 => {
            out.v_type = ValueType::Int64 as i32;
            // Large integers travel as decimal strings in the UI model.
            out.v_int64 = kv.value.as_i64().or_else(|| text().parse().ok()).unwrap_or(0);
        }
        JaegerValueType::Float64 => {
            out.v_type = ValueType::Float64 as i32;
            out.v_float64 = kv.value.as_f64().or_else(|| text().parse().ok()).unwrap_or(f64::NAN);
        }
        JaegerValueType::Binary => {
            out.v_type = ValueType::Binary as i32;
            out.v_binary = base64::engine::general_purpose::STANDARD.decode(text()).unwrap_or_default();
        }
    }
    out
}

/// Hex of 16 or 32 digits as `width` big-endian bytes, left-padded.
fn hex_bytes(text: &str, width: usize) -> Vec<u8> {
    let mut bytes = hex::decode(text).unwrap_or_default();
    if bytes.len() < width {
        let mut padded = vec![0u8; width - bytes.len()];
        padded.append(&mut bytes);
        bytes = padded;
    }
    bytes
}

fn micros_timestamp(micros: u64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: (micros / 1_000_000) as i64, nanos: ((micros % 1_000_000) * 1_000) as i32 }
}

fn micros_duration(micros: u64) -> prost_types::Duration {
    prost_types::Duration { seconds: (micros / 1_000_000) as i64, nanos: ((micros % 1_000_000) * 1_000) as i32 }
}
