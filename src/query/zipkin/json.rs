//! Zipkin v2 span JSON out of the canonical model, following the OpenTelemetry "non-OTLP" and
//! Zipkin exporter mapping rules (PROTOCOLS §3.1, §7). Owns only the encoding: which spans to
//! return is the query service's business.
//!
//! Invariants: absent fields are omitted, never `null`; ids are lower-case hex; tags are sorted by
//! key; every span with an end gets a duration of at least 1 µs, as Zipkin requires.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::model::{semconv, AnyValue, Event, KeyValue, Link, Span, SpanKind, SpanRecord, StatusCode, Trace};

/// One span as Zipkin's `GET /api/v2/trace/{id}` returns it, keys in Zipkin's order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZipkinSpan {
    /// 16 lower-hex digits when the high half is zero, else 32.
    pub trace_id: String,
    /// The parent's 16 lower-hex digits, absent on a root span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The span's 16 lower-hex digits.
    pub id: String,
    /// RPC or messaging role, absent for local (internal) and unknown spans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ZipkinKind>,
    /// Operation name, omitted when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Start in epoch microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Duration in microseconds, at least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// The service that recorded the span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_endpoint: Option<ZipkinEndpoint>,
    /// The other side of an RPC or messaging operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_endpoint: Option<ZipkinEndpoint>,
    /// Timed events, omitted when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<ZipkinAnnotation>,
    /// String tags sorted by key, omitted when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Force-sampled flag, written only when true.
    #[serde(skip_serializing_if = "is_not_true")]
    pub debug: Option<bool>,
    /// Server half of a span shared with its client, written only when true.
    #[serde(skip_serializing_if = "is_not_true")]
    pub shared: Option<bool>,
}

/// Zipkin's span kinds; local spans have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ZipkinKind {
    /// Client side of an RPC.
    Client,
    /// Server side of an RPC.
    Server,
    /// Sender of a message.
    Producer,
    /// Receiver of a message.
    Consumer,
}

/// A network endpoint: service name, IP and port, each omitted when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZipkinEndpoint {
    /// Service name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// IPv4 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// Port, never 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A timed event on a span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZipkinAnnotation {
    /// When it happened, epoch microseconds.
    pub timestamp: u64,
    /// What happened.
    pub value: String,
}

impl ZipkinEndpoint {
    /// True when no part is known, so the endpoint is left out.
    pub fn is_empty(&self) -> bool {
        self.service_name.is_none() && self.ipv4.is_none() && self.ipv6.is_none() && self.port.is_none()
    }

    fn set_ip(&mut self, ip: IpAddr) {
        match ip {
            IpAddr::V4(v4) => self.ipv4 = Some(v4),
            IpAddr::V6(v6) => self.ipv6 = Some(v6),
        }
    }
}

impl ZipkinKind {
    /// The Zipkin kind for a model kind; internal and unspecified spans have none.
    pub fn from_model(kind: SpanKind) -> Option<Self> {
        match kind {
            SpanKind::Client => Some(Self::Client),
            SpanKind::Server => Some(Self::Server),
            SpanKind::Producer => Some(Self::Producer),
            SpanKind::Consumer => Some(Self::Consumer),
            SpanKind::Internal | SpanKind::Unspecified => None,
        }
    }
}

/// Local endpoint IP attributes, old conventions first; the one used is not repeated in tags.
const LOCAL_IP_KEYS: [&str; 2] = [semconv::NET_HOST_IP, semconv::NETWORK_LOCAL_ADDRESS];
/// Local endpoint port attributes; the one used is not repeated in tags.
const LOCAL_PORT_KEYS: [&str; 2] = [semconv::NET_HOST_PORT, semconv::NETWORK_LOCAL_PORT];

/// Remote service name for CLIENT and PRODUCER spans, in the specification's rank order
/// (OTel spec, trace/sdk_exporters/zipkin.md "Remote endpoint").
const REMOTE_SERVICE_KEYS: [&str; 11] = [
    semconv::PEER_SERVICE,
    semconv::SERVER_ADDRESS,
    semconv::NET_PEER_NAME,
    semconv::NETWORK_PEER_ADDRESS,
    semconv::SERVER_SOCKET_DOMAIN,
    semconv::SERVER_SOCKET_ADDRESS,
    semconv::NET_SOCK_PEER_NAME,
    semconv::NET_SOCK_PEER_ADDR,
    semconv::PEER_HOSTNAME,
    semconv::PEER_ADDRESS,
    semconv::DB_NAME,
];

/// The attributes a Zipkin remote endpoint becomes on the way in (PROTOCOLS §7.5); on the way out
/// they are shown as the endpoint alone, so a Zipkin span reads back as it was sent.
const ZIPKIN_REMOTE_KEYS: [&str; 3] = [semconv::PEER_SERVICE, semconv::NET_PEER_IP, semconv::NET_PEER_PORT];

/// Attributes naming the peer's address and port whatever the span's role.
const PEER_IP_KEYS: [&str; 3] = [semconv::NET_PEER_IP, semconv::NETWORK_PEER_ADDRESS, semconv::NET_SOCK_PEER_ADDR];
const PEER_PORT_KEYS: [&str; 3] = [semconv::NET_PEER_PORT, semconv::NETWORK_PEER_PORT, semconv::NET_SOCK_PEER_PORT];

/// Attributes naming the server's address and port: the remote side only on CLIENT and PRODUCER
/// spans (on a SERVER span they describe the span's own service).
const SERVER_IP_KEYS: [&str; 1] = [semconv::SERVER_SOCKET_ADDRESS];
const SERVER_PORT_KEYS: [&str; 2] = [semconv::SERVER_PORT, semconv::SERVER_SOCKET_PORT];

/// Encodes every span of a trace, in the trace's order.
pub fn trace_to_zipkin(trace: &Trace) -> Vec<ZipkinSpan> {
    trace.spans.iter().map(|record| span_to_zipkin(record)).collect()
}

/// Encodes one span with its resource and scope as a Zipkin v2 span.
pub fn span_to_zipkin(record: &SpanRecord) -> ZipkinSpan {
    let span = &record.span;
    let (local_endpoint, mut consumed) = local_endpoint(record);
    let remote_endpoint = remote_endpoint(span, &mut consumed);
    // A span Zipkin sent without a start time reads back without one (contrib's marker).
    let absent = |key| matches!(span.attribute(key), Some(AnyValue::Bool(true)));
    let absent_start = absent(semconv::ZIPKIN_ABSENT_START_TIME);
    let absent_duration = absent(semconv::ZIPKIN_ABSENT_DURATION);
    consumed.extend([semconv::ZIPKIN_ABSENT_START_TIME, semconv::ZIPKIN_ABSENT_DURATION]);
    ZipkinSpan {
        trace_id: span.trace_id.to_short_hex(),
        // Zipkin drops a parent equal to the span's own id.
        parent_id: span.parent_span_id.filter(|parent| *parent != span.span_id).map(|p| p.to_hex()),
        id: span.span_id.to_hex(),
        kind: ZipkinKind::from_model(span.kind),
        name: span.name.clone(),
        timestamp: (!absent_start).then(|| span.start.as_micros()),
        // OTel spec: whole microseconds, truncated; Zipkin: duration ≥ 1.
        duration: (!absent_duration).then(|| (span.duration_nanos() / 1_000).max(1)),
        local_endpoint: Some(local_endpoint),
        remote_endpoint,
        annotations: span.events.iter().map(event_annotation).collect(),
        tags: tags(record, &consumed),
        debug: span.debug.then_some(true),
        // Zipkin clears `shared` on anything but a server span.
        shared: (span.shared && span.kind == SpanKind::Server).then_some(true),
    }
}

/// The local endpoint and the attribute keys it consumed.
fn local_endpoint(record: &SpanRecord) -> (ZipkinEndpoint, Vec<&'static str>) {
    let span = &record.span;
    let mut endpoint =
        ZipkinEndpoint { service_name: Some(record.service_name().to_owned()), ..ZipkinEndpoint::default() };
    let mut consumed = Vec::new();
    if let Some((key, ip)) = first_parsed(span, &LOCAL_IP_KEYS, parse_ip) {
        endpoint.set_ip(ip);
        consumed.push(key);
    }
    if let Some((key, port)) = first_parsed(span, &LOCAL_PORT_KEYS, parse_port) {
        endpoint.port = Some(port);
        consumed.push(key);
    }
    (endpoint, consumed)
}

/// The remote endpoint, absent unless a service name or an IP is known (a bare port says nothing);
/// the attribute keys it used are added to `consumed` so they are not repeated as tags.
fn remote_endpoint(span: &Span, consumed: &mut Vec<&'static str>) -> Option<ZipkinEndpoint> {
    let towards_server = matches!(span.kind, SpanKind::Client | SpanKind::Producer);
    // OTel spec: the ranked list is for CLIENT and PRODUCER; peer.service names the peer for any kind.
    let service_keys: &[&str] = if towards_server { &REMOTE_SERVICE_KEYS } else { &REMOTE_SERVICE_KEYS[..1] };
    let service = service_keys.iter().find_map(|key| {
        let text = span.attribute(key)?.to_text();
        (!text.is_empty()).then_some((*key, text))
    });
    let mut used = Vec::new();
    let mut endpoint = ZipkinEndpoint::default();
    if let Some((key, name)) = service {
        endpoint.service_name = Some(name);
        used.push(key);
    }
    let ip = first_parsed(span, &PEER_IP_KEYS, parse_ip)
        .or_else(|| towards_server.then(|| first_parsed(span, &SERVER_IP_KEYS, parse_ip)).flatten());
    if let Some((key, ip)) = ip {
        endpoint.set_ip(ip);
        used.push(key);
    }
    if endpoint.is_empty() {
        return None;
    }
    let port = first_parsed(span, &PEER_PORT_KEYS, parse_port)
        .or_else(|| towards_server.then(|| first_parsed(span, &SERVER_PORT_KEYS, parse_port)).flatten());
    if let Some((key, port)) = port {
        endpoint.port = Some(port);
        used.push(key);
    }
    // Only the keys Zipkin's own fields map to are left out of the tags: other conventions
    // (server.address, db.name …) keep their tag, so nothing the producer sent disappears.
    for key in used {
        if ZIPKIN_REMOTE_KEYS.contains(&key) && !consumed.contains(&key) {
            consumed.push(key);
        }
    }
    Some(endpoint)
}

/// The first of `keys` whose attribute parses, with the key it came from.
fn first_parsed<T>(span: &Span, keys: &[&'static str], parse: fn(&AnyValue) -> Option<T>) -> Option<(&'static str, T)> {
    keys.iter().find_map(|key| Some((*key, parse(span.attribute(key)?)?)))
}

fn parse_ip(value: &AnyValue) -> Option<IpAddr> {
    match value {
        AnyValue::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn parse_port(value: &AnyValue) -> Option<u16> {
    let port = match value {
        AnyValue::Int(port) => u16::try_from(*port).ok()?,
        AnyValue::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    (port != 0).then_some(port)
}

/// All string tags of a span: resource attributes, span attributes (winning over the resource's),
/// then the tags derived from the span's scope, links, counts, trace state and status.
fn tags(record: &SpanRecord, consumed: &[&str]) -> BTreeMap<String, String> {
    let span = &record.span;
    let mut tags = BTreeMap::new();
    let resource = record.resource.attributes.iter().filter(|kv| kv.key != semconv::SERVICE_NAME);
    let attributes = span.attributes.iter().filter(|kv| !consumed.contains(&kv.key.as_str()));
    for kv in resource.chain(attributes) {
        tags.insert(kv.key.clone(), kv.value.to_text());
    }
    // OTel spec: a boolean `error=false` would make Zipkin treat the span as failed; drop it.
    if tags.get(semconv::ERROR).is_some_and(|value| value == "false") {
        tags.remove(semconv::ERROR);
    }
    // Zipkin has no INTERNAL kind: contrib tags it so the kind survives a round trip.
    if span.kind == SpanKind::Internal {
        tags.insert(semconv::SPAN_KIND.to_owned(), "internal".to_owned());
    }

    let scope = &record.scope;
    for (keys, value) in [
        ([semconv::OTEL_SCOPE_NAME, semconv::OTEL_LIBRARY_NAME], &scope.name),
        ([semconv::OTEL_SCOPE_VERSION, semconv::OTEL_LIBRARY_VERSION], &scope.version),
    ] {
        if !value.is_empty() {
            for key in keys {
                tags.insert(key.to_owned(), value.clone());
            }
        }
    }
    for (index, link) in span.links.iter().enumerate() {
        tags.insert(format!("{}{index}", semconv::OTLP_LINK_PREFIX), link_tag(link));
    }
    for (key, count) in [
        (semconv::OTEL_DROPPED_ATTRIBUTES_COUNT, span.dropped_attributes_count),
        (semconv::OTEL_DROPPED_EVENTS_COUNT, span.dropped_events_count),
        (semconv::OTEL_DROPPED_LINKS_COUNT, span.dropped_links_count),
    ] {
        if count > 0 {
            tags.insert(key.to_owned(), count.to_string());
        }
    }
    if !span.trace_state.is_empty() {
        tags.insert(semconv::W3C_TRACESTATE.to_owned(), span.trace_state.clone());
    }
    // OTel spec (Zipkin "Status"): nothing for UNSET; ERROR puts the description in `error`.
    match span.status.code {
        StatusCode::Unset => {}
        StatusCode::Ok => {
            tags.insert(semconv::OTEL_STATUS_CODE.to_owned(), "OK".to_owned());
        }
        StatusCode::Error => {
            tags.insert(semconv::OTEL_STATUS_CODE.to_owned(), "ERROR".to_owned());
            tags.insert(semconv::ERROR.to_owned(), span.status.message.clone());
        }
    }
    tags
}

/// OTel spec (Zipkin "Events"): the bare name, or `"name": {attributes as JSON}` when it has any.
fn event_annotation(event: &Event) -> ZipkinAnnotation {
    let value = if event.attributes.is_empty() {
        event.name.clone()
    } else {
        format!("{}: {}", serde_json::Value::String(event.name.clone()), attributes_json(&event.attributes))
    };
    ZipkinAnnotation { timestamp: event.time.as_micros(), value }
}

/// contrib's link tag: `traceHex|spanHex|tracestate|{attributes as JSON}|dropped attribute count`,
/// with the full 32-digit trace id so contrib's receiver can read it back.
fn link_tag(link: &Link) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        link.trace_id.to_hex(),
        link.span_id.to_hex(),
        link.trace_state,
        attributes_json(&link.attributes),
        link.dropped_attributes_count
    )
}

/// Attributes as one compact JSON object, keys sorted (`serde_json::Map` is ordered by key here;
/// the first value wins on a repeated key).
fn attributes_json(attributes: &[KeyValue]) -> String {
    let mut object = serde_json::Map::new();
    for kv in attributes {
        object.entry(kv.key.clone()).or_insert_with(|| kv.value.to_json());
    }
    serde_json::Value::Object(object).to_string()
}

fn is_not_true(flag: &Option<bool>) -> bool {
    *flag != Some(true)
}

#[cfg(test)]
mod tests;
