//! Jaeger compact thrift (one `emitBatch` datagram as UDP 6831 carries it) → api_v2 `Batch`:
//! never panics, and whatever decodes re-encodes to bytes that decode and re-encode unchanged
//! (bytes, not batches, are compared so that NaN tag values count as equal).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound::receiver::jaeger::thrift::{decode_emit_batch, encode_emit_batch};
use tracehound::receiver::thrift::Protocol;

fuzz_target!(|datagram: &[u8]| {
    if let Ok(batch) = decode_emit_batch(datagram, Protocol::Compact) {
        let bytes = encode_emit_batch(&batch, Protocol::Compact);
        let again =
            decode_emit_batch(&bytes, Protocol::Compact).map(|again| encode_emit_batch(&again, Protocol::Compact));
        assert_eq!(again, Ok(bytes));
    }
});
