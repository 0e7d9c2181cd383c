//! Zipkin v1 thrift `list<Span>` (`POST /api/v1/spans`, `application/x-thrift`) → v1 spans: never
//! panics, and the spans that decode re-encode to bytes that decode to the same spans.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::zipkin::v1_thrift::{decode_spans, encode_spans};

fuzz_target!(|body: &[u8]| {
    if let Ok(spans) = decode_spans(body) {
        let valid: Vec<_> = spans.into_iter().filter_map(Result::ok).collect();
        let again = decode_spans(&encode_spans(&valid)).map(|spans| spans.into_iter().collect::<Result<Vec<_>, _>>());
        assert_eq!(again, Ok(Ok(valid)));
    }
});
