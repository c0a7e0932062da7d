//! End to end: the built binary serves every catalog metric as the catalog defines it,
//! shuts down cleanly on `--duration` and on SIGTERM, leaves an ingest log that reads
//! back whole, and refuses a bad `--listen` naming it.

use std::collections::HashSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

use catalog::{LabelKey, MetricCatalog, MetricId, MetricKind};
use pipeline_demo::envelope::ContentHash;
use pipeline_demo::ingest_log::{self, LogRecord, Tail};
use sms_storage::{StorageErrorType, StorageMetricId};
use support::Demo;

/// Label names and values of a sample, in exposition order.
type LabelPairs = Vec<(String, String)>;

/// One sample line of the text format.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: LabelPairs,
    value: f64,
}

fn parse_samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
            let Some((name, labels)) = series.split_once('{') else {
                return Sample {
                    name: series.to_string(),
                    labels: Vec::new(),
                    value,
                };
            };
            Sample {
                name: name.to_string(),
                labels: parse_labels(labels.strip_suffix('}').unwrap()),
                value,
            }
        })
        .collect()
}

/// `a="x",b="y\"z"` into pairs (values unescaped).
fn parse_labels(text: &str) -> LabelPairs {
    let mut labels = Vec::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => value.push(chars.next().expect("escaped character").1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((name.trim_start_matches(',').to_string(), value));
        rest = &after[end + 1..];
    }
    labels
}

/// Per metric, the names its samples carry: the metric's own for counters and gauges,
/// `_bucket`, `_sum` and `_count` for histograms.
fn sample_names<C: MetricCatalog>(metric: C) -> Vec<String> {
    let name = metric.def().name;
    match metric.def().kind {
        MetricKind::Histogram { .. } => ["_bucket", "_sum", "_count"]
            .map(|suffix| format!("{name}{suffix}"))
            .to_vec(),
        MetricKind::Counter | MetricKind::Gauge => vec![name.to_string()],
    }
}

/// True when `metric` is recorded by the demo (not a self-metric of the recorder).
fn recorded_by_demo<C: MetricCatalog>(metric: C) -> bool {
    metric.def().unused.is_none()
}

/// Metrics with a non-zero sample in `text`: counters and gauges with a non-zero value,
/// histograms with a non-zero `_count`.
fn non_zero<C: MetricCatalog>(text: &str) -> HashSet<&'static str> {
    let samples = parse_samples(text);
    C::ALL
        .iter()
        .map(|metric| metric.def())
        .filter(|def| {
            let wanted = match def.kind {
                MetricKind::Histogram { .. } => format!("{}_count", def.name),
                MetricKind::Counter | MetricKind::Gauge => def.name.to_string(),
            };
            samples.iter().any(|s| s.name == wanted && s.value != 0.0)
        })
        .map(|def| def.name)
        .collect()
}

/// Every metric of catalog `C` is exposed as declared; those the demo records were
/// non-zero at some scrape.
fn check_catalog<C: MetricCatalog>(last: &str, seen_non_zero: &HashSet<&str>, output: &str) {
    for metric in C::ALL {
        check_metric(last, *metric);
        if recorded_by_demo(*metric) {
            assert!(
                seen_non_zero.contains(metric.def().name),
                "{} was never non-zero in 10 s; output:\n{output}",
                metric.def().name
            );
        }
    }
}

/// Everything the catalog says about `metric` holds in `text`.
fn check_metric<C: MetricCatalog>(text: &str, metric: C) {
    let def = metric.def();
    let name = def.name;
    assert!(
        text.contains(&format!("# HELP {name} {}\n", def.exposed_help())),
        "{name}: HELP missing or different from the catalog's"
    );
    assert!(
        text.contains(&format!("# TYPE {name} {}\n", def.kind.type_name())),
        "{name}: TYPE missing or not {}",
        def.kind.type_name()
    );
    let names = sample_names(metric);
    let samples: Vec<Sample> = parse_samples(text)
        .into_iter()
        .filter(|s| names.contains(&s.name))
        .collect();
    assert!(!samples.is_empty(), "{name}: no sample");
    let catalog_labels: Vec<&str> = def.labels.iter().map(|l| l.def().name).collect();
    for sample in &samples {
        let mut labels: Vec<&str> = sample.labels.iter().map(|(n, _)| n.as_str()).collect();
        if sample.name.ends_with("_bucket") && def.buckets().is_some() {
            assert_eq!(labels.pop(), Some("le"), "{sample:?}");
        }
        assert_eq!(labels, catalog_labels, "{name}: labels of {sample:?}");
    }
    if let Some(buckets) = def.buckets() {
        let bucket_name = format!("{name}_bucket");
        let mut expected: Vec<f64> = buckets.to_vec();
        expected.push(f64::INFINITY);
        let mut series: Vec<(LabelPairs, Vec<f64>)> = Vec::new();
        for sample in samples.iter().filter(|s| s.name == bucket_name) {
            let (le, others) = sample.labels.split_last().unwrap();
            let bound: f64 = match le.1.as_str() {
                "+Inf" => f64::INFINITY,
                other => other.parse().unwrap(),
            };
            match series.iter_mut().find(|(labels, _)| labels == others) {
                Some((_, bounds)) => bounds.push(bound),
                None => series.push((others.to_vec(), vec![bound])),
            }
        }
        assert!(!series.is_empty(), "{name}: no buckets");
        for (labels, bounds) in series {
            assert_eq!(
                bounds, expected,
                "{name}{labels:?}: buckets differ from the catalog's"
            );
        }
    }
}

/// `promtool check metrics` on `text` prints nothing (skipped without promtool outside CI).
fn check_with_promtool(text: &str) {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool missing: apt-get install -y prometheus"
        );
        eprintln!(
            "skipping the promtool check: promtool not installed (apt-get install -y prometheus)"
        );
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && printed.trim().is_empty(),
        "promtool check metrics: {printed}"
    );
}

/// Every ingest log file ends cleanly, every record decodes and names a CAS object
/// holding content of that hash, and no envelope was logged twice. Returns the count.
fn check_ingest_log(data_dir: &Path) -> usize {
    let files = ingest_log::read_dir(&data_dir.join("ingest-log")).unwrap();
    let mut hashes = HashSet::new();
    for file in &files {
        assert_eq!(file.parsed.tail, Tail::Clean, "{}", file.path.display());
        for payload in &file.parsed.records {
            let record: LogRecord = serde_json::from_slice(payload).unwrap();
            let object = data_dir
                .join("cas/objects")
                .join(&record.hash[..2])
                .join(&record.hash);
            let content = std::fs::read(&object).unwrap();
            assert_eq!(ContentHash::of(&content).to_hex(), record.hash);
            assert_eq!(content.len() as u64, record.size);
            assert!(hashes.insert(record.hash), "logged twice");
        }
    }
    hashes.len()
}

#[test]
fn every_catalog_metric_is_served_and_the_run_ends_with_exit_0() {
    // Every feature on: every metric of every catalog must show up.
    let mut args = vec!["--duration", "12", "--seed", "7"];
    let features = pipeline_demo::features();
    for feature in &features {
        args.extend(["--feature", feature]);
    }
    let mut demo = Demo::start(&args);
    // Gauges go up and down: scrape often and remember which ever were non-zero.
    let mut seen_non_zero = HashSet::new();
    let mut last = String::new();
    while demo.started.elapsed() < Duration::from_secs(10) {
        if let Some(text) = demo.scrape() {
            seen_non_zero.extend(non_zero::<MetricId>(&text));
            seen_non_zero.extend(non_zero::<StorageMetricId>(&text));
            last = text;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = demo.output();
    check_catalog::<MetricId>(&last, &seen_non_zero, &output);
    check_catalog::<StorageMetricId>(&last, &seen_non_zero, &output);
    check_catalog::<recorder::SelfMetricId>(&last, &seen_non_zero, &output);
    // Every error type of every error counter got data.
    for (metric, types) in [
        (
            MetricId::SourcesRequestsError.def().name,
            catalog::SourceErrorType::VALUES,
        ),
        (
            StorageMetricId::GatewayCasWritesError.def().name,
            StorageErrorType::VALUES,
        ),
        (
            StorageMetricId::IngestLogWritesError.def().name,
            StorageErrorType::VALUES,
        ),
    ] {
        let samples = parse_samples(&last);
        for error_type in types {
            assert!(
                samples.iter().any(|s| s.name == metric
                    && s.value > 0.0
                    && s.labels
                        .iter()
                        .any(|(n, v)| n == "error_type" && v == error_type)),
                "{metric} has no {error_type} error"
            );
        }
    }
    check_with_promtool(&last);
    let status = demo.wait(Duration::from_secs(15));
    assert!(status.success(), "{status}; output:\n{}", demo.output());
    assert!(check_ingest_log(&demo.data()) > 0);
}

#[test]
fn sigterm_drains_the_queue_and_leaves_a_whole_ingest_log() {
    let mut demo = Demo::start(&[]);
    std::thread::sleep(Duration::from_secs(3));
    // No feature on: the metrics depending on one are absent.
    let text = demo.scrape().expect("a scrape");
    for metric in MetricId::ALL.iter().filter(|m| m.def().feature.is_some()) {
        let name = metric.def().name;
        assert!(
            !text.contains(&format!("# TYPE {name} ")),
            "{name} exposed while its feature is off"
        );
    }
    demo.signal("-TERM");
    let status = demo.wait(Duration::from_secs(15));
    let output = demo.output();
    assert!(status.success(), "{status}; output:\n{output}");
    assert!(output.contains("SIGTERM"), "{output}");
    assert!(check_ingest_log(&demo.data()) > 0);
}

#[test]
fn an_unusable_listen_address_fails_naming_it() {
    let mut demo = Demo::start_on("not-an-address", &[]);
    let status = demo.wait(Duration::from_secs(10));
    assert!(!status.success());
    assert!(
        demo.output().contains("'not-an-address'"),
        "{}",
        demo.output()
    );

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let mut demo = Demo::start_on(&address, &[]);
    let status = demo.wait(Duration::from_secs(10));
    let output = demo.output();
    assert!(!status.success(), "{output}");
    assert!(output.contains(&address), "{output}");
    drop(taken);
}
