//! Zipkin's ingest endpoints on the Zipkin port, as Zipkin's collector answers them (PROTOCOLS
//! §3.2): `POST /api/v2/spans` (JSON or proto3) and `POST /api/v1/spans` (JSON or thrift), gzip or
//! deflate bodies, `202 Accepted` with an empty body on success, plain-text errors.
//!
//! Spans refused one by one (bad ids) do not fail the request: the rest are stored, the reply is
//! still 202 and its body says what was left out. A request whose every span was refused is 400.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::convert::spans_into_model;
use super::span::DecodedSpans;
use super::{v1, v1_json, v1_thrift, v2_json, v2_proto};
use crate::pipeline::Ingest;
use crate::receiver::{body, receive_http_batch, Converted, IngestError};
use crate::telemetry::{ReceiverKind, Telemetry};

/// Dependencies of the Zipkin ingest endpoints.
#[derive(Clone)]
pub struct ZipkinHttpReceiver {
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
    max_request_bytes: usize,
}

/// The four Zipkin payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    V2Json,
    V2Proto,
    V1Json,
    V1Thrift,
}

impl Payload {
    fn kind(self) -> ReceiverKind {
        match self {
            Self::V2Json => ReceiverKind::ZipkinV2Json,
            Self::V2Proto => ReceiverKind::ZipkinV2Proto,
            Self::V1Json => ReceiverKind::ZipkinV1Json,
            Self::V1Thrift => ReceiverKind::ZipkinV1Thrift,
        }
    }

    fn decode(self, body: &[u8]) -> Result<Converted, IngestError> {
        let spans: DecodedSpans = match self {
            Self::V2Json => v2_json::decode_spans(body)?,
            Self::V2Proto => v2_proto::decode_spans(body)?,
            Self::V1Json => v1_spans(v1_json::decode_spans(body)?),
            Self::V1Thrift => v1_spans(
                v1_thrift::decode_spans(body)
                    .map_err(|e| IngestError::Malformed(format!("invalid Zipkin v1 thrift list of spans: {e}")))?,
            ),
        };
        Ok(spans_into_model(spans))
    }
}

/// v1 spans as v2 spans: one v1 span may become a client and a shared server span.
fn v1_spans(spans: Vec<Result<v1::V1Span, crate::model::InvalidSpan>>) -> DecodedSpans {
    spans
        .into_iter()
        .flat_map(|span| match span {
            Ok(span) => v1::v1_into_v2(span).into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
        .collect()
}

impl ZipkinHttpReceiver {
    /// A receiver submitting to `ingest`, refusing bodies above `max_request_bytes` after decompression.
    pub fn new(ingest: Ingest, telemetry: Arc<Telemetry>, max_request_bytes: usize) -> Self {
        Self { ingest, telemetry, max_request_bytes }
    }

    /// The routes: `POST /api/v2/spans` and `POST /api/v1/spans`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/api/v2/spans", post(post_v2))
            .route("/api/v1/spans", post(post_v1))
            // The body cap is enforced after decompression by `body::decode`.
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(self)
    }

    async fn receive(&self, headers: HeaderMap, body: Body, v2: bool) -> Response {
        let media = body::media_type(&headers);
        let payload = match (v2, media.as_str()) {
            (true, "" | "application/json") => Payload::V2Json,
            (true, "application/x-protobuf" | "application/protobuf") => Payload::V2Proto,
            (false, "" | "application/json") => Payload::V1Json,
            (false, "application/x-thrift" | "application/vnd.apache.thrift.binary") => Payload::V1Thrift,
            _ => {
                let expected = if v2 {
                    "application/json or application/x-protobuf"
                } else {
                    "application/json or application/x-thrift"
                };
                let error =
                    IngestError::UnsupportedMediaType(format!("unsupported Content-Type {media:?}: use {expected}"));
                let kind = if v2 { ReceiverKind::ZipkinV2Json } else { ReceiverKind::ZipkinV1Json };
                self.telemetry.batch_refused(kind, error.reason(), 0);
                return error.text_response();
            }
        };
        match self.receive_payload(&headers, body, payload).await {
            Ok(None) => StatusCode::ACCEPTED.into_response(),
            Ok(Some(summary)) => {
                (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], summary).into_response()
            }
            Err(error) => {
                tracing::debug!(receiver = payload.kind().label(), error = %error, "zipkin request refused");
                error.text_response()
            }
        }
    }

    /// Decodes and delivers the body, counting every outcome.
    async fn receive_payload(
        &self,
        headers: &HeaderMap,
        body: Body,
        payload: Payload,
    ) -> Result<Option<String>, IngestError> {
        let (ingest, telemetry) = (&self.ingest, &self.telemetry);
        receive_http_batch(ingest, telemetry, payload.kind(), headers, body, self.max_request_bytes, move |body| {
            payload.decode(body)
        })
        .await
    }
}

async fn post_v2(State(receiver): State<ZipkinHttpReceiver>, headers: HeaderMap, body: Body) -> Response {
    receiver.receive(headers, body, true).await
}

async fn post_v1(State(receiver): State<ZipkinHttpReceiver>, headers: HeaderMap, body: Body) -> Response {
    receiver.receive(headers, body, false).await
}
