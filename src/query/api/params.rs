//! Query parameters of our REST API: each endpoint's raw parameters as `serde` + `IntoParams`
//! structs (so the OpenAPI document describes exactly what is parsed), and their conversion into
//! typed values with a 400 naming the parameter when one is wrong.
//!
//! Times: `start` and `end` are RFC 3339 (`2026-11-20T10:00:00Z`, or with a numeric offset); `lookback` and `step`
//! are durations (`5m`, `1h`, `24h`). Span kinds are OpenTelemetry's, lower-case.

use std::time::Duration;

use serde::Deserialize;
use utoipa::IntoParams;

use super::window::{parse_rfc3339_ms, MINUTE_MS};
use super::ApiError;
use crate::model::SpanKind;

/// Window when neither `start` nor `lookback` is given.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(3_600);
/// Quantiles of a time series when `quantiles` is absent.
pub const DEFAULT_QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];
/// Quantiles one time series request may ask for.
pub const MAX_QUANTILES: usize = 10;

/// The time window of a request (every stats endpoint).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start of the window, RFC 3339 (e.g. `2026-11-20T10:00:00Z`). Give `start` or
    /// `lookback`, not both.
    #[param(example = "2026-11-20T10:00:00Z")]
    pub start: Option<String>,
    /// End of the window, RFC 3339; default now.
    #[param(example = "2026-11-20T11:00:00Z")]
    pub end: Option<String>,
    /// Length of the window before `end` (`5m`, `1h`, `24h`, any `humantime` duration); default
    /// `1h` when `start` is absent too.
    #[param(example = "1h")]
    pub lookback: Option<String>,
}

/// Span kinds a figure counts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SpanKindQuery {
    /// Comma-separated span kinds to count: `unspecified`, `internal`, `server`, `client`,
    /// `producer`, `consumer` (Jaeger's `SPAN_KIND_SERVER` spelling is accepted too); default
    /// every kind. Use `server` for request rates.
    #[param(example = "server")]
    pub span_kind: Option<String>,
}

/// The service an endpoint reads.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ServiceQuery {
    /// Service name.
    #[param(required = true, value_type = String, example = "checkout")]
    pub service: Option<String>,
}

/// What a time series reads and at which resolution.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Operation (span name); absent means the whole service. With `level=trace`, the root
    /// operation whose whole-trace durations are wanted.
    #[param(example = "GET /cart")]
    pub operation: Option<String>,
    /// `service` (every span of the service), `operation` (spans of `operation`) or `trace`
    /// (whole traces rooted at `operation`, span kinds ignored); default `operation` when
    /// `operation` is given, else `service`.
    #[param(example = "trace")]
    pub level: Option<String>,
    /// Comma-separated quantiles in `[0, 1]`, at most 10; default `0.5,0.95,0.99`.
    #[param(example = "0.5,0.95,0.99")]
    pub quantiles: Option<String>,
    /// Step between points, whole minutes (`1m`, `5m`, `1h`). Default `1m` while the window lies
    /// in the last hour's one-minute buckets, else `15m`. A window reaching further back than
    /// that is answered in whole 15-minute buckets: the step is rounded up to a multiple of
    /// 15 minutes and the start down to a 15-minute boundary.
    #[param(example = "1m")]
    pub step: Option<String>,
}

/// A request's window in milliseconds since the epoch, `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start, inclusive.
    pub start_ms: u64,
    /// End, exclusive.
    pub end_ms: u64,
}

/// Which series a time series request reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesLevel {
    /// Every span of the service.
    Service,
    /// Spans of one operation.
    Operation(String),
    /// Whole traces rooted at one operation.
    Trace(String),
}

impl SeriesLevel {
    /// The name used in the `level` parameter and in responses.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Operation(_) => "operation",
            Self::Trace(_) => "trace",
        }
    }
}

/// Parses a raw query string into one of the parameter structs above.
pub fn parse_query<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::BadQuery(format!("malformed query string: {e}")))
}

fn bad(param: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::BadParameter { param, reason: reason.into() }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn parse_duration(param: &'static str, text: &str) -> Result<Duration, ApiError> {
    let duration = humantime::parse_duration(text).map_err(|e| bad(param, format!("{e}: use e.g. 5m, 1h, 24h")))?;
    if duration.is_zero() {
        return Err(bad(param, "must be longer than zero"));
    }
    Ok(duration)
}

impl WindowQuery {
    /// The window: `[start, end)`, or `lookback` (default 1 h) before `end` (default now).
    pub fn window(&self, now_ms: u64) -> Result<Window, ApiError> {
        let end_ms = match non_empty(&self.end) {
            Some(text) => parse_rfc3339_ms(text).map_err(|e| bad("end", e))?,
            None => now_ms,
        };
        let start_ms = match (non_empty(&self.start), non_empty(&self.lookback)) {
            (Some(_), Some(_)) => return Err(bad("lookback", "give either start or lookback, not both")),
            (Some(text), None) => parse_rfc3339_ms(text).map_err(|e| bad("start", e))?,
            (None, lookback) => {
                let lookback = lookback.map(|l| parse_duration("lookback", l)).transpose()?.unwrap_or(DEFAULT_LOOKBACK);
                end_ms.saturating_sub(u64::try_from(lookback.as_millis()).unwrap_or(u64::MAX))
            }
        };
        if start_ms >= end_ms {
            return Err(bad("start", "must be before end"));
        }
        Ok(Window { start_ms, end_ms })
    }
}

/// Parses one span kind: OpenTelemetry's lower-case name or Jaeger's `SPAN_KIND_*` spelling,
/// case-insensitively.
pub fn parse_span_kind(text: &str) -> Option<SpanKind> {
    let text = text.trim();
    let name = match text.get(..10) {
        Some(prefix) if prefix.eq_ignore_ascii_case("span_kind_") => &text[10..],
        _ => text,
    };
    if name.is_empty() {
        return None;
    }
    SpanKind::from_lower_str(name)
}

/// The lower-case name of a span kind (`unspecified` for an unspecified one).
pub fn span_kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified => "unspecified",
        other => other.as_lower_str(),
    }
}

impl SpanKindQuery {
    /// The span kinds asked for, deduplicated in order; empty means every kind.
    pub fn kinds(&self) -> Result<Vec<SpanKind>, ApiError> {
        let mut kinds = Vec::new();
        for text in non_empty(&self.span_kind).into_iter().flat_map(|v| v.split(',')).map(str::trim) {
            if text.is_empty() {
                continue;
            }
            let kind = parse_span_kind(text).ok_or_else(|| {
                bad(
                    "spanKind",
                    format!(
                        "unknown span kind {text:?}: use unspecified, internal, server, client, producer or consumer"
                    ),
                )
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(kinds)
    }
}

impl ServiceQuery {
    /// The service, which is required.
    pub fn service(&self) -> Result<String, ApiError> {
        non_empty(&self.service).map(str::to_owned).ok_or_else(|| bad("service", "is required"))
    }
}

impl SeriesQuery {
    /// The series to read.
    pub fn level(&self) -> Result<SeriesLevel, ApiError> {
        let operation = non_empty(&self.operation).map(str::to_owned);
        let need_operation = |level: &str| bad("operation", format!("is required with level={level}"));
        match (non_empty(&self.level), operation) {
            (None, None) => Ok(SeriesLevel::Service),
            (None | Some("operation"), Some(op)) => Ok(SeriesLevel::Operation(op)),
            (Some("trace"), Some(op)) => Ok(SeriesLevel::Trace(op)),
            (Some("service"), None) => Ok(SeriesLevel::Service),
            (Some("service"), Some(_)) => Err(bad("operation", "must be absent with level=service")),
            (Some(level @ ("operation" | "trace")), None) => Err(need_operation(level)),
            (Some(other), _) => Err(bad("level", format!("unknown level {other:?}: use service, operation or trace"))),
        }
    }

    /// The quantiles asked for, in order.
    pub fn quantiles(&self) -> Result<Vec<f64>, ApiError> {
        let Some(text) = non_empty(&self.quantiles) else {
            return Ok(DEFAULT_QUANTILES.to_vec());
        };
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let q: f64 = part.parse().map_err(|_| bad("quantiles", format!("{part:?} is not a number")))?;
            if !(0.0..=1.0).contains(&q) {
                return Err(bad("quantiles", format!("{part} is outside [0, 1]")));
            }
            out.push(q);
        }
        if out.is_empty() {
            return Err(bad("quantiles", "give at least one quantile"));
        }
        if out.len() > MAX_QUANTILES {
            return Err(bad("quantiles", format!("at most {MAX_QUANTILES} quantiles")));
        }
        Ok(out)
    }

    /// The step in whole minutes, if given.
    pub fn step_minutes(&self) -> Result<Option<u64>, ApiError> {
        let Some(text) = non_empty(&self.step) else { return Ok(None) };
        let step = parse_duration("step", text)?;
        let millis = u64::try_from(step.as_millis()).unwrap_or(u64::MAX);
        if millis % MINUTE_MS != 0 {
            return Err(bad("step", format!("{text:?} is not a whole number of minutes: use e.g. 1m, 5m, 15m")));
        }
        Ok(Some(millis / MINUTE_MS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000_000;

    fn window(raw: &str) -> Result<Window, ApiError> {
        parse_query::<WindowQuery>(Some(raw))?.window(NOW)
    }

    fn param_of(e: ApiError) -> &'static str {
        match e {
            ApiError::BadParameter { param, .. } => param,
            other => panic!("expected a bad parameter, got {other:?}"),
        }
    }

    #[test]
    fn window_defaults_to_the_last_hour() {
        assert_eq!(window("").unwrap(), Window { start_ms: NOW - 3_600_000, end_ms: NOW });
        assert_eq!(window("lookback=5m").unwrap(), Window { start_ms: NOW - 300_000, end_ms: NOW });
        assert_eq!(window("lookback=24h&end=2023-11-14T22:13:20Z").unwrap().start_ms, NOW - 86_400_000);
    }

    #[test]
    fn window_takes_rfc3339_start_and_end() {
        let w = window("start=2023-11-14T22:00:00Z&end=2023-11-14T22:13:20.5Z").unwrap();
        assert_eq!(w, Window { start_ms: NOW - 800_000, end_ms: NOW + 500 });
    }

    #[test]
    fn bad_windows_name_the_parameter() {
        assert_eq!(param_of(window("start=1700000000000").unwrap_err()), "start");
        assert_eq!(param_of(window("end=yesterday").unwrap_err()), "end");
        assert_eq!(param_of(window("lookback=5 parsecs").unwrap_err()), "lookback");
        assert_eq!(param_of(window("lookback=0s").unwrap_err()), "lookback");
        assert_eq!(param_of(window("start=2023-11-14T22:00:00Z&lookback=1h").unwrap_err()), "lookback");
        assert_eq!(param_of(window("start=2023-11-14T23:00:00Z").unwrap_err()), "start");
        let message = window("end=yesterday").unwrap_err().to_string();
        assert!(message.starts_with("parameter 'end': "), "{message}");
    }

    #[test]
    fn span_kinds_accept_otel_and_jaeger_spellings() {
        let q: SpanKindQuery = parse_query(Some("spanKind=server,SPAN_KIND_CLIENT,Server")).unwrap();
        assert_eq!(q.kinds().unwrap(), [SpanKind::Server, SpanKind::Client]);
        let all: SpanKindQuery = parse_query(Some("")).unwrap();
        assert!(all.kinds().unwrap().is_empty());
        let bad: SpanKindQuery = parse_query(Some("spanKind=sever")).unwrap();
        assert_eq!(param_of(bad.kinds().unwrap_err()), "spanKind");
        assert_eq!(parse_span_kind("span_kind_unspecified"), Some(SpanKind::Unspecified));
        assert_eq!(parse_span_kind("SPAN_KIND_"), None);
        assert_eq!(span_kind_name(SpanKind::Unspecified), "unspecified");
    }

    #[test]
    fn a_repeated_parameter_is_a_bad_query() {
        let e = parse_query::<SpanKindQuery>(Some("spanKind=server&spanKind=client")).unwrap_err();
        assert!(matches!(e, ApiError::BadQuery(ref m) if m.contains("spanKind")), "{e:?}");
    }

    #[test]
    fn level_follows_operation_unless_told() {
        let level = |raw: &str| parse_query::<SeriesQuery>(Some(raw)).unwrap().level();
        assert_eq!(level("").unwrap(), SeriesLevel::Service);
        assert_eq!(level("operation=GET%20%2F").unwrap(), SeriesLevel::Operation("GET /".into()));
        assert_eq!(level("operation=GET%20%2F&level=trace").unwrap(), SeriesLevel::Trace("GET /".into()));
        assert_eq!(param_of(level("level=trace").unwrap_err()), "operation");
        assert_eq!(param_of(level("level=service&operation=x").unwrap_err()), "operation");
        assert_eq!(param_of(level("level=span").unwrap_err()), "level");
    }

    #[test]
    fn quantiles_are_checked() {
        let quantiles = |raw: &str| parse_query::<SeriesQuery>(Some(raw)).unwrap().quantiles();
        assert_eq!(quantiles("").unwrap(), DEFAULT_QUANTILES);
        assert_eq!(quantiles("quantiles=0.9,1").unwrap(), [0.9, 1.0]);
        for bad in ["quantiles=1.5", "quantiles=p99", "quantiles=,", "quantiles=0,0,0,0,0,0,0,0,0,0,0"] {
            assert_eq!(param_of(quantiles(bad).unwrap_err()), "quantiles", "{bad}");
        }
    }

    #[test]
    fn steps_are_whole_minutes() {
        let step = |raw: &str| parse_query::<SeriesQuery>(Some(raw)).unwrap().step_minutes();
        assert_eq!(step("").unwrap(), None);
        assert_eq!(step("step=1m").unwrap(), Some(1));
        assert_eq!(step("step=1h").unwrap(), Some(60));
        for bad in ["step=30s", "step=90s", "step=0m", "step=often"] {
            assert_eq!(param_of(step(bad).unwrap_err()), "step", "{bad}");
        }
    }

    #[test]
    fn service_is_required() {
        let q: ServiceQuery = parse_query(Some("service=%20")).unwrap();
        assert_eq!(param_of(q.service().unwrap_err()), "service");
    }
}
