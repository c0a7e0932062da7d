//! Identical inputs for every implementation: pre-built label strings and a fixed value
//! stream, so no timed loop allocates, formats or draws random numbers.

use crate::catalog::{METHODS, SERIES_BOUND, SPILL_BOUND, STATUSES};

/// Number of distinct tenants in the runtime-label workload.
pub const TENANTS: usize = 3;
/// Number of distinct routes in the runtime-label workload.
pub const ROUTES: usize = 6;
/// Length of the pre-computed value stream.
pub const VALUES: usize = 64;
/// Number of distinct never-admitted keys in the overflow workload.
pub const SPILL_KEYS: usize = 1024;

/// Every input the workloads use.
#[derive(Debug)]
pub struct Fixtures {
    /// `(method, status)` indexes, all 3 x 6 combinations.
    pub static_pairs: Vec<(usize, usize)>,
    /// `(tenant, route)` strings, all 3 x 6 combinations.
    pub dynamic_pairs: Vec<(String, String)>,
    /// Observations spread over every bucket, `+Inf` included.
    pub values: Vec<f64>,
    /// Keys that fill [`crate::catalog::Bench::Spilled`] up to its bound.
    pub fill_keys: Vec<String>,
    /// Keys past the bound of [`crate::catalog::Bench::Spilled`].
    pub spill_keys: Vec<String>,
    /// One key per series of the render and first-touch workloads.
    pub series_keys: Vec<String>,
}

impl Fixtures {
    /// Builds every fixture.
    pub fn new() -> Self {
        let static_pairs = (0..METHODS.len())
            .flat_map(|m| (0..STATUSES.len()).map(move |s| (m, s)))
            .collect();
        let dynamic_pairs = (0..TENANTS)
            .flat_map(|t| {
                (0..ROUTES).map(move |r| (format!("tenant-{t}"), format!("/v1/route-{r}")))
            })
            .collect();
        // Deterministic, spread from 0.0001 to past the last bucket (1.0).
        let values = (0..VALUES)
            .map(|i| ((i * 37) % VALUES) as f64 * 0.02 + 0.0001)
            .collect();
        Fixtures {
            static_pairs,
            dynamic_pairs,
            values,
            fill_keys: (0..SPILL_BOUND).map(|i| format!("fill-{i}")).collect(),
            spill_keys: (0..SPILL_KEYS).map(|i| format!("spill-{i}")).collect(),
            series_keys: (0..SERIES_BOUND).map(|i| format!("key-{i:06}")).collect(),
        }
    }
}

impl Default for Fixtures {
    fn default() -> Self {
        Self::new()
    }
}
