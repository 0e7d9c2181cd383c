//! Zipkin v2 JSON (`POST /api/v2/spans`, `application/json`) → [`ZipkinSpan`]s.
//!
//! A body that is not a JSON list of span objects is refused whole; a span with a missing or
//! invalid id, or an unknown `kind`, is refused alone and the others are kept. Unknown keys are
//! ignored. Rules follow Zipkin's own reader (PROTOCOLS §3.1, §3.6): ids of 1–32 hex digits are
//! left-padded, a `parentId` equal to `id` is dropped, port 0 and empty endpoints are absent.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::json::{JsonEndpoint, Micros};
use super::span::{Annotation, DecodedSpans, ZipkinSpan};
use super::v1_json::looks_like_v1;
use crate::model::{InvalidSpan, SpanId, SpanKind, TraceId};
use crate::receiver::IngestError;

/// Decodes a v2 JSON list of spans; an empty body or `[]` has no spans.
pub fn decode_spans(body: &[u8]) -> Result<DecodedSpans, IngestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    if looks_like_v1(body) {
        return Err(IngestError::Malformed(
            "body looks like Zipkin v1 JSON (it has binaryAnnotations); POST it to /api/v1/spans".into(),
        ));
    }
    let spans: Vec<JsonSpan> =
        serde_json::from_slice(body).map_err(|e| IngestError::Malformed(format!("invalid Zipkin v2 JSON: {e}")))?;
    Ok(spans.into_iter().map(JsonSpan::into_span).collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpan {
    trace_id: Option<String>,
    parent_id: Option<String>,
    id: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    timestamp: Option<Micros>,
    duration: Option<Micros>,
    local_endpoint: Option<JsonEndpoint>,
    remote_endpoint: Option<JsonEndpoint>,
    #[serde(default)]
    annotations: Option<Vec<JsonAnnotation>>,
    #[serde(default)]
    tags: Option<Tags>,
    debug: Option<bool>,
    shared: Option<bool>,
}

#[derive(Deserialize)]
struct JsonAnnotation {
    timestamp: Micros,
    value: String,
}

impl JsonSpan {
    fn into_span(self) -> Result<ZipkinSpan, InvalidSpan> {
        let trace_id = TraceId::from_hex(self.trace_id.as_deref().ok_or_else(|| missing("traceId"))?)?;
        let id = SpanId::from_hex(self.id.as_deref().ok_or_else(|| missing("id"))?)?;
        // Zipkin: an empty or all-zero parentId means root; one equal to id is dropped.
        let parent_id = match self.parent_id.as_deref() {
            None | Some("") => None,
            Some(text) if text.bytes().all(|b| b == b'0') => None,
            Some(text) => Some(SpanId::from_hex(text)?).filter(|parent| *parent != id),
        };
        let kind = match self.kind.as_deref() {
            None | Some("") => SpanKind::Unspecified,
            Some(text) => kind_from_name(text).ok_or_else(|| {
                InvalidSpan::Field(format!(
                    "span {id}: unknown kind {text:?} (expected CLIENT, SERVER, PRODUCER or CONSUMER)"
                ))
            })?,
        };
        Ok(ZipkinSpan {
            trace_id,
            parent_id,
            id,
            kind,
            name: self.name.unwrap_or_default(),
            timestamp: self.timestamp.and_then(Micros::positive),
            duration: self.duration.and_then(Micros::positive),
            local_endpoint: self.local_endpoint.and_then(JsonEndpoint::into_endpoint),
            remote_endpoint: self.remote_endpoint.and_then(JsonEndpoint::into_endpoint),
            annotations: self
                .annotations
                .unwrap_or_default()
                .into_iter()
                .map(|a| Annotation { timestamp: a.timestamp.positive().unwrap_or(0), value: a.value })
                .collect(),
            tags: self.tags.map(|t| t.0).unwrap_or_default(),
            debug: self.debug.unwrap_or(false),
            shared: self.shared.unwrap_or(false),
        })
    }
}

fn missing(field: &str) -> InvalidSpan {
    InvalidSpan::Field(format!("span without {field}"))
}

/// Zipkin's kind names, upper-case as the API defines them (any case accepted).
pub(super) fn kind_from_name(text: &str) -> Option<SpanKind> {
    Some(match text.to_ascii_uppercase().as_str() {
        "CLIENT" => SpanKind::Client,
        "SERVER" => SpanKind::Server,
        "PRODUCER" => SpanKind::Producer,
        "CONSUMER" => SpanKind::Consumer,
        _ => return None,
    })
}

/// Tags in the order sent; values must be strings (numbers and booleans are taken as text).
struct Tags(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagsVisitor;
        impl<'de> Visitor<'de> for TagsVisitor {
            type Value = Tags;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of string tags")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Tags, A::Error> {
                let mut tags = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((key, value)) = map.next_entry::<String, TagValue>()? {
                    tags.push((key, value.0));
                }
                Ok(Tags(tags))
            }
        }
        deserializer.deserialize_map(TagsVisitor)
    }
}

struct TagValue(String);

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagValueVisitor;
        impl Visitor<'_> for TagValueVisitor {
            type Value = TagValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string tag value (Zipkin refuses null)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TagValue, E> {
                Ok(TagValue(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<TagValue, E> {
                Ok(TagValue(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<TagValue, E> {
                Ok(TagValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TagValue, E> {
                Ok(TagValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TagValue, E> {
                Ok(TagValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TagValue, E> {
                Ok(TagValue(v.to_string()))
            }
        }
        deserializer.deserialize_any(TagValueVisitor)
    }
}
