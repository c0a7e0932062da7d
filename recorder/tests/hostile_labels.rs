//! Hostile free-form label values: the exposition stays valid and reads back exactly,
//! and the absurd-value policy (length bound, reserved `__overflow__`) holds.
//!
//! Each generated batch is checked twice: by parsing the text back here (exact values
//! and counts) and by `promtool check metrics` (Prometheus' own parser). The round trip
//! through a real Prometheus server lives in `reliability/tests/prometheus_roundtrip.rs`.

use std::collections::BTreeMap;

mod support;

use catalog::{Label, LabelKey, Metric, MetricId, OVERFLOW_VALUE, SourceId};
use proptest::prelude::*;
use recorder::MAX_LABEL_VALUE_BYTES;
use support::{dropped, promtool_accepts};

/// Pieces that break naive escaping, combined at random.
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
    "\u{7f}",
    "é",
    "🦀",
    "{",
    "}",
    "=",
    ",",
    " ",
    "#",
    "a",
    "__overflow__",
    "le=\"1\"",
];

/// A hostile label value of at most `MAX_LABEL_VALUE_BYTES` bytes.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..12).prop_map(|p| p.concat()),
        any::<String>(),
        "\\PC{0,64}",
        // Long values at and just under the bound, ending in escapes.
        (
            0usize..4,
            prop::sample::select(&["\\", "\"", "\n", "x"][..])
        )
            .prop_map(|(cut, tail)| {
                let mut value = "y".repeat(MAX_LABEL_VALUE_BYTES - tail.len() - cut);
                value.push_str(tail);
                value
            }),
    ]
    .prop_filter("within the length bound", |v| {
        v.len() <= MAX_LABEL_VALUE_BYTES
    })
}

fn recorder() -> recorder::Recorder<MetricId> {
    recorder::Builder::<MetricId>::new()
        .panic_on_misuse(true)
        .build()
        .expect("valid catalog")
}

/// Label values and sample values of the lines of `series` (a metric name, with any
/// `_count`-style suffix) whose only label is `label`, unescaped as Prometheus does.
fn read_back(text: &str, series: &str, label: &str) -> BTreeMap<String, f64> {
    let prefix = format!("{series}{{{label}=\"");
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let mut value = String::new();
        let mut chars = rest.chars();
        loop {
            match chars.next().expect("unterminated label value") {
                '"' => break,
                '\\' => match chars.next().expect("dangling escape") {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => panic!("invalid escape \\{other} in {line:?}"),
                },
                c => value.push(c),
            }
        }
        let sample = chars
            .as_str()
            .strip_prefix("} ")
            .unwrap_or_else(|| panic!("one label only: {line:?}"));
        let previous = found.insert(value, sample.parse().expect("sample value"));
        assert!(previous.is_none(), "series exposed twice: {line:?}");
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any batch of values within the bound: every value is exposed once, unescapes to
    /// the original, carries its exact count (counter and histogram), and promtool parses
    /// the whole scrape cleanly.
    #[test]
    fn hostile_values_round_trip_exactly(values in prop::collection::vec(hostile_value(), 1..24)) {
        let recorder = recorder();
        let mut expected: BTreeMap<String, f64> = BTreeMap::new();
        for (i, value) in values.iter().enumerate() {
            let labels = SourceId(value);
            recorder.add(Metric::SourcesRequestsSuccess, labels, i as u64 + 1);
            recorder.observe(Metric::SourcesRequestDuration, labels, 0.5);
            *expected.entry(value.clone()).or_default() += i as f64 + 1.0;
        }
        let text = recorder.render();
        let label = Label::SourceId.def().name;
        let counters = read_back(&text, Metric::SourcesRequestsSuccess.def().name, label);
        prop_assert_eq!(&counters, &expected);
        let histogram = format!("{}_count", Metric::SourcesRequestDuration.def().name);
        let counts = read_back(&text, &histogram, label);
        let keys: Vec<&String> = counts.keys().collect();
        let expected_keys: Vec<&String> = expected.keys().collect();
        prop_assert_eq!(keys, expected_keys);
        if let Err(printed) = promtool_accepts(&text) {
            prop_assert!(false, "promtool rejects the scrape: {}\n{}", printed, text);
        }
    }
}

#[test]
fn values_over_the_length_bound_are_dropped_and_counted() {
    let recorder = recorder::Builder::<MetricId>::new()
        .panic_on_misuse(false)
        .build()
        .unwrap();
    let metric = Metric::SourcesRequestsSuccess;
    let at_bound = "é".repeat(MAX_LABEL_VALUE_BYTES / 2);
    let over_bound = format!("{at_bound}x");
    let huge = "z".repeat(1 << 20);
    recorder.inc(metric, SourceId(&at_bound));
    recorder.inc(metric, SourceId(&over_bound));
    recorder.inc(metric, SourceId(&huge));
    recorder.inc(metric, SourceId(&huge));
    let text = recorder.render();
    let exposed = read_back(&text, metric.def().name, Label::SourceId.def().name);
    assert_eq!(exposed, BTreeMap::from([(at_bound, 1.0)]));
    assert_eq!(dropped(&text, metric, "wrong_labels"), 3.0);
    assert_eq!(recorder.series_count(metric), 1);
    assert!(text.len() < 64 * 1024, "scrape of {} bytes", text.len());
}

#[test]
#[should_panic(expected = "over the 256-byte bound")]
fn values_over_the_length_bound_panic_when_asked_to() {
    let over_bound = "x".repeat(MAX_LABEL_VALUE_BYTES + 1);
    recorder().inc(Metric::SourcesRequestsSuccess, SourceId(&over_bound));
}

#[test]
fn a_caller_supplied_overflow_value_is_the_overflow_series_and_takes_no_slot() {
    let recorder = recorder();
    let metric = Metric::SourcesRequestsSuccess;
    let bound = metric.def().max_series;
    recorder.inc(metric, SourceId(OVERFLOW_VALUE));
    recorder.inc(metric, SourceId(OVERFLOW_VALUE));
    // All `bound` slots are still free.
    for i in 0..bound {
        recorder.inc(metric, SourceId(&format!("source-{i}")));
    }
    recorder.inc(metric, SourceId("one-too-many"));
    let text = recorder.render();
    let exposed = read_back(&text, metric.def().name, Label::SourceId.def().name);
    assert_eq!(exposed.len(), bound + 1);
    assert_eq!(exposed[OVERFLOW_VALUE], 3.0);
    assert_eq!(exposed["source-0"], 1.0);
    // Only the real fold is counted as overflow.
    let folded = format!(
        "{}{{metric=\"{}\"}} 1\n",
        recorder::SelfMetric::SeriesOverflow.def().name,
        metric.def().name
    );
    assert!(text.contains(&folded), "{text}");
}

#[test]
fn an_empty_value_is_a_series_of_its_own() {
    // Prometheus reads `source_id=""` as "no source_id label"; it is still one series.
    let recorder = recorder();
    let metric = Metric::SourcesRequestsSuccess;
    recorder.inc(metric, SourceId(""));
    recorder.inc(metric, SourceId(""));
    let text = recorder.render();
    let exposed = read_back(&text, metric.def().name, Label::SourceId.def().name);
    assert_eq!(exposed, BTreeMap::from([(String::new(), 2.0)]));
}

#[test]
fn pre_escaped_looking_values_keep_every_backslash() {
    // `metrics-exporter-prometheus` 0.18's escaping exposes `\"` as `\"` (read back as
    // `"`) and `\` + newline as `\n\\`; the recorder's own escaping must not.
    let recorder = recorder();
    let metric = Metric::SourcesRequestsSuccess;
    let values = ["\\\"", "\"", "\\\n", "\n\\", "\\", "\\\\n", "a\\"];
    for value in values {
        recorder.inc(metric, SourceId(value));
    }
    let text = recorder.render();
    let exposed = read_back(&text, metric.def().name, Label::SourceId.def().name);
    let expected: BTreeMap<String, f64> = values.iter().map(|v| (v.to_string(), 1.0)).collect();
    assert_eq!(exposed, expected, "{text}");
}
