//! Cardinality attack: a flood of distinct values of a free-form label into a bounded
//! metric. Exposed series stay at the bound plus one overflow series, every folded
//! sample is counted, the recording thread allocates nothing once the bound is
//! reached, resident memory stays flat, and scrape size and time stay bounded.
//!
//! Full size (1,000,000 distinct values) in every run; figures are printed with
//! `eprintln!` (`--nocapture`).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use catalog::{Metric, MetricId, OVERFLOW_VALUE, SourceId};

/// Allocations made by `f` on this thread.
fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

/// Resident set size of this process in bytes (`VmRSS` of `/proc/self/status`, the
/// counter `/proc/self/statm` reports in pages).
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024
}

/// Distinct label values sent in total: the full size, fast enough for every run
/// (about 0.6 s in a debug build).
const ATTACK_SIZE: usize = 1_000_000;

/// Stated bounds: what the attack may cost once the series bound is reached.
const MAX_RSS_GROWTH: u64 = 4 << 20;
const MAX_SCRAPE_GROWTH: usize = 64;
const MAX_RENDER_TIME: Duration = Duration::from_millis(500);

/// Renders and returns (text, time taken).
fn timed_render(recorder: &recorder::Recorder<MetricId>) -> (String, Duration) {
    let started = Instant::now();
    let text = recorder.render();
    (text, started.elapsed())
}

#[test]
fn a_flood_of_label_values_stays_bounded_and_allocation_free() {
    let recorder = recorder::Builder::<MetricId>::new()
        .panic_on_misuse(true)
        .build()
        .expect("valid catalog");
    let metric = Metric::SourcesRequestsSuccess;
    let bound = metric.def().max_series;
    let total = ATTACK_SIZE;
    let mut value = String::with_capacity(64);
    let mut send = |i: usize| {
        value.clear();
        let _ = write!(value, "attacker-{i}");
        recorder.inc(metric, SourceId(&value));
    };
    // Fill the bound and create the overflow series (first touches allocate, by design).
    let rss_start = resident_bytes();
    (0..=bound).for_each(&mut send);
    let (text_at_bound, _) = timed_render(&recorder);
    let rss_at_bound = resident_bytes();

    let started = Instant::now();
    let allocations = allocations_during(|| (bound + 1..total).for_each(&mut send));
    let elapsed = started.elapsed();
    let rss_after = resident_bytes();
    let (text, render_time) = timed_render(&recorder);

    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} calls past the bound",
        total - bound - 1
    );
    let prefix = format!("{}{{", metric.def().name);
    let exposed: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(exposed.len(), bound + 1, "series exposed");
    let folded = (total - bound) as f64;
    let overflow_line = format!("{prefix}source_id=\"{OVERFLOW_VALUE}\"}} {folded}");
    assert!(exposed.contains(&overflow_line.as_str()), "{overflow_line}");
    let counted = format!(
        "{}{{metric=\"{}\"}} {folded}",
        recorder::SelfMetric::SeriesOverflow.def().name,
        metric.def().name
    );
    assert!(text.lines().any(|l| l == counted), "{counted}");
    assert_eq!(recorder.series_count(metric), bound + 1);

    let rss_growth = rss_after.saturating_sub(rss_at_bound);
    assert!(
        rss_growth <= MAX_RSS_GROWTH,
        "resident memory grew by {rss_growth} bytes past the bound"
    );
    let scrape_growth = text.len().saturating_sub(text_at_bound.len());
    assert!(
        scrape_growth <= MAX_SCRAPE_GROWTH,
        "scrape grew by {scrape_growth} bytes past the bound"
    );
    assert!(
        render_time <= MAX_RENDER_TIME,
        "render took {render_time:?}"
    );
    let calls = total - bound - 1;
    eprintln!(
        "cardinality: {total} distinct values into a metric bounded at {bound}: {} series exposed, {folded} samples folded and counted; \
         0 allocations over {calls} calls past the bound ({:.0} ns/call); \
         RSS {} KiB at start, +{} KiB filling the bound, +{} KiB over the flood; \
         scrape {} bytes at the bound, {} after, rendered in {render_time:.2?}",
        exposed.len(),
        elapsed.as_nanos() as f64 / calls as f64,
        rss_start / 1024,
        rss_at_bound.saturating_sub(rss_start) / 1024,
        rss_growth / 1024,
        text_at_bound.len(),
        text.len(),
    );
}
