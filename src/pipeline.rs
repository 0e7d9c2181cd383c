//! The ingest pipeline: the one entry point from every receiver to the assembler. It bounds the
//! spans in flight and answers each batch with `Accepted` only once the assembler has taken it,
//! or with a typed refusal the receiver turns into its protocol's retryable error.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::assembler::Assembler;
use crate::config::IngestSettings;
use crate::model::Batch;
use crate::store::StoreError;
use crate::telemetry::Telemetry;

/// Batches this large are inserted on a blocking thread, off the reactor.
const INLINE_SPANS: usize = 256;

/// How long clients are told to wait before retrying an overloaded pipeline.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// A batch the pipeline has taken; it will not be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Spans taken.
    pub spans: usize,
}

/// Why the pipeline did not take a batch; all are worth retrying later.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// Too many spans are in flight.
    #[error("ingest queue full ({capacity} spans in flight); retry after {retry_after:?}")]
    Overloaded {
        /// The pipeline's span capacity.
        capacity: usize,
        /// Suggested wait.
        retry_after: Duration,
    },
    /// The server is stopping.
    #[error("server is shutting down")]
    ShuttingDown,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A request slot: held while a receiver reads, decodes and submits one request.
#[derive(Debug)]
pub struct RequestSlot(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

/// A cheap, cloneable handle receivers use to submit batches.
#[derive(Clone)]
pub struct Ingest {
    inner: Arc<Inner>,
}

struct Inner {
    assembler: Arc<Assembler>,
    requests: Arc<Semaphore>,
    permits: Arc<Semaphore>,
    capacity: usize,
    telemetry: Arc<Telemetry>,
    closed: CancellationToken,
}

impl Ingest {
    /// A pipeline feeding `assembler`; it refuses new batches once `closed` is cancelled.
    pub fn new(
        settings: &IngestSettings,
        assembler: Arc<Assembler>,
        telemetry: Arc<Telemetry>,
        closed: CancellationToken,
    ) -> Self {
        let capacity = settings.queue_spans.get().min(Semaphore::MAX_PERMITS).min(u32::MAX as usize);
        Self {
            inner: Arc::new(Inner {
                assembler,
                requests: Arc::new(Semaphore::new(settings.max_concurrent_requests.get())),
                permits: Arc::new(Semaphore::new(capacity)),
                capacity,
                telemetry,
                closed,
            }),
        }
    }

    /// Reserves one of the request slots a receiver needs before reading and decoding a body, so
    /// that the memory all bodies in flight can take stays bounded; refused as retryable when none is free.
    pub fn admit_request(&self) -> Result<RequestSlot, Refusal> {
        if self.inner.closed.is_cancelled() {
            return Err(Refusal::ShuttingDown);
        }
        self.inner
            .requests
            .clone()
            .try_acquire_owned()
            .map(RequestSlot)
            .map_err(|_| Refusal::Overloaded { capacity: self.inner.capacity, retry_after: RETRY_AFTER })
    }

    /// Submits a batch; `Ok` means the spans are in the assembler and visible to queries.
    pub async fn submit(&self, batch: Batch) -> Result<Accepted, Refusal> {
        let spans = batch.span_count();
        if spans == 0 {
            return Ok(Accepted { spans: 0 });
        }
        let inner = &self.inner;
        if inner.closed.is_cancelled() {
            return Err(Refusal::ShuttingDown);
        }
        // A batch larger than the whole queue may still pass when the queue is empty.
        let weight = spans.min(inner.capacity) as u32;
        let Ok(permit) = inner.permits.clone().try_acquire_many_owned(weight) else {
            return Err(Refusal::Overloaded { capacity: inner.capacity, retry_after: RETRY_AFTER });
        };
        inner.telemetry.pipeline_spans_queued.add(weight as i64);
        let result = if spans <= INLINE_SPANS {
            inner.assembler.insert(batch)
        } else {
            let assembler = inner.assembler.clone();
            tokio::task::spawn_blocking(move || assembler.insert(batch))
                .await
                .unwrap_or_else(|e| Err(StoreError::Unavailable(format!("ingest task failed: {e}"))))
        };
        inner.telemetry.pipeline_spans_queued.add(-(weight as i64));
        drop(permit);
        result.map(|spans| Accepted { spans }).map_err(Refusal::from)
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use super::*;
    use crate::config::AssemblerSettings;
    use crate::testkit::{batch_of, GatedStore, SpanBuilder};

    fn ingest_over(store: GatedStore, queue_spans: usize, closed: CancellationToken) -> (Ingest, Arc<Telemetry>) {
        let telemetry = Arc::new(Telemetry::default());
        let assembler = Arc::new(Assembler::new(
            AssemblerSettings {
                shards: NonZeroUsize::new(2).unwrap(),
                idle_timeout: Duration::from_secs(5),
                max_traces: NonZeroUsize::new(100).unwrap(),
                stats: crate::stats::red::StatsSettings::default(),
            },
            Arc::new(store),
            telemetry.clone(),
        ));
        let settings = IngestSettings {
            max_request_bytes: 1 << 20,
            queue_spans: NonZeroUsize::new(queue_spans).unwrap(),
            max_concurrent_requests: NonZeroUsize::new(4).unwrap(),
        };
        (Ingest::new(&settings, assembler, telemetry.clone(), closed), telemetry)
    }

    fn big_batch(trace: u128) -> Batch {
        batch_of((1..=300).map(|i| SpanBuilder::new("s", "op", trace, i).build()).collect())
    }

    #[tokio::test]
    async fn refuses_while_full_and_accepts_again_once_drained() {
        let (store, open) = GatedStore::new();
        let (ingest, telemetry) = ingest_over(store, 300, CancellationToken::new());
        let first = tokio::spawn({
            let ingest = ingest.clone();
            async move { ingest.submit(big_batch(1)).await }
        });
        while telemetry.pipeline_spans_queued.get() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let refused = ingest.submit(big_batch(2)).await;
        assert!(matches!(refused, Err(Refusal::Overloaded { .. })), "{refused:?}");
        open.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap().spans, 300);
        open.send(()).unwrap();
        assert_eq!(ingest.submit(big_batch(3)).await.unwrap().spans, 300);
    }

    #[tokio::test]
    async fn refuses_after_close() {
        let (store, _open) = GatedStore::new();
        let closed = CancellationToken::new();
        let (ingest, _) = ingest_over(store, 10, closed.clone());
        closed.cancel();
        assert!(matches!(ingest.submit(big_batch(1)).await, Err(Refusal::ShuttingDown)));
    }
}
