use super::*;
use crate::model::SpanKind;
use crate::testkit::{span_id, trace_of, SpanBuilder, BASE_TIME};

const MS: u64 = 1_000_000;

fn on_host(b: SpanBuilder, host: &str) -> SpanRecord {
    b.resource_attr(semconv::HOST_NAME, AnyValue::String(host.into())).build()
}

fn starts(trace: &Trace) -> Vec<u64> {
    trace.spans.iter().map(|r| (r.span.start.0 - BASE_TIME) / MS).collect()
}

fn ends(trace: &Trace) -> Vec<u64> {
    trace.spans.iter().map(|r| (r.span.end.0 - BASE_TIME) / MS).collect()
}

#[test]
fn a_child_on_a_skewed_host_is_centred_in_its_parent_and_its_subtree_follows() {
    // A client on host a (100–200 ms) calls a server on host b, whose clock runs 1 s ahead; the
    // server has an event and a child on its own host.
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("front", "GET /", 1, 1).kind(SpanKind::Client).timing(100 * MS, 100 * MS), "a"),
        on_host(
            SpanBuilder::new("back", "handle", 1, 2)
                .kind(SpanKind::Server)
                .parent(1)
                .timing(1_110 * MS, 80 * MS)
                .event(5 * MS, "cache miss", Vec::new()),
            "b",
        ),
        on_host(SpanBuilder::new("back", "query", 1, 3).parent(2).timing(1_130 * MS, 30 * MS), "b"),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    // Centred: (100 − 80) / 2 = 10 ms after the client's start, a shift of −1,000 ms.
    assert_eq!(starts(&adjusted), [100, 110, 130]);
    assert_eq!(ends(&adjusted), [200, 190, 160], "durations kept");
    assert_eq!(adjusted.spans[1].span.events[0].time, UnixNanos(BASE_TIME + 115 * MS), "events move too");
    assert!(warnings_of(&adjusted.spans[0]).is_empty());
    assert_eq!(warnings_of(&adjusted.spans[1]), ["This span's timestamps were adjusted by -1s"]);
    assert_eq!(warnings_of(&adjusted.spans[2]), ["This span's timestamps were adjusted by -1s"]);
    // The stored trace is untouched, and unchanged spans are shared rather than copied.
    assert_eq!(trace.spans[1].span.start, UnixNanos(BASE_TIME + 1_110 * MS));
    assert!(Arc::ptr_eq(&trace.spans[0], &adjusted.spans[0]));
}

#[test]
fn children_that_fit_or_share_the_host_are_left_alone() {
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("a", "root", 1, 1).timing(0, 100 * MS), "h"),
        // Same host, outside the parent (async work): never moved.
        on_host(SpanBuilder::new("a", "async", 1, 2).parent(1).timing(150 * MS, 10 * MS), "h"),
        // Other host, inside the parent: nothing to do.
        on_host(SpanBuilder::new("b", "fits", 1, 3).parent(1).timing(10 * MS, 20 * MS), "other"),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    assert_eq!(adjusted, trace);
}

#[test]
fn a_longer_child_only_moves_to_start_with_its_parent() {
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("a", "root", 1, 1).timing(50 * MS, 10 * MS), "h1"),
        on_host(SpanBuilder::new("b", "long", 1, 2).parent(1).timing(20 * MS, 100 * MS), "h2"),
        on_host(SpanBuilder::new("c", "late", 1, 3).parent(1).timing(55 * MS, 100 * MS), "h3"),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    assert_eq!(starts(&adjusted), [50, 50, 55]);
    assert_eq!(warnings_of(&adjusted.spans[1]), ["This span's timestamps were adjusted by 30ms"]);
}

#[test]
fn a_consumer_is_only_kept_from_starting_before_its_producer() {
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("shop", "publish", 1, 1).kind(SpanKind::Producer).timing(100 * MS, MS), "a"),
        // Consumed 5 s later on another host: async, left where it is.
        on_host(
            SpanBuilder::new("mail", "consume", 1, 2).kind(SpanKind::Consumer).parent(1).timing(5_100 * MS, 3 * MS),
            "b",
        ),
        // Consumed "before" it was sent: moved to the producer's start only.
        on_host(
            SpanBuilder::new("bill", "consume", 1, 3).kind(SpanKind::Consumer).parent(1).timing(40 * MS, 3 * MS),
            "c",
        ),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    assert_eq!(starts(&adjusted), [100, 5_100, 100]);
}

#[test]
fn spans_without_host_attributes_are_told_apart_by_resource() {
    let trace = trace_of(vec![
        SpanBuilder::new("a", "root", 1, 1).timing(100 * MS, 10 * MS).build(),
        // Same resource (service "a"): async child after the parent ended, left alone.
        SpanBuilder::new("a", "async", 1, 2).parent(1).timing(200 * MS, 5 * MS).build(),
        // Another service, no host attribute: a different clock, so it is moved.
        SpanBuilder::new("b", "call", 1, 3).parent(1).timing(300 * MS, 4 * MS).build(),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    assert_eq!(starts(&adjusted), [100, 200, 103]);
}

#[test]
fn shifts_beyond_the_limit_are_only_warned_about() {
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("a", "root", 1, 1).timing(0, 10 * MS), "h1"),
        on_host(SpanBuilder::new("b", "far", 1, 2).parent(1).timing(3_600_000 * MS, 2 * MS), "h2"),
    ]);
    let limited = adjust_clock_skew(&trace, Duration::from_secs(60));
    assert_eq!(starts(&limited), [0, 3_600_000]);
    assert_eq!(
        warnings_of(&limited.spans[1]),
        ["max clock skew adjustment delta of 1m0s exceeded; not applying calculated delta of -59m59.996s"]
    );
    let disabled = adjust_clock_skew(&trace, Duration::ZERO);
    assert_eq!(
        warnings_of(&disabled.spans[1]),
        ["clock skew adjustment disabled; not applying calculated delta of -59m59.996s"]
    );
}

#[test]
fn a_zipkin_shared_server_half_is_adjusted_inside_its_client_half() {
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("front", "get", 1, 7).kind(SpanKind::Client).timing(0, 100 * MS), "a"),
        on_host(
            SpanBuilder::new("back", "get", 1, 7)
                .kind(SpanKind::Server)
                .timing(500 * MS, 60 * MS)
                .with(|r| r.span.shared = true),
            "b",
        ),
        on_host(SpanBuilder::new("back", "db", 1, 8).parent(7).timing(510 * MS, 10 * MS), "b"),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    assert_eq!(starts(&adjusted), [0, 20, 30], "server centred in the client; its child follows it");
}

#[test]
fn missing_parents_and_duplicate_ids_are_warned_about_and_left_alone() {
    let trace = trace_of(vec![
        on_host(SpanBuilder::new("a", "root", 1, 1).timing(0, 10 * MS), "h1"),
        on_host(SpanBuilder::new("b", "orphan", 1, 2).parent(99).timing(50 * MS, MS), "h2"),
        on_host(SpanBuilder::new("b", "dup", 1, 1).timing(70 * MS, MS), "h2"),
    ]);
    let adjusted = adjust_clock_skew(&trace, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    assert_eq!(starts(&adjusted), [0, 50, 70]);
    assert_eq!(
        warnings_of(&adjusted.spans[1]),
        [format!("parent span ID={} is not in the trace; skipping clock skew adjustment", span_id(99).to_hex())]
    );
    assert_eq!(warnings_of(&adjusted.spans[2]), ["duplicate span IDs; skipping clock skew adjustment"]);
}

#[test]
fn cycles_and_very_deep_traces_terminate() {
    let cycle = trace_of(vec![
        SpanBuilder::new("a", "x", 1, 1).parent(2).build(),
        SpanBuilder::new("b", "y", 1, 2).parent(1).build(),
    ]);
    assert_eq!(adjust_clock_skew(&cycle, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT).spans.len(), 2);
    // 100,000 levels, alternating hosts, each child 1 µs before its parent: every span moves.
    let deep = trace_of(
        (1..=100_000u64)
            .map(|i| {
                let b = SpanBuilder::new(if i % 2 == 0 { "even" } else { "odd" }, "step", 1, i)
                    .timing(1_000_000_000 - i * 1_000, 1_000_000_000 - i * 2_000 + 2_000);
                if i > 1 {
                    b.parent(i - 1).build()
                } else {
                    b.build()
                }
            })
            .collect(),
    );
    let adjusted = adjust_clock_skew(&deep, DEFAULT_MAX_CLOCK_SKEW_ADJUSTMENT);
    for pair in adjusted.spans.windows(2) {
        assert!(pair[1].span.start >= pair[0].span.start && pair[1].span.end <= pair[0].span.end);
    }
}

#[test]
fn durations_print_as_go_prints_them() {
    let cases: [(i128, &str); 9] = [
        (0, "0s"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (-250_000_000, "-250ms"),
        (1_000_000_000, "1s"),
        (1_500_000_000, "1.5s"),
        (60_000_000_000, "1m0s"),
        (3_723_000_000_000, "1h2m3s"),
        (-3_599_996_000_000, "-59m59.996s"),
    ];
    for (nanos, text) in cases {
        assert_eq!(go_duration(nanos), text, "{nanos}");
    }
}
