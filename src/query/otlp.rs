//! Traces out as OTLP: the model's spans back into an `ExportTraceServiceRequest`, grouped by
//! resource and scope as they arrived, for our REST API (`/api/v1/traces/{id}`, which the UI reads)
//! and, in OTLP/JSON, for anything that speaks OTLP. The inverse of `receiver::otlp::convert`:
//! OTLP in, OTLP out gives the same spans, resources and scopes back.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as OtlpValue, AnyValue as OtlpAnyValue, ArrayValue as OtlpArrayValue,
    InstrumentationScope as OtlpScope, KeyValue as OtlpKeyValue, KeyValueList as OtlpKeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1::{
    span::{Event as OtlpEvent, Link as OtlpLink},
    status::StatusCode as OtlpStatusCode,
    ResourceSpans as OtlpResourceSpans, ScopeSpans as OtlpScopeSpans, Span as OtlpSpan, Status as OtlpStatus,
};

use crate::model::{AnyValue, KeyValue, Resource, Scope, Span, SpanRecord, StatusCode};

/// Spans grouped by resource, then scope, each in order of first appearance.
pub type ResourceGroups<'a> = Vec<(&'a Resource, Vec<(&'a Scope, Vec<&'a Span>)>)>;

/// Groups spans by resource, then scope, as an OTLP request nests them, keeping their order.
pub fn group_spans(spans: &[Arc<SpanRecord>]) -> ResourceGroups<'_> {
    // Spans that arrived together share their resource and scope `Arc`s; equal values that did not
    // are grouped too. Few groups per trace, so a linear search beats hashing whole resources.
    let mut groups: ResourceGroups<'_> = Vec::new();
    for record in spans {
        let resource = &*record.resource;
        let at = match groups.iter().position(|(r, _)| std::ptr::eq(*r, resource) || *r == resource) {
            Some(i) => i,
            None => {
                groups.push((resource, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[at].1;
        let scope = &*record.scope;
        let at = match scopes.iter().position(|(s, _)| std::ptr::eq(*s, scope) || *s == scope) {
            Some(i) => i,
            None => {
                scopes.push((scope, Vec::new()));
                scopes.len() - 1
            }
        };
        scopes[at].1.push(&record.span);
    }
    groups
}

/// The spans of one or more traces as one OTLP export request, resources and scopes in order of
/// first appearance, spans in the order given.
pub fn encode_spans(spans: &[Arc<SpanRecord>]) -> ExportTraceServiceRequest {
    encode_spans_flagged(spans, |_| 0)
}

/// Like [`encode_spans`], with `extra_flags(span)` OR-ed into each span's flags.
pub fn encode_spans_flagged(
    spans: &[Arc<SpanRecord>],
    extra_flags: impl Fn(&Span) -> u32,
) -> ExportTraceServiceRequest {
    let resource_spans = group_spans(spans)
        .into_iter()
        .map(|(resource, scopes)| OtlpResourceSpans {
            resource: Some(resource_to_otlp(resource)),
            scope_spans: scopes
                .into_iter()
                .map(|(scope, spans)| OtlpScopeSpans {
                    scope: Some(scope_to_otlp(scope)),
                    spans: spans
                        .into_iter()
                        .map(|span| {
                            let mut otlp = span_to_otlp(span);
                            otlp.flags |= extra_flags(span);
                            otlp
                        })
                        .collect(),
                    schema_url: String::new(),
                })
                .collect(),
            schema_url: String::new(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// OTLP/JSON of [`encode_spans`]: hex ids, lowerCamelCase keys, 64-bit integers as strings.
pub fn encode_spans_json(spans: &[Arc<SpanRecord>]) -> Vec<u8> {
    // Serialising generated message types into a Vec cannot fail.
    serde_json::to_vec(&encode_spans(spans)).unwrap_or_default()
}

fn resource_to_otlp(resource: &Resource) -> OtlpResource {
    OtlpResource {
        attributes: attributes_to_otlp(&resource.attributes),
        dropped_attributes_count: resource.dropped_attributes_count,
        entity_refs: Vec::new(),
    }
}

fn scope_to_otlp(scope: &Scope) -> OtlpScope {
    OtlpScope {
        name: scope.name.clone(),
        version: scope.version.clone(),
        attributes: attributes_to_otlp(&scope.attributes),
        dropped_attributes_count: scope.dropped_attributes_count,
    }
}

/// One span in OTLP form.
pub fn span_to_otlp(span: &Span) -> OtlpSpan {
    OtlpSpan {
        trace_id: span.trace_id.as_bytes().to_vec(),
        span_id: span.span_id.as_bytes().to_vec(),
        trace_state: span.trace_state.clone(),
        parent_span_id: span.parent_span_id.map(|p| p.as_bytes().to_vec()).unwrap_or_default(),
        flags: span.flags,
        name: span.name.clone(),
        kind: span.kind.to_otlp(),
        start_time_unix_nano: span.start.0,
        end_time_unix_nano: span.end.0,
        attributes: attributes_to_otlp(&span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events: span
            .events
            .iter()
            .map(|e| OtlpEvent {
                time_unix_nano: e.time.0,
                name: e.name.clone(),
                attributes: attributes_to_otlp(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: span.dropped_events_count,
        links: span
            .links
            .iter()
            .map(|l| OtlpLink {
                trace_id: l.trace_id.as_bytes().to_vec(),
                span_id: l.span_id.as_bytes().to_vec(),
                trace_state: l.trace_state.clone(),
                attributes: attributes_to_otlp(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: span.dropped_links_count,
        status: Some(OtlpStatus {
            message: span.status.message.clone(),
            code: match span.status.code {
                StatusCode::Unset => OtlpStatusCode::Unset,
                StatusCode::Ok => OtlpStatusCode::Ok,
                StatusCode::Error => OtlpStatusCode::Error,
            } as i32,
        }),
    }
}

fn attributes_to_otlp(attributes: &[KeyValue]) -> Vec<OtlpKeyValue> {
    attributes
        .iter()
        .map(|kv| OtlpKeyValue { key: kv.key.clone(), value: Some(value_to_otlp(&kv.value)), ..Default::default() })
        .collect()
}

fn value_to_otlp(value: &AnyValue) -> OtlpAnyValue {
    let value = match value {
        AnyValue::Empty => None,
        AnyValue::String(s) => Some(OtlpValue::StringValue(s.clone())),
        AnyValue::Bool(b) => Some(OtlpValue::BoolValue(*b)),
        AnyValue::Int(i) => Some(OtlpValue::IntValue(*i)),
        AnyValue::Double(d) => Some(OtlpValue::DoubleValue(*d)),
        AnyValue::Bytes(b) => Some(OtlpValue::BytesValue(b.clone())),
        AnyValue::Array(values) => {
            Some(OtlpValue::ArrayValue(OtlpArrayValue { values: values.iter().map(value_to_otlp).collect() }))
        }
        AnyValue::KvList(kvs) => Some(OtlpValue::KvlistValue(OtlpKeyValueList { values: attributes_to_otlp(kvs) })),
    };
    OtlpAnyValue { value }
}

#[cfg(test)]
mod tests;
