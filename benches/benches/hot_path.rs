//! The criterion suite: one group per workload, one benchmark per implementation.
//!
//! Groups (`target/criterion/<group>/<implementation>/new/estimates.json`):
//! `counter_unlabeled`, `counter_static2`, `counter_dynamic2`, `counter_first_touch`,
//! `counter_overflow`, `histogram_observe`, `histogram_timer`,
//! `contention_2t_same`, `contention_2t_distinct`, `render_1k`, `render_10k`,
//! `render_100k`. `RECORDER_BENCH_QUICK=1` runs a short subset with short measurement
//! times (what `cargo xtask bench --quick` sets). `RECORDER_BENCH_ROUNDS=n` runs the
//! short workloads (counters, histograms, first touch) `n` times, in groups
//! `<group>.round<k>`, so every implementation is measured at `n` moments of the run
//! (what `cargo xtask bench` sets, then keeping each implementation's best round).

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use recorder_benches::catalog::{Bench, BenchId, Key};
use recorder_benches::fixtures::{Fixtures, ROUTES};
use recorder_benches::seed::Seed;
use recorder_benches::subjects::{
    ExporterSeries, LATENCY, MetricsHandles, MetricsMacros, Ours, OursHandles, OursSeries,
    SeriesSubject,
};
use recorder_benches::{DynamicSubject, Subject};

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Runs `$body` once per recording implementation, with `$id` its column name and
/// `$subject` a reference to it.
macro_rules! each_subject {
    ($subjects:expr, |$id:ident, $subject:ident| $body:expr) => {{
        {
            let $id = "ours";
            let $subject = &Ours;
            $body;
        }
        {
            let $id = "ours_handle";
            let $subject = &$subjects.ours_handles;
            $body;
        }
        {
            let $id = "metrics_macro";
            let $subject = &MetricsMacros;
            $body;
        }
        {
            let $id = "metrics_handle";
            let $subject = &$subjects.metrics_handles;
            $body;
        }
        {
            let $id = "seed";
            let $subject = &$subjects.seed;
            $body;
        }
        each_peer!($subjects, |$id, $subject| $body);
    }};
}

/// As [`each_subject`], for the implementations that take runtime string labels.
macro_rules! each_dynamic {
    ($subjects:expr, |$id:ident, $subject:ident| $body:expr) => {{
        {
            let $id = "ours";
            let $subject = &Ours;
            $body;
        }
        {
            let $id = "metrics_macro";
            let $subject = &MetricsMacros;
            $body;
        }
        {
            let $id = "seed";
            let $subject = &$subjects.seed;
            $body;
        }
        each_peer!($subjects, |$id, $subject| $body);
    }};
}

#[cfg(feature = "peers")]
macro_rules! each_peer {
    ($subjects:expr, |$id:ident, $subject:ident| $body:expr) => {{
        {
            let $id = "prometheus";
            let $subject = &$subjects.tikv;
            $body;
        }
        {
            let $id = "prometheus_client";
            let $subject = &$subjects.client;
            $body;
        }
        {
            let $id = "measured";
            let $subject = &$subjects.measured;
            $body;
        }
    }};
}

#[cfg(not(feature = "peers"))]
macro_rules! each_peer {
    ($subjects:expr, |$id:ident, $subject:ident| $body:expr) => {{}};
}

/// Runs `$body` once per registry type (render, first touch), with `$ty` the type.
macro_rules! each_series {
    (|$id:ident, $ty:ident| $body:expr) => {{
        {
            let $id = "ours";
            type $ty = OursSeries;
            $body;
        }
        {
            let $id = "exporter";
            type $ty = ExporterSeries;
            $body;
        }
        #[cfg(feature = "peers")]
        {
            {
                let $id = "prometheus";
                type $ty = recorder_benches::peers::tikv::TikvSeries;
                $body;
            }
            {
                let $id = "prometheus_client";
                type $ty = recorder_benches::peers::client::ClientSeries;
                $body;
            }
            {
                let $id = "measured";
                type $ty = recorder_benches::peers::measured::MeasuredSeries;
                $body;
            }
        }
    }};
}

/// Series created per fresh registry in the first-touch workload.
const FIRST_TOUCH_CHUNK: u64 = 10_000;

fn main() {
    let quick = std::env::var_os("RECORDER_BENCH_QUICK").is_some();
    let (warm_up, measurement) = if quick {
        (Duration::from_millis(200), Duration::from_millis(500))
    } else {
        (Duration::from_millis(500), Duration::from_millis(1500))
    };
    let mut criterion = Criterion::default()
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .sample_size(if quick { 20 } else { 50 })
        .configure_from_args();
    // Installed once per process, as users do; also the global `metrics` recorder.
    recorder::Builder::<BenchId>::new()
        .listen("127.0.0.1:0".parse().expect("address"))
        .panic_on_misuse(false)
        .install()
        .expect("install the recorder");
    let fixtures = Fixtures::new();
    let subjects = Subjects::new();

    let rounds: usize = match std::env::var("RECORDER_BENCH_ROUNDS") {
        Ok(rounds) => rounds
            .parse()
            .ok()
            .filter(|rounds| *rounds > 0)
            .expect("RECORDER_BENCH_ROUNDS is a positive number"),
        Err(_) => 1,
    };
    for round in 1..=rounds {
        let name = |group: &str| round_group(group, round, rounds);
        short_rows(&mut criterion, &name, quick, &subjects, &fixtures);
    }

    if !quick {
        let mut group = criterion.benchmark_group("counter_overflow");
        overflow(&mut group, &fixtures);
        group.finish();

        for (name, same) in [
            ("contention_2t_same", true),
            ("contention_2t_distinct", false),
        ] {
            let mut group = criterion.benchmark_group(name);
            each_dynamic!(subjects, |id, subject| {
                contended(&mut group, id, same, |thread| {
                    // Series (thread, thread), as for the handles below.
                    let (tenant, route) = &fixtures.dynamic_pairs[thread * (ROUTES + 1)];
                    move || subject.inc_dynamic(tenant, route)
                })
            });
            let handles = &subjects.ours_handles;
            contended(&mut group, "ours_handle", same, |thread| {
                let labels = handles.prepare_static((thread, thread));
                move || handles.inc_static(&labels)
            });
            let handles = &subjects.metrics_handles;
            contended(&mut group, "metrics_handle", same, |thread| {
                let labels = handles.prepare_static((thread, thread));
                move || handles.inc_static(&labels)
            });
            group.finish();
        }
    }

    let sizes: &[(&str, usize)] = if quick {
        &[("render_10k", 10_000)]
    } else {
        &[
            ("render_1k", 1_000),
            ("render_10k", 10_000),
            ("render_100k", 100_000),
        ]
    };
    for (name, series) in sizes {
        let mut group = criterion.benchmark_group(*name);
        group.sample_size(10);
        let keys = &fixtures.series_keys[..*series];
        each_series!(|id, T| render::<T>(&mut group, id, keys));
        group.finish();
    }

    criterion.final_summary();
}

/// Criterion group of workload `group` in round `round` of `rounds`: the workload's
/// own name when there is one round, `<group>.round<k>` otherwise (`cargo xtask bench`
/// takes each implementation's best round).
fn round_group(group: &str, round: usize, rounds: usize) -> String {
    if rounds == 1 {
        group.to_owned()
    } else {
        format!("{group}.round{round}")
    }
}

/// The workloads of a few to a few hundred nanoseconds, where a shared host's slower
/// minutes decide a row if they fall on one implementation's turn: one round of them,
/// in groups named by `name`.
fn short_rows(
    criterion: &mut Criterion,
    name: &dyn Fn(&str) -> String,
    quick: bool,
    subjects: &Subjects,
    fixtures: &Fixtures,
) {
    let mut group = criterion.benchmark_group(name("counter_unlabeled"));
    each_subject!(subjects, |id, subject| unlabeled(&mut group, id, subject));
    // The floor: one bare relaxed `AtomicU64::fetch_add`, nothing in front of it.
    let floor = AtomicU64::new(0);
    group.bench_function("floor", |b| {
        b.iter(|| floor.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    });
    group.finish();

    let mut group = criterion.benchmark_group(name("counter_static2"));
    each_subject!(subjects, |id, subject| static2(
        &mut group, id, subject, fixtures
    ));
    group.finish();

    let mut group = criterion.benchmark_group(name("counter_dynamic2"));
    each_dynamic!(subjects, |id, subject| dynamic2(
        &mut group, id, subject, fixtures
    ));
    group.finish();

    let mut group = criterion.benchmark_group(name("histogram_observe"));
    each_subject!(subjects, |id, subject| observe(
        &mut group, id, subject, fixtures
    ));
    group.finish();

    if !quick {
        let mut group = criterion.benchmark_group(name("histogram_timer"));
        timers(&mut group, subjects);
        group.finish();

        let mut group = criterion.benchmark_group(name("counter_first_touch"));
        each_series!(|id, T| first_touch::<T>(&mut group, id, fixtures));
        group.finish();
    }
}

/// Every recording implementation with state, built once.
struct Subjects {
    ours_handles: OursHandles,
    metrics_handles: MetricsHandles,
    seed: Seed,
    #[cfg(feature = "peers")]
    tikv: recorder_benches::peers::tikv::Tikv,
    #[cfg(feature = "peers")]
    client: recorder_benches::peers::client::Client,
    #[cfg(feature = "peers")]
    measured: recorder_benches::peers::measured::Measured,
}

impl Subjects {
    fn new() -> Self {
        Subjects {
            ours_handles: OursHandles::new(),
            metrics_handles: MetricsHandles::new(),
            seed: Seed::new(),
            #[cfg(feature = "peers")]
            tikv: recorder_benches::peers::tikv::Tikv::new(),
            #[cfg(feature = "peers")]
            client: recorder_benches::peers::client::Client::new(),
            #[cfg(feature = "peers")]
            measured: recorder_benches::peers::measured::Measured::new(),
        }
    }
}

/// The next index of a cycle of length `len`.
#[inline]
fn next(index: usize, len: usize) -> usize {
    if index + 1 == len { 0 } else { index + 1 }
}

fn unlabeled<S: Subject>(group: &mut Group<'_>, id: &str, subject: &S) {
    group.bench_function(id, |b| b.iter(|| subject.inc_unlabeled()));
}

fn static2<S: Subject>(group: &mut Group<'_>, id: &str, subject: &S, fixtures: &Fixtures) {
    let labels: Vec<S::Static> = fixtures
        .static_pairs
        .iter()
        .map(|pair| subject.prepare_static(*pair))
        .collect();
    let mut index = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            subject.inc_static(&labels[index]);
            index = next(index, labels.len());
        })
    });
}

fn dynamic2<S: DynamicSubject>(group: &mut Group<'_>, id: &str, subject: &S, fixtures: &Fixtures) {
    let pairs = &fixtures.dynamic_pairs;
    // First touch of every series happens here, before timing.
    for (tenant, route) in pairs {
        subject.inc_dynamic(tenant, route);
    }
    let mut index = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            let (tenant, route) = &pairs[index];
            subject.inc_dynamic(tenant, route);
            index = next(index, pairs.len());
        })
    });
}

fn observe<S: Subject>(group: &mut Group<'_>, id: &str, subject: &S, fixtures: &Fixtures) {
    let values = &fixtures.values;
    let mut index = 0;
    group.bench_function(id, |b| {
        b.iter(|| {
            subject.observe(values[index]);
            index = next(index, values.len());
        })
    });
}

/// Start a timer and stop it at once: the timer's own overhead.
fn timers(group: &mut Group<'_>, subjects: &Subjects) {
    group.bench_function("ours", |b| {
        b.iter(|| drop(recorder::start_timer(Bench::Latency, ())))
    });
    let handle = &subjects.ours_handles.latency;
    group.bench_function("ours_handle", |b| b.iter(|| drop(handle.start_timer())));
    group.bench_function("metrics_macro", |b| {
        b.iter(|| {
            let start = Instant::now();
            metrics::histogram!(LATENCY).record(start.elapsed());
        })
    });
    let handle = &subjects.metrics_handles.latency;
    group.bench_function("metrics_handle", |b| {
        b.iter(|| {
            let start = Instant::now();
            handle.record(start.elapsed());
        })
    });
    #[cfg(feature = "peers")]
    {
        let histogram = &subjects.tikv.latency;
        group.bench_function("prometheus", |b| b.iter(|| drop(histogram.start_timer())));
        let histogram = &subjects.client.latency;
        group.bench_function("prometheus_client", |b| {
            b.iter(|| {
                let start = Instant::now();
                histogram.observe(start.elapsed().as_secs_f64());
            })
        });
        let histogram = &subjects.measured.latency;
        group.bench_function("measured", |b| b.iter(|| drop(histogram.start_timer())));
    }
}

/// New label values past the metric's series bound: each call is a table miss, folded
/// into the overflow series. Only ours bounds series; the peers grow without limit.
fn overflow(group: &mut Group<'_>, fixtures: &Fixtures) {
    for key in &fixtures.fill_keys {
        recorder::inc(Bench::Spilled, Key(key));
    }
    let keys = &fixtures.spill_keys;
    let mut index = 0;
    group.bench_function("ours", |b| {
        b.iter(|| {
            recorder::inc(Bench::Spilled, Key(&keys[index]));
            index = next(index, keys.len());
        })
    });
}

/// A series never seen before, in a fresh registry (created outside the timing) of up
/// to [`FIRST_TOUCH_CHUNK`] series.
fn first_touch<S: SeriesSubject>(group: &mut Group<'_>, id: &str, fixtures: &Fixtures) {
    let keys = &fixtures.series_keys;
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let count = (iters - done).min(FIRST_TOUCH_CHUNK);
                let registry = S::new();
                let start = Instant::now();
                for key in &keys[..count as usize] {
                    registry.touch(key);
                }
                total += start.elapsed();
                done += count;
            }
            total
        })
    });
}

/// Two threads recording at once; the time is per operation of one thread. With
/// `same`, both record series 0; otherwise thread `t` records series `(t, t)`.
fn contended<F: Fn() + Send>(
    group: &mut Group<'_>,
    id: &str,
    same: bool,
    op: impl Fn(usize) -> F + Sync,
) {
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let barrier = Barrier::new(2);
            std::thread::scope(|scope| {
                let threads: Vec<_> = (0..2)
                    .map(|thread| {
                        let op = op(if same { 0 } else { thread });
                        let barrier = &barrier;
                        scope.spawn(move || {
                            barrier.wait();
                            let start = Instant::now();
                            for _ in 0..iters {
                                op();
                            }
                            start.elapsed()
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .map(|thread| thread.join().expect("bench thread"))
                    .max()
                    .unwrap_or_default()
            })
        })
    });
}

/// Renders a registry holding one counter series per key.
fn render<S: SeriesSubject>(group: &mut Group<'_>, id: &str, keys: &[String]) {
    let registry = S::new();
    for key in keys {
        registry.touch(key);
    }
    group.bench_function(id, |b| b.iter(|| black_box(registry.render())));
}
