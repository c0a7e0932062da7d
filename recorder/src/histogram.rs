//! Fixed-bucket atomic histograms, rendered in the Prometheus text format.
//!
//! `metrics-exporter-prometheus` buffers every raw observation in blocks until the next
//! render or upkeep, which allocates on the recording path. Catalog histograms have
//! their buckets fixed up front, so the recorder keeps one atomic counter per bucket
//! instead: an observation is a binary search, two atomic adds and a CAS on the sum,
//! with no allocation.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cells::Value;

/// One histogram series: per-bucket counts (the last bucket is `+Inf`) and the sum.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    bounds: &'static [f64],
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
    /// Labels pre-rendered for exposition, e.g. `source_id="a",` (escaped, with a trailing
    /// comma so `le` can follow).
    labels: Box<str>,
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
        }
    }

    /// Records one observation (finite; callers check).
    #[inline]
    pub(crate) fn observe(&self, value: f64) {
        // First bucket whose upper bound is >= value (`le` is inclusive); `+Inf` otherwise.
        let bucket = self.bounds.partition_point(|bound| *bound < value);
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

    /// Appends this series' `_bucket`, `_sum` and `_count` lines. `_count` equals the
    /// `+Inf` bucket, as the format requires, even while observations race the render.
    pub(crate) fn render(&self, name: &str, out: &mut String) {
        let labels = &self.labels;
        let mut cumulative = 0u64;
        for (position, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            match self.bounds.get(position) {
                Some(bound) => {
                    let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{bound}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = Value(f64::from_bits(self.sum_bits.load(Ordering::Relaxed)));
        let bare = labels.trim_end_matches(',');
        if bare.is_empty() {
            let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {cumulative}");
        } else {
            let _ = writeln!(
                out,
                "{name}_sum{{{bare}}} {sum}\n{name}_count{{{bare}}} {cumulative}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BOUNDS: &[f64] = &[0.1, 0.5, 1.0];

    #[test]
    fn renders_cumulative_buckets_sum_and_count() {
        let histogram =
            AtomicHistogram::new(BOUNDS, &crate::cells::label_pairs([("source_id", "a\"b")]));
        for value in [0.1, 0.2, 0.5, 3.0] {
            histogram.observe(value);
        }
        let mut text = String::new();
        histogram.render("x_seconds", &mut text);
        assert_eq!(
            text,
            "x_seconds_bucket{source_id=\"a\\\"b\",le=\"0.1\"} 1\n\
             x_seconds_bucket{source_id=\"a\\\"b\",le=\"0.5\"} 3\n\
             x_seconds_bucket{source_id=\"a\\\"b\",le=\"1\"} 3\n\
             x_seconds_bucket{source_id=\"a\\\"b\",le=\"+Inf\"} 4\n\
             x_seconds_sum{source_id=\"a\\\"b\"} 3.8\n\
             x_seconds_count{source_id=\"a\\\"b\"} 4\n"
        );
    }

    proptest! {
        /// For any observations, each cumulative bucket counts exactly the observations
        /// `<=` its bound, and the count is the number of observations.
        #[test]
        fn buckets_count_observations_at_or_below_their_bound(values in prop::collection::vec(-1.0f64..5.0, 0..50)) {
            let histogram = AtomicHistogram::new(BOUNDS, "");
            for value in &values {
                histogram.observe(*value);
            }
            let mut text = String::new();
            histogram.render("h", &mut text);
            for bound in BOUNDS {
                let expected = values.iter().filter(|v| **v <= *bound).count();
                let line = format!("h_bucket{{le=\"{bound}\"}} {expected}\n");
                prop_assert!(text.contains(&line), "{} not in {}", line, text);
            }
            let count_line = format!("h_count {}\n", values.len());
            prop_assert!(text.contains(&count_line));
        }
    }
}
