//! Building a [`Batch`] from spans that each arrive with their own resource and scope (Zipkin
//! spans, Jaeger spans with their own process): equal resources and scopes are grouped and shared.
//!
//! Grouping looks resources and scopes up by a structural hash and confirms with `==`, so a batch
//! of n spans costs O(n) hashing rather than a text rendering or pairwise comparison per span.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::FxHasher;

use super::{AnyValue, Batch, KeyValue, Resource, ResourceSpans, Scope, ScopeSpans, Span};

/// Groups spans by equal resource, then equal scope, in first-seen order.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    batch: Batch,
    /// Resource hash → indexes into `batch.resource_spans` with that hash.
    resources: HashMap<u64, Vec<usize>, rustc_hash::FxBuildHasher>,
    /// (resource index, scope hash) → indexes into that resource's `scope_spans`.
    scopes: HashMap<(usize, u64), Vec<usize>, rustc_hash::FxBuildHasher>,
}

impl BatchBuilder {
    /// Adds a span under its resource and scope.
    pub fn push(&mut self, resource: Resource, scope: Scope, span: Span) {
        let key = hash_of(|h| {
            hash_attributes(&resource.attributes, h);
            resource.dropped_attributes_count.hash(h);
        });
        let candidates = self.resources.entry(key).or_default();
        let found = candidates.iter().copied().find(|&i| *self.batch.resource_spans[i].resource == resource);
        let r = match found {
            Some(r) => r,
            None => {
                let r = self.batch.resource_spans.len();
                candidates.push(r);
                self.batch.resource_spans.push(ResourceSpans { resource: Arc::new(resource), scope_spans: Vec::new() });
                r
            }
        };
        self.push_scope(r, scope, span);
    }

    /// Adds a span under a shared resource that all spans pushed with it have in common (a Jaeger
    /// batch's process), skipping the resource comparison.
    pub fn push_shared(&mut self, resource: &Arc<Resource>, scope: Scope, span: Span) {
        let r = match self.batch.resource_spans.iter().position(|rs| Arc::ptr_eq(&rs.resource, resource)) {
            Some(r) => r,
            None => {
                self.batch.resource_spans.push(ResourceSpans { resource: resource.clone(), scope_spans: Vec::new() });
                self.batch.resource_spans.len() - 1
            }
        };
        self.push_scope(r, scope, span);
    }

    fn push_scope(&mut self, r: usize, scope: Scope, span: Span) {
        let key = hash_of(|h| {
            scope.name.hash(h);
            scope.version.hash(h);
            hash_attributes(&scope.attributes, h);
        });
        let resource_spans = &mut self.batch.resource_spans[r];
        let candidates = self.scopes.entry((r, key)).or_default();
        let found = candidates.iter().copied().find(|&i| *resource_spans.scope_spans[i].scope == scope);
        let s = match found {
            Some(s) => s,
            None => {
                let s = resource_spans.scope_spans.len();
                candidates.push(s);
                resource_spans.scope_spans.push(ScopeSpans { scope: Arc::new(scope), spans: Vec::new() });
                s
            }
        };
        resource_spans.scope_spans[s].spans.push(span);
    }

    /// The batch built so far.
    pub fn finish(self) -> Batch {
        self.batch
    }
}

fn hash_of(feed: impl FnOnce(&mut FxHasher)) -> u64 {
    let mut hasher = FxHasher::default();
    feed(&mut hasher);
    hasher.finish()
}

fn hash_attributes(attributes: &[KeyValue], h: &mut FxHasher) {
    attributes.len().hash(h);
    for kv in attributes {
        kv.key.hash(h);
        hash_value(&kv.value, h);
    }
}

fn hash_value(value: &AnyValue, h: &mut FxHasher) {
    std::mem::discriminant(value).hash(h);
    match value {
        AnyValue::Empty => {}
        AnyValue::String(s) => s.hash(h),
        AnyValue::Bool(b) => b.hash(h),
        AnyValue::Int(i) => i.hash(h),
        // Equal doubles have equal bits except ±0 and NaN; those only cost a missed grouping.
        AnyValue::Double(d) => d.to_bits().hash(h),
        AnyValue::Bytes(b) => b.hash(h),
        AnyValue::Array(values) => {
            values.len().hash(h);
            values.iter().for_each(|v| hash_value(v, h));
        }
        AnyValue::KvList(pairs) => hash_attributes(pairs, h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::SpanBuilder;

    fn resource(service: &str) -> Resource {
        Resource {
            attributes: vec![KeyValue::new("service.name", AnyValue::String(service.into()))],
            ..Resource::default()
        }
    }

    #[test]
    fn equal_resources_and_scopes_share_one_group_in_first_seen_order() {
        let mut builder = BatchBuilder::default();
        let span = |id| SpanBuilder::new("x", "op", 1, id).build().span;
        let scope = |name: &str| Scope { name: name.into(), ..Scope::default() };
        builder.push(resource("b"), scope("s1"), span(1));
        builder.push(resource("a"), scope("s1"), span(2));
        builder.push(resource("b"), scope("s2"), span(3));
        builder.push(resource("b"), scope("s1"), span(4));
        let batch = builder.finish();
        let services: Vec<_> = batch.resource_spans.iter().map(|rs| rs.resource.service_name().to_owned()).collect();
        assert_eq!(services, ["b", "a"]);
        let b = &batch.resource_spans[0];
        assert_eq!(b.scope_spans.len(), 2);
        assert_eq!(b.scope_spans[0].spans.iter().map(|s| s.span_id.as_u64()).collect::<Vec<_>>(), [1, 4]);
        assert_eq!(batch.span_count(), 4);
    }

    #[test]
    fn typed_values_are_told_apart() {
        let mut builder = BatchBuilder::default();
        let with = |value| Resource { attributes: vec![KeyValue::new("n", value)], ..Resource::default() };
        let span = SpanBuilder::new("x", "op", 1, 1).build().span;
        builder.push(with(AnyValue::Int(1)), Scope::default(), span.clone());
        builder.push(with(AnyValue::String("1".into())), Scope::default(), span);
        assert_eq!(builder.finish().resource_spans.len(), 2);
    }
}
