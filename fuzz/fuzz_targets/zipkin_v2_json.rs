//! Zipkin v2 JSON bytes → decode → model: never panics, every span of a decoded body is either in
//! the batch or counted as rejected, and a converted span never ends before it starts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::zipkin::convert::spans_into_model;
use tracehound::receiver::zipkin::v2_json::decode_spans;

fuzz_target!(|body: &[u8]| {
    if let Ok(spans) = decode_spans(body) {
        let n = spans.len();
        let converted = spans_into_model(spans);
        assert_eq!(converted.received, n);
        assert_eq!(n, converted.batch.span_count() + converted.rejected);
        assert!(converted.batch.into_records().all(|r| r.span.end >= r.span.start));
    }
});
