//! Request bodies: decompression bounded by the configured cap, checked while inflating so a
//! small compressed body can never make the server allocate more than the cap.

use std::io::Read;

use super::IngestError;

/// A request body's content coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// Not compressed.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// zlib-wrapped deflate (RFC 1950), as HTTP's `deflate` means.
    Deflate,
}

impl ContentEncoding {
    /// Parses a `Content-Encoding` header value (absent means identity).
    pub fn from_header(value: Option<&str>) -> Result<Self, IngestError> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("identity") => Ok(Self::Identity),
            Some("gzip") | Some("x-gzip") => Ok(Self::Gzip),
            Some("deflate") => Ok(Self::Deflate),
            Some(other) => Err(IngestError::UnsupportedMediaType(format!(
                "unsupported Content-Encoding {other:?}: use gzip, deflate or none"
            ))),
        }
    }
}

/// Decompresses `raw`, refusing with [`IngestError::TooLarge`] as soon as the output would exceed `limit`.
pub fn decode(raw: bytes::Bytes, encoding: ContentEncoding, limit: usize) -> Result<bytes::Bytes, IngestError> {
    let reader: Box<dyn Read + '_> = match encoding {
        ContentEncoding::Identity => {
            if raw.len() > limit {
                return Err(IngestError::TooLarge { limit });
            }
            return Ok(raw);
        }
        ContentEncoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&raw[..])),
        ContentEncoding::Deflate => Box::new(flate2::read::ZlibDecoder::new(&raw[..])),
    };
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit));
    // Read one byte past the limit: if it arrives, the body is too large.
    let read = reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| IngestError::Malformed(format!("cannot decompress request body: {e}")))?;
    if read > limit {
        return Err(IngestError::TooLarge { limit });
    }
    Ok(out.into())
}

/// Bodies larger than this are decompressed and decoded on a blocking thread.
pub const INLINE_DECODE_BYTES: usize = 64 * 1024;

/// Reads a request body of at most `limit` bytes as sent (still compressed), refusing early when
/// `Content-Length` already says it is too large.
pub async fn read(
    headers: &axum::http::HeaderMap,
    body: axum::body::Body,
    limit: usize,
) -> Result<bytes::Bytes, IngestError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(IngestError::TooLarge { limit });
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if is_length_limit(&e) {
            IngestError::TooLarge { limit }
        } else {
            IngestError::Malformed(format!("cannot read request body: {e}"))
        }
    })
}

/// The `Content-Encoding` of a request.
pub fn encoding_of(headers: &axum::http::HeaderMap) -> Result<ContentEncoding, IngestError> {
    ContentEncoding::from_header(headers.get(axum::http::header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()))
}

/// The media type of a request (`Content-Type` without parameters, lower-case; empty if absent).
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    let value = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Decompresses and decodes `raw` with `decode`: inline when small, on a blocking thread when large,
/// so big batches never stall the reactor.
pub async fn decode_with<T: Send + 'static>(
    raw: bytes::Bytes,
    encoding: ContentEncoding,
    limit: usize,
    decode_body: impl FnOnce(&[u8]) -> Result<T, IngestError> + Send + 'static,
) -> Result<T, IngestError> {
    let inline = raw.len() <= INLINE_DECODE_BYTES;
    let work = move || decode(raw, encoding, limit).and_then(|body| decode_body(&body));
    if inline {
        return work();
    }
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(IngestError::Malformed(format!("decoding failed: {e}"))))
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> bytes::Bytes {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap().into()
    }

    #[test]
    fn inflates_gzip_within_limit() {
        let out = decode(gzip(b"hello"), ContentEncoding::Gzip, 5).unwrap();
        assert_eq!(&out[..], b"hello");
    }

    #[test]
    fn gzip_bomb_is_refused_without_inflating_it_all() {
        let bomb = gzip(&vec![0u8; 50 << 20]);
        assert!(bomb.len() < 1 << 20, "compressed {} bytes", bomb.len());
        assert!(matches!(decode(bomb, ContentEncoding::Gzip, 1 << 20), Err(IngestError::TooLarge { .. })));
    }

    #[test]
    fn corrupt_gzip_is_malformed() {
        let err = decode(bytes::Bytes::from_static(b"\x1f\x8bnot gzip"), ContentEncoding::Gzip, 100).unwrap_err();
        assert!(matches!(err, IngestError::Malformed(_)));
    }

    #[test]
    fn unknown_encoding_is_unsupported() {
        assert!(matches!(ContentEncoding::from_header(Some("br")), Err(IngestError::UnsupportedMediaType(_))));
        assert_eq!(ContentEncoding::from_header(Some("GZIP")).unwrap(), ContentEncoding::Gzip);
    }
}
