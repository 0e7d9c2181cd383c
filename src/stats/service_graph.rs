//! The service graph: which service calls which, read from the parent/child links of a trace.
//!
//! A span whose parent belongs to another service is one call from the parent's service to the
//! span's (a client span → the server span it caused; a consumer → its producer's service; any
//! span whose parent lives elsewhere). The call's latency and outcome are the callee span's.
//! Edges are matched when the assembler completes a trace, so a child that arrives after its
//! parent (or before it) is matched as long as both arrive within the trace idle timeout
//! (`--trace-idle-timeout`): that is the wait for late spans.

use std::collections::HashMap;

use crate::assembler::{SpanSkeleton, TraceInFlight};
use crate::model::{SpanId, SpanKind};

/// One call between services found in a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// The calling service.
    pub caller: &'a str,
    /// The called service.
    pub callee: &'a str,
    /// The callee span's duration.
    pub nanos: u64,
    /// Whether the callee span failed.
    pub error: bool,
}

/// Every cross-service call in a trace's spans.
pub fn calls(trace: &TraceInFlight) -> Vec<Call<'_>> {
    let spans = trace.spans();
    let services = trace.services();
    // Zipkin-style shared spans repeat an id on the client and the server side: a child of that
    // id belongs under the server span, so the server wins the index.
    let mut by_id: HashMap<SpanId, &SpanSkeleton> = HashMap::with_capacity(spans.len());
    for span in spans {
        by_id
            .entry(span.span_id)
            .and_modify(|known| {
                if span.kind == SpanKind::Server {
                    *known = span;
                }
            })
            .or_insert(span);
    }
    let service = |s: &SpanSkeleton| services.get(usize::from(s.service)).map(|name| &**name);
    spans
        .iter()
        .filter_map(|span| {
            let parent = *by_id.get(&span.parent_span_id?)?;
            let (caller, callee) = (service(parent)?, service(span)?);
            // As Zipkin's linker and the Collector's service graph count it: the call failed if
            // the callee failed or the client (or producer) span that made it did.
            let client_failed = parent.error && matches!(parent.kind, SpanKind::Client | SpanKind::Producer);
            (caller != callee).then_some(Call {
                caller,
                callee,
                nanos: span.end.0.saturating_sub(span.start.0),
                error: span.error || client_failed,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::model::SpanKind;
    use crate::testkit::SpanBuilder;

    fn trace(records: Vec<crate::model::SpanRecord>) -> TraceInFlight {
        let mut t = TraceInFlight::new(Instant::now());
        for r in &records {
            t.add(r, Instant::now());
        }
        t
    }

    #[test]
    fn cross_service_parent_links_are_calls_whatever_the_arrival_order() {
        let child =
            SpanBuilder::new("cart", "GET /cart", 1, 3).parent(2).kind(SpanKind::Server).timing(0, 5_000).build();
        let client = SpanBuilder::new("web", "call cart", 1, 2).parent(1).kind(SpanKind::Client).build();
        let root = SpanBuilder::new("web", "GET /", 1, 1).build();
        let db = SpanBuilder::new("cart", "SELECT", 1, 4).parent(3).kind(SpanKind::Client).build();
        let t = trace(vec![child, db, client, root]);
        let calls = calls(&t);
        assert_eq!(calls, [Call { caller: "web", callee: "cart", nanos: 5_000, error: false }]);
    }

    #[test]
    fn shared_span_ids_give_one_call_and_children_stay_with_the_server() {
        let root = SpanBuilder::new("web", "GET /", 1, 1).build();
        let client = SpanBuilder::new("web", "get", 1, 2).parent(1).kind(SpanKind::Client).build();
        let server = SpanBuilder::new("api", "get", 1, 2)
            .parent(1)
            .kind(SpanKind::Server)
            .with(|r| r.span.shared = true)
            .build();
        let render = SpanBuilder::new("api", "render", 1, 3).parent(2).build();
        let t = trace(vec![root, client, server, render]);
        let calls: Vec<_> = calls(&t).into_iter().map(|c| (c.caller, c.callee)).collect();
        assert_eq!(calls, [("web", "api")]);
    }
}
