//! Hostile label values through a real Prometheus: one server, started once, scrapes
//! a batch of generated values (quotes, backslashes, newlines, tabs, escape-looking
//! text, control characters, empty, at the length bound, `__overflow__`). The target
//! must stay up and every value read back through the query API must equal the
//! original, with its exact count.
//!
//! The exact text-level checks and `promtool` run in `recorder/tests/hostile_labels.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use catalog::{Label, LabelKey, Metric, MetricId, OVERFLOW_VALUE, SourceId};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use recorder::MAX_LABEL_VALUE_BYTES;
use reliability::Prometheus;

const PIECES: &[&str] = &[
    "\"",
    "\\",
    "\n",
    "\t",
    "\r",
    "\\\"",
    "\\n",
    "\\\\",
    "\\x",
    "\\xff",
    "\\u00e9",
    "\u{fffd}",
    "\u{0}",
    "\u{1b}[31m",
    "é",
    "🦀",
    "{",
    "}",
    "=",
    ",",
    " ",
    "#",
    "a",
    "le=\"1\"",
    "%00",
];

/// A deterministic batch of distinct hostile values, plus the edge cases.
fn hostile_batch(size: usize) -> Vec<String> {
    let strategy = prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat()),
        any::<String>(),
    ];
    let mut runner = TestRunner::deterministic();
    let mut values: Vec<String> = vec![
        String::new(),
        OVERFLOW_VALUE.to_string(),
        format!("{}\\", "y".repeat(MAX_LABEL_VALUE_BYTES - 1)),
        "\\\"".to_string(),
        "\\\n".to_string(),
    ];
    while values.len() < size {
        let value = strategy.new_tree(&mut runner).expect("strategy").current();
        if value.len() <= MAX_LABEL_VALUE_BYTES && !values.contains(&value) {
            values.push(value);
        }
    }
    values
}

#[test]
fn hostile_values_survive_a_real_prometheus_scrape() {
    let recorder = recorder::Builder::<MetricId>::new()
        .listen("127.0.0.1:0".parse().expect("address"))
        .panic_on_misuse(true)
        .install()
        .expect("install");
    let metric = Metric::SourcesRequestsSuccess;
    // Within the bound (one slot is left: `__overflow__` takes none).
    let values = hostile_batch(metric.def().max_series);
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    for (i, value) in values.iter().enumerate() {
        let source = SourceId(value);
        recorder.add(metric, source, i as u64 + 1);
        recorder.observe(Metric::SourcesRequestDuration, source, 0.5);
        expected.insert(value.clone(), i as f64 + 1.0);
    }
    let target = recorder.listen_address().expect("bound");
    let Some(prometheus) = Prometheus::start(target) else {
        return;
    };
    let started = Instant::now();
    let waited = prometheus
        .wait_until_scraped(Duration::from_secs(45))
        .unwrap_or_else(|e| panic!("{e}"));
    let label = Label::SourceId.def().name;
    let read_back = |expr: &str| -> BTreeMap<String, f64> {
        prometheus
            .query(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .iter()
            .map(|sample| {
                // Prometheus drops empty labels: an absent source_id is the empty value.
                let value = sample["metric"][label].as_str().unwrap_or("").to_string();
                let number = sample["value"][1].as_str().expect("sample value");
                (value, number.parse().expect("number"))
            })
            .collect()
    };
    let counters = read_back(metric.def().name);
    let missing: Vec<&String> = expected
        .keys()
        .filter(|v| !counters.contains_key(*v))
        .collect();
    assert!(missing.is_empty(), "not read back: {missing:?}");
    assert_eq!(counters, expected);
    let count = format!("{}_count", Metric::SourcesRequestDuration.def().name);
    let counts = read_back(&count);
    assert_eq!(counts.len(), expected.len());
    assert!(counts.values().all(|c| *c == 1.0), "{counts:?}");
    let up = prometheus.query("up").expect("up");
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
    eprintln!(
        "prometheus_roundtrip: {} hostile values (longest {} bytes) scraped by Prometheus 2.42 with the target up and read back exactly; first scrape after {waited:.1?}, test {:.1?}",
        expected.len(),
        values.iter().map(String::len).max().unwrap_or(0),
        started.elapsed()
    );
}
