//! The service graph: which service calls which, read from the parent/child links of a trace.
//!
//! A span whose parent belongs to another service is one call from the parent's service to the
//! span's (a client span → the server span it caused; a producer → its consumer; any span whose
//! parent lives elsewhere). The server-side latency is the callee span's; the client-side latency
//! is the client (or producer) span's when the caller made one, else the callee's. A call failed
//! if the callee or the client/producer span failed. Producer → consumer calls are
//! `messaging_system` connections.
//!
//! A client or producer span with no callee in the trace still records a call when it names what
//! it called (see [`peer_of`]): to a `database` when it carries database attributes, or to a
//! `virtual_node` named by `peer.service` (an uninstrumented service, as Zipkin's dependency
//! linker and the Collector's service-graph connector show them).
//!
//! Edges are matched when the assembler completes a trace, so a child that arrives after its
//! parent (or before it) is matched as long as both arrive within the trace idle timeout
//! (`--trace-idle-timeout`): that is the wait for late spans.

use std::collections::{HashMap, HashSet};

use super::prometheus::ConnectionType;
use crate::assembler::{SpanSkeleton, TraceInFlight};
use crate::model::{semconv, AnyValue, Span, SpanId, SpanKind};

/// One call between services found in a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// The calling service.
    pub caller: &'a str,
    /// The called service (or database, or uninstrumented peer).
    pub callee: &'a str,
    /// How the two are connected.
    pub connection: ConnectionType,
    /// The call's duration as the callee measured it.
    pub server_nanos: u64,
    /// The call's duration as the caller measured it.
    pub client_nanos: u64,
    /// Whether the call failed.
    pub error: bool,
}

/// What a client or producer span says it called, when no span of the callee may arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Name of the node: the peer service, or the database.
    pub name: Box<str>,
    /// Whether the peer is a database.
    pub database: bool,
}

/// Attributes that mark a call to a database (old and current conventions).
const DATABASE_KEYS: [&str; 4] = [semconv::DB_SYSTEM_NAME, semconv::DB_SYSTEM, semconv::DB_NAMESPACE, semconv::DB_NAME];

/// Attributes naming a database node, in rank order.
const DATABASE_NAME_KEYS: [&str; 6] = [
    semconv::PEER_SERVICE,
    semconv::DB_NAMESPACE,
    semconv::DB_NAME,
    semconv::SERVER_ADDRESS,
    semconv::DB_SYSTEM_NAME,
    semconv::DB_SYSTEM,
];

/// The peer a client or producer span names: a database if it carries database attributes,
/// otherwise the service in `peer.service`. `None` for other kinds or without those attributes.
pub fn peer_of(span: &Span) -> Option<Peer> {
    if !matches!(span.kind, SpanKind::Client | SpanKind::Producer) {
        return None;
    }
    let text = |key: &str| match span.attribute(key) {
        Some(AnyValue::Empty) | None => None,
        Some(value) => Some(value.to_text()).filter(|t| !t.is_empty()),
    };
    let database = DATABASE_KEYS.iter().any(|k| span.attribute(k).is_some());
    let name = if database { DATABASE_NAME_KEYS.iter().find_map(|k| text(k))? } else { text(semconv::PEER_SERVICE)? };
    Some(Peer { name: name.into(), database })
}

fn duration(span: &SpanSkeleton) -> u64 {
    span.end.0.saturating_sub(span.start.0)
}

fn is_client(span: &SpanSkeleton) -> bool {
    matches!(span.kind, SpanKind::Client | SpanKind::Producer)
}

/// Every cross-service call in a trace's spans.
pub fn calls(trace: &TraceInFlight) -> Vec<Call<'_>> {
    let spans = trace.spans();
    let services = trace.services();
    // Zipkin-style shared spans repeat an id on the client and the server side: a child of that
    // id belongs under the server span, so the server wins the index and the client is kept as
    // its twin.
    let mut by_id: HashMap<SpanId, &SpanSkeleton> = HashMap::with_capacity(spans.len());
    let mut client_twin: HashMap<SpanId, &SpanSkeleton> = HashMap::new();
    for span in spans {
        match by_id.get(&span.span_id) {
            None => {
                by_id.insert(span.span_id, span);
            }
            Some(known) if span.kind == SpanKind::Server && known.kind == SpanKind::Client => {
                client_twin.insert(span.span_id, known);
                by_id.insert(span.span_id, span);
            }
            Some(known) if span.kind == SpanKind::Client && known.kind == SpanKind::Server => {
                client_twin.insert(span.span_id, span);
            }
            Some(_) => {}
        }
    }
    let service = |s: &SpanSkeleton| services.get(usize::from(s.service)).map(|name| &**name);
    let mut calls = Vec::new();
    // Client and producer spans whose callee is in the trace.
    let mut answered: HashSet<SpanId> = HashSet::new();
    for span in spans {
        if span.kind == SpanKind::Client && client_twin.get(&span.span_id).is_some_and(|c| std::ptr::eq(*c, span)) {
            // The client half of a shared span: its server half makes the call.
            continue;
        }
        let twin = if span.kind == SpanKind::Server { client_twin.get(&span.span_id).copied() } else { None };
        let Some(client) = twin.or_else(|| span.parent_span_id.and_then(|p| by_id.get(&p).copied())) else {
            continue;
        };
        let (Some(caller), Some(callee)) = (service(client), service(span)) else { continue };
        if caller == callee {
            continue;
        }
        let client_side = is_client(client);
        if client_side {
            answered.insert(client.span_id);
        }
        let messaging = client.kind == SpanKind::Producer || span.kind == SpanKind::Consumer;
        calls.push(Call {
            caller,
            callee,
            connection: if messaging { ConnectionType::MessagingSystem } else { ConnectionType::Direct },
            server_nanos: duration(span),
            client_nanos: if client_side { duration(client) } else { duration(span) },
            // As Zipkin's linker and the Collector's service graph count it: the call failed if
            // the callee failed or the client (or producer) span that made it did.
            error: span.error || (client_side && client.error),
        });
    }
    for (index, peer) in trace.peers() {
        let Some(span) = spans.get(*index as usize) else { continue };
        let Some(caller) = service(span) else { continue };
        if answered.contains(&span.span_id) || caller == &*peer.name {
            continue;
        }
        calls.push(Call {
            caller,
            callee: &peer.name,
            connection: if peer.database { ConnectionType::Database } else { ConnectionType::VirtualNode },
            server_nanos: duration(span),
            client_nanos: duration(span),
            error: span.error,
        });
    }
    calls
}

#[cfg(test)]
mod tests;
