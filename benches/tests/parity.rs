//! Every implementation, after the same operations, exposes the same samples.
//!
//! Each implementation records the same workload into its own registry; each
//! rendering is parsed with `prometheus-parse` and reduced to `(name, labels) -> value`
//! for the workload's metrics, then compared with ours. This proves every benchmark row
//! does the same work (e.g. the exporter's histograms really have the catalog buckets).

use std::collections::BTreeMap;

use recorder_benches::catalog::BenchId;
use recorder_benches::fixtures::Fixtures;
use recorder_benches::seed::Seed;
use recorder_benches::subjects::{MetricsHandles, MetricsMacros, Ours, exporter};
use recorder_benches::{DynamicSubject, Subject};

/// `(sample name, sorted labels)` -> value.
type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

/// The same operations for every implementation; counts differ per series so a
/// mixed-up series shows.
fn record<S: Subject>(subject: &S, fixtures: &Fixtures, dynamic: impl Fn(&str, &str)) {
    for _ in 0..5 {
        subject.inc_unlabeled();
    }
    for (i, pair) in fixtures.static_pairs.iter().enumerate() {
        let labels = subject.prepare_static(*pair);
        for _ in 0..=i {
            subject.inc_static(&labels);
        }
    }
    for (i, (tenant, route)) in fixtures.dynamic_pairs.iter().enumerate() {
        for _ in 0..=(i % 4) {
            dynamic(tenant, route);
        }
    }
    for value in &fixtures.values {
        subject.observe(*value);
    }
}

fn record_dynamic<S: DynamicSubject>(subject: &S, fixtures: &Fixtures) {
    record(subject, fixtures, |tenant, route| {
        subject.inc_dynamic(tenant, route)
    });
}

/// Parses `text` and keeps the samples of the workload's metrics.
fn samples(text: &str) -> Samples {
    let workload = [
        BenchId::Requests,
        BenchId::Responses,
        BenchId::TenantRequests,
        BenchId::Latency,
    ]
    .map(|metric| metric.def().name);
    let lines = text.lines().map(|line| Ok(line.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("parses");
    let mut samples = Samples::new();
    for sample in scrape.samples {
        if !workload.iter().any(|name| sample.metric.starts_with(name)) {
            continue;
        }
        let labels: Vec<(String, String)> = sample
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), normalize(k, v)))
            .collect();
        let mut insert = |name: String, mut labels: Vec<(String, String)>, value: f64| {
            labels.sort();
            assert!(
                samples.insert((name, labels), value).is_none(),
                "duplicate sample"
            );
        };
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => insert(sample.metric, labels, v),
            prometheus_parse::Value::Histogram(buckets) => {
                for bucket in buckets {
                    let mut labels = labels.clone();
                    labels.push(("le".to_owned(), format!("{}", bucket.less_than)));
                    insert(format!("{}_bucket", sample.metric), labels, bucket.count);
                }
            }
            prometheus_parse::Value::Summary(_) => panic!("no summaries expected"),
        }
    }
    samples
}

/// Bucket bounds written as `1`, `1.0` or `+Inf` compare equal.
fn normalize(name: &str, value: &str) -> String {
    match (name, value.parse::<f64>()) {
        ("le", Ok(bound)) => format!("{bound}"),
        _ => value.to_owned(),
    }
}

fn assert_same(name: &str, expected: &Samples, text: &str) {
    let actual = samples(text);
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: missing {missing:?}, extra {extra:?}\n{text}"
    );
    for (key, value) in expected {
        let got = actual[key];
        assert!(
            (got - value).abs() <= 1e-9 * value.abs().max(1.0),
            "{name}: {key:?} is {got}, expected {value}"
        );
    }
}

/// Runs `f` against a fresh exporter as the current `metrics` recorder, then renders it.
fn with_exporter(f: impl FnOnce()) -> String {
    let exporter = exporter();
    let handle = exporter.handle();
    metrics::with_local_recorder(&exporter, f);
    handle.render()
}

#[test]
fn every_implementation_exposes_the_same_samples() {
    let fixtures = Fixtures::new();
    let ours = recorder::Builder::<BenchId>::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .panic_on_misuse(true)
        .install()
        .expect("install");
    record_dynamic(&Ours, &fixtures);
    let expected = samples(&ours.render());
    // 1 unlabeled + 18 static + 18 dynamic counters, 7 buckets + `+Inf` + sum + count.
    assert_eq!(expected.len(), 1 + 18 + 18 + 10, "{expected:?}");

    let text = with_exporter(|| record_dynamic(&MetricsMacros, &fixtures));
    assert_same("metrics macros", &expected, &text);
    let text = with_exporter(|| {
        let handles = MetricsHandles::new();
        record(&handles, &fixtures, |tenant, route| {
            MetricsMacros.inc_dynamic(tenant, route)
        });
    });
    assert_same("metrics handles", &expected, &text);
    let text = with_exporter(|| record_dynamic(&Seed::new(), &fixtures));
    assert_same("seed", &expected, &text);

    #[cfg(feature = "peers")]
    {
        use recorder_benches::peers::{client::Client, measured::Measured, tikv::Tikv};
        let tikv = Tikv::new();
        record_dynamic(&tikv, &fixtures);
        assert_same("prometheus", &expected, &tikv.render());
        let client = Client::new();
        record_dynamic(&client, &fixtures);
        assert_same("prometheus-client", &expected, &client.render());
        let measured = Measured::new();
        record_dynamic(&measured, &fixtures);
        assert_same("measured", &expected, &measured.render());
    }
}
