//! Zipkin proto3 `ListOfSpans` bytes → decode → model: never panics; whatever decodes re-encodes
//! to bytes that decode to the same spans, and every span is kept or counted as rejected.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::zipkin::convert::spans_into_model;
use tracehound::receiver::zipkin::v2_proto::{decode_spans, encode_spans};

fuzz_target!(|body: &[u8]| {
    if let Ok(spans) = decode_spans(body) {
        let valid: Vec<_> = spans.iter().filter_map(|s| s.as_ref().ok().cloned()).collect();
        let again: Vec<_> = decode_spans(&encode_spans(&valid)).expect("re-encoded spans decode").into_iter().collect();
        assert!(again.iter().all(Result::is_ok));
        assert_eq!(again.into_iter().map(Result::unwrap).collect::<Vec<_>>(), valid);
        let n = spans.len();
        let converted = spans_into_model(spans);
        assert_eq!(n, converted.batch.span_count() + converted.rejected);
    }
});
