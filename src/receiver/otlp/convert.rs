//! OTLP wire messages → the canonical model. Invalid spans (bad ids, end before start) are
//! rejected one by one and reported in `partial_success`; the rest of the batch is kept.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceRequest};
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as OtlpValue, AnyValue as OtlpAnyValue, InstrumentationScope as OtlpScope,
    KeyValue as OtlpKeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{
    span::{Event as OtlpEvent, Link as OtlpLink},
    status::StatusCode as OtlpStatusCode,
    Span as OtlpSpan, Status as OtlpStatus,
};

use crate::model::{
    AnyValue, Event, InvalidSpan, KeyValue, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind,
    Status, StatusCode, TraceId, UnixNanos,
};
pub use crate::receiver::Converted;
use crate::receiver::IngestError;

impl Converted {
    /// OTLP's `partial_success` for this request: set only when spans were rejected.
    pub fn partial_success(&self) -> Option<ExportTracePartialSuccess> {
        self.rejection_summary()
            .map(|error_message| ExportTracePartialSuccess { rejected_spans: self.rejected as i64, error_message })
    }
}

/// Decodes an OTLP protobuf `ExportTraceServiceRequest`.
pub fn decode_protobuf(body: &[u8]) -> Result<ExportTraceServiceRequest, IngestError> {
    use prost::Message;
    ExportTraceServiceRequest::decode(body)
        .map_err(|e| IngestError::Malformed(format!("invalid OTLP protobuf ExportTraceServiceRequest: {e}")))
}

/// Decodes an OTLP/JSON `ExportTraceServiceRequest` (hex ids, integer enums, unknown keys ignored).
pub fn decode_json(body: &[u8]) -> Result<ExportTraceServiceRequest, IngestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        // OTLP: an empty request is a success.
        return Ok(ExportTraceServiceRequest::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| IngestError::Malformed(format!("invalid OTLP/JSON ExportTraceServiceRequest: {e}")))
}

/// Converts an export request, keeping valid spans and counting invalid ones.
pub fn request_into_model(request: ExportTraceServiceRequest) -> Converted {
    let mut out = Converted::default();
    for rs in request.resource_spans {
        let resource = Arc::new(resource_into_model(rs.resource));
        let mut scope_spans = Vec::with_capacity(rs.scope_spans.len());
        for ss in rs.scope_spans {
            let scope = Arc::new(scope_into_model(ss.scope));
            let mut spans = Vec::with_capacity(ss.spans.len());
            for span in ss.spans {
                out.received += 1;
                match span_into_model(span) {
                    Ok(span) => spans.push(span),
                    Err(e) => out.reject(e),
                }
            }
            if !spans.is_empty() {
                scope_spans.push(ScopeSpans { scope, spans });
            }
        }
        if !scope_spans.is_empty() {
            out.batch.resource_spans.push(ResourceSpans { resource, scope_spans });
        }
    }
    out
}

fn resource_into_model(resource: Option<OtlpResource>) -> Resource {
    let resource = resource.unwrap_or_default();
    Resource {
        attributes: attributes_into_model(resource.attributes),
        dropped_attributes_count: resource.dropped_attributes_count,
    }
}

fn scope_into_model(scope: Option<OtlpScope>) -> Scope {
    let scope = scope.unwrap_or_default();
    Scope {
        name: scope.name,
        version: scope.version,
        attributes: attributes_into_model(scope.attributes),
        dropped_attributes_count: scope.dropped_attributes_count,
    }
}

/// Converts one span; ids must be 16/8 non-zero bytes (OTLP), and the span must not end before it starts.
pub fn span_into_model(span: OtlpSpan) -> Result<Span, InvalidSpan> {
    let trace_id = TraceId::try_from(&span.trace_id[..])?;
    let span_id = SpanId::try_from(&span.span_id[..])?;
    // OTLP: an empty parent means root; SDKs also send 8 zero bytes for "no parent".
    let parent_span_id = if span.parent_span_id.is_empty() || span.parent_span_id.iter().all(|b| *b == 0) {
        None
    } else {
        Some(SpanId::try_from(&span.parent_span_id[..])?)
    };
    let mut dropped_links_count = span.dropped_links_count;
    let links = span
        .links
        .into_iter()
        .filter_map(|link| {
            let converted = link_into_model(link);
            // A link with malformed ids cannot be followed: count it as dropped, keep the span.
            if converted.is_none() {
                dropped_links_count = dropped_links_count.saturating_add(1);
            }
            converted
        })
        .collect();
    let span = Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: span.trace_state,
        flags: span.flags,
        name: span.name,
        kind: SpanKind::from_otlp(span.kind),
        start: UnixNanos(span.start_time_unix_nano),
        end: UnixNanos(span.end_time_unix_nano),
        attributes: attributes_into_model(span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events: span.events.into_iter().map(event_into_model).collect(),
        dropped_events_count: span.dropped_events_count,
        links,
        dropped_links_count,
        status: status_into_model(span.status),
        shared: false,
        debug: false,
    };
    span.check_timing()?;
    Ok(span)
}

fn event_into_model(event: OtlpEvent) -> Event {
    Event {
        time: UnixNanos(event.time_unix_nano),
        name: event.name,
        attributes: attributes_into_model(event.attributes),
        dropped_attributes_count: event.dropped_attributes_count,
    }
}

fn link_into_model(link: OtlpLink) -> Option<Link> {
    Some(Link {
        trace_id: TraceId::try_from(&link.trace_id[..]).ok()?,
        span_id: SpanId::try_from(&link.span_id[..]).ok()?,
        trace_state: link.trace_state,
        attributes: attributes_into_model(link.attributes),
        dropped_attributes_count: link.dropped_attributes_count,
        flags: link.flags,
    })
}

fn status_into_model(status: Option<OtlpStatus>) -> Status {
    let status = status.unwrap_or_default();
    let code = match OtlpStatusCode::try_from(status.code) {
        Ok(OtlpStatusCode::Ok) => StatusCode::Ok,
        Ok(OtlpStatusCode::Error) => StatusCode::Error,
        _ => StatusCode::Unset,
    };
    Status { code, message: status.message }
}

fn attributes_into_model(attributes: Vec<OtlpKeyValue>) -> Vec<KeyValue> {
    attributes.into_iter().map(|kv| KeyValue { key: kv.key, value: value_into_model(kv.value) }).collect()
}

fn value_into_model(value: Option<OtlpAnyValue>) -> AnyValue {
    match value.and_then(|v| v.value) {
        None => AnyValue::Empty,
        Some(OtlpValue::StringValue(s)) => AnyValue::String(s),
        Some(OtlpValue::BoolValue(b)) => AnyValue::Bool(b),
        Some(OtlpValue::IntValue(i)) => AnyValue::Int(i),
        Some(OtlpValue::DoubleValue(d)) => AnyValue::Double(d),
        Some(OtlpValue::BytesValue(b)) => AnyValue::Bytes(b),
        Some(OtlpValue::ArrayValue(a)) => {
            AnyValue::Array(a.values.into_iter().map(|v| value_into_model(Some(v))).collect())
        }
        Some(OtlpValue::KvlistValue(kv)) => AnyValue::KvList(attributes_into_model(kv.values)),
        // OTLP: string tables exist only in profiles; elsewhere the value is ignored.
        Some(OtlpValue::StringValueStrindex(_)) => AnyValue::Empty,
    }
}

#[cfg(test)]
mod tests;
