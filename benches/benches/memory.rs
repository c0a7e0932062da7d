//! Memory per series: net bytes allocated to create series, per implementation.
//!
//! A counting global allocator tracks live bytes; each implementation creates
//! [`SERIES`] counter series of one runtime label in a fresh registry, and the growth
//! in live bytes divided by [`SERIES`] is reported. Results go to stdout and to
//! `$CARGO_TARGET_TMPDIR/recorder-benches-memory.json`, which `cargo xtask bench` reads.
//!
//! The allocator is written here rather than taken from `allocation-counter` (which the
//! recorder's tests use): as a dev-dependency that crate would replace the global
//! allocator of the criterion target too, taxing every allocating row of the suite.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use recorder_benches::fixtures::Fixtures;
#[cfg(feature = "peers")]
use recorder_benches::peers;
use recorder_benches::subjects::{ExporterSeries, OursSeries, SeriesSubject};

struct CountingAllocator;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the only addition is a relaxed atomic add, which does not
// allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Series created per implementation.
const SERIES: usize = 10_000;

/// Live bytes per series after creating [`SERIES`] series (the empty registry excluded).
fn bytes_per_series<S: SeriesSubject>(fixtures: &Fixtures) -> f64 {
    let registry = S::new();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for key in &fixtures.series_keys[..SERIES] {
        registry.touch(key);
    }
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    drop(registry);
    (after - before) as f64 / SERIES as f64
}

fn main() {
    // `cargo bench` passes `--bench`; a filter (from `cargo bench -- <filter>`) that
    // does not mention memory skips this target.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    if filter.is_some_and(|filter| !"memory".contains(filter.as_str())) {
        return;
    }
    let fixtures = Fixtures::new();
    let results: Vec<(&str, f64)> = [
        (
            "ours",
            bytes_per_series::<OursSeries> as fn(&Fixtures) -> f64,
        ),
        ("exporter", bytes_per_series::<ExporterSeries>),
        #[cfg(feature = "peers")]
        ("prometheus", bytes_per_series::<peers::tikv::TikvSeries>),
        #[cfg(feature = "peers")]
        (
            "prometheus_client",
            bytes_per_series::<peers::client::ClientSeries>,
        ),
        #[cfg(feature = "peers")]
        (
            "measured",
            bytes_per_series::<peers::measured::MeasuredSeries>,
        ),
    ]
    .into_iter()
    .map(|(id, measure)| (id, measure(&fixtures)))
    .collect();
    let mut json = String::from("{");
    for (position, (id, bytes)) in results.iter().enumerate() {
        println!("memory/{id}: {bytes:.0} bytes per series ({SERIES} series, one label)");
        let comma = if position == 0 { "" } else { "," };
        json.push_str(&format!("{comma}\"{id}\":{bytes:.1}"));
    }
    json.push('}');
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("recorder-benches-memory.json");
    std::fs::write(&path, json).expect("write the memory results");
}
