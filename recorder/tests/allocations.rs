//! The recording hot path does not allocate once a label set has been seen.
//!
//! A counting global allocator counts allocations made by this test's thread only
//! (other threads, like the exporter's server, are ignored), over 100,000 operations
//! per path after one warm-up call.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use catalog::{Label, Metric};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees hold; the only addition is a relaxed atomic increment and a
// read of a const-initialised thread-local `Cell<bool>`, neither of which allocates.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations made by `f` on this thread.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

const OPS: usize = 100_000;

#[test]
fn hot_paths_do_not_allocate_after_first_touch() {
    let recorder = recorder::Builder::<Metric>::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .install()
        .expect("install");
    let source_ids: Vec<String> = (0..8).map(|i| format!("source-{i}")).collect();
    let labels = |i: usize| [(Label::SourceId, source_ids[i % 8].as_str())];
    let error_labels = |i: usize| {
        [
            (Label::SourceId, source_ids[i % 8].as_str()),
            (Label::SourceErrorType, "timeout"),
        ]
    };
    // Warm up: first touch of every series used below (allocates, by design).
    for i in 0..8 {
        recorder::inc(Metric::SourcesRequestsSuccess, &labels(i));
        recorder::inc(Metric::SourcesRequestsError, &error_labels(i));
        recorder::observe(Metric::SourcesRequestDuration, &labels(i), 0.2);
    }
    let counter = recorder.counter(Metric::GatewayCasWritesSuccess, &[]);
    let histogram = recorder.histogram(Metric::IngestLogFsyncDuration, &[]);
    let timer_histogram = recorder::histogram(Metric::GatewayCasWriteDuration, &[]);

    let paths: [(&str, &dyn Fn(usize)); 9] = [
        ("inc unlabeled", &|_| {
            recorder::inc(Metric::IngestLogWritesSuccess, &[])
        }),
        ("inc enumerated label", &|_| {
            recorder::inc(
                Metric::IngestLogWritesError,
                &[(Label::StorageErrorType, "io")],
            )
        }),
        ("inc runtime string label", &|i| {
            recorder::inc(Metric::SourcesRequestsSuccess, &labels(i))
        }),
        ("inc two labels, any order", &|i| {
            let [a, b] = error_labels(i);
            recorder::inc(Metric::SourcesRequestsError, &[b, a])
        }),
        ("observe labeled", &|i| {
            recorder::observe(Metric::SourcesRequestDuration, &labels(i), 0.3)
        }),
        ("set gauge", &|i| {
            recorder::set(Metric::GatewayQueueDepth, &[], i as f64)
        }),
        ("cached counter", &|_| counter.inc()),
        ("cached histogram", &|_| histogram.observe(0.001)),
        ("timer", &|_| drop(timer_histogram.start_timer())),
    ];
    for (name, path) in paths {
        let allocations = allocations_during(|| (0..OPS).for_each(path));
        assert_eq!(
            allocations, 0,
            "{name}: {allocations} allocations over {OPS} calls"
        );
    }
    // The counter really moved (the loop was not optimised away or dropped).
    let text = recorder.render();
    let name = Metric::IngestLogWritesSuccess.def().name;
    assert!(text.contains(&format!("\n{name} {OPS}\n")), "{text}");
}

#[test]
fn the_counting_allocator_sees_allocations() {
    let allocations = allocations_during(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(allocations, 1);
}
