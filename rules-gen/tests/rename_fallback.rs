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
//! Continuity: across the deploy (an instance exposes the old name only until a random
//! minute, when it restarts: the old name resets, the new one is born at 0) and across
//! the hiding of the old name after a dual emission that covered the window, the
//! fallback's fleet, instance and bucket rates equal (relative 1e-9) the rate of a
//! reference series carrying the old-name-only history, over 5m and 30m windows. The
//! controls: `new or old` fails at the deploy (the new series covers only the minutes
//! since the restart), `old or new` at the hiding, and the generated fallback when the
//! old name is hidden within one window of the deploy.
//!
//! Needs `promtool` on `PATH` (Debian: `apt-get install -y prometheus`). Without it the
//! test fails when `CI` is set and is skipped, saying so, otherwise.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use catalog::MetricCatalog;
use proptest::prelude::*;
use sms_storage::StorageMetricId as MetricId;

mod support;
use support::promtool;

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

/// What an instance exposes, minute by minute, across the rename's deploy, and its
/// successes per second before and after the deploy.
#[derive(Clone, Copy, Debug)]
struct Lifecycle {
    /// `None`: the previous release throughout, the old name only. `Some(at)`: the
    /// previous release until minute `at`, when the instance restarts with the renaming
    /// one: the old name resets (0 at `at`, same labels, so it goes on as one series)
    /// and the new name is born at 0; both names from then on (at 0: from the start).
    deploy: Option<u64>,
    /// The old name no longer exposed after this minute (the switch, no restart).
    hide: Option<u64>,
    before: u64,
    after: u64,
}

/// A lifecycle's series, one sample per minute from 0 to `horizon` (`None`: not
/// exposed).
type Samples = Vec<Option<u64>>;

/// A lifecycle's (old name, new name, reference) samples, `per_minute` times its rates
/// per second. The reference is the counter as the old name alone would have shown it
/// had the rename never happened: the process's count, reset by the deploy's restart.
fn samples(lifecycle: Lifecycle, per_minute: u64, horizon: u64) -> (Samples, Samples, Samples) {
    let (before, after) = (lifecycle.before * per_minute, lifecycle.after * per_minute);
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for minute in 0..=horizon {
        let (value, new) = match lifecycle.deploy {
            None => (before * minute, false),
            Some(at) if minute < at => (before * minute, false),
            Some(at) => (after * (minute - at), true),
        };
        let old = lifecycle.hide.is_none_or(|hide| minute <= hide);
        out.0.push(old.then_some(value));
        out.1.push(new.then_some(value));
        out.2.push(Some(value));
    }
    out
}

/// promtool's notation of `samples`: one value per minute, `_` where not exposed.
fn values(samples: &[Option<u64>]) -> String {
    let values: Vec<String> = samples
        .iter()
        .map(|s| s.map_or_else(|| "_".to_string(), |v| v.to_string()))
        .collect();
    values.join(" ")
}

/// The name of the reference series (no catalog metric: the test's own).
const REFERENCE: &str = "reference_total";

/// `abs(a - b) <= bool 1e-9 * b`: 1 where `a` equals `b` up to float rounding (the
/// two sides sum the same rates in another order, or extrapolate the same rate from
/// different spans), 0 where it does not, nothing where either side has no series.
fn agree(a: &str, b: &str) -> String {
    format!("abs(({a}) - ({b})) <= bool 1e-9 * ({b})")
}

/// One promtool case for a fleet across the deploy, evaluated at the end of a
/// `window`-minute rate window that starts `window` minutes in: the fleet rate and each
/// instance's rate `fallback` writes (`signals::rate` over the new metric, by `by`)
/// agree with the reference's rate, per job and per instance.
fn deploy_case(
    fleet: &[Lifecycle],
    window: u64,
    fallback: &dyn Fn(&[&str], &str) -> String,
) -> String {
    let (old, new, _) = rename();
    let horizon = 2 * window;
    let w = format!("{window}m");
    let mut out = String::from("- interval: 1m\n  input_series:\n");
    for (i, lifecycle) in fleet.iter().enumerate() {
        let labels = format!("{{job=\"sms\", instance=\"i{i}\"}}");
        let (olds, news, reference) = samples(*lifecycle, 60, horizon);
        for (name, samples) in [
            (old.def().name, olds),
            (new.def().name, news),
            (REFERENCE, reference),
        ] {
            if samples.iter().any(Option::is_some) {
                let _ = writeln!(
                    out,
                    "  - series: '{name}{labels}'\n    values: '{}'",
                    values(&samples)
                );
            }
        }
    }
    out.push_str("  promql_expr_test:\n");
    let reference = |by: &str| format!("sum by ({by}) (rate({REFERENCE}[{w}]))");
    let fleet_labels = vec!["{job=\"sms\"}".to_string()];
    let instance_labels: Vec<String> = (0..fleet.len())
        .map(|i| format!("{{instance=\"i{i}\", job=\"sms\"}}"))
        .collect();
    for (by, labels) in [
        (&["job"][..], fleet_labels),
        (&["job", "instance"][..], instance_labels),
    ] {
        let _ = writeln!(
            out,
            "  - expr: '{}'\n    eval_time: {horizon}m\n    exp_samples:",
            agree(&fallback(by, &w), &reference(&by.join(", ")))
        );
        for labels in labels {
            let _ = writeln!(out, "    - labels: '{labels}'\n      value: 1");
        }
    }
    out
}

/// The generated fallback: `signals::rate` of the new metric.
fn generated_rate(by: &[&str], window: &str) -> String {
    let (_, new, _) = rename();
    signals::rate(new, by, window, &signals::bare::<MetricId>)
}

/// Deployed at a random minute (inside the evaluated window or before it), or hidden
/// at a random minute after a dual emission since minute 0 (a whole window before the
/// evaluated one), or never deployed.
fn lifecycle(horizon: u64) -> impl Strategy<Value = Lifecycle> {
    (
        prop_oneof![
            (1..=horizon).prop_map(|at| (Some(at), None)),
            (1..=horizon).prop_map(|hide| (Some(0), Some(hide))),
            Just((None, None)),
        ],
        0u64..50,
        0u64..50,
    )
        .prop_map(|((deploy, hide), before, after)| Lifecycle {
            deploy,
            hide,
            before,
            after,
        })
}

/// Fleets across the deploy, each with its rate window (5m as the rules' alerts, 30m).
fn deploy_fleets() -> impl Strategy<Value = Vec<(u64, Vec<Lifecycle>)>> {
    let fleet = prop_oneof![Just(5u64), Just(30u64)].prop_flat_map(|window| {
        (
            Just(window),
            proptest::collection::vec(lifecycle(2 * window), 1..=5),
        )
    });
    proptest::collection::vec(fleet, 1..=16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Continuity: whenever each instance is deployed inside the window (the new name
    /// born mid-window beside an old name that goes on), or its old name hidden after a
    /// dual emission that covered the whole window, the fallback's fleet and instance
    /// rates are the reference's (the old-name-only history, continuous).
    #[test]
    fn fallback_rates_are_continuous_across_the_deploy_and_the_hiding(fleets in deploy_fleets()) {
        let Some(promtool) = promtool() else { return Ok(()) };
        let cases: Vec<String> = fleets
            .iter()
            .map(|(window, fleet)| deploy_case(fleet, *window, &generated_rate))
            .collect();
        let output = promtool_test(&promtool, &cases);
        prop_assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The controls of continuity: preferring the new name per series (`new or old`) dips
/// at the deploy, preferring the old one at the hiding, and hiding the old name before
/// the dual emission covered the window dips with the generated fallback too (why dual
/// emission must last the longest window the rules read); each passes where it should.
#[test]
fn preferring_one_name_or_hiding_early_breaks_continuity() {
    let Some(promtool) = promtool() else { return };
    let (old, new, _) = rename();
    let prefer = |first: MetricId, second: MetricId| {
        move |by: &[&str], w: &str| {
            format!(
                "sum by ({}) (rate({}[{w}]) or rate({}[{w}]))",
                by.join(", "),
                first.def().name,
                second.def().name
            )
        }
    };
    let passes = |fleet: &[Lifecycle], fallback: &dyn Fn(&[&str], &str) -> String| {
        promtool_test(&promtool, &[deploy_case(fleet, 5, fallback)])
            .status
            .success()
    };
    let at = |deploy, hide| Lifecycle {
        deploy,
        hide,
        before: 10,
        after: 10,
    };
    // Deployed a minute before the end of the 5m window ending at minute 10.
    let deploy = [at(Some(9), None), at(None, None)];
    assert!(passes(&deploy, &generated_rate));
    assert!(
        !passes(&deploy, &prefer(new, old)),
        "new or old passed the deploy"
    );
    assert!(passes(&deploy, &prefer(old, new)));
    // The old name hidden a minute into the window.
    let hide = [at(Some(0), Some(6)), at(Some(2), None)];
    assert!(passes(&hide, &generated_rate));
    assert!(
        !passes(&hide, &prefer(old, new)),
        "old or new passed the hiding"
    );
    assert!(passes(&hide, &prefer(new, old)));
    // Deployed at minute 7 and hidden at minute 8, inside one window: the old name
    // covers minutes 5 to 8, the new one 7 to 10, neither the window, and the
    // generated fallback dips below the reference (6 for 8 per second).
    assert!(!passes(&[at(Some(7), Some(8))], &generated_rate));
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

/// The promtool case of a histogram fleet across the deploy: per bucket, the rates
/// `signals::rated` writes agree with the reference's. Each instance's bucket `le`
/// counts its lifecycle's rates times the cumulative weight of `weights` up to `le`.
fn histogram_deploy_case(fleet: &[(Lifecycle, [u64; 3])], window: u64) -> String {
    let (old, new) = (HrId::Time, HrId::RunDuration);
    let les = ["0.1", "1", "+Inf"];
    let horizon = 2 * window;
    let w = format!("{window}m");
    let mut out = String::from("- interval: 1m\n  input_series:\n");
    for (i, (lifecycle, weights)) in fleet.iter().enumerate() {
        let mut cumulative = 0;
        for (le, weight) in les.iter().zip(weights) {
            cumulative += weight;
            let (olds, news, reference) = samples(*lifecycle, 60 * cumulative, horizon);
            for (name, samples) in [
                (format!("{}_bucket", old.def().name), olds),
                (format!("{}_bucket", new.def().name), news),
                (format!("{REFERENCE}_bucket"), reference),
            ] {
                if samples.iter().any(Option::is_some) {
                    let _ = writeln!(
                        out,
                        "  - series: '{name}{{job=\"sms\", instance=\"i{i}\", le=\"{le}\"}}'\n    values: '{}'",
                        values(&samples)
                    );
                }
            }
        }
    }
    let fallback = format!(
        "sum by (job, le) ({})",
        signals::rated(new, "_bucket", &w, &signals::bare::<HrId>)
    );
    let reference = format!("sum by (job, le) (rate({REFERENCE}_bucket[{w}]))");
    let _ = writeln!(
        out,
        "  promql_expr_test:\n  - expr: '{}'\n    eval_time: {horizon}m\n    exp_samples:",
        agree(&fallback, &reference)
    );
    for le in les {
        let _ = writeln!(
            out,
            "    - labels: '{{job=\"sms\", le=\"{le}\"}}'\n      value: 1"
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Continuity bucket by bucket (what quantiles and latency SLOs read): the
    /// histogram's fallback across the deploy and the hiding is the reference's rate.
    #[test]
    fn histogram_fallback_is_continuous_across_the_deploy_per_bucket(
        fleets in proptest::collection::vec(
            proptest::collection::vec((lifecycle(10), proptest::array::uniform3(0u64..5)), 1..=4),
            1..=12,
        )
    ) {
        let Some(promtool) = promtool() else { return Ok(()) };
        let cases: Vec<String> = fleets.iter().map(|fleet| histogram_deploy_case(fleet, 5)).collect();
        let output = promtool_test(&promtool, &cases);
        prop_assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
