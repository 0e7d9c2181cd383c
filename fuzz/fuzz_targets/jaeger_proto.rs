//! Jaeger api_v2 `PostSpansRequest` protobuf bytes (what `PostSpans` on 14250 receives) → model:
//! never panics, and every span is either in the batch or counted as rejected.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tracehound::proto::jaeger::api_v2::PostSpansRequest;
use tracehound::receiver::jaeger::convert::batch_into_model;

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = PostSpansRequest::decode(body) {
        let batch = request.batch.unwrap_or_default();
        let n = batch.spans.len();
        let converted = batch_into_model(batch);
        assert_eq!(n, converted.received);
        assert_eq!(n, converted.batch.span_count() + converted.rejected);
        assert!(converted.batch.into_records().all(|r| r.span.end >= r.span.start));
    }
});
