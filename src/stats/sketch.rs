//! A mergeable latency sketch: quantiles of nanosecond durations within 1% relative error.
//!
//! The design is DDSketch's (Masson, Rim and Lee, VLDB 2019, <https://arxiv.org/abs/1908.10693>):
//! a duration `x` is counted in the logarithmic bin `i = ceil(log_γ x)`, which covers
//! `(γ^(i-1), γ^i]`, and the bin reports `2γ^i / (γ + 1)`; that value is within `(γ-1)/(γ+1)` of
//! everything in the bin. Here `γ = 2^(1/35)`, 35 bins per power of two: the fewest whose
//! `(γ-1)/(γ+1) = 0.990%` stays under [`RELATIVE_ACCURACY`]. Aligning bins to powers of two lets
//! the index be computed exactly from the integer's bits (leading zeros, then one table look-up
//! and one comparison against `floor(2^(63 + k/35))`), with no logarithm and no rounding.
//!
//! Invariants:
//! - Counts are exact, so the bin holding the sample element of rank `floor(q·(n-1))` is found
//!   exactly and the reported quantile is within 1% of that element; merging sketches gives
//!   bin-for-bin what inserting every value into one sketch gives.
//! - Every `u64` from 1 to `u64::MAX` falls in one of [`MAX_BINS`] bins (zero has its own count),
//!   so the bin count is bounded by construction and low bins never need collapsing.
//! - Storage follows the count: sparse `(index, count)` pairs packed in a `u32` while the sketch
//!   holds at most 2^20 - 1 values, a dense `u32` run while it holds at most `u32::MAX`, a dense
//!   `u64` run beyond. A bin never holds more than the sketch's total, so no bin can overflow.

#[cfg(test)]
mod tests;

use std::num::NonZeroU64;

/// Relative accuracy of every quantile.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Bins per power of two: `γ = 2^(1/35)`.
const BINS_PER_OCTAVE: u32 = 35;

/// Bins needed for every duration from 1 ns to `u64::MAX` ns (indices `0..=64·35`).
pub const MAX_BINS: usize = 64 * BINS_PER_OCTAVE as usize + 1;

/// `floor(2^(63 + k/35))` for `k` in `0..35`: the bin boundaries within one octave, as 64-bit
/// mantissas whose top bit is the leading one. Computed with 80-digit decimal arithmetic.
const OCTAVE_BOUNDARIES: [u64; BINS_PER_OCTAVE as usize] = [
    9_223_372_036_854_775_808,
    9_407_854_321_882_354_689,
    9_596_026_549_520_185_531,
    9_787_962_524_559_145_234,
    9_983_737_528_004_711_230,
    10_183_428_346_603_629_346,
    10_387_113_302_961_162_545,
    10_594_872_286_260_733_109,
    10_806_786_783_598_007_111,
    11_022_939_911_941_711_006,
    11_243_416_450_733_715_988,
    11_468_302_875_141_176_508,
    11_697_687_389_973_765_071,
    11_931_659_964_279_306_324,
    12_170_312_366_631_379_499,
    12_413_738_201_122_729_700,
    12_662_032_944_078_605_347,
    12_915_293_981_504_421_446,
    13_173_620_647_282_436_408,
    13_437_114_262_132_423_867,
    13_705_878_173_351_620_644,
    13_980_017_795_349_537_628,
    14_259_640_650_993_532_111,
    14_544_856_413_781_358_111,
    14_835_776_950_857_235_581,
    15_132_516_366_888_310_227,
    15_435_191_048_818_713_136,
    15_743_919_711_518_773_635,
    16_058_823_444_347_289_866,
    16_380_025_758_645_119_714,
    16_707_652_636_178_719_991,
    17_041_832_578_552_634_374,
    17_382_696_657_610_310_618,
    17_730_378_566_843_015_236,
    18_085_014_673_827_009_212,
];

/// Mantissa bits after the leading one that pick a slot of the look-up table. Boundaries are at
/// least 2% of the mantissa apart and a slot spans 1/64 of it, so a slot holds at most one.
const SLOT_BITS: u32 = 6;

/// One slot of the mantissa range: the bins wholly below it and the one boundary inside it.
#[derive(Clone, Copy)]
struct Slot {
    /// The boundary inside the slot, or `u64::MAX` (above every mantissa) when there is none.
    boundary: u64,
    /// Boundaries below the slot's first mantissa.
    bins_below: u32,
}

const SLOTS: [Slot; 1 << SLOT_BITS] = slots();

const fn slots() -> [Slot; 1 << SLOT_BITS] {
    let mut slots = [Slot { boundary: u64::MAX, bins_below: 0 }; 1 << SLOT_BITS];
    let width = 1u64 << (63 - SLOT_BITS);
    let mut s = 0;
    while s < slots.len() {
        let first = (1u64 << 63) + s as u64 * width;
        let last = first + (width - 1);
        let mut k = 0;
        while k < OCTAVE_BOUNDARIES.len() {
            let boundary = OCTAVE_BOUNDARIES[k];
            if boundary < first {
                slots[s].bins_below += 1;
            } else if boundary <= last {
                assert!(slots[s].boundary == u64::MAX, "two bin boundaries in one slot");
                slots[s].boundary = boundary;
            }
            k += 1;
        }
        s += 1;
    }
    slots
}

/// The bin of `nanos`: `ceil(35 · log2(nanos))`, exactly.
#[inline]
fn bin_index(nanos: NonZeroU64) -> u16 {
    let shift = nanos.leading_zeros();
    let mantissa = nanos.get() << shift;
    let slot = SLOTS[(mantissa >> (63 - SLOT_BITS)) as usize & ((1 << SLOT_BITS) - 1)];
    // Boundaries below the mantissa: those below its slot, plus the slot's own if passed.
    let within = slot.bins_below + u32::from(mantissa > slot.boundary);
    ((63 - shift) * BINS_PER_OCTAVE + within) as u16
}

/// `floor(2^(index/35))`, saturating at `u64::MAX`.
fn floor_power(index: u16) -> u64 {
    let octave = u32::from(index) / BINS_PER_OCTAVE;
    let step = usize::from(index) % BINS_PER_OCTAVE as usize;
    if octave > 63 {
        u64::MAX
    } else {
        OCTAVE_BOUNDARIES[step] >> (63 - octave)
    }
}

/// The integers in bin `index`, inclusive; empty (`lower > upper`) for bins below 2 that hold none.
fn bin_integers(index: u16) -> (u64, u64) {
    let lower = index.checked_sub(1).map_or(1, |below| floor_power(below) + 1);
    (lower, floor_power(index))
}

/// The value bin `index` reports: `2γ^i / (γ + 1)`, within 0.99% of everything in the bin, moved
/// into the bin's integer range where that range is narrower (so durations to 50 ns are exact).
fn bin_value(index: u16) -> f64 {
    let gamma = (1.0 / f64::from(BINS_PER_OCTAVE)).exp2();
    let value = 2.0 * (f64::from(index) / f64::from(BINS_PER_OCTAVE)).exp2() / (gamma + 1.0);
    let (lower, upper) = bin_integers(index);
    value.max(lower as f64).min(upper as f64)
}

/// Rank (from 0) of the sample element that is "the" `q` quantile of `count` values.
fn quantile_rank(q: f64, count: u64) -> u64 {
    ((q * (count - 1) as f64).floor() as u64).min(count - 1)
}

/// A sketch of nanosecond durations answering quantiles within [`RELATIVE_ACCURACY`].
///
/// Equality compares contents (count, sum, extremes and every bin), not storage.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(into = "SketchParts", try_from = "SketchParts")]
pub struct LatencySketch {
    /// Values added, zeros included.
    count: u64,
    /// Values of exactly 0 ns, kept out of the bins.
    zero_count: u64,
    sum: u128,
    /// `u64::MAX` while empty.
    min: u64,
    /// 0 while empty.
    max: u64,
    bins: Bins,
}

impl Default for LatencySketch {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for LatencySketch {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count
            && self.zero_count == other.zero_count
            && self.sum == other.sum
            && self.min == other.min
            && self.max == other.max
            && self.bins.iter().eq(other.bins.iter())
    }
}

impl Eq for LatencySketch {}

impl LatencySketch {
    /// An empty sketch; it allocates nothing until the first non-zero value.
    pub fn new() -> Self {
        Self { count: 0, zero_count: 0, sum: 0, min: u64::MAX, max: 0, bins: Bins::default() }
    }

    /// Adds one duration.
    #[inline]
    pub fn add(&mut self, nanos: u64) {
        self.add_n(nanos, 1);
    }

    /// Adds one duration `n` times, as `n` calls of [`add`](Self::add) would.
    #[inline]
    pub fn add_n(&mut self, nanos: u64, n: u64) {
        if n == 0 {
            return;
        }
        self.count = self.count.saturating_add(n);
        self.sum = self.sum.saturating_add(u128::from(nanos) * u128::from(n));
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
        match NonZeroU64::new(nanos) {
            Some(nanos) => self.bins.add(bin_index(nanos), n, self.count),
            None => self.zero_count = self.zero_count.saturating_add(n),
        }
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &LatencySketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.clone_from(other);
            return;
        }
        self.count = self.count.saturating_add(other.count);
        self.zero_count = self.zero_count.saturating_add(other.zero_count);
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.bins.merge(&other.bins, self.count);
    }

    /// Values added, zeros included.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values added, in nanoseconds (exact; saturates at `u128::MAX`).
    pub fn sum_nanos(&self) -> u128 {
        self.sum
    }

    /// Smallest value added, exactly.
    pub fn min_nanos(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value added, exactly.
    pub fn max_nanos(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// The `q` quantile in nanoseconds: within 1% of the sample element of rank `floor(q·(n-1))`
    /// (from 0, in ascending order). `q` is clamped to `[0, 1]`; 0 and 1 give the exact minimum
    /// and maximum. `None` when empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        if q <= 0.0 {
            return Some(self.min as f64);
        }
        if q >= 1.0 {
            return Some(self.max as f64);
        }
        let rank = quantile_rank(q, self.count);
        let Some(rank) = rank.checked_sub(self.zero_count) else {
            return Some(0.0);
        };
        match self.bins.bin_at_rank(rank, self.count - self.zero_count) {
            // Within the extremes is never further from the true value than outside them.
            Some(index) => Some(bin_value(index).max(self.min as f64).min(self.max as f64)),
            // Only when counts have saturated at u64::MAX.
            None => Some(self.max as f64),
        }
    }

    /// Heap bytes held, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.bins.heap_bytes()
    }

    /// Stores the bins compactly (sparse when scattered, else a dense run) with no spare capacity;
    /// for sketches that are done growing, such as a closed minute's.
    pub fn shrink(&mut self) {
        self.bins = self.bins.compacted(self.count);
    }
}

/// A sketch as saved in a statistics checkpoint: its totals and non-empty bins.
#[derive(serde::Serialize, serde::Deserialize)]
struct SketchParts {
    count: u64,
    zero_count: u64,
    sum: u128,
    min: u64,
    max: u64,
    /// `(index, count)` by increasing index.
    bins: Vec<(u16, u64)>,
}

impl From<LatencySketch> for SketchParts {
    fn from(s: LatencySketch) -> Self {
        let bins = s.bins.iter().collect();
        Self { count: s.count, zero_count: s.zero_count, sum: s.sum, min: s.min, max: s.max, bins }
    }
}

impl TryFrom<SketchParts> for LatencySketch {
    type Error = String;

    fn try_from(parts: SketchParts) -> Result<Self, String> {
        let mut sketch = Self::new();
        let mut binned = 0u64;
        for &(index, n) in &parts.bins {
            binned = binned.checked_add(n).ok_or("bin counts overflow")?;
            sketch.bins.add(index, n, binned);
        }
        if binned.checked_add(parts.zero_count) != Some(parts.count) || (parts.count > 0 && parts.min > parts.max) {
            return Err(format!(
                "a sketch of {} values holds {binned} binned and {} zeros",
                parts.count, parts.zero_count
            ));
        }
        sketch.count = parts.count;
        sketch.zero_count = parts.zero_count;
        sketch.sum = parts.sum;
        sketch.min = parts.min;
        sketch.max = parts.max;
        sketch.shrink();
        Ok(sketch)
    }
}

/// Most values a sparse sketch holds: what a [`SparseBin`]'s count field holds.
const SPARSE_MAX_COUNT: u64 = (1 << SparseBin::COUNT_BITS) - 1;

/// Non-empty bins a sparse sketch grows to before it turns dense (an insert shifts 256 bytes at most).
const SPARSE_MAX_BINS: usize = 64;

/// The bins, in the narrowest form the sketch's total count allows.
#[derive(Clone, Debug)]
enum Bins {
    /// Non-empty bins sorted by index, while the sketch holds at most [`SPARSE_MAX_COUNT`] values.
    Sparse(Vec<SparseBin>),
    /// Every bin of a run, while the sketch holds at most `u32::MAX` values.
    Dense32(DenseBins<u32>),
    /// Every bin of a run, beyond that.
    Dense64(DenseBins<u64>),
}

impl Default for Bins {
    fn default() -> Self {
        Bins::Sparse(Vec::new())
    }
}

impl Bins {
    /// Adds `n` to bin `index`; `total` is the sketch's count including them.
    #[inline]
    fn add(&mut self, index: u16, n: u64, total: u64) {
        match self {
            Bins::Dense32(bins) if total <= u64::from(u32::MAX) => bins.add(index, n),
            Bins::Dense64(bins) => bins.add(index, n),
            _ => self.add_slow(index, n, total),
        }
    }

    fn add_slow(&mut self, index: u16, n: u64, total: u64) {
        if let Bins::Sparse(bins) = self {
            if total <= SPARSE_MAX_COUNT && sparse_add(bins, index, n) {
                return;
            }
        }
        self.widen(total);
        self.add(index, n, total);
    }

    /// Moves to the next wider form: sparse to dense (of the width `total` needs), 32 to 64 bits.
    fn widen(&mut self, total: u64) {
        *self = match std::mem::take(self) {
            Bins::Sparse(bins) if total > u64::from(u32::MAX) => Bins::Dense64(DenseBins::from_sparse(&bins)),
            Bins::Sparse(bins) => Bins::Dense32(DenseBins::from_sparse(&bins)),
            Bins::Dense32(bins) => Bins::Dense64(bins.widen()),
            wide @ Bins::Dense64(_) => wide,
        };
    }

    /// Adds every bin of `other`; `total` is the sketch's count including them.
    fn merge(&mut self, other: &Bins, total: u64) {
        match (&mut *self, other) {
            (Bins::Dense32(bins), Bins::Dense32(more)) if total <= u64::from(u32::MAX) => bins.add_run(more),
            (Bins::Dense64(bins), Bins::Dense32(more)) => bins.add_run(more),
            (Bins::Dense64(bins), Bins::Dense64(more)) => bins.add_run(more),
            _ => {
                for (index, count) in other.iter() {
                    self.add(index, count, total);
                }
            }
        }
    }

    /// The bin holding the value of rank `rank` (from 0) of the `binned` values in bins.
    fn bin_at_rank(&self, rank: u64, binned: u64) -> Option<u16> {
        match self {
            Bins::Sparse(bins) => bin_at_rank(bins.iter().map(|bin| (bin.index(), bin.count())), rank, binned),
            Bins::Dense32(bins) => bin_at_rank(bins.run(), rank, binned),
            Bins::Dense64(bins) => bin_at_rank(bins.run(), rank, binned),
        }
    }

    /// Non-empty bins as `(index, count)`, by increasing index.
    fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        let sparse = match self {
            Bins::Sparse(bins) => Some(bins.iter().map(|bin| (bin.index(), bin.count()))),
            _ => None,
        };
        let dense32 = match self {
            Bins::Dense32(bins) => Some(bins.iter()),
            _ => None,
        };
        let dense64 = match self {
            Bins::Dense64(bins) => Some(bins.iter()),
            _ => None,
        };
        sparse.into_iter().flatten().chain(dense32.into_iter().flatten()).chain(dense64.into_iter().flatten())
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Bins::Sparse(bins) => bins.capacity() * size_of::<SparseBin>(),
            Bins::Dense32(bins) => bins.counts.capacity() * size_of::<u32>(),
            Bins::Dense64(bins) => bins.counts.capacity() * size_of::<u64>(),
        }
    }

    /// The same bins for a sketch of `total` values, with exact capacity: sparse when that takes at
    /// most half the bytes of the dense run (scattered bins), else dense (faster to merge) of the
    /// width the total needs.
    fn compacted(&self, total: u64) -> Bins {
        let (mut occupied, mut first, mut last) = (0, None, 0);
        for (index, _) in self.iter() {
            occupied += 1;
            first.get_or_insert(index);
            last = index;
        }
        let Some(first) = first else {
            return Bins::default();
        };
        let span = usize::from(last - first) + 1;
        if total <= SPARSE_MAX_COUNT && occupied * 2 <= span {
            let mut bins = Vec::with_capacity(occupied);
            bins.extend(self.iter().map(|(index, count)| SparseBin::new(index, count)));
            Bins::Sparse(bins)
        } else if total <= u64::from(u32::MAX) {
            Bins::Dense32(DenseBins::from_bins(first, span, self.iter()))
        } else {
            Bins::Dense64(DenseBins::from_bins(first, span, self.iter()))
        }
    }
}

/// The bin holding the value of rank `rank` (from 0) among the `binned` values of `bins`, walking
/// from the nearer end: high quantiles, the ones asked for most, are a few bins from the top.
fn bin_at_rank(bins: impl DoubleEndedIterator<Item = (u16, u64)>, rank: u64, binned: u64) -> Option<u16> {
    match binned.checked_sub(rank + 1) {
        Some(from_top) if from_top < rank => first_holding(bins.rev(), from_top),
        _ => first_holding(bins, rank),
    }
}

/// The first of `bins` whose counts, summed from the first, pass `rank`.
fn first_holding(bins: impl Iterator<Item = (u16, u64)>, mut rank: u64) -> Option<u16> {
    for (index, count) in bins {
        if rank < count {
            return Some(index);
        }
        rank -= count;
    }
    None
}

/// Adds `n` to bin `index` of sorted sparse bins; false, changing nothing, when that would take a
/// new bin past [`SPARSE_MAX_BINS`]. The sketch's total bounds every count, so none overflows.
fn sparse_add(bins: &mut Vec<SparseBin>, index: u16, n: u64) -> bool {
    let at = bins.partition_point(|bin| bin.index() < index);
    if let Some(bin) = bins.get_mut(at).filter(|bin| bin.index() == index) {
        *bin = SparseBin::new(index, bin.count() + n);
    } else if bins.len() < SPARSE_MAX_BINS {
        bins.insert(at, SparseBin::new(index, n));
    } else {
        return false;
    }
    true
}

/// One non-empty bin of sparse storage: index in the top 12 bits, count in the low 20, so ordering
/// the `u32`s orders the bins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SparseBin(u32);

const _: () = assert!(MAX_BINS <= 1 << (32 - SparseBin::COUNT_BITS), "bin index must fit the sparse index field");

impl SparseBin {
    const COUNT_BITS: u32 = 20;

    fn new(index: u16, count: u64) -> Self {
        debug_assert!(count <= SPARSE_MAX_COUNT);
        Self(u32::from(index) << Self::COUNT_BITS | count as u32)
    }

    fn index(self) -> u16 {
        (self.0 >> Self::COUNT_BITS) as u16
    }

    fn count(self) -> u64 {
        u64::from(self.0 & ((1 << Self::COUNT_BITS) - 1))
    }
}

/// A count type of dense bins.
trait BinCount: Copy + Default + Into<u64> + PartialEq {
    /// `self + n`; the caller keeps the sum in range (saturates otherwise).
    fn plus(self, n: u64) -> Self;
}

impl BinCount for u32 {
    #[inline]
    fn plus(self, n: u64) -> Self {
        u32::try_from(u64::from(self).saturating_add(n)).unwrap_or(u32::MAX)
    }
}

impl BinCount for u64 {
    #[inline]
    fn plus(self, n: u64) -> Self {
        self.saturating_add(n)
    }
}

/// Bins `offset..offset + counts.len()`, every one stored; grows at either end as needed.
#[derive(Clone, Debug, Default)]
struct DenseBins<T> {
    offset: u16,
    counts: Vec<T>,
}

impl<T: BinCount> DenseBins<T> {
    fn from_sparse(bins: &[SparseBin]) -> Self {
        match (bins.first(), bins.last()) {
            (Some(first), Some(last)) => Self::from_bins(
                first.index(),
                usize::from(last.index() - first.index()) + 1,
                bins.iter().map(|bin| (bin.index(), bin.count())),
            ),
            _ => Self { offset: 0, counts: Vec::new() },
        }
    }

    /// A run of `span` bins from `first`, holding `bins` (all within the run).
    fn from_bins(first: u16, span: usize, bins: impl Iterator<Item = (u16, u64)>) -> Self {
        let mut counts = vec![T::default(); span];
        for (index, count) in bins {
            counts[usize::from(index - first)] = T::default().plus(count);
        }
        Self { offset: first, counts }
    }

    #[inline]
    fn add(&mut self, index: u16, n: u64) {
        // Below the offset wraps to far beyond any run's length.
        let mut at = usize::from(index.wrapping_sub(self.offset));
        if at >= self.counts.len() {
            self.cover(index, index);
            at = usize::from(index - self.offset);
        }
        self.counts[at] = self.counts[at].plus(n);
    }

    /// Adds every bin of `other`.
    fn add_run<U: BinCount>(&mut self, other: &DenseBins<U>) {
        let Some(span) = other.counts.len().checked_sub(1) else {
            return;
        };
        self.cover(other.offset, other.offset + span as u16);
        let start = usize::from(other.offset - self.offset);
        for (count, &more) in self.counts[start..].iter_mut().zip(&other.counts) {
            *count = count.plus(more.into());
        }
    }

    /// Grows the run to include bins `first..=last`.
    fn cover(&mut self, first: u16, last: u16) {
        if self.counts.is_empty() {
            self.offset = first;
        }
        if first < self.offset {
            let extra = usize::from(self.offset - first);
            self.counts.splice(0..0, std::iter::repeat_n(T::default(), extra));
            self.offset = first;
        }
        let len = usize::from(last - self.offset) + 1;
        if len > self.counts.len() {
            self.counts.resize(len, T::default());
        }
    }

    /// Every bin of the run as `(index, count)`, empty ones included.
    fn run(&self) -> impl DoubleEndedIterator<Item = (u16, u64)> + '_ {
        let offset = self.offset;
        self.counts.iter().enumerate().map(move |(at, count)| (offset + at as u16, (*count).into()))
    }

    /// Non-empty bins as `(index, count)`, by increasing index.
    fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        let offset = self.offset;
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count != T::default())
            .map(move |(at, count)| (offset + at as u16, (*count).into()))
    }
}

impl DenseBins<u32> {
    fn widen(self) -> DenseBins<u64> {
        DenseBins { offset: self.offset, counts: self.counts.into_iter().map(u64::from).collect() }
    }
}
