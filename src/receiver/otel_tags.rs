//! The `otel.*` and `w3c.*` tags that Zipkin and Jaeger spans carry for OTLP fields their formats
//! have no place for (PROTOCOLS §7.4), read back into the model and removed from the attributes:
//! instrumentation scope (both the `otel.scope.*` and the older `otel.library.*` family), trace
//! state and dropped counts. A tag whose value does not parse stays an ordinary attribute.

use crate::model::{semconv, AnyValue, KeyValue, Scope, Span, StatusCode};

/// Moves scope, trace state and dropped-count tags out of `span.attributes`; returns the scope.
pub fn take_derived(span: &mut Span) -> Scope {
    let mut scope = Scope::default();
    span.attributes.retain(|kv| {
        let text = || match &kv.value {
            AnyValue::String(s) => Some(s.as_str()),
            _ => None,
        };
        let count = || match &kv.value {
            AnyValue::Int(n) => u32::try_from(*n).ok(),
            AnyValue::String(s) => s.trim().parse::<u32>().ok(),
            _ => None,
        };
        match kv.key.as_str() {
            semconv::OTEL_SCOPE_NAME | semconv::OTEL_LIBRARY_NAME => match text() {
                // The newer family wins when both are present.
                Some(name) if scope.name.is_empty() || kv.key == semconv::OTEL_SCOPE_NAME => {
                    scope.name = name.to_owned();
                    false
                }
                Some(_) => false,
                None => true,
            },
            semconv::OTEL_SCOPE_VERSION | semconv::OTEL_LIBRARY_VERSION => match text() {
                Some(version) if scope.version.is_empty() || kv.key == semconv::OTEL_SCOPE_VERSION => {
                    scope.version = version.to_owned();
                    false
                }
                Some(_) => false,
                None => true,
            },
            semconv::W3C_TRACESTATE => match text() {
                Some(state) => {
                    span.trace_state = state.to_owned();
                    false
                }
                None => true,
            },
            semconv::OTEL_DROPPED_ATTRIBUTES_COUNT => count().map(|n| span.dropped_attributes_count = n).is_none(),
            semconv::OTEL_DROPPED_EVENTS_COUNT => count().map(|n| span.dropped_events_count = n).is_none(),
            semconv::OTEL_DROPPED_LINKS_COUNT => count().map(|n| span.dropped_links_count = n).is_none(),
            _ => true,
        }
    });
    scope
}

/// Parses `otel.status_code` in any of the spellings exporters have used (`OK`/`ERROR`,
/// `STATUS_CODE_OK`/`STATUS_CODE_ERROR`, `Ok`/`Error`, any case); `UNSET` and unknown are `None`.
pub fn parse_status_code(text: &str) -> Option<StatusCode> {
    let upper = text.trim().to_ascii_uppercase();
    match upper.strip_prefix("STATUS_CODE_").unwrap_or(&upper) {
        "OK" => Some(StatusCode::Ok),
        "ERROR" => Some(StatusCode::Error),
        _ => None,
    }
}

/// Removes the first attribute with `key` and returns its value.
pub fn take(attributes: &mut Vec<KeyValue>, key: &str) -> Option<AnyValue> {
    let index = attributes.iter().position(|kv| kv.key == key)?;
    Some(attributes.remove(index).value)
}

/// Keys of resource attributes by semantic-convention namespace: a Zipkin tag under one of these
/// describes the process, not the span, so it moves to the resource (as the Collector does).
const RESOURCE_PREFIXES: [&str; 16] = [
    "service.",
    "telemetry.",
    "host.",
    "os.",
    "process.",
    "container.",
    "k8s.",
    "cloud.",
    "deployment.",
    "faas.",
    "device.",
    "webengine.",
    "aws.ecs.",
    "aws.eks.",
    "aws.log.",
    "heroku.",
];

/// True for keys that belong on the resource (`service.peer.*` names the peer, so it stays).
pub fn is_resource_key(key: &str) -> bool {
    RESOURCE_PREFIXES.iter().any(|prefix| key.starts_with(prefix)) && !key.starts_with("service.peer.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::SpanBuilder;

    #[test]
    fn scope_and_counts_leave_the_attributes() {
        let mut span = SpanBuilder::new("svc", "op", 1, 1).build().span;
        span.attributes = vec![
            KeyValue::new("otel.library.name", AnyValue::String("old".into())),
            KeyValue::new("otel.scope.name", AnyValue::String("lib".into())),
            KeyValue::new("otel.scope.version", AnyValue::String("1.2".into())),
            KeyValue::new("otel.dropped_events_count", AnyValue::String("3".into())),
            KeyValue::new("otel.dropped_links_count", AnyValue::String("many".into())),
            KeyValue::new("w3c.tracestate", AnyValue::String("a=b".into())),
            KeyValue::new("http.method", AnyValue::String("GET".into())),
        ];
        let scope = take_derived(&mut span);
        assert_eq!((scope.name.as_str(), scope.version.as_str()), ("lib", "1.2"));
        assert_eq!(span.dropped_events_count, 3);
        assert_eq!(span.trace_state, "a=b");
        let keys: Vec<_> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["otel.dropped_links_count", "http.method"]);
    }

    #[test]
    fn status_code_spellings() {
        for (text, code) in [
            ("OK", Some(StatusCode::Ok)),
            ("error", Some(StatusCode::Error)),
            ("STATUS_CODE_ERROR", Some(StatusCode::Error)),
            ("Ok", Some(StatusCode::Ok)),
            ("UNSET", None),
            ("bogus", None),
        ] {
            assert_eq!(parse_status_code(text), code, "{text}");
        }
    }

    #[test]
    fn resource_keys() {
        assert!(is_resource_key("host.name"));
        assert!(is_resource_key("service.version"));
        assert!(!is_resource_key("service.peer.name"));
        assert!(!is_resource_key("http.method"));
    }
}
