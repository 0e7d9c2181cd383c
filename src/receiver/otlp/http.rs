//! OTLP/HTTP receiver: `POST /v1/traces` with `application/x-protobuf` or `application/json`
//! bodies, optionally gzip/deflate-compressed; replies in the request's content type.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;

use super::convert::{decode_json, decode_protobuf, request_into_model, Converted};
use crate::pipeline::Ingest;
use crate::receiver::body;
use crate::receiver::IngestError;
use crate::telemetry::{ReceiverKind, Telemetry};

/// Dependencies of the OTLP/HTTP receiver.
#[derive(Clone)]
pub struct OtlpHttpReceiver {
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
    max_request_bytes: usize,
}

/// The payload encodings OTLP/HTTP defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    Protobuf,
    Json,
}

impl Payload {
    fn from_headers(headers: &HeaderMap) -> Result<Self, IngestError> {
        match body::media_type(headers).as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Self::Protobuf),
            "application/json" => Ok(Self::Json),
            _ => Err(IngestError::UnsupportedMediaType(format!(
                "unsupported Content-Type {:?}: use application/x-protobuf or application/json",
                headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
            ))),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Protobuf => "application/x-protobuf",
            Self::Json => "application/json",
        }
    }
}

impl OtlpHttpReceiver {
    /// A receiver submitting to `ingest`, refusing bodies above `max_request_bytes` after decompression.
    pub fn new(ingest: Ingest, telemetry: Arc<Telemetry>, max_request_bytes: usize) -> Self {
        Self { ingest, telemetry, max_request_bytes }
    }

    /// The routes: `POST /v1/traces` (other methods get 405).
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/traces", post(export))
            // The body cap is enforced by `receive` after decompression, not by axum's default 2 MB.
            .layer(DefaultBodyLimit::disable())
            .with_state(self)
    }

    async fn receive(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(Payload, Converted), (Option<Payload>, IngestError)> {
        let payload = Payload::from_headers(headers).map_err(|e| (None, e))?;
        let fail = |e| (Some(payload), e);
        let encoding = body::encoding_of(headers).map_err(fail)?;
        let limit = self.max_request_bytes;
        let raw = body::read(headers, body, limit).await.map_err(fail)?;
        let converted = body::decode_with(raw, encoding, limit, move |body| {
            let request = match payload {
                Payload::Protobuf => decode_protobuf(body)?,
                Payload::Json => decode_json(body)?,
            };
            Ok(request_into_model(request))
        })
        .await;
        converted.map(|c| (payload, c)).map_err(fail)
    }
}

async fn export(State(receiver): State<OtlpHttpReceiver>, headers: HeaderMap, body: Body) -> Response {
    const KIND: ReceiverKind = ReceiverKind::OtlpHttp;
    let telemetry = &receiver.telemetry;
    let _slot = match receiver.ingest.admit_request() {
        Ok(slot) => slot,
        Err(refusal) => {
            let error = IngestError::from(refusal);
            telemetry.batch_refused(KIND, error.reason(), 0);
            return error_response(Payload::from_headers(&headers).ok(), &error);
        }
    };
    let (payload, converted) = match receiver.receive(&headers, body).await {
        Ok(ok) => ok,
        Err((payload, error)) => {
            telemetry.batch_refused(KIND, error.reason(), 0);
            return error_response(payload, &error);
        }
    };
    telemetry.batch_decoded(KIND, converted.received, converted.rejected);
    let partial_success = converted.partial_success();
    let spans = converted.batch.span_count();
    if let Err(refusal) = receiver.ingest.submit(converted.batch).await {
        let error = IngestError::from(refusal);
        telemetry.batch_refused(KIND, error.reason(), spans);
        return error_response(Some(payload), &error);
    }
    telemetry.batch_accepted(KIND, spans);
    let body = match payload {
        Payload::Protobuf => ExportTraceServiceResponse { partial_success }.encode_to_vec(),
        // OTLP/JSON: full success is `{}`; a partial success names the rejected count.
        Payload::Json => match partial_success {
            None => b"{}".to_vec(),
            Some(p) => serde_json::json!({
                "partialSuccess": { "rejectedSpans": p.rejected_spans, "errorMessage": p.error_message }
            })
            .to_string()
            .into_bytes(),
        },
    };
    ([(header::CONTENT_TYPE, payload.content_type())], body).into_response()
}

/// An error reply: a `google.rpc.Status` in the request's encoding (plain text when the encoding is
/// unknown), with `Retry-After` on retryable errors.
fn error_response(payload: Option<Payload>, error: &IngestError) -> Response {
    let status = error.http_status();
    let message = error.to_string();
    let rpc_code = error.grpc_status().code() as i32;
    let (content_type, body) = match payload {
        Some(Payload::Protobuf) => (
            "application/x-protobuf",
            tonic_types::Status { code: rpc_code, message, details: Vec::new() }.encode_to_vec(),
        ),
        Some(Payload::Json) => {
            ("application/json", serde_json::json!({ "code": rpc_code, "message": message }).to_string().into_bytes())
        }
        None => ("text/plain; charset=utf-8", message.into_bytes()),
    };
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(after) = error.retry_after() {
        let secs = after.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}
