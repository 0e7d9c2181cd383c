//! Zipkin v1 spans (JSON and thrift share this shape) and their conversion to v2 spans.
//!
//! [`v1_into_v2`] follows Zipkin's `V1SpanConverter`. In a v1 span every annotation names the
//! endpoint that logged it; the converter groups the data by that endpoint's service name (compared
//! ignoring case, as Zipkin lower-cases names) into "sides", each of which becomes a v2 span. Rules:
//!
//! - Core annotations need an endpoint; without one they are kept as plain annotations. `cs`/`cr`
//!   make their side CLIENT, `sr`/`ss` SERVER, `ms` PRODUCER, `mr` CONSUMER; the side's local endpoint
//!   is the first endpoint seen on it (annotations sorted by time, as Zipkin sorts them). `ws`/`wr`
//!   time a message send/receive and are plain annotations unless `ms`/`mr` is present.
//! - A missing `cs` (`sr`) is recovered from the explicit timestamp when `timestamp + duration`
//!   equals the `cr` (`ss`) time: a bridged span that kept only the end annotation.
//! - `cs` and `sr` together: the client side takes the explicit timestamp and duration when both are
//!   set, else `cs` and `cr - cs`; with neither `cr` nor an explicit duration it has no duration (one
//!   way). The server side becomes a second span with `shared = true`, timed by `sr` and `ss - sr`.
//!   Same service on both sides (loopback): still two spans.
//! - Only `cs`+`cr` (or only `sr`+`ss`): one span, explicit timestamp and duration when both are set,
//!   else from the pair. An unfinished RPC (`cs` or `sr` alone, or only `cr`/`ss`): timestamp from
//!   the start annotation, the lone end annotation kept as a plain annotation, and an explicit
//!   timestamp (with its duration) on the first side wins.
//! - A server side without a client side is `shared` when the v1 span has no explicit timestamp,
//!   or has `ss` but no explicit duration: v1 had no shared flag and this was its convention.
//! - `ms` and `mr` together: PRODUCER (`ms`, `ws - ms`) and a `shared` CONSUMER (`wr` or `mr`,
//!   `mr - wr`). `ms` alone: from the explicit pair or `ms`, `ws - ms`; `mr` alone: from the
//!   explicit pair or `wr`/`mr`, `mr - wr`.
//! - Address annotations (`ca`, `sa`, `ma`; `true`, or any text as old zipkin-ruby sent, with an
//!   endpoint) give remote endpoints: `sa` the client side's, `ca` the server side's (its service name
//!   dropped when it equals the server's own, a Finagle quirk), `ma` both messaging sides'. With no
//!   RPC core annotations: `ca`+`sa` is a kind-less span from `ca` to `sa`, `sa` alone only a remote
//!   endpoint, `ca` alone a SERVER span. When a span is split and an RPC side has no address
//!   annotation, its remote endpoint is the other side's local endpoint (tracehound's addition; not on
//!   loopback).
//! - Binary annotations with text values become tags on the side of their endpoint (the last value
//!   of a repeated key wins); boolean ones other than addresses are dropped, as Zipkin drops them.
//!   `lc` (local component) gives its endpoint as the local endpoint of a local span; a non-empty
//!   value is kept as tag `lc`, an empty one is only a marker.
//! - Data without an endpoint goes to the first side; annotations come out sorted by time without
//!   duplicates; `parentId == id` is dropped; `debug` is kept; timestamps and durations of 0, and
//!   negative derived durations, are absent. Names are kept as sent.
//!
//! Tracehound keeps at most two v2 spans per v1 span, at most one of them not `shared`: where Zipkin
//! would emit a further span for a third service, or a second non-shared one (two services that
//! logged only plain annotations, say), that side's data is folded into the non-shared span.

use std::collections::HashMap;

use super::span::{Annotation, Endpoint, ZipkinSpan};
use crate::model::{SpanId, SpanKind, TraceId};

/// A decoded Zipkin v1 span; ids already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct V1Span {
    /// Trace id (`trace_id_high` ‖ `trace_id` in thrift; 16 or 32 hex digits in JSON).
    pub trace_id: TraceId,
    /// Operation name.
    pub name: String,
    /// The span's id.
    pub id: SpanId,
    /// The parent, absent on a root span.
    pub parent_id: Option<SpanId>,
    /// Start in epoch microseconds, when the span's creator set it.
    pub timestamp: Option<u64>,
    /// Duration in microseconds, when the span's creator set it.
    pub duration: Option<u64>,
    /// Timed annotations, core (`cs` …) and custom.
    pub annotations: Vec<V1Annotation>,
    /// Tags and address annotations.
    pub binary_annotations: Vec<V1BinaryAnnotation>,
    /// Force-sampled.
    pub debug: bool,
}

/// A v1 timed annotation, with the endpoint that recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Annotation {
    /// Epoch microseconds.
    pub timestamp: u64,
    /// What happened (`cs`, `sr`, … or free text).
    pub value: String,
    /// Who recorded it.
    pub endpoint: Option<Endpoint>,
}

/// A v1 binary annotation: a tag, or an address (`ca`/`sa`/`ma` = true with an endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1BinaryAnnotation {
    /// Tag key.
    pub key: String,
    /// The value.
    pub value: V1Value,
    /// Who recorded it.
    pub endpoint: Option<Endpoint>,
}

/// A v1 binary annotation's value. Numbers and bytes are carried as text (decimal, base64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1Value {
    /// A boolean (address annotations are `true`).
    Bool(bool),
    /// Text, or a number or bytes rendered as text.
    String(String),
}

/// Converts a v1 span into one v2 span, or two when it holds both sides of an RPC or a message.
pub fn v1_into_v2(span: V1Span) -> Vec<ZipkinSpan> {
    let V1Span { trace_id, name, id, parent_id, timestamp, duration, annotations, binary_annotations, debug } = span;
    let mut conversion = Conversion {
        sides: vec![Side::default()],
        by_service: HashMap::new(),
        timestamp: timestamp.filter(|t| *t != 0),
        duration: duration.filter(|d| *d != 0),
        rpc_split: None,
    };
    let cores = conversion.process_annotations(annotations);
    conversion.process_binary_annotations(binary_annotations, &cores);
    // Zipkin: a parent equal to the span's own id is dropped.
    let identity = Identity { trace_id, id, parent_id: parent_id.filter(|parent| *parent != id), name, debug };
    conversion.finish(&identity)
}

/// What every v2 span cut from one v1 span shares.
struct Identity {
    trace_id: TraceId,
    id: SpanId,
    parent_id: Option<SpanId>,
    name: String,
    debug: bool,
}

/// One service's view of the v1 span: a v2 span in the making.
#[derive(Default)]
struct Side {
    kind: SpanKind,
    local: Option<Endpoint>,
    remote: Option<Endpoint>,
    timestamp: Option<u64>,
    duration: Option<u64>,
    annotations: Vec<Annotation>,
    tags: Vec<(String, String)>,
    shared: bool,
}

/// A core annotation's time and the endpoint that logged it.
struct Core {
    timestamp: u64,
    endpoint: Endpoint,
}

/// The last of each core annotation, by time.
#[derive(Default)]
struct Cores {
    cs: Option<Core>,
    sr: Option<Core>,
    ss: Option<Core>,
    cr: Option<Core>,
    ms: Option<Core>,
    mr: Option<Core>,
    ws: Option<Core>,
    wr: Option<Core>,
}

impl Cores {
    /// Where a core annotation of this value is kept, and the kind it gives its side.
    fn slot(&mut self, value: &str) -> Option<(&mut Option<Core>, Option<SpanKind>)> {
        Some(match value {
            "cs" => (&mut self.cs, Some(SpanKind::Client)),
            "sr" => (&mut self.sr, Some(SpanKind::Server)),
            "ss" => (&mut self.ss, Some(SpanKind::Server)),
            "cr" => (&mut self.cr, Some(SpanKind::Client)),
            "ms" => (&mut self.ms, Some(SpanKind::Producer)),
            "mr" => (&mut self.mr, Some(SpanKind::Consumer)),
            "ws" => (&mut self.ws, None),
            "wr" => (&mut self.wr, None),
            _ => return None,
        })
    }
}

struct Conversion {
    /// In order of first appearance; `sides[0]` also takes data that has no endpoint.
    sides: Vec<Side>,
    /// Lower-cased service name → first side with it, so that finding a side stays O(1).
    by_service: HashMap<Option<String>, usize>,
    /// The v1 span's own timestamp and duration, when non-zero.
    timestamp: Option<u64>,
    duration: Option<u64>,
    /// Client and server sides of an RPC split between two services.
    rpc_split: Option<(usize, usize)>,
}

impl Conversion {
    /// The side of this endpoint's service, created when new; the first side for no endpoint.
    fn side_for(&mut self, endpoint: Option<&Endpoint>) -> usize {
        let Some(endpoint) = endpoint else { return 0 };
        let key = service_key(endpoint);
        // Zipkin: the first endpoint seen becomes the first side's local endpoint.
        if self.sides[0].local.is_none() {
            self.sides[0].local = Some(endpoint.clone());
            self.by_service.insert(key, 0);
            return 0;
        }
        if let Some(index) = self.by_service.get(&key) {
            return *index;
        }
        self.sides.push(Side { local: Some(endpoint.clone()), ..Side::default() });
        self.by_service.insert(key, self.sides.len() - 1);
        self.sides.len() - 1
    }

    /// A new side for the second half of a loopback RPC or message (same service as the first).
    fn fork(&mut self, endpoint: &Endpoint, kind: SpanKind) -> usize {
        self.sides.push(Side { kind, local: Some(endpoint.clone()), ..Side::default() });
        self.sides.len() - 1
    }

    fn process_annotations(&mut self, mut annotations: Vec<V1Annotation>) -> Cores {
        // Zipkin sorts v1 annotations by time, then value, before converting.
        annotations.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.value.cmp(&b.value)));
        let mut cores = Cores::default();
        for annotation in annotations {
            let endpoint = annotation.endpoint.and_then(cleaned);
            let side = self.side_for(endpoint.as_ref());
            // Zipkin: a core annotation without an endpoint is an ordinary event.
            match (endpoint, cores.slot(&annotation.value)) {
                (Some(endpoint), Some((slot, kind))) => {
                    *slot = Some(Core { timestamp: annotation.timestamp, endpoint });
                    if let Some(kind) = kind {
                        self.sides[side].kind = kind;
                    }
                }
                _ => self.sides[side]
                    .annotations
                    .push(Annotation { timestamp: annotation.timestamp, value: annotation.value }),
            }
        }
        if cores.cs.is_none() {
            cores.cs = self.recovered_start(cores.cr.as_ref());
        }
        if cores.sr.is_none() {
            cores.sr = self.recovered_start(cores.ss.as_ref());
        }
        self.time_rpc(&cores);
        self.time_messaging(&cores);
        cores
    }

    /// A start annotation for a bridged span that kept only its end, which the explicit times match.
    fn recovered_start(&self, end: Option<&Core>) -> Option<Core> {
        let (timestamp, duration, end) = (self.timestamp?, self.duration?, end?);
        (timestamp.checked_add(duration) == Some(end.timestamp))
            .then(|| Core { timestamp, endpoint: end.endpoint.clone() })
    }

    fn time_rpc(&mut self, cores: &Cores) {
        match (&cores.cs, &cores.sr) {
            (Some(cs), Some(sr)) => {
                // The client side owns the v1 span's explicit timing; the server side has only its
                // own annotations.
                self.time_from(cs, cores.cr.as_ref());
                let client = self.side_for(Some(&cs.endpoint));
                let server = if same_service(&cs.endpoint, &sr.endpoint) {
                    self.sides[client].kind = SpanKind::Client;
                    self.fork(&sr.endpoint, SpanKind::Server)
                } else {
                    let server = self.side_for(Some(&sr.endpoint));
                    self.rpc_split = Some((client, server));
                    server
                };
                let server_side = &mut self.sides[server];
                server_side.shared = true;
                server_side.timestamp = Some(sr.timestamp);
                if let Some(ss) = &cores.ss {
                    server_side.duration = ss.timestamp.checked_sub(sr.timestamp);
                }
                // One-way RPC: no response, so no duration unless one was given.
                if cores.cr.is_none() && self.duration.is_none() {
                    self.sides[client].duration = None;
                }
            }
            (Some(cs), None) if cores.cr.is_some() => self.time_from(cs, cores.cr.as_ref()),
            (None, Some(sr)) if cores.ss.is_some() => self.time_from(sr, cores.ss.as_ref()),
            _ => self.time_incomplete_rpc(cores),
        }
        // v1 had no shared flag: a server side seen without its client was shared by convention
        // when the span had no explicit timestamp, or an `ss` but no explicit duration.
        if let (None, Some(sr)) = (&cores.cs, &cores.sr) {
            if self.timestamp.is_none() || (cores.ss.is_some() && self.duration.is_none()) {
                let side = self.side_for(Some(&sr.endpoint));
                self.sides[side].shared = true;
            }
        }
    }

    /// Timing for an RPC missing its start or end: start annotations give timestamps, lone end
    /// annotations stay as events, and explicit timing goes on the first side.
    fn time_incomplete_rpc(&mut self, cores: &Cores) {
        for side in &mut self.sides {
            let (start, end, end_value) = match side.kind {
                SpanKind::Client => (&cores.cs, &cores.cr, "cr"),
                SpanKind::Server => (&cores.sr, &cores.ss, "ss"),
                _ => continue,
            };
            if let Some(start) = start {
                side.timestamp = Some(start.timestamp);
            }
            if let Some(end) = end {
                side.annotations.push(Annotation { timestamp: end.timestamp, value: end_value.into() });
            }
        }
        if let Some(timestamp) = self.timestamp {
            self.sides[0].timestamp = Some(timestamp);
            self.sides[0].duration = self.duration;
        }
    }

    fn time_messaging(&mut self, cores: &Cores) {
        match (&cores.ms, &cores.mr) {
            (Some(ms), Some(mr)) => {
                // Zipkin: v1 messaging spans should not share an id, but one that does is split.
                let producer = self.side_for(Some(&ms.endpoint));
                let consumer = if same_service(&ms.endpoint, &mr.endpoint) {
                    self.sides[producer].kind = SpanKind::Producer;
                    self.fork(&mr.endpoint, SpanKind::Consumer)
                } else {
                    self.side_for(Some(&mr.endpoint))
                };
                let consumer_side = &mut self.sides[consumer];
                consumer_side.shared = true;
                match &cores.wr {
                    Some(wr) => {
                        consumer_side.timestamp = Some(wr.timestamp);
                        consumer_side.duration = mr.timestamp.checked_sub(wr.timestamp);
                    }
                    None => consumer_side.timestamp = Some(mr.timestamp),
                }
                let producer_side = &mut self.sides[producer];
                producer_side.timestamp = Some(ms.timestamp);
                producer_side.duration = cores.ws.as_ref().and_then(|ws| ws.timestamp.checked_sub(ms.timestamp));
            }
            (Some(ms), None) => self.time_from(ms, cores.ws.as_ref()),
            (None, Some(mr)) => match &cores.wr {
                Some(wr) => self.time_from(wr, Some(mr)),
                None => self.time_from(mr, None),
            },
            (None, None) => {
                // Without a message, wire send/receive are ordinary events.
                for (core, value) in [(&cores.ws, "ws"), (&cores.wr, "wr")] {
                    if let Some(core) = core {
                        let side = self.side_for(Some(&core.endpoint));
                        self.sides[side]
                            .annotations
                            .push(Annotation { timestamp: core.timestamp, value: value.into() });
                    }
                }
            }
        }
    }

    /// Times the side of `begin`: explicit timestamp and duration when both are set, else the
    /// annotations (a negative difference is no duration).
    fn time_from(&mut self, begin: &Core, end: Option<&Core>) {
        let explicit = self.timestamp.zip(self.duration);
        let side = self.side_for(Some(&begin.endpoint));
        let side = &mut self.sides[side];
        match explicit {
            Some((timestamp, duration)) => {
                side.timestamp = Some(timestamp);
                side.duration = Some(duration);
            }
            None => {
                side.timestamp = Some(begin.timestamp);
                if let Some(end) = end {
                    side.duration = end.timestamp.checked_sub(begin.timestamp);
                }
            }
        }
    }

    fn process_binary_annotations(&mut self, binary_annotations: Vec<V1BinaryAnnotation>, cores: &Cores) {
        let (mut ca, mut sa, mut ma) = (None, None, None);
        for binary in binary_annotations {
            let endpoint = binary.endpoint.and_then(cleaned);
            let address = match binary.key.as_str() {
                "ca" => Some(&mut ca),
                "sa" => Some(&mut sa),
                "ma" => Some(&mut ma),
                _ => None,
            };
            if let Some(address) = address {
                // Zipkin: an address is `true` with an endpoint; old zipkin-ruby sent "1", so any
                // text counts too.
                if binary.value != V1Value::Bool(false) && endpoint.is_some() {
                    *address = endpoint;
                }
                continue;
            }
            // Zipkin keeps only text binary annotations as tags.
            let V1Value::String(value) = binary.value else { continue };
            let side = self.side_for(endpoint.as_ref());
            // An empty `lc` only marks a local span; its endpoint has been taken as local above.
            if binary.key == "lc" && value.is_empty() {
                continue;
            }
            self.sides[side].tags.push((binary.key, value));
        }

        let no_rpc = cores.cs.is_none() && cores.cr.is_none() && cores.ss.is_none() && cores.sr.is_none();
        if no_rpc && (ca.is_some() || sa.is_some()) {
            match (ca, sa) {
                (Some(ca), Some(sa)) => {
                    let side = self.side_for(Some(&ca));
                    self.sides[side].remote = Some(sa);
                }
                // `sa` alone is only a remote address: it does not make a client span.
                (None, Some(sa)) => self.sides[0].remote = Some(sa),
                (Some(ca), None) => {
                    self.sides[0].kind = SpanKind::Server;
                    self.sides[0].remote = Some(ca);
                }
                (None, None) => {}
            }
            return;
        }

        if let (Some(mut ca), Some(server)) = (ca, cores.sr.as_ref().or(cores.ss.as_ref())) {
            if !same_endpoint(&ca, &server.endpoint) {
                // Finagle puts the server's own service name on `ca` with the client's socket; drop
                // the name so that the span does not look like a loopback call.
                if same_service(&ca, &server.endpoint) {
                    ca.service_name = None;
                }
                let side = self.side_for(Some(&server.endpoint));
                self.sides[side].remote = cleaned(ca);
            }
        }
        if let (Some(sa), Some(client)) = (sa, cores.cs.as_ref().or(cores.cr.as_ref())) {
            let side = self.side_for(Some(&client.endpoint));
            self.sides[side].remote = Some(sa);
        }
        if let Some(ma) = ma {
            // Both messaging sides get the broker, in case one span holds both.
            for core in [&cores.ms, &cores.mr].into_iter().flatten() {
                let side = self.side_for(Some(&core.endpoint));
                self.sides[side].remote = Some(ma.clone());
            }
        }
        // Tracehound: each side of a split RPC is the other's remote when no address said otherwise.
        if let Some((client, server)) = self.rpc_split {
            if self.sides[client].remote.is_none() {
                self.sides[client].remote = self.sides[server].local.clone();
            }
            if self.sides[server].remote.is_none() {
                self.sides[server].remote = self.sides[client].local.clone();
            }
        }
    }

    /// Keeps the first non-shared and the first shared side, folds every other side into the
    /// non-shared one (or the shared one when there is none) and builds the v2 spans.
    fn finish(mut self, identity: &Identity) -> Vec<ZipkinSpan> {
        for side in &mut self.sides {
            // Zipkin: a CLIENT span is never shared.
            if side.kind == SpanKind::Client {
                side.shared = false;
            }
        }
        let primary_index = self.sides.iter().position(|side| !side.shared);
        let shared_index = self.sides.iter().position(|side| side.shared);
        let (mut primary, mut shared, mut extra) = (None, None, Vec::new());
        for (index, side) in self.sides.into_iter().enumerate() {
            if Some(index) == primary_index {
                primary = Some(side);
            } else if Some(index) == shared_index {
                shared = Some(side);
            } else {
                extra.push(side);
            }
        }
        if let Some(target) = primary.as_mut().or(shared.as_mut()) {
            let mut folded_tags = Vec::new();
            for side in extra {
                folded_tags.extend(target.absorb(side));
            }
            // The target's own tags come last, so they win over folded ones.
            folded_tags.append(&mut target.tags);
            target.tags = folded_tags;
        }
        let (first, second) = if shared_index < primary_index { (shared, primary) } else { (primary, shared) };
        [first, second].into_iter().flatten().map(|side| side.into_span(identity)).collect()
    }
}

impl Side {
    /// Takes what this side lacks from `other`; returns `other`'s tags for the caller to merge.
    fn absorb(&mut self, other: Side) -> Vec<(String, String)> {
        if self.local.is_none() {
            self.local = other.local;
        }
        if self.kind == SpanKind::Unspecified {
            self.kind = other.kind;
        }
        if self.remote.is_none() {
            self.remote = other.remote;
        }
        if self.timestamp.is_none() {
            self.timestamp = other.timestamp;
            self.duration = self.duration.or(other.duration);
        }
        self.annotations.extend(other.annotations);
        other.tags
    }

    fn into_span(self, identity: &Identity) -> ZipkinSpan {
        let mut annotations = self.annotations;
        annotations.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.value.cmp(&b.value)));
        annotations.dedup();
        ZipkinSpan {
            trace_id: identity.trace_id,
            parent_id: identity.parent_id,
            id: identity.id,
            kind: self.kind,
            name: identity.name.clone(),
            timestamp: self.timestamp.filter(|t| *t != 0),
            duration: self.duration.filter(|d| *d != 0),
            local_endpoint: self.local,
            remote_endpoint: self.remote,
            annotations,
            tags: last_value_per_key(self.tags),
            debug: identity.debug,
            shared: self.shared,
        }
    }
}

/// The endpoint with an empty service name taken as none, or `None` when nothing is left.
fn cleaned(mut endpoint: Endpoint) -> Option<Endpoint> {
    if endpoint.service_name.as_deref() == Some("") {
        endpoint.service_name = None;
    }
    (!endpoint.is_empty()).then_some(endpoint)
}

/// The service name as Zipkin compares it: lower-cased.
fn service_key(endpoint: &Endpoint) -> Option<String> {
    endpoint.service_name.as_deref().map(str::to_lowercase)
}

fn same_service(a: &Endpoint, b: &Endpoint) -> bool {
    service_key(a) == service_key(b)
}

fn same_endpoint(a: &Endpoint, b: &Endpoint) -> bool {
    same_service(a, b) && a.ipv4 == b.ipv4 && a.ipv6 == b.ipv6 && a.port == b.port
}

/// One tag per key, with the value sent last (Zipkin's tags are a map).
fn last_value_per_key(tags: Vec<(String, String)>) -> Vec<(String, String)> {
    if tags.len() < 2 {
        return tags;
    }
    let last: HashMap<&str, usize> = tags.iter().enumerate().map(|(index, (key, _))| (key.as_str(), index)).collect();
    let keep: Vec<bool> =
        tags.iter().enumerate().map(|(index, (key, _))| last.get(key.as_str()) == Some(&index)).collect();
    tags.into_iter().zip(keep).filter_map(|(tag, keep)| keep.then_some(tag)).collect()
}

#[cfg(test)]
mod tests;
