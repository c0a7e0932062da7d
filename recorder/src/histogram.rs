//! Fixed-bucket atomic histograms (rendered by `crate::exposition`).
//!
//! `metrics-exporter-prometheus` buffers every raw observation in blocks until the next
//! render or upkeep, which allocates on the recording path. Catalog histograms have
//! their buckets fixed up front, so the recorder keeps one atomic counter per bucket
//! instead: an observation is a bucket search, one atomic add and a CAS on the sum,
//! with no allocation.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::exemplar::Exemplars;

/// Most bounds [`AtomicHistogram::observe`] counts through rather than binary-searches.
const LINEAR_SEARCH_MAX: usize = 16;

/// One histogram series: per-bucket counts (the last bucket is `+Inf`) and the sum.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    bounds: &'static [f64],
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
    /// Labels pre-rendered for exposition, e.g. `source_id="a",` (escaped, with a trailing
    /// comma so `le` can follow).
    labels: Box<str>,
    /// One exemplar slot per bucket, allocated on the first exemplar.
    pub(crate) exemplars: Exemplars,
}

impl AtomicHistogram {
    /// An empty series with catalog `bounds` and labels rendered by
    /// [`crate::cells::label_pairs`].
    pub(crate) fn new(bounds: &'static [f64], labels: &str) -> Self {
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{labels},")
        };
        AtomicHistogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_bits: AtomicU64::new(0f64.to_bits()),
            labels: labels.into_boxed_str(),
            exemplars: Exemplars::default(),
        }
    }

    /// Records one observation (finite; callers check).
    #[inline]
    pub(crate) fn observe(&self, value: f64) {
        self.observe_in(self.bucket_of(value), value);
    }

    /// Records one observation (finite; callers check) with `trace_id` (checked) as
    /// the exemplar of its bucket.
    pub(crate) fn observe_with_exemplar(&self, value: f64, trace_id: &str) {
        let bucket = self.bucket_of(value);
        self.observe_in(bucket, value);
        self.exemplars
            .record(self.counts.len(), bucket, trace_id, value);
    }

    /// First bucket whose upper bound is >= value (`le` is inclusive); `+Inf` otherwise.
    /// The bounds are sorted, so that is the number of bounds below `value`. Up to
    /// [`LINEAR_SEARCH_MAX`] bounds, counting them compares every bound at once (no
    /// dependent chain: a binary search's loads and compares follow one another, and
    /// a branchy scan mispredicts); beyond, the binary search's fewer steps win.
    #[inline]
    fn bucket_of(&self, value: f64) -> usize {
        if self.bounds.len() <= LINEAR_SEARCH_MAX {
            self.bounds
                .iter()
                .map(|bound| usize::from(*bound < value))
                .sum()
        } else {
            self.bounds.partition_point(|bound| *bound < value)
        }
    }

    #[inline]
    fn observe_in(&self, bucket: usize, value: f64) {
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let mut current = self.sum_bits.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match self.sum_bits.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
    }

    /// Per-bucket (not cumulative) counts; the last one is the `+Inf` bucket.
    pub(crate) fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
    }

    /// The sum of the observations.
    pub(crate) fn sum(&self) -> f64 {
        f64::from_bits(self.sum_bits.load(Ordering::Relaxed))
    }

    /// Labels as rendered by [`crate::cells::label_pairs`] followed by a comma (so `le`
    /// can follow), or empty.
    pub(crate) fn labels(&self) -> &str {
        &self.labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BOUNDS: &[f64] = &[0.1, 0.5, 1.0];
    /// More bounds than `LINEAR_SEARCH_MAX`: the binary search's side.
    const MANY_BOUNDS: &[f64] = &[
        0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8,
        1.9, 2.0,
    ];

    proptest! {
        /// Both searches find the first bound at or above the value, bounds included.
        #[test]
        fn every_bucket_count_finds_the_first_bound_at_or_above(value in -1.0f64..3.0, pick in 0usize..20) {
            for bounds in [BOUNDS, MANY_BOUNDS] {
                let histogram = AtomicHistogram::new(bounds, "");
                for value in [value, bounds[pick % bounds.len()]] {
                    let expected = bounds.iter().position(|b| value <= *b).unwrap_or(bounds.len());
                    prop_assert_eq!(histogram.bucket_of(value), expected, "{} in {:?}", value, bounds);
                }
            }
        }

        /// Each observation lands in the first bucket whose bound is at or above it,
        /// the sum adds up, and exemplars land in their observation's bucket.
        #[test]
        fn observations_land_in_the_first_bucket_at_or_above_them(values in prop::collection::vec(-1.0f64..5.0, 0..50)) {
            let histogram = AtomicHistogram::new(BOUNDS, "");
            for (i, value) in values.iter().enumerate() {
                histogram.observe_with_exemplar(*value, &format!("t{i}"));
            }
            let counts: Vec<u64> = histogram.counts().collect();
            let mut expected = vec![0u64; BOUNDS.len() + 1];
            let mut last = vec![None; BOUNDS.len() + 1];
            for (i, value) in values.iter().enumerate() {
                let bucket = BOUNDS.iter().position(|b| value <= b).unwrap_or(BOUNDS.len());
                expected[bucket] += 1;
                last[bucket] = Some(format!("t{i}"));
            }
            prop_assert_eq!(counts, expected);
            let sum: f64 = values.iter().sum();
            prop_assert!((histogram.sum() - sum).abs() < 1e-9);
            for (bucket, trace_id) in last.iter().enumerate() {
                let mut seen = None;
                histogram.exemplars.with(bucket, |e| seen = Some(e.trace_id.clone()));
                prop_assert_eq!(&seen, trace_id);
            }
        }
    }
}
