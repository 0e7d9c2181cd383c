//! Building a [`Batch`] from spans that each arrive with their own resource and scope (Zipkin
//! spans, Jaeger spans with their own process): equal resources and scopes are grouped and shared.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Batch, Resource, ResourceSpans, Scope, ScopeSpans, Span};

/// Groups spans by equal resource, then equal scope, in first-seen order.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    batch: Batch,
    resources: HashMap<String, usize>,
    scopes: HashMap<(usize, String), usize>,
}

impl BatchBuilder {
    /// Adds a span under its resource and scope.
    pub fn push(&mut self, resource: Resource, scope: Scope, span: Span) {
        // Debug text is an exact key: it tells typed values apart (1 vs "1") and keeps order.
        let key = format!("{resource:?}");
        self.push_keyed(key, || Arc::new(resource), scope, span);
    }

    /// Adds a span under a resource the caller identifies by `key` (built only when the key is new).
    pub fn push_keyed(&mut self, key: String, resource: impl FnOnce() -> Arc<Resource>, scope: Scope, span: Span) {
        let next = self.batch.resource_spans.len();
        let r = *self.resources.entry(key).or_insert(next);
        if r == next {
            self.batch.resource_spans.push(ResourceSpans { resource: resource(), scope_spans: Vec::new() });
        }
        let resource_spans = &mut self.batch.resource_spans[r];
        let next = resource_spans.scope_spans.len();
        let s = *self.scopes.entry((r, format!("{scope:?}"))).or_insert(next);
        if s == next {
            resource_spans.scope_spans.push(ScopeSpans { scope: Arc::new(scope), spans: Vec::new() });
        }
        resource_spans.scope_spans[s].spans.push(span);
    }

    /// The batch built so far.
    pub fn finish(self) -> Batch {
        self.batch
    }
}
