//! Decoded Zipkin v2 spans → the canonical model, as the OpenTelemetry specification and the
//! Collector's Zipkin translator define it (PROTOCOLS §7), so that a span read back through the
//! Zipkin API looks as it was sent:
//!
//! - `localEndpoint.serviceName` → resource `service.name`; its IP and port → `net.host.ip`,
//!   `net.host.port`; tags in resource namespaces (`host.*`, `process.*` …) → resource attributes.
//! - `remoteEndpoint.serviceName` → `peer.service` (unless tagged already); IP and port →
//!   `net.peer.ip`, `net.peer.port`.
//! - `kind` → span kind; no kind is UNSPECIFIED unless tagged `span.kind=internal`.
//! - any `error` tag → status ERROR (Zipkin's rule), described by `otel.status_description` or
//!   the tag's value; else `otel.status_code` gives OK or ERROR.
//! - `otel.scope.*`/`otel.library.*`, `w3c.tracestate`, `otel.dropped_*_count` → their fields.
//! - `otlp.link.<i>` tags → links; annotations → events (`"name": {json}` or `name|{json}|n` split).
//! - timestamps µs → ns; a span without `timestamp` starts at its first annotation (else at 0) and
//!   is marked `otel.zipkin.absentField.startTime=true` (one without `duration`,
//!   `otel.zipkin.absentField.duration=true`) so it reads back as sent; `shared` and `debug` are kept.

use serde_json::Value as Json;

use super::span::{DecodedSpans, Endpoint, ZipkinSpan};
use crate::model::{
    semconv, AnyValue, BatchBuilder, Event, KeyValue, Link, Resource, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId, UnixNanos,
};
use crate::receiver::otel_tags::{self, parse_status_code, take};
use crate::receiver::Converted;

/// Converts decoded spans, counting those the decoder refused.
pub fn spans_into_model(spans: DecodedSpans) -> Converted {
    let mut out = Converted { received: spans.len(), ..Converted::default() };
    let mut builder = BatchBuilder::default();
    for span in spans {
        match span {
            Ok(span) => {
                let (resource, scope, span) = span_into_model(span);
                if let Err(e) = span.check_timing() {
                    out.reject(e);
                    continue;
                }
                builder.push(resource, scope, span);
            }
            Err(e) => out.reject(e),
        }
    }
    out.batch = builder.finish();
    out
}

/// Converts one span with its resource and scope.
pub fn span_into_model(zipkin: ZipkinSpan) -> (Resource, crate::model::Scope, Span) {
    let mut resource = Vec::new();
    if let Some(name) = zipkin.local_endpoint.as_ref().and_then(|e| e.service_name.clone()) {
        resource.push(KeyValue::new(semconv::SERVICE_NAME, AnyValue::String(name)));
    }
    let mut attributes = Vec::with_capacity(zipkin.tags.len() + 4);
    for (key, value) in zipkin.tags {
        if otel_tags::is_resource_key(&key) {
            if key != semconv::SERVICE_NAME || resource.is_empty() {
                resource.push(KeyValue::new(key, AnyValue::String(value)));
            }
        } else {
            attributes.push(KeyValue::new(key, AnyValue::String(value)));
        }
    }
    if let Some(local) = &zipkin.local_endpoint {
        push_address(&mut attributes, local, semconv::NET_HOST_IP, semconv::NET_HOST_PORT);
    }
    if let Some(remote) = &zipkin.remote_endpoint {
        if let Some(name) = &remote.service_name {
            if !attributes.iter().any(|kv| kv.key == semconv::PEER_SERVICE) {
                attributes.push(KeyValue::new(semconv::PEER_SERVICE, AnyValue::String(name.clone())));
            }
        }
        push_address(&mut attributes, remote, semconv::NET_PEER_IP, semconv::NET_PEER_PORT);
    }

    let start_micros = match zipkin.timestamp {
        Some(micros) => micros,
        None => {
            attributes.push(KeyValue::new(semconv::ZIPKIN_ABSENT_START_TIME, AnyValue::Bool(true)));
            zipkin.annotations.iter().map(|a| a.timestamp).min().unwrap_or(0)
        }
    };
    if zipkin.duration.is_none() {
        attributes.push(KeyValue::new(semconv::ZIPKIN_ABSENT_DURATION, AnyValue::Bool(true)));
    }
    let start = UnixNanos::from_micros(start_micros);
    let end = UnixNanos::from_micros(start_micros.saturating_add(zipkin.duration.unwrap_or(0)));

    let mut kind = zipkin.kind;
    if let Some(AnyValue::String(tag)) = take(&mut attributes, semconv::SPAN_KIND) {
        // Only an otherwise kind-less span takes its kind from the tag (contrib writes `internal`).
        match SpanKind::from_lower_str(&tag) {
            Some(tagged) if kind == SpanKind::Unspecified => kind = tagged,
            Some(_) => {}
            None => attributes.push(KeyValue::new(semconv::SPAN_KIND, AnyValue::String(tag))),
        }
    }
    let status = take_status(&mut attributes);
    let links = take_links(&mut attributes);

    let mut span = Span {
        trace_id: zipkin.trace_id,
        span_id: zipkin.id,
        parent_span_id: zipkin.parent_id.filter(|parent| *parent != zipkin.id),
        trace_state: String::new(),
        // Zipkin only reports sampled spans.
        flags: 1,
        name: zipkin.name,
        kind,
        start,
        end,
        attributes,
        dropped_attributes_count: 0,
        events: zipkin.annotations.into_iter().map(|a| annotation_event(a.timestamp, &a.value)).collect(),
        dropped_events_count: 0,
        links,
        dropped_links_count: 0,
        status,
        shared: zipkin.shared,
        debug: zipkin.debug,
    };
    let scope = otel_tags::take_derived(&mut span);
    (Resource { attributes: resource, dropped_attributes_count: 0 }, scope, span)
}

fn push_address(attributes: &mut Vec<KeyValue>, endpoint: &Endpoint, ip_key: &str, port_key: &str) {
    let ip = endpoint.ipv4.map(|ip| ip.to_string()).or_else(|| endpoint.ipv6.map(|ip| ip.to_string()));
    if let Some(ip) = ip {
        if !attributes.iter().any(|kv| kv.key == ip_key) {
            attributes.push(KeyValue::new(ip_key, AnyValue::String(ip)));
        }
    }
    if let Some(port) = endpoint.port {
        if !attributes.iter().any(|kv| kv.key == port_key) {
            attributes.push(KeyValue::new(port_key, AnyValue::Int(i64::from(port))));
        }
    }
}

/// Zipkin: any `error` tag marks a failure, whatever its value.
fn take_status(attributes: &mut Vec<KeyValue>) -> Status {
    let error = take(attributes, semconv::ERROR).map(|v| v.to_text());
    let code = take(attributes, semconv::OTEL_STATUS_CODE).map(|v| v.to_text());
    let description = take(attributes, semconv::OTEL_STATUS_DESCRIPTION).map(|v| v.to_text());
    let parsed = code.as_deref().and_then(parse_status_code);
    if let (Some(code), None) = (&code, parsed) {
        // Not a spelling we know (e.g. UNSET): keep it visible rather than guess.
        attributes.push(KeyValue::new(semconv::OTEL_STATUS_CODE, AnyValue::String(code.clone())));
    }
    match (error, parsed) {
        (Some(value), _) => {
            // `error=true` (a bare marker) carries no description of its own.
            let from_tag = (!value.is_empty() && value != "true").then_some(value);
            Status { code: StatusCode::Error, message: description.or(from_tag).unwrap_or_default() }
        }
        (None, Some(code)) => Status { code, message: description.unwrap_or_default() },
        (None, None) => {
            if let Some(description) = description {
                attributes.push(KeyValue::new(semconv::OTEL_STATUS_DESCRIPTION, AnyValue::String(description)));
            }
            Status::default()
        }
    }
}

/// contrib's link tags `otlp.link.<i>` = `traceHex|spanHex|tracestate|{json}|dropped`, in index
/// order; a tag that does not parse stays an attribute.
fn take_links(attributes: &mut Vec<KeyValue>) -> Vec<Link> {
    let mut links: Vec<(usize, Link)> = Vec::new();
    attributes.retain(|kv| {
        let Some(index) = kv.key.strip_prefix(semconv::OTLP_LINK_PREFIX).and_then(|i| i.parse::<usize>().ok()) else {
            return true;
        };
        match &kv.value {
            AnyValue::String(text) => match parse_link(text) {
                Some(link) => {
                    links.push((index, link));
                    false
                }
                None => true,
            },
            _ => true,
        }
    });
    links.sort_by_key(|(index, _)| *index);
    links.into_iter().map(|(_, link)| link).collect()
}

fn parse_link(text: &str) -> Option<Link> {
    let mut head = text.splitn(4, '|');
    let trace_id = TraceId::from_hex(head.next()?).ok()?;
    let span_id = SpanId::from_hex(head.next()?).ok()?;
    let trace_state = head.next()?.to_owned();
    let (json, dropped) = head.next()?.rsplit_once('|')?;
    let attributes = match serde_json::from_str::<Json>(json).ok()? {
        Json::Object(map) => map.into_iter().map(|(k, v)| KeyValue::new(k, json_value(v))).collect(),
        _ => return None,
    };
    Some(Link {
        trace_id,
        span_id,
        trace_state,
        attributes,
        dropped_attributes_count: dropped.trim().parse().ok()?,
        flags: 0,
    })
}

/// An annotation as an event: `"name": {json}` (OTel spec), `name|{json}|dropped` (contrib), or
/// a plain name.
fn annotation_event(micros: u64, value: &str) -> Event {
    let event = |name: String, attributes: Vec<KeyValue>, dropped: u32| Event {
        time: UnixNanos::from_micros(micros),
        name,
        attributes,
        dropped_attributes_count: dropped,
    };
    if value.starts_with('"') {
        // A JSON string, a colon, then a JSON object.
        let mut stream = serde_json::Deserializer::from_str(value).into_iter::<Json>();
        if let Some(Ok(Json::String(name))) = stream.next() {
            let rest = value[stream.byte_offset()..].trim_start();
            if let Some(Ok(Json::Object(map))) = rest.strip_prefix(':').map(|r| serde_json::from_str::<Json>(r.trim()))
            {
                return event(name, map.into_iter().map(|(k, v)| KeyValue::new(k, json_value(v))).collect(), 0);
            }
        }
    } else if let Some((name, rest)) = value.split_once('|') {
        if let Some((json, dropped)) = rest.rsplit_once('|') {
            if let (Ok(Json::Object(map)), Ok(dropped)) = (serde_json::from_str::<Json>(json), dropped.parse::<u32>()) {
                let attributes = map.into_iter().map(|(k, v)| KeyValue::new(k, json_value(v))).collect();
                return event(name.to_owned(), attributes, dropped);
            }
        }
    }
    event(value.to_owned(), Vec::new(), 0)
}

/// A JSON value as a typed attribute value.
fn json_value(value: Json) -> AnyValue {
    match value {
        Json::Null => AnyValue::Empty,
        Json::Bool(b) => AnyValue::Bool(b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => AnyValue::Int(i),
            None => AnyValue::Double(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => AnyValue::String(s),
        Json::Array(values) => AnyValue::Array(values.into_iter().map(json_value).collect()),
        Json::Object(map) => AnyValue::KvList(map.into_iter().map(|(k, v)| KeyValue::new(k, json_value(v))).collect()),
    }
}

#[cfg(test)]
mod tests;
