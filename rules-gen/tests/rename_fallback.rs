//! A rename's fallback queries never double count, checked by the real evaluator.
//!
//! Property: for any fleet in the middle of a rename's deploy (each instance exposing the
//! old name only, the new name only, or both with the same values, each at its own
//! rate), the expressions `signals` writes for the new metric (fleet rate, per-instance
//! rate, current value, error ratio, absence) evaluate to the sums of the instances'
//! true values: an instance exposing both names counts once, one exposing the old name
//! only is not missed. Each generated fleet becomes one `promtool test rules` case with
//! the exact expected samples; a control shows that the naive query (both names summed)
//! fails the same expectations. Histograms likewise, bucket by bucket (`le` survives
//! `rate`, so the two names of one bucket match), on a small catalog renaming one.
//!
//! Needs `promtool` on `PATH` (Debian: `apt-get install -y prometheus`). Without it the
//! test fails when `CI` is set and is skipped, saying so, otherwise.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use catalog::MetricCatalog;
use proptest::prelude::*;
use sms_storage::StorageMetricId as MetricId;

fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool not found on PATH: install it: apt-get install -y prometheus"
        );
        eprintln!(
            "SKIPPED: promtool not found on PATH (install it: apt-get install -y prometheus)"
        );
    }
    found
}

/// Which names an instance exposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Names {
    Old,
    New,
    Both,
}

/// One instance: its names, its successes and errors per second.
#[derive(Clone, Debug)]
struct Instance {
    names: Names,
    successes: u64,
    errors: u64,
}

/// The storage catalog's rename: (old, new), and the error counter whose twin is `new`.
fn rename() -> (MetricId, MetricId, MetricId) {
    let new = MetricId::GatewayCasObjectsWritten;
    let old = catalog::renamed_from(new).expect("the storage catalog renames it");
    let errors = MetricId::ALL
        .iter()
        .copied()
        .find(|m| m.def().success_twin == Some(new))
        .expect("an error counter twinned with the new metric");
    (old, new, errors)
}

const MINUTES: u64 = 10;

/// One `promtool test rules` case for `fleet`: input series (one sample per minute,
/// increments of 60 x the per-second rate, so rates are exact integers) and the exact
/// samples each expression must return at the last minute.
fn case(fleet: &[Instance], exprs: &Exprs) -> String {
    let (old, new, errors) = rename();
    let mut out = String::from("- interval: 1m\n  input_series:\n");
    for (i, instance) in fleet.iter().enumerate() {
        let labels = format!("{{job=\"sms\", instance=\"i{i}\"}}");
        let names: &[MetricId] = match instance.names {
            Names::Old => &[old],
            Names::New => &[new],
            Names::Both => &[old, new],
        };
        for name in names {
            let _ = writeln!(
                out,
                "  - series: '{}{labels}'\n    values: '0+{}x{MINUTES}'",
                name.def().name,
                instance.successes * 60
            );
        }
        let _ = writeln!(
            out,
            "  - series: '{}{{job=\"sms\", instance=\"i{i}\", error_type=\"io\"}}'\n    values: '0+{}x{MINUTES}'",
            errors.def().name,
            instance.errors * 60
        );
    }
    let successes: u64 = fleet.iter().map(|i| i.successes).sum();
    let failures: u64 = fleet.iter().map(|i| i.errors).sum();
    let value = |v: f64| format!("{v:?}");
    // Rates are whole numbers per second here, but Prometheus' extrapolation leaves them
    // an ulp off (7.000000000000001): `round` takes that off, and nothing else (a double
    // count or a missed instance is off by whole numbers).
    let round = |expr: &str| format!("round({expr})");
    let mut tests: Vec<(String, Vec<(String, String)>)> = vec![
        (
            round(&exprs.fleet_rate),
            vec![("{job=\"sms\"}".into(), value(successes as f64))],
        ),
        (
            round(&exprs.instance_rate),
            fleet
                .iter()
                .enumerate()
                .map(|(i, instance)| {
                    (
                        format!("{{job=\"sms\", instance=\"i{i}\"}}"),
                        value(instance.successes as f64),
                    )
                })
                .collect(),
        ),
        (
            exprs.current.clone(),
            vec![(
                "{job=\"sms\"}".into(),
                value((successes * 60 * MINUTES) as f64),
            )],
        ),
        (exprs.absent.clone(), Vec::new()),
    ];
    // The error ratio times the fleet's operations per second is its errors per second.
    if successes + failures > 0 {
        tests.push((
            format!("round(({}) * {})", exprs.error_ratio, successes + failures),
            vec![("{job=\"sms\"}".into(), value(failures as f64))],
        ));
    }
    out.push_str("  promql_expr_test:\n");
    for (expr, samples) in tests {
        let _ = writeln!(
            out,
            "  - expr: '{expr}'\n    eval_time: {MINUTES}m\n    exp_samples:{}",
            if samples.is_empty() { " []" } else { "" }
        );
        for (labels, value) in samples {
            let _ = writeln!(out, "    - labels: '{labels}'\n      value: {value}");
        }
    }
    out
}

/// The expressions under test.
struct Exprs {
    fleet_rate: String,
    instance_rate: String,
    current: String,
    error_ratio: String,
    absent: String,
}

/// What `signals` writes for the new metric (rules' bare selectors).
fn generated() -> Exprs {
    let (_, new, errors) = rename();
    let bare = &signals::bare::<MetricId>;
    Exprs {
        fleet_rate: signals::rate(new, &["job"], "5m", bare),
        instance_rate: signals::rate(new, &["job", "instance"], "5m", bare),
        current: format!("sum by (job) ({})", signals::current(new, bare)),
        error_ratio: signals::error_ratio(errors, &["job"], "5m", bare)
            .expect("the error counter has a twin"),
        absent: signals::absent(new),
    }
}

/// Runs `promtool test rules` on `cases`; the output.
fn promtool_test(promtool: &Path, cases: &[String]) -> Output {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rename-fallback-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rules.yaml"), "groups: []\n").unwrap();
    let test = format!(
        "rule_files:\n- rules.yaml\nevaluation_interval: 1m\ntests:\n{}",
        cases.concat()
    );
    let path = dir.join("test.yaml");
    std::fs::write(&path, &test).unwrap();
    let output = Command::new(promtool)
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .expect("running promtool");
    std::fs::remove_dir_all(&dir).unwrap();
    output
}

fn instance() -> impl Strategy<Value = Instance> {
    (
        prop_oneof![Just(Names::Old), Just(Names::New), Just(Names::Both)],
        0u64..50,
        0u64..5,
    )
        .prop_map(|(names, successes, errors)| Instance {
            names,
            successes,
            errors,
        })
}

proptest! {
    // Each case is one promtool run over many fleets.
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn fallback_queries_count_every_instance_once(
        fleets in proptest::collection::vec(proptest::collection::vec(instance(), 1..=5), 1..=24)
    ) {
        let Some(promtool) = promtool() else { return Ok(()) };
        let exprs = generated();
        let cases: Vec<String> = fleets.iter().map(|fleet| case(fleet, &exprs)).collect();
        let output = promtool_test(&promtool, &cases);
        prop_assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The control: summing both names (what a query without the fallback's `or` does)
/// fails the same expectations as soon as one instance exposes both, and the
/// new name alone misses an old-only instance; the generated queries pass.
#[test]
fn the_naive_queries_fail_where_the_fallback_passes() {
    let Some(promtool) = promtool() else { return };
    let (old, new, _) = rename();
    let fleet = [
        Instance {
            names: Names::Both,
            successes: 3,
            errors: 1,
        },
        Instance {
            names: Names::Old,
            successes: 5,
            errors: 0,
        },
    ];
    let fallback = generated();
    assert!(
        promtool_test(&promtool, &[case(&fleet, &fallback)])
            .status
            .success()
    );
    let both = format!("{}|{}", new.def().name, old.def().name);
    for naive in [
        format!("sum by (job) (rate({{__name__=~\"{both}\"}}[5m]))"),
        format!("sum by (job) (rate({}[5m]))", new.def().name),
    ] {
        let exprs = Exprs {
            fleet_rate: naive.clone(),
            ..generated()
        };
        let output = promtool_test(&promtool, &[case(&fleet, &exprs)]);
        assert!(!output.status.success(), "{naive} passed");
    }
}

mod histograms {
    use catalog::{Deprecation, Subsystem, Unit};

    const CORE: Subsystem = Subsystem {
        name: "core",
        title: "Core",
        description: "Does the work.",
    };

    const BUCKETS: &[f64] = &[0.1, 1.0];

    /// A histogram in its rename window.
    #[catalog::metrics(
        prefix = "hr_",
        labels = [],
        subsystems = [CORE],
    )]
    pub enum Hr {
        /// Time to run a job (old name).
        #[metric(histogram("hr_core_time_seconds", &CORE, BUCKETS)
            .unit(Unit::Seconds)
            .deprecated(Deprecation::new("0.2.0", "Says what is timed").renamed_to(Hr::RunDuration.id())))]
        Time,
        /// Time to run a job.
        #[metric(histogram("hr_core_run_duration_seconds", &CORE, BUCKETS).unit(Unit::Seconds))]
        RunDuration,
    }
}

use histograms::HrId;

/// One instance of a histogram fleet: its names and observations per second in each
/// bucket (`le` 0.1, 1, +Inf, not cumulative).
#[derive(Clone, Debug)]
struct HistogramInstance {
    names: Names,
    per_bucket: [u64; 3],
}

/// The promtool case of a histogram fleet: the bucket rates `signals` sums per `le`.
fn histogram_case(fleet: &[HistogramInstance], expr: &str) -> String {
    let (old, new) = (HrId::Time, HrId::RunDuration);
    let les = ["0.1", "1", "+Inf"];
    let mut out = String::from("- interval: 1m\n  input_series:\n");
    for (i, instance) in fleet.iter().enumerate() {
        let names: &[HrId] = match instance.names {
            Names::Old => &[old],
            Names::New => &[new],
            Names::Both => &[old, new],
        };
        let mut cumulative = 0;
        for (le, count) in les.iter().zip(instance.per_bucket) {
            cumulative += count;
            for name in names {
                let _ = writeln!(
                    out,
                    "  - series: '{}_bucket{{job=\"sms\", instance=\"i{i}\", le=\"{le}\"}}'\n    values: '0+{}x{MINUTES}'",
                    name.def().name,
                    cumulative * 60
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "  promql_expr_test:\n  - expr: 'round({expr})'\n    eval_time: {MINUTES}m\n    exp_samples:"
    );
    let mut cumulative = 0;
    for (bucket, le) in les.iter().enumerate() {
        cumulative += fleet.iter().map(|i| i.per_bucket[bucket]).sum::<u64>();
        let _ = writeln!(
            out,
            "    - labels: '{{job=\"sms\", le=\"{le}\"}}'\n      value: {:?}",
            cumulative as f64
        );
    }
    out
}

fn histogram_instance() -> impl Strategy<Value = HistogramInstance> {
    (
        prop_oneof![Just(Names::Old), Just(Names::New), Just(Names::Both)],
        proptest::array::uniform3(0u64..20),
    )
        .prop_map(|(names, per_bucket)| HistogramInstance { names, per_bucket })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn histogram_fallback_counts_every_instance_once_per_bucket(
        fleets in proptest::collection::vec(proptest::collection::vec(histogram_instance(), 1..=4), 1..=16)
    ) {
        let Some(promtool) = promtool() else { return Ok(()) };
        let new = HrId::RunDuration;
        prop_assert_eq!(catalog::renamed_from(new), Some(HrId::Time));
        let expr = format!(
            "sum by (job, le) ({})",
            signals::rated(new, "_bucket", "5m", &signals::bare::<HrId>)
        );
        let cases: Vec<String> = fleets.iter().map(|fleet| histogram_case(fleet, &expr)).collect();
        let output = promtool_test(&promtool, &cases);
        prop_assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
