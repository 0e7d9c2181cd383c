//! Jaeger collector thrift over HTTP (port 14268): `POST /api/traces` with a bare binary-protocol
//! `Batch` (PROTOCOLS §6.1), as Jaeger clients' HTTP senders post it (`?format=jaeger.thrift`).
//! `202 Accepted` on success, plain-text errors.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::convert::batch_into_model;
use super::thrift::decode_batch;
use crate::pipeline::Ingest;
use crate::receiver::{body, receive_http_batch, IngestError};
use crate::telemetry::{ReceiverKind, Telemetry};

const KIND: ReceiverKind = ReceiverKind::JaegerThriftHttp;

/// Dependencies of the thrift-over-HTTP collector endpoint.
#[derive(Clone)]
pub struct JaegerThriftHttpReceiver {
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
    max_request_bytes: usize,
}

impl JaegerThriftHttpReceiver {
    /// A receiver submitting to `ingest`, refusing bodies above `max_request_bytes` after decompression.
    pub fn new(ingest: Ingest, telemetry: Arc<Telemetry>, max_request_bytes: usize) -> Self {
        Self { ingest, telemetry, max_request_bytes }
    }

    /// The route: `POST /api/traces`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/api/traces", post(post_traces))
            .layer(axum::extract::DefaultBodyLimit::disable())
            .with_state(self)
    }

    /// Decodes and delivers the body, counting every outcome.
    async fn receive(
        &self,
        params: &HashMap<String, String>,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Option<String>, IngestError> {
        let refused = |error: IngestError| {
            self.telemetry.batch_refused(KIND, error.reason(), 0);
            error
        };
        if let Some(format) = params.get("format").filter(|f| !f.eq_ignore_ascii_case("jaeger.thrift")) {
            return Err(refused(IngestError::Malformed(format!("Unsupported format type: {format}"))));
        }
        let media = body::media_type(headers);
        if !matches!(media.as_str(), "application/x-thrift" | "application/vnd.apache.thrift.binary") {
            // Jaeger answers 400, not 415, for a wrong content type.
            return Err(refused(IngestError::Malformed(format!(
                "Unsupported content type: {media:?} (use application/x-thrift or application/vnd.apache.thrift.binary)"
            ))));
        }
        receive_http_batch(&self.ingest, &self.telemetry, KIND, headers, body, self.max_request_bytes, |body| {
            let batch = decode_batch(body).map_err(|e| {
                IngestError::Malformed(format!("Unable to process request body: invalid thrift Batch: {e}"))
            })?;
            Ok(batch_into_model(batch))
        })
        .await
    }
}

async fn post_traces(
    State(receiver): State<JaegerThriftHttpReceiver>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receiver.receive(&params, &headers, body).await {
        Ok(None) => StatusCode::ACCEPTED.into_response(),
        Ok(Some(summary)) => {
            (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], summary).into_response()
        }
        Err(error) => error.text_response(),
    }
}
