use super::*;
use crate::model::{SpanRecord, Trace};
use crate::proto::jaeger::api_v2::SpanRef;
use crate::query::jaeger::json::trace_to_jaeger;
use crate::query::jaeger::proto::trace_to_proto;

fn tag(key: &str, value: ValueType) -> JaegerKeyValue {
    JaegerKeyValue { key: key.into(), v_type: value as i32, ..JaegerKeyValue::default() }
}

fn str_tag(key: &str, value: &str) -> JaegerKeyValue {
    JaegerKeyValue { v_str: value.into(), ..tag(key, ValueType::String) }
}

fn bool_tag(key: &str, value: bool) -> JaegerKeyValue {
    JaegerKeyValue { v_bool: value, ..tag(key, ValueType::Bool) }
}

fn int_tag(key: &str, value: i64) -> JaegerKeyValue {
    JaegerKeyValue { v_int64: value, ..tag(key, ValueType::Int64) }
}

fn ts(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: micros / 1_000_000, nanos: (micros % 1_000_000 * 1_000) as i32 }
}

fn span(id: u8, tags: Vec<JaegerKeyValue>) -> JaegerSpan {
    JaegerSpan {
        trace_id: vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        operation_name: format!("op{id}"),
        flags: 1,
        start_time: Some(ts(1_700_000_000_000_000)),
        duration: Some(prost_types::Duration { seconds: 0, nanos: 2_500_000 }),
        tags,
        ..JaegerSpan::default()
    }
}

fn process(service: &str) -> JaegerProcess {
    JaegerProcess { service_name: service.into(), tags: vec![str_tag("hostname", "h1"), str_tag("ip", "10.0.0.1")] }
}

fn records(batch: JaegerBatch) -> Vec<SpanRecord> {
    let converted = batch_into_model(batch);
    assert_eq!(converted.rejected, 0, "{:?}", converted.first_error);
    converted.batch.into_records().collect()
}

#[test]
fn maps_process_kind_status_and_times() {
    let batch = JaegerBatch {
        spans: vec![span(
            1,
            vec![str_tag("span.kind", "server"), bool_tag("error", true), int_tag("http.status_code", 200)],
        )],
        process: Some(process("frontend")),
    };
    let records = records(batch);
    let record = &records[0];
    assert_eq!(record.service_name(), "frontend");
    assert_eq!(record.resource.attributes.len(), 3, "hostname and ip kept as sent");
    assert_eq!(record.span.kind, SpanKind::Server);
    assert_eq!(record.span.status.code, StatusCode::Error);
    assert_eq!(record.span.duration_nanos(), 2_500_000);
    assert_eq!(record.span.start, UnixNanos(1_700_000_000_000_000_000));
    assert_eq!(record.span.attributes, vec![KeyValue::new("http.status_code", AnyValue::Int(200))]);
    assert_eq!(record.span.flags, 1);
}

#[test]
fn error_true_beats_otel_status_code() {
    let records = records(JaegerBatch {
        spans: vec![span(1, vec![bool_tag("error", true), str_tag("otel.status_code", "OK")])],
        process: Some(process("a")),
    });
    assert_eq!(records[0].span.status.code, StatusCode::Error);
}

#[test]
fn http_404_is_an_error_only_for_clients() {
    for (kind, code) in [("server", StatusCode::Unset), ("client", StatusCode::Error)] {
        let records = records(JaegerBatch {
            spans: vec![span(1, vec![str_tag("span.kind", kind), int_tag("http.status_code", 404)])],
            process: Some(process("a")),
        });
        assert_eq!(records[0].span.status.code, code, "{kind}");
    }
    let records = records(JaegerBatch {
        spans: vec![span(1, vec![str_tag("http.status_code", "503")])],
        process: Some(process("a")),
    });
    assert_eq!(records[0].span.status.code, StatusCode::Error);
}

#[test]
fn first_child_of_is_the_parent_and_other_refs_are_links() {
    let mut s = span(3, Vec::new());
    let reference = |id: u8, ref_type: SpanRefType| SpanRef {
        trace_id: s.trace_id.clone(),
        span_id: vec![0, 0, 0, 0, 0, 0, 0, id],
        ref_type: ref_type as i32,
    };
    s.references = vec![
        reference(9, SpanRefType::FollowsFrom),
        reference(1, SpanRefType::ChildOf),
        reference(2, SpanRefType::ChildOf),
    ];
    let records = records(JaegerBatch { spans: vec![s], process: Some(process("a")) });
    let span = &records[0].span;
    assert_eq!(span.parent_span_id.map(|p| p.as_u64()), Some(1));
    let links: Vec<_> = span.links.iter().map(|l| (l.span_id.as_u64(), l.attributes[0].value.to_text())).collect();
    assert_eq!(links, [(9, "follows_from".to_owned()), (2, "child_of".to_owned())]);
}

#[test]
fn span_process_overrides_batch_process_and_8_byte_ids_pad() {
    let mut own = span(2, Vec::new());
    own.process = Some(process("worker"));
    own.trace_id = vec![0, 0, 0, 0, 0, 0, 0, 7];
    let records = records(JaegerBatch { spans: vec![span(1, Vec::new()), own], process: Some(process("api")) });
    assert_eq!(records[0].service_name(), "api");
    assert_eq!(records[1].service_name(), "worker");
    assert_eq!(records[1].span.trace_id, records[0].span.trace_id);
}

#[test]
fn logs_become_events_named_by_their_event_field() {
    let mut s = span(1, Vec::new());
    s.logs = vec![JaegerLog {
        timestamp: Some(ts(1_700_000_000_000_100)),
        fields: vec![str_tag("event", "retry"), int_tag("attempt", 2)],
    }];
    let records = records(JaegerBatch { spans: vec![s], process: Some(process("a")) });
    let event = &records[0].span.events[0];
    assert_eq!(event.name, "retry");
    assert_eq!(event.attributes, vec![KeyValue::new("attempt", AnyValue::Int(2))]);
    assert_eq!(event.time, UnixNanos(1_700_000_000_000_100_000));
}

#[test]
fn debug_flag_is_kept() {
    let mut s = span(1, Vec::new());
    s.flags = 3;
    let records = records(JaegerBatch { spans: vec![s], process: Some(process("a")) });
    assert!(records[0].span.debug);
    assert_eq!(records[0].span.flags, 1);
}

#[test]
fn invalid_spans_are_rejected_alone() {
    let mut zero_id = span(0, Vec::new());
    zero_id.span_id = vec![0; 8];
    let mut no_start = span(2, Vec::new());
    no_start.start_time = None;
    let mut short = span(3, Vec::new());
    short.trace_id = vec![1, 2, 3];
    let converted =
        batch_into_model(JaegerBatch { spans: vec![zero_id, no_start, short, span(4, Vec::new())], process: None });
    assert_eq!((converted.received, converted.rejected, converted.batch.span_count()), (4, 3, 1));
}

#[test]
fn jaeger_spans_read_back_as_sent() {
    let mut s = span(
        2,
        vec![
            str_tag("span.kind", "client"),
            bool_tag("error", true),
            str_tag("otel.status_code", "ERROR"),
            int_tag("n", 5),
        ],
    );
    s.references = vec![SpanRef { trace_id: s.trace_id.clone(), span_id: vec![0, 0, 0, 0, 0, 0, 0, 1], ref_type: 0 }];
    s.logs = vec![JaegerLog { timestamp: Some(ts(1_700_000_000_000_001)), fields: vec![str_tag("event", "x")] }];
    s.flags = 3;
    let batch = JaegerBatch { spans: vec![s.clone()], process: Some(process("a")) };
    let records: Vec<_> = records(batch).into_iter().map(std::sync::Arc::new).collect();
    let back = trace_to_proto(&Trace { trace_id: records[0].span.trace_id, spans: records });
    let mut expected = s;
    expected.process = Some(process("a"));
    expected.process_id = "p1".into();
    // Derived tags come after the span's own, in the encoder's fixed order.
    expected.tags = vec![
        int_tag("n", 5),
        str_tag("span.kind", "client"),
        str_tag("otel.status_code", "ERROR"),
        bool_tag("error", true),
    ];
    assert_eq!(back, vec![expected]);
}

mod props {
    use super::*;
    use crate::testkit::SpanBuilder;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = SpanRecord> {
        (
            "[a-z]{1,8}",
            "[a-z /]{0,12}",
            1u64..1000,
            prop::option::of(1u64..1000),
            0usize..6,
            prop::collection::vec(("[a-z.]{1,8}", any::<i64>(), any::<bool>(), "[ -~]{0,10}"), 0..4),
            0u8..3,
            any::<bool>(),
            prop::collection::vec((1u64..1000, "[a-z]{0,6}"), 0..3),
        )
            .prop_map(|(service, name, span, parent, kind, attrs, status, debug, events)| {
                let kinds = SpanKind::ALL;
                let mut builder =
                    SpanBuilder::new(&service, &name, 77, span).kind(kinds[kind]).timing(span * 1_000, 5_000);
                if let Some(parent) = parent.filter(|p| *p != span) {
                    builder = builder.parent(parent);
                }
                for (i, (key, int, flag, text)) in attrs.into_iter().enumerate() {
                    let value = match i % 3 {
                        0 => AnyValue::Int(int),
                        1 => AnyValue::Bool(flag),
                        _ => AnyValue::String(text),
                    };
                    builder = builder.attr(&format!("a{i}.{key}"), value);
                }
                for (offset, name) in events {
                    builder = builder.event(offset * 1_000, &name, Vec::new());
                }
                builder = match status {
                    0 => builder,
                    1 => builder.status(StatusCode::Ok, ""),
                    _ => builder.status(StatusCode::Error, "bad"),
                };
                builder.with(|r| r.span.debug = debug).build()
            })
    }

    proptest! {
        /// api_v2 out, converted back, then out again: the same spans.
        #[test]
        fn jaeger_proto_round_trip_is_stable(records in prop::collection::vec(record(), 1..6)) {
            let trace_id = records[0].span.trace_id;
            let trace = Trace { trace_id, spans: records.into_iter().map(std::sync::Arc::new).collect() };
            let first = trace_to_proto(&trace);
            let converted = batch_into_model(JaegerBatch { spans: first.clone(), process: None });
            prop_assert_eq!(converted.rejected, 0);
            let again = Trace { trace_id, spans: converted.batch.into_records().map(std::sync::Arc::new).collect() };
            let mut second = trace_to_proto(&again);
            let mut first = first;
            // Process ids are numbered in order of appearance; compare spans by id with processes inline.
            for s in first.iter_mut().chain(second.iter_mut()) {
                s.process_id.clear();
            }
            first.sort_by(|a, b| a.span_id.cmp(&b.span_id).then(a.operation_name.cmp(&b.operation_name)));
            second.sort_by(|a, b| a.span_id.cmp(&b.span_id).then(a.operation_name.cmp(&b.operation_name)));
            prop_assert_eq!(first, second);
            prop_assert_eq!(trace_to_jaeger(&again).spans.len(), trace.spans.len());
        }
    }
}
