//! Time windows over the live statistics, shared by our REST API and Jaeger's SPM endpoints.
//!
//! The statistics hold one-minute buckets for the last `fine_minutes` and, before that, coarse
//! buckets `coarse_minutes` long stamped with their first minute; every bucket is stamped with the
//! minute its spans *arrived*. A window asked for in milliseconds becomes the minutes `[start, end)`
//! whose buckets it overlaps. Where it reaches into the coarse range it is widened to whole coarse
//! periods, so a rate always divides the calls of exactly the buckets summed by the time those
//! buckets cover (never a 15-minute bucket's calls by one minute).

use std::time::{Duration, UNIX_EPOCH};

use crate::stats::red::Stats;
use crate::stats::series::Bucket;

/// Milliseconds in a minute.
pub const MINUTE_MS: u64 = 60_000;

/// Minutes since the Unix epoch `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minutes {
    /// First minute.
    pub start: u64,
    /// Minute after the last.
    pub end: u64,
}

impl Minutes {
    /// The minute buckets of `[start_ms, end_ms)`: from the first minute starting at or after
    /// `start_ms` through the minute holding `end_ms`'s last millisecond, at least one. A lookback
    /// of `n` whole minutes ending now is the `n` latest buckets, the current one included.
    pub fn covering(start_ms: u64, end_ms: u64) -> Self {
        let end = end_ms.div_ceil(MINUTE_MS).max(1);
        Self { start: start_ms.div_ceil(MINUTE_MS).min(end - 1), end }
    }

    /// Minutes in the range.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// True when the range holds no minute.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where one-minute buckets end and coarse ones begin, at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLayout {
    /// The oldest minute still kept as a one-minute bucket.
    fine_start: u64,
    /// Minutes per coarse bucket.
    coarse: u64,
    /// The moment, in milliseconds since the epoch: nothing has arrived after it.
    now_ms: u64,
}

impl BucketLayout {
    /// The layout of `stats` at `now_ms`.
    pub fn of(stats: &Stats, now_ms: u64) -> Self {
        let resolution = stats.settings().resolution;
        Self::new(resolution.fine_minutes, resolution.coarse_minutes, now_ms)
    }

    /// The layout with `fine_minutes` of one-minute buckets before `now_ms` and coarse buckets of
    /// `coarse_minutes` before them.
    pub fn new(fine_minutes: u64, coarse_minutes: u64, now_ms: u64) -> Self {
        Self { fine_start: (now_ms / MINUTE_MS).saturating_sub(fine_minutes), coarse: coarse_minutes.max(1), now_ms }
    }

    /// Minutes per coarse bucket.
    pub fn coarse_minutes(&self) -> u64 {
        self.coarse
    }

    /// True when `minute` is only held in coarse buckets.
    pub fn is_coarse(&self, minute: u64) -> bool {
        minute < self.fine_start
    }

    /// `minutes` widened to whole coarse periods at the ends that lie in the coarse range: the
    /// minutes the buckets overlapping `minutes` really cover.
    pub fn widen(&self, minutes: Minutes) -> Minutes {
        let mut out = minutes;
        if self.is_coarse(out.start) {
            out.start -= out.start % self.coarse;
        }
        if out.end > out.start && self.is_coarse(out.end - 1) {
            let last = out.end - 1;
            out.end = last - last % self.coarse + self.coarse;
        }
        out
    }

    /// Seconds of arrivals `minutes` can hold: up to now at most, and never less than one second
    /// so that a rate stays finite.
    pub fn seconds(&self, minutes: Minutes) -> f64 {
        let end_ms = minutes.end.saturating_mul(MINUTE_MS).min(self.now_ms);
        let millis = end_ms.saturating_sub(minutes.start.saturating_mul(MINUTE_MS)).max(1_000);
        millis as f64 / 1_000.0
    }
}

/// The `q` quantile of a bucket's latencies in milliseconds; `None` when it holds no call.
pub fn latency_ms(bucket: &Bucket, q: f64) -> Option<f64> {
    if bucket.calls == 0 {
        return None;
    }
    bucket.latency.quantile(q).map(|nanos| nanos / 1e6)
}

/// Errors as a fraction of calls; 0 when there was no call.
pub fn error_rate(bucket: &Bucket) -> f64 {
    if bucket.calls == 0 {
        0.0
    } else {
        bucket.errors as f64 / bucket.calls as f64
    }
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> u64 {
    crate::model::UnixNanos::now().0 / 1_000_000
}

/// A time in milliseconds since the epoch as RFC 3339 in UTC: whole seconds when the milliseconds
/// are zero, else with three fractional digits (both valid protobuf JSON timestamps).
pub fn rfc3339_ms(ms: u64) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(ms);
    if ms.is_multiple_of(1_000) {
        humantime::format_rfc3339_seconds(time).to_string()
    } else {
        humantime::format_rfc3339_millis(time).to_string()
    }
}

/// Parses an RFC 3339 time (`2026-11-20T10:00:00Z`, `…T12:00:00.123456789+02:00`: fractional
/// seconds up to nanoseconds, `Z` or a numeric offset) into nanoseconds since the epoch.
pub fn parse_rfc3339_nanos(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let invalid = |why: &str| format!("{why}: use RFC 3339, e.g. 2026-11-20T10:00:00Z or 2026-11-20T12:00:00+02:00");
    // Sent unescaped in a query string (as Grafana does), a `+hh:mm` offset arrives as ` hh:mm`.
    let repaired;
    let text = match text.len().checked_sub(6).filter(|&i| text.as_bytes()[i] == b' ') {
        Some(i) => {
            repaired = format!("{}+{}", &text[..i], &text[i + 1..]);
            repaired.as_str()
        }
        None => text,
    };
    // humantime reads `Z` only: a numeric offset is applied here.
    let (utc_text, offset_secs) = match text.len().checked_sub(6).map(|i| text.split_at(i)) {
        Some((base, offset))
            if (offset.starts_with('+') || offset.starts_with('-')) && offset.as_bytes().get(3) == Some(&b':') =>
        {
            let number = |s: &str| s.parse::<i64>().map_err(|_| invalid("malformed offset"));
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            (format!("{base}Z"), sign * (number(&offset[1..3])? * 3600 + number(&offset[4..])? * 60))
        }
        _ => (text.to_owned(), 0),
    };
    let time = humantime::parse_rfc3339(&utc_text).map_err(|e| invalid(&e.to_string()))?;
    let nanos = time.duration_since(UNIX_EPOCH).map_err(|_| "must not be before 1970".to_owned())?.as_nanos() as i128;
    // 12:00+02:00 is 10:00Z.
    u64::try_from(nanos - i128::from(offset_secs) * 1_000_000_000).map_err(|_| "out of range".to_owned())
}

/// [`parse_rfc3339_nanos`] in milliseconds since the epoch.
pub fn parse_rfc3339_ms(text: &str) -> Result<u64, String> {
    parse_rfc3339_nanos(text).map(|nanos| nanos / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_000 * MINUTE_MS + 30_000;

    #[test]
    fn covering_takes_whole_minutes_up_to_the_one_holding_the_end() {
        assert_eq!(Minutes::covering(60_000, 120_000), Minutes { start: 1, end: 2 });
        assert_eq!(Minutes::covering(60_000, 120_001), Minutes { start: 1, end: 3 });
        assert_eq!(Minutes::covering(30_000, 150_000), Minutes { start: 1, end: 3 });
        assert_eq!(Minutes::covering(90_000, 90_000), Minutes { start: 1, end: 2 });
        assert_eq!(Minutes::covering(0, 0), Minutes { start: 0, end: 1 });
    }

    #[test]
    fn fine_windows_are_kept_and_timed_up_to_now() {
        let layout = BucketLayout::new(60, 15, NOW_MS);
        let last_hour = Minutes::covering(NOW_MS - 3_600_000, NOW_MS);
        assert_eq!(last_hour, Minutes { start: 941, end: 1001 });
        assert_eq!(layout.widen(last_hour), last_hour);
        // 59 whole minutes and the 30 s of the current one that have passed.
        assert_eq!(layout.seconds(last_hour), 3_570.0);
    }

    #[test]
    fn coarse_ends_widen_to_whole_periods() {
        let layout = BucketLayout::new(60, 15, NOW_MS);
        // Fine from minute 940; 900..915 is a coarse period.
        let old = Minutes { start: 903, end: 908 };
        assert_eq!(layout.widen(old), Minutes { start: 900, end: 915 });
        assert_eq!(layout.seconds(layout.widen(old)), 900.0);
        let straddling = Minutes { start: 931, end: 960 };
        assert_eq!(layout.widen(straddling), Minutes { start: 930, end: 960 });
        // The coarse bucket holding minute 939 starts at 930: the end widens past the fine start.
        assert_eq!(layout.widen(Minutes { start: 925, end: 940 }), Minutes { start: 915, end: 945 });
    }

    #[test]
    fn a_window_in_the_future_still_has_a_positive_length() {
        let layout = BucketLayout::new(60, 15, NOW_MS);
        assert_eq!(layout.seconds(Minutes { start: 2_000, end: 2_001 }), 1.0);
    }

    #[test]
    fn times_print_as_rfc3339_and_parse_back() {
        assert_eq!(rfc3339_ms(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_rfc3339_ms("2023-11-14T22:13:20.123Z"), Ok(1_700_000_000_123));
        assert!(parse_rfc3339_ms("1700000000000").is_err());
        assert!(parse_rfc3339_ms("2023-11-14 22:13:20").is_err());
        // Numeric offsets are honoured, as in every API that takes RFC 3339.
        assert_eq!(parse_rfc3339_ms("2023-11-15T00:13:20.123+02:00"), Ok(1_700_000_000_123));
        assert_eq!(parse_rfc3339_nanos("2023-11-14T22:13:20.000000001Z"), Ok(1_700_000_000_000_000_001));
    }

    #[test]
    fn empty_buckets_have_no_latency_and_no_error_rate() {
        let empty = Bucket::default();
        assert_eq!(latency_ms(&empty, 0.5), None);
        assert_eq!(error_rate(&empty), 0.0);
        let mut bucket = Bucket::default();
        bucket.record(2_000_000, true);
        bucket.record(2_000_000, false);
        assert_eq!(error_rate(&bucket), 0.5);
        let p50 = latency_ms(&bucket, 0.5).unwrap();
        assert!((p50 - 2.0).abs() < 0.02, "{p50}");
    }
}
