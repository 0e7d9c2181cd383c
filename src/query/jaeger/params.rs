//! Parsing of Jaeger query parameters: Go-style durations, tag filters (JSON object or
//! `key:value`), trace ids, and the `/api/traces` search parameters as a whole.

use std::time::Duration;

use crate::model::query::{MatchRule, TagFilter, TraceQuery};
use crate::model::{SpanKind, TraceId, UnixNanos};
use crate::query::{Params, QueryError};

/// Jaeger's default search limit.
const DEFAULT_LIMIT: usize = 100;
/// Default search window when `start` is absent: two days before `end`.
const DEFAULT_WINDOW: Duration = Duration::from_secs(2 * 24 * 3600);

/// Parses a Go `time.ParseDuration` string: `1.5s`, `200ms`, `30us`, `1h30m`, `0`.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: use a number with a unit, e.g. 1.5s, 200ms, 30us, 1h30m");
    let s = text.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let mut rest = s;
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total_nanos += value * scale;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// A span-kind filter as every Jaeger API takes it: empty means any kind, else a lower-case kind.
pub fn span_kind_filter(text: &str) -> Result<Option<SpanKind>, QueryError> {
    match text.trim() {
        "" => Ok(None),
        k => SpanKind::from_lower_str(k)
            .map(Some)
            .ok_or_else(|| QueryError::BadRequest(format!("unsupported span kind {k:?}"))),
    }
}

/// An operation's kind as api_v3 (HTTP and gRPC) names it; an unspecified kind shows as `internal`.
pub fn v3_kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "internal",
        other => other.as_lower_str(),
    }
}

/// Parses a trace id as Jaeger accepts it in paths and parameters: 1 to 32 hex digits.
pub fn parse_trace_id(text: &str) -> Result<TraceId, QueryError> {
    TraceId::from_hex(text.trim()).map_err(|e| QueryError::BadRequest(format!("malformed trace id: {e}")))
}

/// Tag filters from `tags` (URL-encoded JSON objects, repeatable) and `tag` (`key:value`, split at
/// the first colon, repeatable).
pub fn parse_tags(params: &Params) -> Result<Vec<TagFilter>, QueryError> {
    let mut filters = Vec::new();
    for json in params.all("tags").filter(|v| !v.trim().is_empty()) {
        filters.extend(
            parse_tags_json(json).map_err(|e| QueryError::BadRequest(format!("malformed 'tags' parameter: {e}")))?,
        );
    }
    for pair in params.all("tag") {
        let (key, value) = pair.split_once(':').ok_or_else(|| {
            QueryError::BadRequest(format!("malformed 'tag' parameter {pair:?}: expecting key:value"))
        })?;
        filters.push(TagFilter { key: key.to_owned(), value: Some(value.to_owned()) });
    }
    Ok(filters)
}

/// Tag filters from a JSON object of tag keys and values (`{"http.status_code":"500"}`); a
/// value that is not a string matches its JSON text.
pub fn parse_tags_json(json: &str) -> Result<Vec<TagFilter>, serde_json::Error> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)?;
    Ok(object
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            TagFilter { key, value: Some(value) }
        })
        .collect())
}

fn duration_param(params: &Params, key: &str) -> Result<Option<Duration>, QueryError> {
    // Jaeger UI sends `minDuration=&maxDuration=` on every search: empty means no bound.
    params
        .non_empty(key)
        .map(|v| parse_go_duration(v).map_err(|e| QueryError::BadRequest(format!("cannot parse {key}: {e}"))))
        .transpose()
}

/// Parses `/api/traces` search parameters into a query with Jaeger's single-span rule.
pub fn parse_trace_query(params: &Params, now: UnixNanos) -> Result<TraceQuery, QueryError> {
    let min_duration = duration_param(params, "minDuration")?;
    let max_duration = duration_param(params, "maxDuration")?;
    if let (Some(min), Some(max)) = (min_duration, max_duration) {
        if max < min {
            return Err(QueryError::BadRequest("'maxDuration' should be greater than 'minDuration'".into()));
        }
    }
    let end = params.parsed::<u64>("end")?.map_or(now, UnixNanos::from_micros);
    let start = params
        .parsed::<u64>("start")?
        .map_or(UnixNanos(end.0.saturating_sub(DEFAULT_WINDOW.as_nanos() as u64)), UnixNanos::from_micros);
    if start > end {
        return Err(QueryError::BadRequest("'start' should be before 'end'".into()));
    }
    let limit = match params.parsed::<i64>("limit")? {
        None | Some(0) => DEFAULT_LIMIT,
        Some(n) if n < 0 => return Err(QueryError::BadRequest("'limit' must not be negative".into())),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let span_kind = span_kind_filter(params.get("spanKind").unwrap_or(""))?;
    Ok(TraceQuery {
        service: params.non_empty("service").map(str::to_owned),
        operation: params.non_empty("operation").map(str::to_owned),
        span_kind,
        remote_service: None,
        tags: parse_tags(params)?,
        min_duration,
        max_duration,
        start_min: start,
        // `end` is in microseconds: include every start within its last microsecond.
        start_max: UnixNanos(end.0.saturating_add(999)),
        limit,
        rule: MatchRule::SingleSpan,
        ignore_case: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_like_go() {
        assert_eq!(parse_go_duration("1.5s").unwrap(), Duration::from_millis(1500));
        // 1.2 has no exact binary form: still exactly 1,200 ms.
        assert_eq!(parse_go_duration("1.2s").unwrap(), Duration::from_millis(1200));
        assert_eq!(parse_go_duration("0.3ms").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_go_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_go_duration("30us").unwrap(), Duration::from_micros(30));
        assert_eq!(parse_go_duration("30µs").unwrap(), Duration::from_micros(30));
        assert_eq!(parse_go_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "5", "1x", "-1s", "s", "1.2.3s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_come_from_json_and_colon_pairs() {
        let params =
            Params::parse(Some("tags=%7B%22error%22%3A%22true%22%7D&tag=http.url:http://x:80&tag=a:b")).unwrap();
        let tags = parse_tags(&params).unwrap();
        assert_eq!(tags[0], TagFilter { key: "error".into(), value: Some("true".into()) });
        assert_eq!(tags[1], TagFilter { key: "http.url".into(), value: Some("http://x:80".into()) });
        assert_eq!(tags.len(), 3);
        assert!(parse_tags(&Params::parse(Some("tag=nocolon")).unwrap()).is_err());
        assert!(parse_tags(&Params::parse(Some("tags=notjson")).unwrap()).is_err());
    }

    #[test]
    fn search_parameters_use_microseconds_and_empty_means_unbounded() {
        let params =
            Params::parse(Some("service=web&start=1000&end=2000&minDuration=&maxDuration=&limit=20&lookback=custom"))
                .unwrap();
        let q = parse_trace_query(&params, UnixNanos(0)).unwrap();
        assert_eq!(q.start_min, UnixNanos(1_000_000));
        assert_eq!(q.start_max, UnixNanos(2_000_999));
        assert_eq!(q.min_duration, None);
        assert_eq!(q.limit, 20);
    }

    #[test]
    fn max_below_min_is_refused() {
        let params = Params::parse(Some("minDuration=2s&maxDuration=1s")).unwrap();
        assert!(parse_trace_query(&params, UnixNanos(0)).is_err());
    }
}
