use std::time::Instant;

use super::*;
use crate::model::{SpanKind, StatusCode};
use crate::testkit::SpanBuilder;

fn trace(records: Vec<crate::model::SpanRecord>) -> TraceInFlight {
    let mut t = TraceInFlight::new(Instant::now());
    for r in &records {
        t.add(r, Instant::now());
    }
    t
}

fn text(s: &str) -> AnyValue {
    AnyValue::String(s.into())
}

fn edges<'a>(calls: &[Call<'a>]) -> Vec<(&'a str, &'a str, ConnectionType)> {
    calls.iter().map(|c| (c.caller, c.callee, c.connection)).collect()
}

#[test]
fn cross_service_parent_links_are_calls_whatever_the_arrival_order() {
    let child = SpanBuilder::new("cart", "GET /cart", 1, 3).parent(2).kind(SpanKind::Server).timing(0, 5_000).build();
    let client = SpanBuilder::new("web", "call cart", 1, 2).parent(1).kind(SpanKind::Client).timing(0, 7_000).build();
    let root = SpanBuilder::new("web", "GET /", 1, 1).build();
    let db = SpanBuilder::new("cart", "SELECT", 1, 4).parent(3).kind(SpanKind::Client).build();
    let t = trace(vec![child, db, client, root]);
    let calls = calls(&t);
    assert_eq!(
        calls,
        [Call {
            caller: "web",
            callee: "cart",
            connection: ConnectionType::Direct,
            server_nanos: 5_000,
            client_nanos: 7_000,
            error: false
        }]
    );
}

#[test]
fn shared_span_ids_give_one_call_timed_by_both_halves() {
    let root = SpanBuilder::new("web", "GET /", 1, 1).build();
    let client = SpanBuilder::new("web", "get", 1, 2).parent(1).kind(SpanKind::Client).timing(0, 9_000).build();
    let server = SpanBuilder::new("api", "get", 1, 2)
        .parent(1)
        .kind(SpanKind::Server)
        .timing(1_000, 6_000)
        .with(|r| r.span.shared = true)
        .build();
    let render = SpanBuilder::new("api", "render", 1, 3).parent(2).build();
    // Either half may arrive first.
    for spans in
        [vec![root.clone(), client.clone(), server.clone(), render.clone()], vec![server, render, client, root]]
    {
        let t = trace(spans);
        let calls = calls(&t);
        assert_eq!(edges(&calls), [("web", "api", ConnectionType::Direct)]);
        assert_eq!((calls[0].server_nanos, calls[0].client_nanos), (6_000, 9_000));
    }
}

#[test]
fn a_failed_client_span_fails_the_call_and_producer_consumer_is_messaging() {
    let root = SpanBuilder::new("web", "GET /", 1, 1).build();
    let client = SpanBuilder::new("web", "call", 1, 2)
        .parent(1)
        .kind(SpanKind::Client)
        .status(StatusCode::Error, "timeout")
        .build();
    let server = SpanBuilder::new("api", "serve", 1, 3).parent(2).kind(SpanKind::Server).build();
    let produce = SpanBuilder::new("api", "publish", 1, 4).parent(3).kind(SpanKind::Producer).build();
    let consume = SpanBuilder::new("worker", "consume", 1, 5).parent(4).kind(SpanKind::Consumer).build();
    let t = trace(vec![root, client, server, produce, consume]);
    let calls = calls(&t);
    assert_eq!(
        edges(&calls),
        [("web", "api", ConnectionType::Direct), ("api", "worker", ConnectionType::MessagingSystem)]
    );
    assert_eq!((calls[0].error, calls[1].error), (true, false));
}

#[test]
fn an_internal_parent_in_another_service_is_a_call_timed_by_the_callee_alone() {
    let root = SpanBuilder::new("web", "render", 1, 1).timing(0, 50_000).build();
    let child = SpanBuilder::new("api", "handle", 1, 2).parent(1).timing(10, 2_000).build();
    let t = trace(vec![root, child]);
    let calls = calls(&t);
    assert_eq!(edges(&calls), [("web", "api", ConnectionType::Direct)]);
    assert_eq!((calls[0].server_nanos, calls[0].client_nanos), (2_000, 2_000));
}

#[test]
fn client_spans_without_a_callee_reach_databases_and_uninstrumented_peers() {
    let root = SpanBuilder::new("web", "GET /", 1, 1).build();
    let query = SpanBuilder::new("web", "SELECT orders", 1, 2)
        .parent(1)
        .kind(SpanKind::Client)
        .timing(0, 3_000)
        .attr(semconv::DB_SYSTEM, text("postgresql"))
        .attr(semconv::DB_NAME, text("orders"))
        .status(StatusCode::Error, "deadlock")
        .build();
    let bare_db = SpanBuilder::new("web", "GET key", 1, 3)
        .parent(1)
        .kind(SpanKind::Client)
        .attr(semconv::DB_SYSTEM, text("redis"))
        .build();
    let payments = SpanBuilder::new("web", "charge", 1, 4)
        .parent(1)
        .kind(SpanKind::Client)
        .attr(semconv::PEER_SERVICE, text("payments"))
        .build();
    // No peer named: nothing to link to.
    let anonymous = SpanBuilder::new("web", "GET http://example.com", 1, 5).parent(1).kind(SpanKind::Client).build();
    // Not a client span: its peer.service is ignored.
    let internal =
        SpanBuilder::new("web", "local", 1, 6).parent(1).attr(semconv::PEER_SERVICE, text("elsewhere")).build();
    let t = trace(vec![root, query, bare_db, payments, anonymous, internal]);
    let calls = calls(&t);
    assert_eq!(
        edges(&calls),
        [
            ("web", "orders", ConnectionType::Database),
            ("web", "redis", ConnectionType::Database),
            ("web", "payments", ConnectionType::VirtualNode),
        ]
    );
    assert_eq!((calls[0].server_nanos, calls[0].client_nanos, calls[0].error), (3_000, 3_000, true));
}

#[test]
fn a_client_span_whose_server_arrived_is_not_also_a_virtual_call() {
    let root = SpanBuilder::new("web", "GET /", 1, 1).build();
    let client = SpanBuilder::new("web", "call", 1, 2)
        .parent(1)
        .kind(SpanKind::Client)
        .attr(semconv::PEER_SERVICE, text("api"))
        .build();
    let server = SpanBuilder::new("api", "serve", 1, 3).parent(2).kind(SpanKind::Server).build();
    let t = trace(vec![root, client, server]);
    assert_eq!(edges(&calls(&t)), [("web", "api", ConnectionType::Direct)]);
}

#[test]
fn a_peer_naming_the_callers_own_service_is_no_call() {
    let root = SpanBuilder::new("web", "GET /", 1, 1).build();
    let client = SpanBuilder::new("web", "self", 1, 2)
        .parent(1)
        .kind(SpanKind::Client)
        .attr(semconv::PEER_SERVICE, text("web"))
        .build();
    assert!(calls(&trace(vec![root, client])).is_empty());
}
