//! Load on `/metrics`: 10,000 series registered, the `scrape-load` binary (a second
//! process) scrapes over loopback with 4 keep-alive connections while 2 threads record.
//! No scrape may fail; p50/p99 scrape latency and the recording throughput with and
//! without scrapes are reported, and no increment is lost.
//!
//! Sizes: 2 s of load by default; `RELIABILITY_FULL=1` runs 10 s (use `--release`:
//! debug builds render several times slower).

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use reliability::{LOAD_SERIES, Load, LoadId, Tenant};

const CONNECTIONS: usize = 4;
const RECORDING_THREADS: usize = 2;

/// Records round-robin over `tenants` on `RECORDING_THREADS` threads for `duration`;
/// returns the number of increments.
fn record_for(tenants: &[String], duration: Duration, load: impl FnOnce()) -> u64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    thread::scope(|scope| {
        for t in 0..RECORDING_THREADS {
            let (stop, done) = (&stop, &done);
            scope.spawn(move || {
                let mut n = 0u64;
                let mut i = t * 7919;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1000 {
                        i = (i + 1) % tenants.len();
                        recorder::inc(Load::Requests, Tenant(&tenants[i]));
                    }
                    n += 1000;
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
        let started = Instant::now();
        load();
        // The load may end early (it failed); record for the full duration anyway.
        if let Some(rest) = duration.checked_sub(started.elapsed()) {
            thread::sleep(rest);
        }
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed)
}

/// `key=value` fields of the load client's summary line.
fn field(summary: &str, key: &str) -> u64 {
    summary
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing in {summary:?}"))
}

#[test]
fn scrapes_of_10k_series_under_load_never_fail() {
    let seconds = if reliability::full_size() { 10.0 } else { 2.0 };
    let duration = Duration::from_secs_f64(seconds);
    let recorder = recorder::Builder::<LoadId>::new()
        .listen("127.0.0.1:0".parse().expect("address"))
        .panic_on_misuse(true)
        .install()
        .expect("install");
    let address = recorder.listen_address().expect("bound");
    let tenants: Vec<String> = (0..LOAD_SERIES).map(|i| format!("tenant-{i:05}")).collect();
    for tenant in &tenants {
        recorder::inc(Load::Requests, Tenant(tenant));
    }
    assert_eq!(recorder.series_count(Load::Requests), LOAD_SERIES);
    let scrape_bytes = recorder.render().len();

    let quiet = record_for(&tenants, duration, || {});
    let mut summary = String::new();
    let loaded = record_for(&tenants, duration, || {
        let output = Command::new(env!("CARGO_BIN_EXE_scrape-load"))
            .args([
                address.to_string(),
                CONNECTIONS.to_string(),
                seconds.to_string(),
            ])
            .output()
            .expect("run scrape-load");
        assert!(output.status.success(), "scrape-load: {output:?}");
        summary = String::from_utf8_lossy(&output.stdout).trim().to_string();
    });

    let requests = field(&summary, "requests");
    assert_eq!(field(&summary, "errors"), 0, "{summary}");
    assert!(requests > 0, "{summary}");
    // Every scrape was the full exposition (counters only grow, so never shorter).
    assert!(
        field(&summary, "bytes") / requests >= scrape_bytes as u64,
        "{summary}"
    );
    // Nothing lost: every increment of both phases is in the final scrape.
    let text = recorder.render();
    let prefix = format!("{}{{", Load::Requests.def().name);
    let exposed: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .expect("value")
                .parse()
                .expect("number")
        })
        .collect();
    assert_eq!(exposed.len(), LOAD_SERIES);
    let total: f64 = exposed.iter().sum();
    assert_eq!(total, (LOAD_SERIES as u64 + quiet + loaded) as f64);

    let per_second = |n: u64| n as f64 / seconds;
    eprintln!(
        "scrape_load: {LOAD_SERIES} series ({scrape_bytes} bytes per scrape), {CONNECTIONS} connections from a second process for {seconds} s: \
         {requests} scrapes ({:.1}/s), 0 errors, latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         recording ({RECORDING_THREADS} threads) {:.2} M incs/s without scrapes, {:.2} M incs/s during scrapes; nothing lost",
        per_second(requests),
        field(&summary, "p50_us") as f64 / 1000.0,
        field(&summary, "p99_us") as f64 / 1000.0,
        field(&summary, "max_us") as f64 / 1000.0,
        per_second(quiet) / 1e6,
        per_second(loaded) / 1e6,
    );
}
