//! The names a store lists: services, their operations (with span kinds) and remote services,
//! and the values seen for Zipkin's autocomplete keys. Bounded: beyond the configured limits,
//! names are counted as dropped (the spans themselves are still stored and searchable).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use crate::config::MemoryStoreSettings;
use crate::model::query::remote_service;
use crate::model::{SpanKind, SpanRecord};
use crate::telemetry::Telemetry;

use super::Operation;

/// Services, operations, remote services and autocomplete values, within limits.
pub struct Names {
    index: RwLock<NameIndex>,
    max_services: usize,
    max_operations_per_service: usize,
    autocomplete_keys: Vec<String>,
    telemetry: Arc<Telemetry>,
}

#[derive(Default)]
struct ServiceNames {
    /// Span names, each with the kinds it was seen with (looked up by `&str`, no allocation).
    operations: BTreeMap<String, BTreeSet<SpanKind>>,
    /// Number of (name, kind) pairs in `operations`.
    operation_count: usize,
    remote_services: BTreeSet<String>,
}

impl ServiceNames {
    fn knows(&self, entry: &NameEntry<'_>) -> bool {
        self.operations.get(entry.operation).is_some_and(|kinds| kinds.contains(&entry.kind))
            && entry.remote.is_none_or(|remote| self.remote_services.contains(remote))
    }
}

#[derive(Default)]
struct NameIndex {
    services: BTreeMap<String, ServiceNames>,
    /// Values seen per autocomplete key (only the configured keys).
    autocomplete: BTreeMap<String, BTreeSet<String>>,
}

/// Values indexed per autocomplete key; more are counted as dropped names.
pub const MAX_AUTOCOMPLETE_VALUES: usize = 10_000;

/// One name-index entry a span contributes.
#[derive(PartialEq, Eq, Hash)]
pub struct NameEntry<'a> {
    /// Service name.
    pub service: &'a str,
    /// Span name.
    pub operation: &'a str,
    /// Span kind.
    pub kind: SpanKind,
    /// Remote service called, if any.
    pub remote: Option<&'a str>,
}

impl Names {
    /// An empty index with the store's limits.
    pub fn new(settings: &MemoryStoreSettings, telemetry: Arc<Telemetry>) -> Self {
        Self {
            index: RwLock::new(NameIndex::default()),
            max_services: settings.max_services,
            max_operations_per_service: settings.max_operations_per_service,
            autocomplete_keys: settings.autocomplete_keys.clone(),
            telemetry,
        }
    }

    /// Indexes the names these spans carry (within the limits; what does not fit is counted).
    pub fn record(&self, records: &[Arc<SpanRecord>]) {
        let mut entries: Vec<NameEntry<'_>> = Vec::new();
        let mut values: Vec<(&str, String)> = Vec::new();
        {
            let names = self.index.read().unwrap_or_else(|p| p.into_inner());
            for r in records {
                for key in &self.autocomplete_keys {
                    let value = r.span.attribute(key).or_else(|| r.resource.attribute(key)).map(|v| v.to_text());
                    if let Some(value) = value.filter(|v| !v.is_empty()) {
                        let known = names.autocomplete.get(key.as_str()).is_some_and(|set| set.contains(&value));
                        if !known && !values.iter().any(|(k, v)| k == key && *v == value) {
                            values.push((key, value));
                        }
                    }
                }
                let entry = NameEntry {
                    service: r.service_name(),
                    operation: &r.span.name,
                    kind: r.span.kind,
                    remote: remote_service(r),
                };
                let known = names.services.get(entry.service).is_some_and(|s| s.knows(&entry));
                if !known && !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
        }
        self.insert(entries, values);
    }

    /// Adds operations (with remote services) and autocomplete values not yet indexed.
    fn insert(&self, entries: Vec<NameEntry<'_>>, values: Vec<(&str, String)>) {
        if entries.is_empty() && values.is_empty() {
            return;
        }
        let mut dropped = 0u64;
        let mut names = self.index.write().unwrap_or_else(|p| p.into_inner());
        for (key, value) in values {
            let set = names.autocomplete.entry(key.to_owned()).or_default();
            if set.len() < MAX_AUTOCOMPLETE_VALUES {
                set.insert(value);
            } else if !set.contains(&value) {
                dropped += 1;
            }
        }
        for entry in entries {
            if !names.services.contains_key(entry.service) && names.services.len() >= self.max_services {
                dropped += 1;
                continue;
            }
            let service = names.services.entry(entry.service.to_owned()).or_default();
            let known = service.operations.get(entry.operation).is_some_and(|k| k.contains(&entry.kind));
            if !known {
                if service.operation_count >= self.max_operations_per_service {
                    dropped += 1;
                } else {
                    service.operations.entry(entry.operation.to_owned()).or_default().insert(entry.kind);
                    service.operation_count += 1;
                }
            }
            if let Some(remote) = entry.remote.filter(|r| !service.remote_services.contains(*r)) {
                if service.remote_services.len() < self.max_operations_per_service {
                    service.remote_services.insert(remote.to_owned());
                } else {
                    dropped += 1;
                }
            }
        }
        if dropped > 0 {
            self.telemetry.store_names_dropped.add(dropped);
        }
    }

    /// Restores names read back from storage.
    pub fn restore(&self, entries: Vec<NameEntry<'_>>, values: Vec<(&str, String)>) {
        self.insert(entries, values);
    }

    /// Whether every service written is listed (no service was left out by the limit).
    pub fn lists_every_service(&self) -> bool {
        self.index.read().unwrap_or_else(|p| p.into_inner()).services.len() < self.max_services
    }

    /// Every service, sorted.
    pub fn services(&self) -> Vec<String> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).services.keys().cloned().collect()
    }

    /// Operations of a service (of one kind, if given), sorted by name then kind.
    pub fn operations(&self, service: &str, kind: Option<SpanKind>) -> Vec<Operation> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        index
            .services
            .get(service)
            .map(|s| {
                s.operations
                    .iter()
                    .flat_map(|(name, kinds)| kinds.iter().map(move |k| Operation { name: name.clone(), kind: *k }))
                    .filter(|o| kind.is_none_or(|k| o.kind == k))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Remote services a service called, sorted.
    pub fn remote_services(&self, service: &str) -> Vec<String> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        index.services.get(service).map(|s| s.remote_services.iter().cloned().collect()).unwrap_or_default()
    }

    /// The autocomplete keys.
    pub fn autocomplete_keys(&self) -> Vec<String> {
        self.autocomplete_keys.clone()
    }

    /// Values seen for an autocomplete key, sorted.
    pub fn autocomplete_values(&self, key: &str) -> Vec<String> {
        let index = self.index.read().unwrap_or_else(|p| p.into_inner());
        index.autocomplete.get(key).map(|set| set.iter().cloned().collect()).unwrap_or_default()
    }
}
