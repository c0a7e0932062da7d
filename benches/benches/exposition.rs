//! What one scrape costs on the server, by format and encoding, at 10k and 100k
//! series: render alone (text 0.0.4, OpenMetrics), gzip alone (the fastest level
//! `/metrics` uses, and the default level for comparison), and render plus gzip as a
//! Prometheus scrape gets it. Also prints the bytes on the wire per variant.
//!
//! Groups `scrape_10k` and `scrape_100k`; run with
//! `cargo bench -p recorder-benches --bench exposition`.

use std::hint::black_box;
use std::io::Write as _;

use criterion::Criterion;
use recorder::{Format, Recorder};
use recorder_benches::catalog::{Bench, BenchId, Key};
use recorder_benches::fixtures::Fixtures;

/// A recorder holding one counter series per key.
fn recorder(keys: &[String]) -> Recorder<BenchId> {
    let recorder = recorder::Builder::<BenchId>::new()
        .panic_on_misuse(false)
        .build()
        .expect("the bench catalog is valid");
    for key in keys {
        recorder.inc(Bench::Series, Key(key));
    }
    recorder
}

/// gzip at flate2's default level (6), the usual choice elsewhere.
fn gzip_default(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body).expect("in memory");
    encoder.finish().expect("in memory")
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let fixtures = Fixtures::new();
    for (name, series) in [("scrape_10k", 10_000), ("scrape_100k", 100_000)] {
        let recorder = recorder(&fixtures.series_keys[..series]);
        let text = recorder.render_as(Format::Text);
        let openmetrics = recorder.render_as(Format::OpenMetrics);
        eprintln!(
            "{name}: bytes on the wire: text {} / gzip fast {} / gzip default {}; openmetrics {} / gzip fast {}",
            text.len(),
            recorder::gzip(text.as_bytes()).len(),
            gzip_default(text.as_bytes()).len(),
            openmetrics.len(),
            recorder::gzip(openmetrics.as_bytes()).len(),
        );
        let mut group = criterion.benchmark_group(name);
        group.sample_size(20);
        group.bench_function("text", |b| {
            b.iter(|| black_box(recorder.render_as(Format::Text)))
        });
        group.bench_function("openmetrics", |b| {
            b.iter(|| black_box(recorder.render_as(Format::OpenMetrics)))
        });
        // Compression alone, of the text rendered above: the CPU gzip adds per scrape.
        group.bench_function("gzip_fast", |b| {
            b.iter(|| black_box(recorder::gzip(text.as_bytes())))
        });
        group.bench_function("gzip_default_level", |b| {
            b.iter(|| black_box(gzip_default(text.as_bytes())))
        });
        // What `/metrics` does for a Prometheus scrape: render OpenMetrics, gzip it.
        group.bench_function("openmetrics_gzip", |b| {
            b.iter(|| {
                black_box(recorder::gzip(
                    recorder.render_as(Format::OpenMetrics).as_bytes(),
                ))
            })
        });
        group.finish();
    }
    criterion.final_summary();
}
