//! OTLP/JSON `ExportTraceServiceRequest` bytes → decode → model: never panics, and every span of a
//! decoded request is either in the batch or counted as rejected.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::otlp::convert::{decode_json, request_into_model};

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = decode_json(body) {
        let converted = request_into_model(request);
        assert_eq!(converted.received, converted.batch.span_count() + converted.rejected);
        assert_eq!(converted.partial_success().is_some(), converted.rejected > 0);
    }
});
