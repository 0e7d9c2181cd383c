//! Proto-JSON encoding of a `SamplingStrategyResponse`, byte for byte as Jaeger's `/sampling`
//! endpoints write it (gogo jsonpb with `EmitDefaults`, then null sub-messages removed).
//!
//! Keys are the proto's camelCase names in field order; `strategyType` is always present as the
//! enum name (PROBABILISTIC is 0, so proto3 would otherwise drop it); absent sub-messages are
//! left out while zero scalars and empty lists are written; numbers are JSON numbers formatted
//! as Go formats a float64.

use std::fmt::Write;

use crate::proto::jaeger::api_v2::{
    OperationSamplingStrategy, PerOperationSamplingStrategies, ProbabilisticSamplingStrategy,
    RateLimitingSamplingStrategy, SamplingStrategyResponse, SamplingStrategyType,
};

/// The proto-JSON text Jaeger clients expect from the remote sampling endpoints.
pub fn to_proto_json(response: &SamplingStrategyResponse) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"strategyType\":");
    match SamplingStrategyType::try_from(response.strategy_type) {
        Ok(known) => write_string(&mut out, known.as_str_name()),
        // proto3 JSON writes an enum value without a name as its number.
        Err(_) => push_display(&mut out, response.strategy_type),
    }
    if let Some(p) = &response.probabilistic_sampling {
        out.push_str(",\"probabilisticSampling\":");
        write_probabilistic(&mut out, p);
    }
    if let Some(r) = &response.rate_limiting_sampling {
        out.push_str(",\"rateLimitingSampling\":");
        write_rate_limiting(&mut out, r);
    }
    if let Some(ops) = &response.operation_sampling {
        out.push_str(",\"operationSampling\":");
        write_per_operation(&mut out, ops);
    }
    out.push('}');
    out
}

fn write_probabilistic(out: &mut String, p: &ProbabilisticSamplingStrategy) {
    out.push_str("{\"samplingRate\":");
    write_double(out, p.sampling_rate);
    out.push('}');
}

fn write_rate_limiting(out: &mut String, r: &RateLimitingSamplingStrategy) {
    out.push_str("{\"maxTracesPerSecond\":");
    push_display(out, r.max_traces_per_second);
    out.push('}');
}

fn write_per_operation(out: &mut String, ops: &PerOperationSamplingStrategies) {
    out.push_str("{\"defaultSamplingProbability\":");
    write_double(out, ops.default_sampling_probability);
    out.push_str(",\"defaultLowerBoundTracesPerSecond\":");
    write_double(out, ops.default_lower_bound_traces_per_second);
    out.push_str(",\"perOperationStrategies\":[");
    for (i, op) in ops.per_operation_strategies.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_operation(out, op);
    }
    out.push_str("],\"defaultUpperBoundTracesPerSecond\":");
    write_double(out, ops.default_upper_bound_traces_per_second);
    out.push('}');
}

fn write_operation(out: &mut String, op: &OperationSamplingStrategy) {
    out.push_str("{\"operation\":");
    write_string(out, &op.operation);
    if let Some(p) = &op.probabilistic_sampling {
        out.push_str(",\"probabilisticSampling\":");
        write_probabilistic(out, p);
    }
    out.push('}');
}

fn push_display(out: &mut String, value: impl std::fmt::Display) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

/// A double as Go's encoding/json writes it: shortest round-trip digits, plain notation for
/// magnitudes in [1e-6, 1e21) (`1`, `0.001`), exponent notation outside (`1e-7`, `1e+21`).
/// Non-finite values become the strings proto3 JSON defines.
fn write_double(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "\"Infinity\"" } else { "\"-Infinity\"" });
    } else if v == 0.0 {
        // Also -0.0, which Go writes as `-0`: no strategy we build holds one.
        out.push_str(if v.is_sign_negative() { "-0" } else { "0" });
    } else if (1e-6..1e21).contains(&v.abs()) {
        push_display(out, v);
    } else {
        let scientific = format!("{v:e}");
        match scientific.split_once('e') {
            Some((mantissa, exponent)) if !exponent.starts_with('-') => {
                let _ = write!(out, "{mantissa}e+{exponent}");
            }
            _ => out.push_str(&scientific),
        }
    }
}

/// A JSON string escaped as Go's encoding/json does, including its HTML-safe escapes of `<`,
/// `>` and `&` and of U+2028/U+2029, so operation names come out exactly as Jaeger writes them.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
