//! The bench workload (`otlp_workload`) in every Zipkin and Jaeger wire format, encoded by way of
//! the model so each format carries the same spans: Zipkin v2 JSON and proto3, Zipkin v1 JSON and
//! thrift, Jaeger api_v2 protobuf and thrift (binary and compact).

use std::sync::Arc;

use prost::Message;
use tracehound::model::{SpanKind, Trace};
use tracehound::proto::jaeger::api_v2::{Batch as JaegerBatch, PostSpansRequest};
use tracehound::query::jaeger::proto::trace_to_proto;
use tracehound::query::zipkin::json::span_to_zipkin;
use tracehound::receiver::jaeger::thrift::{encode_batch, encode_emit_batch};
use tracehound::receiver::thrift::Protocol;
use tracehound::receiver::zipkin::span::ZipkinSpan;
use tracehound::receiver::zipkin::v1::{V1Annotation, V1BinaryAnnotation, V1Span, V1Value};
use tracehound::receiver::zipkin::{v1_json, v1_thrift, v2_json, v2_proto};

/// One request's body in every format.
pub struct Bodies {
    /// Zipkin v2 JSON list of spans.
    pub zipkin_v2_json: Vec<u8>,
    /// Zipkin proto3 `ListOfSpans`.
    pub zipkin_proto: Vec<u8>,
    /// Zipkin v1 JSON list of spans.
    pub zipkin_v1_json: Vec<u8>,
    /// Zipkin v1 thrift `list<Span>`.
    pub zipkin_v1_thrift: Vec<u8>,
    /// Jaeger `PostSpansRequest` protobuf of all spans, each carrying its own process.
    pub jaeger_proto: Vec<u8>,
    /// Jaeger `PostSpansRequest` protobuf of the thrift batch below (one batch-level process, as
    /// agents and clients send it).
    pub jaeger_proto_batch: Vec<u8>,
    /// Jaeger thrift `Batch`, binary protocol (one process: the first service's spans).
    pub jaeger_thrift_binary: Vec<u8>,
    /// Jaeger `emitBatch` datagram, compact protocol (the same batch).
    pub jaeger_thrift_compact: Vec<u8>,
    /// Spans in the thrift batches (one service of three).
    pub jaeger_thrift_spans: usize,
}

/// Encodes the spans of an OTLP model batch in every format.
pub fn bodies(batch: tracehound::model::Batch) -> Bodies {
    let records: Vec<_> = batch.into_records().map(Arc::new).collect();
    let zipkin: Vec<_> = records.iter().map(|r| span_to_zipkin(r)).collect();
    let zipkin_v2_json = serde_json::to_vec(&zipkin).expect("zipkin spans serialize");
    let decoded: Vec<ZipkinSpan> =
        v2_json::decode_spans(&zipkin_v2_json).expect("zipkin json decodes").into_iter().map(|s| s.unwrap()).collect();
    let v1: Vec<V1Span> = decoded.iter().map(v1_span).collect();
    let trace = Trace { trace_id: records[0].span.trace_id, spans: records };
    let spans = trace_to_proto(&trace);
    let first_process = spans[0].process.clone();
    let one_process: Vec<_> = spans
        .iter()
        .filter(|s| s.process == first_process)
        .cloned()
        .map(|mut s| {
            s.process = None;
            s.process_id.clear();
            s
        })
        .collect();
    let thrift_batch = JaegerBatch { spans: one_process, process: first_process };
    Bodies {
        zipkin_proto: v2_proto::encode_spans(&decoded),
        zipkin_v1_json: v1_json::encode_spans(&v1),
        zipkin_v1_thrift: v1_thrift::encode_spans(&v1),
        zipkin_v2_json,
        jaeger_proto: PostSpansRequest { batch: Some(JaegerBatch { spans, process: None }) }.encode_to_vec(),
        jaeger_proto_batch: PostSpansRequest { batch: Some(thrift_batch.clone()) }.encode_to_vec(),
        jaeger_thrift_binary: encode_batch(&thrift_batch),
        jaeger_thrift_compact: encode_emit_batch(&thrift_batch, Protocol::Compact),
        jaeger_thrift_spans: thrift_batch.spans.len(),
    }
}

/// A v2 span as a v1 span: core annotations for its kind, tags as string binary annotations.
fn v1_span(span: &ZipkinSpan) -> V1Span {
    let local = span.local_endpoint.clone();
    let (start, end) = (span.timestamp.unwrap_or(0), span.timestamp.unwrap_or(0) + span.duration.unwrap_or(0));
    let core = match span.kind {
        SpanKind::Client => Some(("cs", "cr")),
        SpanKind::Server => Some(("sr", "ss")),
        _ => None,
    };
    let mut annotations = Vec::new();
    if let Some((first, _)) = core {
        annotations.push(V1Annotation { timestamp: start, value: first.into(), endpoint: local.clone() });
    }
    annotations.extend(span.annotations.iter().map(|a| V1Annotation {
        timestamp: a.timestamp,
        value: a.value.clone(),
        endpoint: local.clone(),
    }));
    if let Some((_, last)) = core {
        annotations.push(V1Annotation { timestamp: end, value: last.into(), endpoint: local.clone() });
    }
    let binary_annotations = span
        .tags
        .iter()
        .map(|(k, v)| V1BinaryAnnotation { key: k.clone(), value: V1Value::String(v.clone()), endpoint: local.clone() })
        .collect();
    V1Span {
        trace_id: span.trace_id,
        name: span.name.clone(),
        id: span.id,
        parent_id: span.parent_id,
        timestamp: span.timestamp,
        duration: span.duration,
        annotations,
        binary_annotations,
        debug: false,
    }
}
