//! One statistic over time: RED figures (calls, errors, a latency sketch) in one-minute buckets,
//! rolled up into coarser buckets as they age and dropped after the retention.
//!
//! Invariants: buckets are in time order, one per period; a bucket older than the fine window
//! lives only in the coarse list; nothing older than the retention is kept.

use std::collections::VecDeque;

use super::sketch::LatencySketch;

/// Calls, errors and latencies of one series in one period.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bucket {
    /// Spans (or traces) counted.
    pub calls: u64,
    /// Those that failed.
    pub errors: u64,
    /// Their durations.
    pub latency: LatencySketch,
}

impl Bucket {
    /// Counts one call of `nanos` nanoseconds.
    pub fn record(&mut self, nanos: u64, error: bool) {
        self.calls += 1;
        self.errors += u64::from(error);
        self.latency.add(nanos);
    }

    /// Adds another bucket's counts and latencies.
    pub fn merge(&mut self, other: &Bucket) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
    }

    /// Heap bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.latency.heap_bytes()
    }
}

/// How long buckets are kept at which resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// Minutes kept as one-minute buckets.
    pub fine_minutes: u64,
    /// Minutes per bucket beyond that.
    pub coarse_minutes: u64,
    /// Minutes kept at all.
    pub retention_minutes: u64,
}

impl Default for Resolution {
    fn default() -> Self {
        Self { fine_minutes: 60, coarse_minutes: 15, retention_minutes: 24 * 60 }
    }
}

/// A series of buckets: one-minute buckets for the recent past, coarser ones before.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimeSeries {
    /// (minute since the epoch, bucket), oldest first.
    fine: VecDeque<(u64, Bucket)>,
    /// (first minute of the period, bucket), oldest first.
    coarse: VecDeque<(u64, Bucket)>,
}

impl TimeSeries {
    /// Adds a bucket for `minute` (merged into an existing one for the same minute).
    pub fn add(&mut self, minute: u64, bucket: &Bucket, resolution: Resolution, now_minute: u64) {
        let fine_start = now_minute.saturating_sub(resolution.fine_minutes);
        if minute < fine_start {
            // Late data for an old minute goes straight to its coarse period.
            self.add_coarse(minute, bucket, resolution);
        } else {
            match self.fine.iter().rposition(|(m, _)| *m <= minute) {
                Some(i) if self.fine[i].0 == minute => self.fine[i].1.merge(bucket),
                Some(i) => self.fine.insert(i + 1, (minute, bucket.clone())),
                None => self.fine.push_front((minute, bucket.clone())),
            }
        }
        self.age(resolution, now_minute);
    }

    fn add_coarse(&mut self, minute: u64, bucket: &Bucket, resolution: Resolution) {
        let period = resolution.coarse_minutes.max(1);
        let start = minute - minute % period;
        let i = match self.coarse.iter().rposition(|(m, _)| *m <= start) {
            Some(i) if self.coarse[i].0 == start => {
                self.coarse[i].1.merge(bucket);
                i
            }
            Some(i) => {
                self.coarse.insert(i + 1, (start, bucket.clone()));
                i + 1
            }
            None => {
                self.coarse.push_front((start, bucket.clone()));
                0
            }
        };
        // Coarse buckets are read rarely and kept long: store them in their smallest form.
        self.coarse[i].1.latency.shrink();
    }

    /// Rolls fine buckets older than the fine window into coarse ones and drops what is older
    /// than the retention.
    pub fn age(&mut self, resolution: Resolution, now_minute: u64) {
        let fine_start = now_minute.saturating_sub(resolution.fine_minutes);
        while self.fine.front().is_some_and(|(m, _)| *m < fine_start) {
            if let Some((minute, bucket)) = self.fine.pop_front() {
                self.add_coarse(minute, &bucket, resolution);
            }
        }
        // A minute that has ended gets no more spans (but for late shards): shrink it once.
        if let Some((_, bucket)) = self.fine.iter_mut().rev().find(|(m, _)| *m + 1 == now_minute) {
            bucket.latency.shrink();
        }
        let keep_from = now_minute.saturating_sub(resolution.retention_minutes);
        while self.coarse.front().is_some_and(|(m, _)| *m + resolution.coarse_minutes.max(1) <= keep_from) {
            self.coarse.pop_front();
        }
    }

    /// True when no bucket is left.
    pub fn is_empty(&self) -> bool {
        self.fine.is_empty() && self.coarse.is_empty()
    }

    /// Buckets overlapping minutes `[start, end)`, oldest first, as (first minute, minutes long, bucket).
    pub fn buckets(&self, start: u64, end: u64, resolution: Resolution) -> impl Iterator<Item = (u64, u64, &Bucket)> {
        let period = resolution.coarse_minutes.max(1);
        let coarse = self.coarse.iter().map(move |(m, b)| (*m, period, b));
        let fine = self.fine.iter().map(|(m, b)| (*m, 1, b));
        coarse.chain(fine).filter(move |(m, len, _)| *m < end && m + len > start)
    }

    /// Every bucket overlapping `[start, end)` merged into one.
    pub fn total(&self, start: u64, end: u64, resolution: Resolution) -> Bucket {
        let mut total = Bucket::default();
        for (_, _, bucket) in self.buckets(start, end, resolution) {
            total.merge(bucket);
        }
        total
    }

    /// Heap bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(u64, Bucket)>();
        (self.fine.capacity() + self.coarse.capacity()) * entry
            + self.fine.iter().chain(&self.coarse).map(|(_, b)| b.heap_bytes()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(calls: u64, nanos: u64) -> Bucket {
        let mut b = Bucket::default();
        for _ in 0..calls {
            b.record(nanos, false);
        }
        b
    }

    #[test]
    fn same_minute_merges_and_order_is_kept() {
        let r = Resolution::default();
        let mut s = TimeSeries::default();
        s.add(100, &bucket(1, 10), r, 100);
        s.add(98, &bucket(2, 10), r, 100);
        s.add(100, &bucket(3, 10), r, 100);
        let minutes: Vec<_> = s.buckets(0, 1000, r).map(|(m, _, b)| (m, b.calls)).collect();
        assert_eq!(minutes, [(98, 2), (100, 4)]);
    }

    #[test]
    fn old_minutes_roll_up_and_expire() {
        let r = Resolution { fine_minutes: 10, coarse_minutes: 5, retention_minutes: 30 };
        let mut s = TimeSeries::default();
        for minute in 0..40 {
            s.add(minute, &bucket(1, 1_000), r, minute);
        }
        // Now = 39: fine keeps 29..=39; coarse periods of 5 minutes back to the one holding
        // minute 9 (retention 30): 5..=9, 10..=14, … 25..=28.
        let all: Vec<_> = s.buckets(0, 100, r).map(|(m, len, b)| (m, len, b.calls)).collect();
        assert_eq!(all.first(), Some(&(5, 5, 5)));
        assert!(all.iter().filter(|(_, len, _)| *len == 1).all(|(m, _, _)| *m >= 29));
        assert_eq!(all.iter().filter(|(_, len, _)| *len == 1).count(), 11);
        assert_eq!(s.total(0, 100, r).calls, 35);
        assert_eq!(s.total(35, 40, r).calls, 5);
    }
}
