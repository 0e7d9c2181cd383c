//! Jaeger binary thrift (a bare `Batch` as `POST /api/traces` carries it, and an `emitBatch`
//! datagram as UDP 6832 carries it) → api_v2 `Batch`: never panics, and whatever decodes
//! re-encodes to bytes that decode and re-encode unchanged (bytes, not batches, are compared so
//! that NaN tag values count as equal).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::jaeger::thrift::{decode_batch, decode_emit_batch, encode_batch, encode_emit_batch};
use tracehound::receiver::thrift::Protocol;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_batch(data) {
        let bytes = encode_batch(&batch);
        assert_eq!(decode_batch(&bytes).map(|again| encode_batch(&again)), Ok(bytes));
    }
    if let Ok(batch) = decode_emit_batch(data, Protocol::Binary) {
        let bytes = encode_emit_batch(&batch, Protocol::Binary);
        let again =
            decode_emit_batch(&bytes, Protocol::Binary).map(|again| encode_emit_batch(&again, Protocol::Binary));
        assert_eq!(again, Ok(bytes));
    }
});
