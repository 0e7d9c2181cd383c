//! Jaeger binary thrift (a bare `Batch` as `POST /api/traces` carries it, and an `emitBatch`
//! datagram as UDP 6832 carries it) → api_v2 `Batch`: never panics, and whatever decodes
//! re-encodes to bytes that decode to the same batch.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::jaeger::thrift::{decode_batch, decode_emit_batch, encode_batch, encode_emit_batch};
use tracehound::receiver::thrift::Protocol;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = decode_batch(data) {
        assert_eq!(decode_batch(&encode_batch(&batch)).as_ref(), Ok(&batch));
    }
    if let Ok(batch) = decode_emit_batch(data, Protocol::Binary) {
        let again = decode_emit_batch(&encode_emit_batch(&batch, Protocol::Binary), Protocol::Binary);
        assert_eq!(again.as_ref(), Ok(&batch));
    }
});
