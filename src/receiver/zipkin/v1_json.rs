//! Zipkin v1 JSON (`POST /api/v1/spans`, `application/json`) → [`V1Span`]s, which
//! [`v1_into_v2`](super::v1::v1_into_v2) turns into v2 spans.
//!
//! A body that is not a JSON list of span objects, or has a value of the wrong type, is refused
//! whole, as is v2 JSON sent here (a span with `localEndpoint`, `remoteEndpoint`, `kind` or `tags`
//! and no `binaryAnnotations`). A span with a missing or invalid id, an annotation without time or
//! value, or a binary annotation without key is refused alone and the others are kept. Following
//! Zipkin's reader: `null` means absent everywhere, an empty or all-zero `parentId` means root, a
//! binary annotation whose value is `null`, a list or an object is skipped, timestamps and durations
//! of 0 or below are absent, unparseable IPs are ignored and port 0 is absent. Beyond Zipkin: ids in
//! either case, numeric binary annotation values kept as decimal text, and times also accepted as
//! decimal strings or floats (rounded up). Unknown keys are ignored.

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;

use super::json::{JsonEndpoint, Micros};
use super::v1::{V1Annotation, V1BinaryAnnotation, V1Span, V1Value};
use crate::model::{InvalidSpan, SpanId, TraceId};
use crate::receiver::IngestError;

/// Decodes a v1 JSON list of spans; an empty body or `[]` has no spans.
pub fn decode_spans(body: &[u8]) -> Result<Vec<Result<V1Span, InvalidSpan>>, IngestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let spans: Vec<JsonSpan> =
        serde_json::from_slice(body).map_err(|e| IngestError::Malformed(format!("invalid Zipkin v1 JSON: {e}")))?;
    // Zipkin refuses v2 JSON on the v1 path rather than reading it as spans without annotations.
    if let Some((index, key)) = spans.iter().enumerate().find_map(|(index, span)| Some((index, span.v2_key()?))) {
        return Err(IngestError::Malformed(format!(
            "invalid Zipkin v1 JSON: span {index} has `{key}` and no `binaryAnnotations`, which looks like \
             Zipkin v2 JSON; POST it to /api/v2/spans"
        )));
    }
    Ok(spans.into_iter().map(JsonSpan::into_span).collect())
}

/// Encodes spans as Zipkin v1 JSON, the inverse of [`decode_spans`] (for tests, benches and tools).
pub fn encode_spans(spans: &[V1Span]) -> Vec<u8> {
    use serde_json::{json, Value};
    let endpoint = |e: &Option<super::span::Endpoint>| match e {
        Some(e) => json!({
            "serviceName": e.service_name,
            "ipv4": e.ipv4.map(|ip| ip.to_string()),
            "ipv6": e.ipv6.map(|ip| ip.to_string()),
            "port": e.port,
        }),
        None => Value::Null,
    };
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            json!({
                "traceId": s.trace_id.to_hex(),
                "id": s.id.to_hex(),
                "parentId": s.parent_id.map(|p| p.to_hex()),
                "name": s.name,
                "timestamp": s.timestamp,
                "duration": s.duration,
                "debug": s.debug,
                "annotations": s.annotations.iter().map(|a| json!({
                    "timestamp": a.timestamp, "value": a.value, "endpoint": endpoint(&a.endpoint)
                })).collect::<Vec<_>>(),
                "binaryAnnotations": s.binary_annotations.iter().map(|b| json!({
                    "key": b.key,
                    "value": match &b.value { V1Value::Bool(v) => json!(v), V1Value::String(v) => json!(v) },
                    "endpoint": endpoint(&b.endpoint),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_vec(&spans).unwrap_or_default()
}

/// True when a JSON body carries v1 spans (only v1 has `binaryAnnotations`).
pub fn looks_like_v1(body: &[u8]) -> bool {
    const KEY: &[u8] = b"\"binaryAnnotations\"";
    body.windows(KEY.len()).any(|window| window == KEY)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpan {
    trace_id: Option<String>,
    name: Option<String>,
    id: Option<String>,
    parent_id: Option<String>,
    timestamp: Option<Micros>,
    duration: Option<Micros>,
    debug: Option<bool>,
    annotations: Option<Vec<JsonAnnotation>>,
    binary_annotations: Option<Vec<JsonBinaryAnnotation>>,
    // Keys only v2 has, read to refuse v2 JSON.
    local_endpoint: Option<IgnoredAny>,
    remote_endpoint: Option<IgnoredAny>,
    kind: Option<IgnoredAny>,
    tags: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct JsonAnnotation {
    timestamp: Option<Micros>,
    value: Option<String>,
    endpoint: Option<JsonEndpoint>,
}

#[derive(Deserialize)]
struct JsonBinaryAnnotation {
    key: Option<String>,
    value: Option<JsonValue>,
    endpoint: Option<JsonEndpoint>,
}

impl JsonSpan {
    /// The first v2-only key of a span without `binaryAnnotations`.
    fn v2_key(&self) -> Option<&'static str> {
        if self.binary_annotations.is_some() {
            return None;
        }
        [
            (self.local_endpoint.is_some(), "localEndpoint"),
            (self.remote_endpoint.is_some(), "remoteEndpoint"),
            (self.kind.is_some(), "kind"),
            (self.tags.is_some(), "tags"),
        ]
        .into_iter()
        .find_map(|(present, key)| present.then_some(key))
    }

    fn into_span(self) -> Result<V1Span, InvalidSpan> {
        let trace_id = TraceId::from_hex(self.trace_id.as_deref().ok_or_else(|| missing("traceId"))?)?;
        let id = SpanId::from_hex(self.id.as_deref().ok_or_else(|| missing("id"))?)?;
        // Zipkin: an empty or all-zero parentId means root.
        let parent_id = match self.parent_id.as_deref() {
            None | Some("") => None,
            Some(text) if text.bytes().all(|b| b == b'0') => None,
            Some(text) => Some(SpanId::from_hex(text)?),
        };
        let annotations = self
            .annotations
            .unwrap_or_default()
            .into_iter()
            .map(|annotation| annotation.into_annotation(id))
            .collect::<Result<_, _>>()?;
        let mut binary_annotations = Vec::new();
        for binary in self.binary_annotations.unwrap_or_default() {
            let key =
                binary.key.ok_or_else(|| InvalidSpan::Field(format!("span {id}: binary annotation without key")))?;
            let value = match binary.value {
                Some(JsonValue::Text(text)) => V1Value::String(text),
                Some(JsonValue::Bool(flag)) => V1Value::Bool(flag),
                Some(JsonValue::Skipped) | None => continue,
            };
            binary_annotations.push(V1BinaryAnnotation {
                key,
                value,
                endpoint: binary.endpoint.and_then(JsonEndpoint::into_endpoint),
            });
        }
        Ok(V1Span {
            trace_id,
            name: self.name.unwrap_or_default(),
            id,
            parent_id,
            timestamp: self.timestamp.and_then(Micros::positive),
            duration: self.duration.and_then(Micros::positive),
            annotations,
            binary_annotations,
            debug: self.debug.unwrap_or(false),
        })
    }
}

impl JsonAnnotation {
    fn into_annotation(self, id: SpanId) -> Result<V1Annotation, InvalidSpan> {
        let incomplete = |what| InvalidSpan::Field(format!("span {id}: annotation without {what}"));
        let timestamp = self.timestamp.ok_or_else(|| incomplete("timestamp"))?;
        let value = self.value.ok_or_else(|| incomplete("value"))?;
        Ok(V1Annotation {
            timestamp: timestamp.positive().unwrap_or(0),
            value,
            endpoint: self.endpoint.and_then(JsonEndpoint::into_endpoint),
        })
    }
}

fn missing(field: &str) -> InvalidSpan {
    InvalidSpan::Field(format!("span without {field}"))
}

/// A binary annotation's value as v1 JSON sends it.
enum JsonValue {
    /// A string, or a number as decimal text.
    Text(String),
    Bool(bool),
    /// A list or an object, which Zipkin skips.
    Skipped,
}

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = JsonValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonValue, E> {
                Ok(JsonValue::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<JsonValue, E> {
                Ok(JsonValue::Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonValue, E> {
                Ok(JsonValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonValue, E> {
                Ok(JsonValue::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonValue, E> {
                Ok(JsonValue::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonValue, E> {
                // serde_json's shortest round-trip form, e.g. `0.25` or `1e300`.
                Ok(serde_json::Number::from_f64(v).map_or(JsonValue::Skipped, |n| JsonValue::Text(n.to_string())))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(JsonValue::Skipped)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(JsonValue::Skipped)
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests;
