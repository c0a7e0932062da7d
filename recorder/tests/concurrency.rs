//! Nothing is lost under concurrency: N threads (2, 8, 32; more than the cores on
//! purpose) record M times each while a scraper renders (or GETs `/metrics`) in a loop,
//! and the final exposed values are exact. Includes first-touch races: many threads
//! creating the same new series at once get one series and an exact count.
//!
//! Sizes: M = 10,000 by default; `RELIABILITY_FULL=1` runs M = 1,000,000 (use
//! `--release`). Figures (operations per second, scrapes during the run) are printed
//! with `eprintln!`: run with `--nocapture` to see them.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use catalog::{Metric, MetricId, SourceErrorType, SourceId};

/// Increments per thread.
fn per_thread() -> u64 {
    if std::env::var_os("RELIABILITY_FULL").is_some() {
        1_000_000
    } else {
        10_000
    }
}

/// Observed values: exactly representable, so the expected sum is exact; spread over
/// buckets below, inside and above the catalog's range.
const OBSERVATIONS: [f64; 3] = [0.25, 0.5, 4.0];

/// The value of sample line `series` (everything before the value) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn series(metric: impl Into<MetricId>, suffix: &str, labels: &str) -> String {
    format!("{}{suffix}{{{labels}}}", metric.into().def().name)
}

/// Runs `scrape` in a loop on another thread until the returned guard is dropped (at
/// most `MAX_SCRAPES` times); the guard's `stop` returns how many scrapes ran.
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<usize>>,
}

const MAX_SCRAPES: usize = 100_000;

impl Scraper {
    fn start(mut scrape: impl FnMut() + Send + 'static) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut scrapes = 0;
            while !flag.load(Ordering::Relaxed) && scrapes < MAX_SCRAPES {
                scrape();
                scrapes += 1;
            }
            scrapes
        });
        Scraper {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("scraper")
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Checks one scrape taken while recording: histogram `_count` equals its `+Inf`
/// bucket and the shared counter never goes backwards.
fn check_scrape(text: &str, last_shared: &mut f64) {
    let shared = series(Metric::SourcesRequestsSuccess, "", "source_id=\"shared\"");
    if let Some(value) = sample(text, &shared) {
        assert!(value >= *last_shared, "counter went back: {value}");
        *last_shared = value;
    }
    let labels = "source_id=\"shared\"";
    let duration = Metric::SourcesRequestDuration;
    if let Some(count) = sample(text, &series(duration, "_count", labels)) {
        let inf = sample(
            text,
            &series(duration, "_bucket", &format!("{labels},le=\"+Inf\"")),
        );
        assert_eq!(Some(count), inf, "_count must equal the +Inf bucket");
    }
}

#[test]
fn same_and_distinct_series_are_exact_under_concurrent_scrapes() {
    let m = per_thread();
    for n in [2u64, 8, 32] {
        let recorder = recorder::Builder::<MetricId>::new()
            .panic_on_misuse(true)
            .build()
            .expect("valid catalog");
        let scraped = recorder.clone();
        let mut last_shared = 0.0;
        let scraper = Scraper::start(move || check_scrape(&scraped.render(), &mut last_shared));
        let started = Instant::now();
        thread::scope(|scope| {
            for t in 0..n {
                let recorder = &recorder;
                scope.spawn(move || {
                    let own = format!("thread-{t}");
                    let cached = recorder.counter(Metric::GatewayCasObjectsWritten, ());
                    let histogram =
                        recorder.histogram(Metric::SourcesRequestDuration, SourceId(&own));
                    for i in 0..m {
                        recorder.inc(Metric::SourcesRequestsSuccess, SourceId("shared"));
                        recorder.inc(Metric::SourcesRequestsSuccess, SourceId(&own));
                        cached.inc();
                        let value = OBSERVATIONS[(i % 3) as usize];
                        recorder.observe(Metric::SourcesRequestDuration, SourceId("shared"), value);
                        histogram.observe(value);
                    }
                });
            }
        });
        let elapsed = started.elapsed();
        let scrapes = scraper.stop();
        let text = recorder.render();
        let total = n * m;
        let success = Metric::SourcesRequestsSuccess;
        assert_eq!(
            sample(&text, &series(success, "", "source_id=\"shared\"")),
            Some(total as f64)
        );
        for t in 0..n {
            let labels = format!("source_id=\"thread-{t}\"");
            assert_eq!(sample(&text, &series(success, "", &labels)), Some(m as f64));
            let duration = Metric::SourcesRequestDuration;
            assert_eq!(
                sample(&text, &series(duration, "_count", &labels)),
                Some(m as f64)
            );
        }
        let cas = Metric::GatewayCasObjectsWritten.def().name;
        assert!(text.contains(&format!("\n{cas} {total}\n")), "{cas}");
        let duration = Metric::SourcesRequestDuration;
        let labels = "source_id=\"shared\"";
        // Observations cycle through OBSERVATIONS: count each value's share exactly.
        let per_value = |k: u64| n * (m / 3 + u64::from(m % 3 > k));
        let sum: f64 = (0..3)
            .map(|k| per_value(k) as f64 * OBSERVATIONS[k as usize])
            .sum();
        assert_eq!(
            sample(&text, &series(duration, "_count", labels)),
            Some(total as f64)
        );
        assert_eq!(sample(&text, &series(duration, "_sum", labels)), Some(sum));
        let ops = 5 * total;
        eprintln!(
            "concurrency: {n} threads x {m}: {ops} operations in {elapsed:.2?} ({:.0} ops/s) with {scrapes} concurrent renders; exact",
            ops as f64 / elapsed.as_secs_f64()
        );
    }
}

/// A raw HTTP/1.1 GET of `/metrics`; the body, or a panic on anything but 200.
fn get_metrics(address: SocketAddr) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    body.to_string()
}

#[test]
fn first_touch_races_through_the_global_path_create_one_exact_series() {
    let recorder = recorder::Builder::<MetricId>::new()
        .listen("127.0.0.1:0".parse().expect("address"))
        .panic_on_misuse(true)
        .install()
        .expect("install");
    let address = recorder.listen_address().expect("bound");
    let mut last_shared = 0.0;
    let scraper = Scraper::start(move || check_scrape(&get_metrics(address), &mut last_shared));
    let n = 32;
    let m = per_thread() / 10;
    let rounds = 20;
    let barrier = Barrier::new(n);
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..n {
            scope.spawn(|| {
                for round in 0..rounds {
                    let source = format!("race-{round}");
                    let labels = (SourceId(&source), SourceErrorType::Timeout);
                    // Every thread touches the new series at the same moment.
                    barrier.wait();
                    for _ in 0..m {
                        recorder::inc(Metric::SourcesRequestsError, labels);
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let scrapes = scraper.stop();
    let text = get_metrics(address);
    let errors = Metric::SourcesRequestsError;
    for round in 0..rounds {
        let labels = format!("source_id=\"race-{round}\",error_type=\"timeout\"");
        assert_eq!(
            sample(&text, &series(errors, "", &labels)),
            Some((n as u64 * m) as f64),
            "round {round}"
        );
    }
    assert_eq!(recorder.series_count(errors), rounds);
    eprintln!(
        "concurrency: first-touch race, {n} threads x {rounds} new series x {m} increments via recorder::inc in {elapsed:.2?} with {scrapes} concurrent HTTP scrapes; one series each, exact"
    );
}
