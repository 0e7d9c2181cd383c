//! Zipkin v1 JSON bytes → decode → v2 spans: never panics, and every valid v1 span becomes one or
//! two v2 spans with its trace and span ids, at most one of them not shared.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::zipkin::v1::v1_into_v2;
use tracehound::receiver::zipkin::v1_json::decode_spans;

fuzz_target!(|body: &[u8]| {
    if let Ok(spans) = decode_spans(body) {
        for span in spans.into_iter().flatten() {
            let (trace_id, id) = (span.trace_id, span.id);
            let converted = v1_into_v2(span);
            assert!(!converted.is_empty() && converted.len() <= 2);
            assert!(converted.iter().filter(|s| !s.shared).count() <= 1);
            assert!(converted.iter().all(|s| s.trace_id == trace_id && s.id == id && s.parent_id != Some(id)));
        }
    }
});
