//! Zipkin proto3 `ListOfSpans` (`POST /api/v2/spans`, `application/x-protobuf`) → [`ZipkinSpan`]s.
//!
//! Ids are big-endian bytes: trace ids 8 or 16, span ids 8 (PROTOCOLS §3.3). A body that is not a
//! `ListOfSpans` is refused whole; a span with bad ids or an unknown kind is refused alone.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use prost::Message;

use super::json::file_ip;
use super::span::{Annotation, DecodedSpans, Endpoint, ZipkinSpan};
use crate::model::{IdError, InvalidSpan, SpanId, SpanKind, TraceId};
use crate::proto::zipkin::proto3::{
    span::Kind as ProtoKind, Endpoint as ProtoEndpoint, ListOfSpans, Span as ProtoSpan,
};
use crate::receiver::IngestError;

/// Decodes a proto3 `ListOfSpans`; an empty body has no spans.
pub fn decode_spans(body: &[u8]) -> Result<DecodedSpans, IngestError> {
    // Zipkin: a ListOfSpans starts with field 1, length-delimited (0x0a).
    if let Some(first) = body.first().filter(|b| **b != 0x0a) {
        return Err(IngestError::Malformed(format!(
            "invalid Zipkin proto3 body: expected a ListOfSpans (first byte 0x0a), got 0x{first:02x}"
        )));
    }
    let list = ListOfSpans::decode(body)
        .map_err(|e| IngestError::Malformed(format!("invalid Zipkin proto3 ListOfSpans: {e}")))?;
    Ok(list.spans.into_iter().map(span_from_proto).collect())
}

/// Encodes spans as a proto3 `ListOfSpans`, the inverse of [`decode_spans`] (for tests and tools).
pub fn encode_spans(spans: &[ZipkinSpan]) -> Vec<u8> {
    ListOfSpans { spans: spans.iter().map(span_to_proto).collect() }.encode_to_vec()
}

fn span_from_proto(span: ProtoSpan) -> Result<ZipkinSpan, InvalidSpan> {
    let trace_id = match span.trace_id.len() {
        8 => {
            let mut bytes = [0u8; 16];
            bytes[8..].copy_from_slice(&span.trace_id);
            TraceId::from_array(bytes)?
        }
        16 => TraceId::try_from(&span.trace_id[..])?,
        got => return Err(IdError::Length { kind: "trace id", expected: 16, got }.into()),
    };
    let id = SpanId::try_from(&span.id[..])?;
    let parent_id = if span.parent_id.is_empty() || span.parent_id.iter().all(|b| *b == 0) {
        None
    } else {
        Some(SpanId::try_from(&span.parent_id[..])?).filter(|parent| *parent != id)
    };
    let kind = match ProtoKind::try_from(span.kind) {
        Ok(ProtoKind::SpanKindUnspecified) => SpanKind::Unspecified,
        Ok(ProtoKind::Client) => SpanKind::Client,
        Ok(ProtoKind::Server) => SpanKind::Server,
        Ok(ProtoKind::Producer) => SpanKind::Producer,
        Ok(ProtoKind::Consumer) => SpanKind::Consumer,
        Err(_) => return Err(InvalidSpan::Field(format!("span {id}: unknown kind {}", span.kind))),
    };
    // Decoded into a BTreeMap (see build.rs): sorted, so the same bytes always give the same span.
    let tags: Vec<(String, String)> = span.tags.into_iter().collect();
    Ok(ZipkinSpan {
        trace_id,
        parent_id,
        id,
        kind,
        name: span.name,
        timestamp: Some(span.timestamp).filter(|t| *t > 0),
        duration: Some(span.duration).filter(|d| *d > 0),
        local_endpoint: span.local_endpoint.and_then(endpoint_from_proto),
        remote_endpoint: span.remote_endpoint.and_then(endpoint_from_proto),
        annotations: span
            .annotations
            .into_iter()
            .map(|a| Annotation { timestamp: a.timestamp, value: a.value })
            .collect(),
        tags,
        debug: span.debug,
        shared: span.shared,
    })
}

/// Addresses of the wrong length are ignored, as Zipkin ignores unparseable IPs.
fn endpoint_from_proto(endpoint: ProtoEndpoint) -> Option<Endpoint> {
    let mut out = Endpoint {
        service_name: Some(endpoint.service_name).filter(|name| !name.is_empty()),
        port: u16::try_from(endpoint.port).ok().filter(|port| *port != 0),
        ..Endpoint::default()
    };
    if let Ok(bytes) = <[u8; 4]>::try_from(&endpoint.ipv4[..]) {
        out.ipv4 = Some(Ipv4Addr::from(bytes)).filter(|ip| !ip.is_unspecified());
    }
    if let Ok(bytes) = <[u8; 16]>::try_from(&endpoint.ipv6[..]) {
        file_ip(&mut out, IpAddr::V6(Ipv6Addr::from(bytes)));
    }
    (!out.is_empty()).then_some(out)
}

fn span_to_proto(span: &ZipkinSpan) -> ProtoSpan {
    let trace_id = if span.trace_id.high() == 0 {
        span.trace_id.as_bytes()[8..].to_vec()
    } else {
        span.trace_id.as_bytes().to_vec()
    };
    let kind = match span.kind {
        SpanKind::Client => ProtoKind::Client,
        SpanKind::Server => ProtoKind::Server,
        SpanKind::Producer => ProtoKind::Producer,
        SpanKind::Consumer => ProtoKind::Consumer,
        SpanKind::Internal | SpanKind::Unspecified => ProtoKind::SpanKindUnspecified,
    };
    ProtoSpan {
        trace_id,
        parent_id: span.parent_id.map(|p| p.as_bytes().to_vec()).unwrap_or_default(),
        id: span.id.as_bytes().to_vec(),
        kind: kind as i32,
        name: span.name.clone(),
        timestamp: span.timestamp.unwrap_or(0),
        duration: span.duration.unwrap_or(0),
        local_endpoint: span.local_endpoint.as_ref().map(endpoint_to_proto),
        remote_endpoint: span.remote_endpoint.as_ref().map(endpoint_to_proto),
        annotations: span
            .annotations
            .iter()
            .map(|a| crate::proto::zipkin::proto3::Annotation { timestamp: a.timestamp, value: a.value.clone() })
            .collect(),
        tags: span.tags.iter().cloned().collect(),
        debug: span.debug,
        shared: span.shared,
    }
}

fn endpoint_to_proto(endpoint: &Endpoint) -> ProtoEndpoint {
    ProtoEndpoint {
        service_name: endpoint.service_name.clone().unwrap_or_default(),
        ipv4: endpoint.ipv4.map(|ip| ip.octets().to_vec()).unwrap_or_default(),
        ipv6: endpoint.ipv6.map(|ip| ip.octets().to_vec()).unwrap_or_default(),
        port: endpoint.port.map(i32::from).unwrap_or(0),
    }
}
