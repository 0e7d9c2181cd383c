//! Jaeger api_v2 batches (from gRPC, or from thrift decoded into the same types) → the canonical
//! model, as the Collector's Jaeger translator defines it (PROTOCOLS §5.1, §7):
//!
//! - `process.serviceName` → resource `service.name`; process tags → typed resource attributes,
//!   names kept as sent (contrib renames `hostname` to `host.name`; we keep Jaeger's names so a
//!   Jaeger span reads back unchanged and searches by `hostname` keep working). A span's own
//!   `process` overrides the batch's.
//! - ids: 16-byte trace ids (8 bytes = low half), 8-byte span ids. The parent is Jaeger's own
//!   choice: the first `CHILD_OF` reference in the same trace, else the first `FOLLOWS_FROM` one.
//!   Every other reference becomes a link with `opentracing.ref_type` = `child_of`/`follows_from`.
//! - `span.kind` tag → kind; status: a true `error` tag wins (message from
//!   `otel.status_description`), else `otel.status_code`, else `http.status_code` (≥ 500 or
//!   < 100 → ERROR; 4xx → ERROR on CLIENT spans only). `error`, `otel.status_*` are consumed.
//! - `otel.scope.*`/`otel.library.*`, `w3c.tracestate`, `otel.dropped_*_count` → their fields.
//! - logs → events: the `event` field names the event, the other fields are its attributes.
//! - flags: bit 1 (sampled) → W3C sampled; bit 2 (debug) → the span's debug mark.

use std::sync::Arc;

use crate::model::{
    semconv, AnyValue, BatchBuilder, Event, IdError, InvalidSpan, KeyValue, Link, Resource, Scope, Span, SpanId,
    SpanKind, Status, StatusCode, TraceId, UnixNanos,
};
use crate::proto::jaeger::api_v2::{
    Batch as JaegerBatch, KeyValue as JaegerKeyValue, Log as JaegerLog, Process as JaegerProcess, Span as JaegerSpan,
    SpanRefType, ValueType,
};
use crate::receiver::otel_tags::{self, parse_status_code, take};
use crate::receiver::Converted;

/// Jaeger flag bits.
const FLAG_SAMPLED: u32 = 1;
const FLAG_DEBUG: u32 = 2;

/// Converts a batch, keeping valid spans and counting invalid ones.
pub fn batch_into_model(batch: JaegerBatch) -> Converted {
    let mut out = Converted { received: batch.spans.len(), ..Converted::default() };
    let batch_resource = Arc::new(process_into_resource(batch.process.unwrap_or_default()));
    let mut builder = BatchBuilder::default();
    for span in batch.spans {
        let own_process = span.process.clone();
        match span_into_model(span) {
            Ok((scope, span)) => match own_process {
                None => builder.push_shared(&batch_resource, scope, span),
                Some(process) => builder.push(process_into_resource(process), scope, span),
            },
            Err(e) => out.reject(e),
        }
    }
    out.batch = builder.finish();
    out
}

/// The resource of a Jaeger process.
pub fn process_into_resource(process: JaegerProcess) -> Resource {
    let mut attributes = Vec::with_capacity(process.tags.len() + 1);
    if !process.service_name.is_empty() {
        attributes.push(KeyValue::new(semconv::SERVICE_NAME, AnyValue::String(process.service_name)));
    }
    attributes.extend(process.tags.into_iter().map(tag_into_attribute));
    Resource { attributes, dropped_attributes_count: 0 }
}

/// Converts one span (without its process) into the model, with the scope its tags name.
pub fn span_into_model(span: JaegerSpan) -> Result<(Scope, Span), InvalidSpan> {
    let trace_id = trace_id(&span.trace_id)?;
    let span_id = SpanId::try_from(&span.span_id[..])?;
    let start = span
        .start_time
        .as_ref()
        .and_then(timestamp_nanos)
        .ok_or_else(|| InvalidSpan::Field(format!("span {span_id}: start_time is missing or before 1970")))?;
    let duration = match span.duration.as_ref() {
        None => 0,
        Some(d) if d.seconds < 0 || d.nanos < 0 => {
            return Err(InvalidSpan::Field(format!("span {span_id}: negative duration")));
        }
        Some(d) => (d.seconds as u64).saturating_mul(1_000_000_000).saturating_add(d.nanos as u64),
    };

    let (parent_span_id, links) = references(trace_id, &span)?;
    let mut attributes: Vec<KeyValue> = span.tags.into_iter().map(tag_into_attribute).collect();
    let mut kind = SpanKind::Unspecified;
    if let Some(AnyValue::String(tag)) = take(&mut attributes, semconv::SPAN_KIND) {
        match SpanKind::from_lower_str(&tag) {
            Some(parsed) => kind = parsed,
            None => attributes.push(KeyValue::new(semconv::SPAN_KIND, AnyValue::String(tag))),
        }
    }
    let status = take_status(&mut attributes, kind);

    let mut model = Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: String::new(),
        flags: span.flags & FLAG_SAMPLED,
        name: span.operation_name,
        kind,
        start: UnixNanos(start),
        end: UnixNanos(start.saturating_add(duration)),
        attributes,
        dropped_attributes_count: 0,
        events: span.logs.into_iter().map(log_into_event).collect(),
        dropped_events_count: 0,
        links,
        dropped_links_count: 0,
        status,
        shared: false,
        debug: span.flags & FLAG_DEBUG != 0,
    };
    let scope = otel_tags::take_derived(&mut model);
    Ok((scope, model))
}

/// A 16-byte trace id, or an 8-byte one as the low half.
fn trace_id(bytes: &[u8]) -> Result<TraceId, IdError> {
    match bytes.len() {
        8 => {
            let mut full = [0u8; 16];
            full[8..].copy_from_slice(bytes);
            TraceId::from_array(full)
        }
        _ => TraceId::try_from(bytes),
    }
}

/// The parent (Jaeger's rule) and the other references as links.
fn references(trace_id: TraceId, span: &JaegerSpan) -> Result<(Option<SpanId>, Vec<Link>), InvalidSpan> {
    let mut parsed = Vec::with_capacity(span.references.len());
    for reference in &span.references {
        let ref_trace = self::trace_id(&reference.trace_id)?;
        let ref_span = SpanId::try_from(&reference.span_id[..])?;
        let child_of = reference.ref_type != SpanRefType::FollowsFrom as i32;
        parsed.push((ref_trace, ref_span, child_of));
    }
    let same_trace = |(t, _, _): &&(TraceId, SpanId, bool)| *t == trace_id;
    let parent_index = parsed
        .iter()
        .position(|r| same_trace(&r) && r.2)
        .or_else(|| parsed.iter().position(|r| same_trace(&r) && !r.2));
    let parent = parent_index.map(|i| parsed[i].1);
    let links = parsed
        .iter()
        .enumerate()
        // The CHILD_OF reference that became the parent is not repeated as a link; a FOLLOWS_FROM
        // parent is, so it reads back as FOLLOWS_FROM (contrib does the same).
        .filter(|(i, r)| !(Some(*i) == parent_index && r.2))
        .map(|(_, (trace, span_id, child_of))| Link {
            trace_id: *trace,
            span_id: *span_id,
            trace_state: String::new(),
            attributes: vec![KeyValue::new(
                semconv::OPENTRACING_REF_TYPE,
                AnyValue::String(if *child_of { "child_of" } else { "follows_from" }.into()),
            )],
            dropped_attributes_count: 0,
            flags: 0,
        })
        .collect();
    Ok((parent, links))
}

/// contrib's status rules for Jaeger spans.
fn take_status(attributes: &mut Vec<KeyValue>, kind: SpanKind) -> Status {
    let error = match attributes.iter().position(|kv| kv.key == semconv::ERROR) {
        Some(i) => match &attributes[i].value {
            AnyValue::Bool(true) => true,
            AnyValue::String(s) if s.eq_ignore_ascii_case("true") => true,
            // `error=false` says nothing about the status; keep it as it came.
            _ => false,
        },
        None => false,
    };
    if error {
        take(attributes, semconv::ERROR);
    }
    let code_tag = take(attributes, semconv::OTEL_STATUS_CODE).map(|v| v.to_text());
    let description = take(attributes, semconv::OTEL_STATUS_DESCRIPTION).map(|v| v.to_text());
    let parsed = code_tag.as_deref().and_then(parse_status_code);
    if let (Some(code), None) = (&code_tag, parsed) {
        attributes.push(KeyValue::new(semconv::OTEL_STATUS_CODE, AnyValue::String(code.clone())));
    }
    let code = if error {
        StatusCode::Error
    } else if let Some(code) = parsed {
        code
    } else {
        http_status(attributes, kind)
    };
    let message = match code {
        StatusCode::Unset => {
            if let Some(description) = description {
                attributes.push(KeyValue::new(semconv::OTEL_STATUS_DESCRIPTION, AnyValue::String(description)));
            }
            String::new()
        }
        _ => description
            .or_else(|| {
                let text = attributes.iter().find(|kv| kv.key == "http.status_message")?.value.to_text();
                (code == StatusCode::Error).then_some(text)
            })
            .unwrap_or_default(),
    };
    Status { code, message }
}

/// OTel HTTP conventions: 5xx (and nonsense) is an error; 4xx only for the client.
fn http_status(attributes: &[KeyValue], kind: SpanKind) -> StatusCode {
    let code = attributes.iter().find(|kv| kv.key == "http.status_code").and_then(|kv| match &kv.value {
        AnyValue::Int(code) => Some(*code),
        AnyValue::String(text) => text.trim().parse().ok(),
        _ => None,
    });
    match code {
        None => StatusCode::Unset,
        Some(code) if !(100..500).contains(&code) => StatusCode::Error,
        Some(code) if (400..500).contains(&code) && kind == SpanKind::Client => StatusCode::Error,
        Some(_) => StatusCode::Unset,
    }
}

fn log_into_event(log: JaegerLog) -> Event {
    let mut attributes: Vec<KeyValue> = log.fields.into_iter().map(tag_into_attribute).collect();
    let name =
        match attributes.iter().position(|kv| kv.key == semconv::EVENT && matches!(kv.value, AnyValue::String(_))) {
            Some(i) => attributes.remove(i).value.to_text(),
            None => String::new(),
        };
    Event {
        time: UnixNanos(log.timestamp.as_ref().and_then(timestamp_nanos).unwrap_or(0)),
        name,
        attributes,
        dropped_attributes_count: 0,
    }
}

/// A typed tag as a typed attribute; unknown value types are read as strings.
pub fn tag_into_attribute(tag: JaegerKeyValue) -> KeyValue {
    let value = match ValueType::try_from(tag.v_type) {
        Ok(ValueType::Bool) => AnyValue::Bool(tag.v_bool),
        Ok(ValueType::Int64) => AnyValue::Int(tag.v_int64),
        Ok(ValueType::Float64) => AnyValue::Double(tag.v_float64),
        Ok(ValueType::Binary) => AnyValue::Bytes(tag.v_binary),
        Ok(ValueType::String) | Err(_) => AnyValue::String(tag.v_str),
    };
    KeyValue { key: tag.key, value }
}

/// Nanoseconds since the epoch; `None` before 1970 or with out-of-range nanos.
fn timestamp_nanos(ts: &prost_types::Timestamp) -> Option<u64> {
    let seconds = u64::try_from(ts.seconds).ok()?;
    let nanos = u64::try_from(ts.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    seconds.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests;
