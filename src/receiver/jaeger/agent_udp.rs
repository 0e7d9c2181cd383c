//! Jaeger agent UDP receivers: port 6831 takes compact-thrift and 6832 binary-thrift
//! `Agent.emitBatch` datagrams (PROTOCOLS §6.1). UDP has no reply, so every outcome is a metric:
//! malformed datagrams and datagrams dropped because tracehound was busy are counted per
//! receiver, and logged at most once per [`LOG_INTERVAL`] with the number left unsaid.
//!
//! One task reads the socket and never waits on the pipeline: datagrams go through a bounded
//! queue to a second task that decodes and submits them; when the queue is full a datagram is
//! dropped (counted) rather than leaving the kernel's socket buffer to overflow unseen.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::convert::batch_into_model;
use super::thrift::decode_emit_batch;
use crate::pipeline::Ingest;
use crate::receiver::thrift::Protocol;
use crate::receiver::{deliver, IngestError};
use crate::telemetry::{ReceiverKind, RefusalReason, Telemetry};

/// Largest UDP payload (clients cap theirs near 65,000 bytes).
const MAX_DATAGRAM: usize = 65_535;
/// Datagrams waiting to be decoded; beyond this they are dropped.
const QUEUE_DATAGRAMS: usize = 1_024;
/// Least time between two warnings about bad or dropped datagrams.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One agent UDP receiver (compact on 6831 or binary on 6832).
pub struct JaegerAgentReceiver {
    socket: UdpSocket,
    protocol: Protocol,
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
}

impl JaegerAgentReceiver {
    /// A receiver reading `socket` in `protocol`.
    pub fn new(socket: UdpSocket, protocol: Protocol, ingest: Ingest, telemetry: Arc<Telemetry>) -> Self {
        Self { socket, protocol, ingest, telemetry }
    }

    fn kind(&self) -> ReceiverKind {
        match self.protocol {
            Protocol::Compact => ReceiverKind::JaegerAgentCompact,
            Protocol::Binary => ReceiverKind::JaegerAgentBinary,
        }
    }

    /// Receives until `cancel` fires, then finishes the datagrams already queued.
    pub async fn run(self, cancel: CancellationToken) {
        let kind = self.kind();
        let (tx, rx) = mpsc::channel::<Bytes>(QUEUE_DATAGRAMS);
        let worker = tokio::spawn(process(rx, self.protocol, kind, self.ingest.clone(), self.telemetry.clone()));
        let mut warn = RateLimitedWarning::default();
        let mut buffer = vec![0u8; MAX_DATAGRAM];
        loop {
            let received = tokio::select! {
                _ = cancel.cancelled() => break,
                received = self.socket.recv_from(&mut buffer) => received,
            };
            let len = match received {
                Ok((len, _peer)) => len,
                Err(e) => {
                    // e.g. ICMP errors surfaced on some platforms; the socket stays usable.
                    tracing::debug!(receiver = kind.label(), error = %e, "udp receive failed");
                    continue;
                }
            };
            if tx.try_send(Bytes::copy_from_slice(&buffer[..len])).is_err() {
                self.telemetry.batch_refused(kind, RefusalReason::Overloaded, 0);
                warn.note(kind, "datagram dropped: decode queue full");
            }
        }
        drop(tx);
        let _ = worker.await;
    }
}

async fn process(
    mut rx: mpsc::Receiver<Bytes>,
    protocol: Protocol,
    kind: ReceiverKind,
    ingest: Ingest,
    telemetry: Arc<Telemetry>,
) {
    let mut warn = RateLimitedWarning::default();
    while let Some(datagram) = rx.recv().await {
        let batch = match decode_emit_batch(&datagram, protocol) {
            Ok(batch) => batch,
            Err(e) => {
                telemetry.batch_refused(kind, RefusalReason::Malformed, 0);
                warn.note(kind, &format!("malformed datagram of {} bytes: {e}", datagram.len()));
                continue;
            }
        };
        let converted = batch_into_model(batch);
        if converted.rejected > 0 {
            if let Some(summary) = converted.rejection_summary() {
                warn.note(kind, &summary);
            }
        }
        match deliver(&ingest, &telemetry, kind, converted).await {
            Ok(_) => {}
            Err(IngestError::Refused(refusal)) => warn.note(kind, &format!("batch dropped: {refusal}")),
            Err(other) => warn.note(kind, &format!("batch dropped: {other}")),
        }
    }
}

/// Logs a warning at most once per [`LOG_INTERVAL`], saying how many were suppressed meanwhile.
#[derive(Default)]
struct RateLimitedWarning {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedWarning {
    fn note(&mut self, kind: ReceiverKind, message: &str) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < LOG_INTERVAL) {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(receiver = kind.label(), suppressed = self.suppressed, "{message}");
        self.last = Some(now);
        self.suppressed = 0;
    }
}
