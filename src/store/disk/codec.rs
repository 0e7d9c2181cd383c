//! How the disk store writes spans: as an OTLP protobuf `ExportTraceServiceRequest`, the format
//! whose decoder and encoder already carry every field of the model, plus the two flags OTLP has
//! no field for (Zipkin's `shared` and `debug`), kept in span-flag bits OTLP leaves unused. fjall
//! compresses the blocks these values are stored in.

use std::sync::Arc;

use prost::Message;

use crate::model::SpanRecord;
use crate::query::otlp::encode_spans_flagged;
use crate::receiver::otlp::convert::{decode_protobuf, request_into_model};

/// Span-flag bit for a Zipkin shared span (OTLP uses bits 0–9).
const SHARED: u32 = 1 << 30;
/// Span-flag bit for a force-sampled (debug) span.
const DEBUG: u32 = 1 << 31;

/// A stored value that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("stored spans are unreadable: {0}")]
pub struct CorruptValue(String);

/// Encodes spans for storage.
pub fn encode(records: &[Arc<SpanRecord>]) -> Vec<u8> {
    encode_spans_flagged(records, |span| (if span.shared { SHARED } else { 0 }) | (if span.debug { DEBUG } else { 0 }))
        .encode_to_vec()
}

/// Decodes spans written by [`encode`].
pub fn decode(bytes: &[u8]) -> Result<Vec<SpanRecord>, CorruptValue> {
    let request = decode_protobuf(bytes).map_err(|e| CorruptValue(e.to_string()))?;
    let converted = request_into_model(request);
    if converted.rejected > 0 {
        return Err(CorruptValue(format!("{} invalid spans", converted.rejected)));
    }
    Ok(converted
        .batch
        .into_records()
        .map(|mut r| {
            r.span.shared = r.span.flags & SHARED != 0;
            r.span.debug = r.span.flags & DEBUG != 0;
            r.span.flags &= !(SHARED | DEBUG);
            r
        })
        .collect())
}
