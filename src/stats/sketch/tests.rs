use proptest::prelude::*;

use super::*;

const QUANTILES: [f64; 6] = [0.01, 0.1, 0.5, 0.9, 0.99, 0.999];

fn sketch_of(values: &[u64]) -> LatencySketch {
    let mut sketch = LatencySketch::new();
    for &v in values {
        sketch.add(v);
    }
    sketch
}

/// The sample element the sketch's `q` quantile stands for: rank `floor(q·(n-1))` of the sorted values.
fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

fn relative_error(estimate: f64, exact: u64) -> f64 {
    if exact == 0 {
        if estimate == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (estimate - exact as f64).abs() / exact as f64
    }
}

/// `(γ-1)/(γ+1)` for `γ = 2^(1/bins_per_octave)`: the worst relative error of a bin's value.
fn bin_accuracy(bins_per_octave: u32) -> f64 {
    let gamma = (1.0 / f64::from(bins_per_octave)).exp2();
    (gamma - 1.0) / (gamma + 1.0)
}

/// The bin index by its definition, `ceil(35 · log2 x)`, counted against the boundary table
/// without the slot look-up.
fn reference_index(x: u64) -> u16 {
    let shift = x.leading_zeros();
    let mantissa = x << shift;
    let within = OCTAVE_BOUNDARIES.iter().filter(|&&b| b < mantissa).count() as u32;
    ((63 - shift) * BINS_PER_OCTAVE + within) as u16
}

fn index(x: u64) -> u16 {
    bin_index(NonZeroU64::new(x).expect("test values are non-zero"))
}

#[test]
fn thirty_five_bins_per_octave_is_the_fewest_within_the_accuracy() {
    assert!(bin_accuracy(BINS_PER_OCTAVE) < RELATIVE_ACCURACY);
    assert!(bin_accuracy(BINS_PER_OCTAVE - 1) > RELATIVE_ACCURACY);
}

#[test]
fn boundary_table_matches_powers_of_two() {
    for (k, &boundary) in OCTAVE_BOUNDARIES.iter().enumerate() {
        let expected = (k as f64 / f64::from(BINS_PER_OCTAVE)).exp2() * 2f64.powi(63);
        let error = (boundary as f64 - expected).abs() / expected;
        assert!(error < 1e-15, "boundary {k}: {boundary} vs {expected}");
    }
    assert!(OCTAVE_BOUNDARIES.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn fast_index_matches_the_definition_at_every_boundary_and_slot_edge() {
    let slot_width = 1u64 << (63 - SLOT_BITS);
    let mut mantissas: Vec<u64> = OCTAVE_BOUNDARIES.iter().flat_map(|&b| [b - 1, b, b + 1]).collect();
    for s in 0..1u64 << SLOT_BITS {
        let first = (1 << 63) + s * slot_width;
        mantissas.extend([first, first + 1, first + (slot_width - 1), first + slot_width / 2]);
    }
    mantissas.push(u64::MAX);
    for shift in 0..64 {
        for &m in &mantissas {
            // Every octave: the mantissa's top bits, so low octaves see truncated boundaries.
            let x = m >> shift;
            if x == 0 {
                continue;
            }
            assert_eq!(index(x), reference_index(x), "x = {x}");
        }
    }
    assert_eq!(index(1), 0);
    assert_eq!(index(2), 35);
    assert_eq!(index(u64::MAX), (MAX_BINS - 1) as u16);
}

/// Proves the accuracy guarantee for every `u64`: the bins tile `1..=u64::MAX` in order (the
/// index is monotone), each bin's integer range maps to it, and the value it reports is within
/// 0.99% of both ends of that range, hence of every integer in it.
#[test]
fn every_duration_is_reported_within_the_accuracy() {
    let bound = bin_accuracy(BINS_PER_OCTAVE) * (1.0 + 1e-12);
    let mut next = 1u64;
    let mut nonempty = 0;
    for i in 0..MAX_BINS as u16 {
        let (lower, upper) = bin_integers(i);
        if lower > upper {
            continue;
        }
        nonempty += 1;
        assert_eq!(lower, next, "bin {i} starts where the previous one ended");
        assert_eq!((index(lower), index(upper)), (i, i), "bin {i} holds [{lower}, {upper}]");
        let value = bin_value(i);
        let worst = relative_error(value, lower).max(relative_error(value, upper));
        assert!(worst <= bound, "bin {i} [{lower}, {upper}] reports {value}: {worst}");
        next = upper.wrapping_add(1);
    }
    assert_eq!(next, 0, "the last bin ends at u64::MAX");
    assert!(nonempty > 2_000);
}

#[test]
fn durations_up_to_fifty_nanoseconds_are_exact() {
    // Up to there a bin is narrower than 1 ns, so it holds one integer at most.
    for nanos in 1..=50 {
        let sketch = sketch_of(&[nanos, nanos + 1_000_000]);
        assert_eq!(sketch.quantile(0.4), Some(nanos as f64), "{nanos} ns");
    }
}

#[test]
fn empty_sketch_has_no_figures() {
    let sketch = LatencySketch::new();
    assert_eq!(sketch, LatencySketch::default());
    assert_eq!(sketch.count(), 0);
    assert_eq!(sketch.sum_nanos(), 0);
    assert_eq!((sketch.min_nanos(), sketch.max_nanos()), (None, None));
    assert_eq!(sketch.quantile(0.5), None);
    assert_eq!(sketch.quantile(0.0), None);
    assert_eq!(sketch.heap_bytes(), 0);
}

#[test]
fn single_value_is_every_quantile() {
    let sketch = sketch_of(&[1_234_567]);
    for q in [0.0, 0.01, 0.5, 0.999, 1.0] {
        assert_eq!(sketch.quantile(q), Some(1_234_567.0));
    }
    assert_eq!((sketch.count(), sketch.sum_nanos()), (1, 1_234_567));
    assert_eq!((sketch.min_nanos(), sketch.max_nanos()), (Some(1_234_567), Some(1_234_567)));
}

#[test]
fn zeros_are_counted_apart_and_reported_exactly() {
    let mut sketch = sketch_of(&[0, 0, 0, 5_000]);
    assert_eq!(sketch.count(), 4);
    assert_eq!(sketch.quantile(0.5), Some(0.0));
    assert_eq!(sketch.quantile(0.99), Some(0.0));
    assert_eq!(sketch.quantile(1.0), Some(5_000.0));
    assert_eq!(sketch.min_nanos(), Some(0));
    sketch.add_n(0, 10);
    assert_eq!(sketch.count(), 14);
    assert_eq!(sketch.bins.iter().map(|(_, c)| c).sum::<u64>(), 1);
    assert_eq!(sketch_of(&[0]).quantile(0.5), Some(0.0));
}

#[test]
fn extreme_quantiles_are_the_exact_min_and_max() {
    let values = [1_001, 1_999, 37_123, 999_999_937];
    let sketch = sketch_of(&values);
    assert_eq!(sketch.quantile(0.0), Some(1_001.0));
    assert_eq!(sketch.quantile(1.0), Some(999_999_937.0));
    assert_eq!(sketch.quantile(-3.0), Some(1_001.0));
    assert_eq!(sketch.quantile(7.0), Some(999_999_937.0));
    assert_eq!(sketch.quantile(f64::NAN), None);
}

#[test]
fn sum_min_and_max_are_exact() {
    let values = [u64::MAX, u64::MAX, 1, 7];
    let sketch = sketch_of(&values);
    assert_eq!(sketch.sum_nanos(), 2 * u128::from(u64::MAX) + 8);
    assert_eq!((sketch.min_nanos(), sketch.max_nanos()), (Some(1), Some(u64::MAX)));
    assert!(relative_error(sketch.quantile(0.7).unwrap(), u64::MAX) <= RELATIVE_ACCURACY);
}

#[test]
fn add_n_equals_repeated_add() {
    let mut weighted = LatencySketch::new();
    weighted.add_n(5_000, 3);
    weighted.add_n(70, 2);
    weighted.add_n(9, 0);
    assert_eq!(weighted, sketch_of(&[5_000, 70, 5_000, 70, 5_000]));
}

#[test]
fn merge_of_disjoint_sketches_equals_one_sketch_of_everything() {
    let low: Vec<u64> = (1..=500).map(|i| i * 1_000).collect();
    let high: Vec<u64> = (1..=500).map(|i| i * 10_000_000).collect();
    let mut merged = sketch_of(&low);
    merged.merge(&sketch_of(&high));
    let all: Vec<u64> = low.iter().chain(&high).copied().collect();
    let single = sketch_of(&all);
    assert_eq!(merged, single);
    assert!(merged.bins.iter().eq(single.bins.iter()), "bin for bin");
    // Merging in the other order, into the higher sketch, grows its run downwards.
    let mut reversed = sketch_of(&high);
    reversed.merge(&sketch_of(&low));
    assert_eq!(reversed, single);
}

#[test]
fn merge_of_overlapping_sketches_equals_one_sketch_of_everything() {
    let a: Vec<u64> = (0..3_000).map(|i| 1_000 + i * 997).collect();
    let b: Vec<u64> = (0..20).map(|i| 1_500 + i * 150_001).collect();
    let c = [0, 0, 42];
    let mut merged = LatencySketch::new();
    for part in [&a[..], &b[..], &c[..], &[][..]] {
        let mut sketch = sketch_of(part);
        sketch.shrink();
        merged.merge(&sketch);
    }
    let all: Vec<u64> = a.iter().chain(&b).chain(&c).copied().collect();
    let single = sketch_of(&all);
    assert_eq!(merged, single);
    assert!(merged.bins.iter().eq(single.bins.iter()), "bin for bin");
    assert_eq!(merged.sum_nanos(), all.iter().map(|&v| u128::from(v)).sum::<u128>());
}

#[test]
fn merging_an_empty_sketch_changes_nothing() {
    let mut sketch = sketch_of(&[3, 4_000, 5_000_000]);
    let before = sketch.clone();
    sketch.merge(&LatencySketch::new());
    assert_eq!(sketch, before);
}

#[test]
fn large_counts_move_to_64_bit_bins_without_overflow() {
    let mut sketch = LatencySketch::new();
    sketch.add_n(1_000, u64::from(u32::MAX));
    assert!(matches!(sketch.bins, Bins::Dense32(_)));
    sketch.add_n(1_000, 10);
    sketch.add(1_000_000);
    assert!(matches!(sketch.bins, Bins::Dense64(_)));
    assert_eq!(sketch.count(), u64::from(u32::MAX) + 11);
    assert_eq!(
        sketch.bins.iter().collect::<Vec<_>>(),
        [(index(1_000), u64::from(u32::MAX) + 10), (index(1_000_000), 1)]
    );
    let p50 = sketch.quantile(0.5).unwrap();
    assert!(relative_error(p50, 1_000) <= RELATIVE_ACCURACY);

    // Two 32-bit sketches whose sum needs 64 bits.
    let mut a = LatencySketch::new();
    a.add_n(7_000, 3_000_000_000);
    a.add(1);
    let mut b = LatencySketch::new();
    b.add_n(7_000, 3_000_000_000);
    b.add(1 << 40);
    a.merge(&b);
    assert!(matches!(a.bins, Bins::Dense64(_)));
    assert_eq!(a.bins.iter().find(|(i, _)| *i == index(7_000)), Some((index(7_000), 6_000_000_000)));
    assert_eq!(a.count(), 6_000_000_002);

    // Counts saturate rather than wrap.
    let mut huge = LatencySketch::new();
    huge.add_n(u64::MAX, u64::MAX);
    huge.add_n(u64::MAX, u64::MAX);
    huge.add_n(2, 5);
    assert_eq!(huge.count(), u64::MAX);
    assert_eq!(huge.sum_nanos(), u128::MAX);
    assert!(relative_error(huge.quantile(0.5).unwrap(), u64::MAX) <= RELATIVE_ACCURACY);
}

#[test]
fn few_values_stay_sparse_and_many_turn_dense() {
    // Ten values over two decades: a dense run would span ~230 bins.
    let few: Vec<u64> = (0..10).map(|i| 1_000_000 + i * 11_000_000).collect();
    let mut sketch = sketch_of(&few);
    assert!(matches!(sketch.bins, Bins::Sparse(_)));
    sketch.shrink();
    assert_eq!(sketch.heap_bytes(), 10 * size_of::<u32>());

    let many: Vec<u64> = (0..5_000).map(|i| 100_000 + i * 997).collect();
    let mut sketch = sketch_of(&many);
    assert!(matches!(sketch.bins, Bins::Dense32(_)));
    let before = sketch.clone();
    sketch.shrink();
    assert_eq!(sketch, before);
    let (first, last) = (index(100_000), index(*many.last().unwrap()));
    assert_eq!(sketch.heap_bytes(), (usize::from(last - first) + 1) * size_of::<u32>());
}

#[test]
fn shrink_returns_a_scattered_dense_sketch_to_sparse() {
    // 80 distinct bins over a run of ~700: dense while growing, sparse once closed.
    let values: Vec<u64> = (0..80).map(|i| 1u64 << (i / 4 + 10) | (i % 4) << (i / 4 + 8)).collect();
    let mut sketch = sketch_of(&values);
    assert!(matches!(sketch.bins, Bins::Dense32(_)));
    let before = sketch.clone();
    sketch.shrink();
    assert!(matches!(sketch.bins, Bins::Sparse(_)));
    assert_eq!(sketch, before);
    assert!(sketch.heap_bytes() < before.heap_bytes() / 4);
    // Still takes new values, turning dense again past the sparse limit.
    sketch.add(3);
    assert!(matches!(sketch.bins, Bins::Dense32(_)));
    let mut expected = before;
    expected.add(3);
    assert_eq!(sketch, expected);
}

/// Durations from 1 ns to 1e12 ns, log-uniform, with heavy (Pareto) tails, zeros, repeats and
/// arbitrary 64-bit values.
fn duration() -> impl Strategy<Value = u64> {
    prop_oneof![
        12 => (0.0f64..12.0).prop_map(|e| 10f64.powf(e) as u64),
        4 => (1e-12f64..1.0).prop_map(|u| (10_000.0 * u.powf(-1.0 / 1.1)) as u64),
        1 => Just(0u64),
        1 => prop::sample::select(vec![1u64, 2, 1_000, 1_048_576, 999_999_999]),
        1 => any::<u64>(),
    ]
}

proptest! {
    #[test]
    fn quantiles_are_within_one_percent_of_the_exact_rank(values in prop::collection::vec(duration(), 1..5_000)) {
        let sketch = sketch_of(&values);
        let mut sorted = values;
        sorted.sort_unstable();
        for q in QUANTILES {
            let exact = exact_quantile(&sorted, q);
            let estimate = sketch.quantile(q).unwrap();
            let error = relative_error(estimate, exact);
            prop_assert!(error <= RELATIVE_ACCURACY, "q = {}: {} for {}, error {}", q, estimate, exact, error);
        }
        prop_assert_eq!(sketch.count(), sorted.len() as u64);
        prop_assert_eq!(sketch.quantile(0.0), Some(sorted[0] as f64));
        prop_assert_eq!(sketch.quantile(1.0), Some(sorted[sorted.len() - 1] as f64));
    }

    #[test]
    fn merging_parts_equals_one_sketch_of_everything(
        values in prop::collection::vec(duration(), 0..3_000),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        shrink in prop::collection::vec(any::<bool>(), 13),
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(values.len() + 1)).collect();
        cuts.extend([0, values.len()]);
        cuts.sort_unstable();
        let mut merged = LatencySketch::new();
        // Merge the parts last to first, shrinking some, into one that already holds part of them.
        for (part, shrink) in cuts.windows(2).rev().zip(&shrink) {
            let mut sketch = sketch_of(&values[part[0]..part[1]]);
            if *shrink {
                sketch.shrink();
            }
            merged.merge(&sketch);
        }
        let single = sketch_of(&values);
        prop_assert_eq!(&merged, &single);
        prop_assert!(merged.bins.iter().eq(single.bins.iter()), "bin for bin");
        for q in QUANTILES {
            prop_assert_eq!(merged.quantile(q), single.quantile(q));
        }
    }
}
