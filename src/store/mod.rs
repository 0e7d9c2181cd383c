//! Trace storage: the [`Store`] trait every query talks to, and its implementations.
//!
//! A store receives spans as they arrive (write-through from the assembler), so a span is
//! queryable as soon as its batch is acknowledged, whether or not its trace is complete.

mod memory;
pub mod names;

pub use memory::MemoryStore;

use crate::model::query::TraceQuery;
use crate::model::{SpanKind, SpanRecord, Trace, TraceId};

/// A failure of the storage backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot take or serve data right now; retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// An operation (span name) of a service, with the kind it was recorded with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Operation {
    /// Span name.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
}

/// What every trace store provides; queries use nothing else.
pub trait Store: Send + Sync + 'static {
    /// Stores spans (of any number of traces).
    fn write(&self, records: Vec<SpanRecord>) -> Result<(), StoreError>;

    /// All stored spans of a trace, or `None` when none are stored.
    fn trace(&self, id: TraceId) -> Result<Option<Trace>, StoreError>;

    /// Traces answering the query, newest (latest start) first, at most `query.limit`.
    fn find_traces(&self, query: &TraceQuery) -> Result<Vec<Trace>, StoreError>;

    /// Names of every service that has reported spans, sorted.
    fn services(&self) -> Result<Vec<String>, StoreError>;

    /// Operations of a service (of one kind, if given), sorted by name then kind.
    fn operations(&self, service: &str, kind: Option<SpanKind>) -> Result<Vec<Operation>, StoreError>;

    /// Remote services a service has called (from `peer.service`), sorted.
    fn remote_services(&self, service: &str) -> Result<Vec<String>, StoreError>;

    /// Tag keys whose values are indexed for autocompletion.
    fn autocomplete_keys(&self) -> Vec<String>;

    /// Values seen for an autocomplete key (span or resource attribute), sorted; empty for other keys.
    fn autocomplete_values(&self, key: &str) -> Result<Vec<String>, StoreError>;
}
