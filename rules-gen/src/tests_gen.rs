//! `promtool test rules` files: for every alert a firing and a not-firing case.
//!
//! While a metric's rename lasts, every alert case that feeds the new metric, and the
//! SLO burn case where every window pair fires, runs again mid-deploy ([`mid_deploy`]): half of its traffic on an instance exposing both names
//! (dual emission), half on an instance of the previous release (old name only). The
//! expected alerts, values included, are the same: the rules count every instance once.
//!
//! Inputs are counters growing by `60 * rate` per one-minute sample (so `rate()` over
//! whole minutes is exactly `rate`), gauges at a constant value, and histograms with
//! every observation in one bucket. Values are powers of two or multiples of 2^-16, so
//! every `$value` an annotation prints is exact (promtool 2.42 compares exactly).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use catalog::{
    AlertDef, Comparison, Indicator, LabelKey, LabelValues, MetricCatalog, MetricDef, Signal,
    SloDef, template_placeholders,
};

use crate::Config;
use crate::expr::{kept_labels, le_forms, present_series};
use crate::render::{format_duration, render_template};
use crate::rules::{BURN_WINDOWS, Origin, Plan, PlannedAlert};
use crate::yaml::{AlertTest, ExpectedAlert, InputSeries, TestFile, TestGroup};

/// Denominator of SLO test error ratios: ratios are multiples of 2^-16.
const SLO_EVENTS_PER_SECOND: u32 = 1 << 16;

/// The test file for the rule file `file`.
pub(crate) fn test_file<C: MetricCatalog>(
    file: &str,
    plan: &Plan<C>,
    config: &Config<C>,
) -> TestFile {
    let mut tests = Vec::new();
    let mut mid = Vec::new();
    let mut slos_done: Vec<&str> = Vec::new();
    for planned in &plan.alerts {
        match planned.origin {
            Origin::Alert { metric, alert } => {
                for firing in [true, false] {
                    tests.push(alert_case(planned, metric, alert, firing, config));
                    mid.extend(tests.last().and_then(mid_deploy::<C>));
                }
            }
            Origin::Burn { slo, .. } => {
                if !slos_done.contains(&slo.name) {
                    slos_done.push(slo.name);
                    tests.extend(burn_cases(plan, slo, config));
                    // Mid-deploy, the tier where every window pair fires (a double
                    // count of successes would silence the fastest pages): the long
                    // windows make each case costly to evaluate.
                    mid.extend(tests.last().and_then(mid_deploy::<C>));
                }
            }
        }
    }
    tests.extend(mid);
    TestFile {
        rule_files: vec![format!("../rules/{file}")],
        evaluation_interval: "1m".to_string(),
        tests,
    }
}

/// One alert, firing or not: inputs, eval time and the expected alert.
fn alert_case<C: MetricCatalog>(
    planned: &PlannedAlert<C>,
    metric: C,
    alert: &AlertDef<C>,
    firing: bool,
    config: &Config<C>,
) -> TestGroup {
    let def = metric.def();
    let window = alert.signal.window().unwrap_or(Duration::ZERO);
    let eval = window + alert.for_duration + Duration::from_secs(5 * 60);
    let samples = eval.as_secs() / 60 + 5;
    let labels = series_labels::<C>(def, config);
    // The signal's value when the condition holds and when it does not.
    let high = power_of_two_above(alert.threshold);
    // Above: firing is high, not firing is 0; below: the other way round.
    let high_state = firing == (alert.comparison == Comparison::Above);
    let level = if high_state { high } else { 0.0 };
    let mut inputs = Vec::new();
    let counter = |def: &MetricDef<C>, rate: f64, inputs: &mut Vec<InputSeries>| {
        inputs.push(InputSeries {
            series: selector(def.name, &series_labels::<C>(def, config)),
            values: format!("0+{}x{samples}", 60.0 * rate),
        });
    };
    let mut value = level;
    match alert.signal {
        Signal::Rate { .. } => counter(def, level, &mut inputs),
        Signal::ErrorRatio { .. } => {
            let twin = def.success_twin.expect("validated").def();
            counter(def, level, &mut inputs);
            counter(twin, 1.0 - level, &mut inputs);
        }
        Signal::Ratio { denominator, .. } => {
            counter(def, level, &mut inputs);
            counter(denominator.def(), 1.0, &mut inputs);
        }
        Signal::Quantile { .. } => {
            let buckets = def.buckets().expect("validated: quantiles need buckets");
            // All observations above the largest bucket (the estimate is then exactly
            // the largest bound) or all in the first bucket (below any threshold).
            let in_first = !high_state;
            for bound in buckets {
                let le = format!("{bound}");
                inputs.push(InputSeries {
                    series: selector(&format!("{}_bucket", def.name), &with(&labels, "le", &le)),
                    values: format!("0+{}x{samples}", if in_first { 60 } else { 0 }),
                });
            }
            for suffix in ["_bucket", "_count"] {
                let series_labels = if suffix == "_bucket" {
                    with(&labels, "le", "+Inf")
                } else {
                    labels.clone()
                };
                inputs.push(InputSeries {
                    series: selector(&format!("{}{suffix}", def.name), &series_labels),
                    values: format!("0+60x{samples}"),
                });
            }
            value = if high_state {
                *buckets.last().expect("validated: buckets are not empty")
            } else {
                0.0
            };
        }
        Signal::Value => inputs.push(InputSeries {
            series: selector(def.name, &labels),
            values: format!("{level}+0x{samples}"),
        }),
        Signal::Absent => {
            value = 1.0;
            if !firing {
                inputs.push(InputSeries {
                    series: selector(&present_series(def), &labels),
                    values: format!("1+0x{samples}"),
                });
            } else {
                inputs.push(InputSeries {
                    series: selector("up", &[("job".to_string(), config.job.clone())]),
                    values: format!("1+0x{samples}"),
                });
            }
        }
    }
    let exp_alerts = if firing {
        let mut alert_labels: Vec<(String, String)> = if alert.signal == Signal::Absent {
            Vec::new()
        } else {
            kept_labels::<C>(alert.by)
                .into_iter()
                .map(|name| {
                    let value = labels
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    (name.to_string(), value)
                })
                .collect()
        };
        alert_labels.extend(planned.labels.clone());
        vec![expected(planned, &alert_labels, value)]
    } else {
        Vec::new()
    };
    TestGroup {
        interval: "1m".to_string(),
        input_series: inputs,
        alert_rule_test: vec![AlertTest {
            eval_time: format_duration(eval),
            alertname: planned.name.clone(),
            exp_alerts,
        }],
    }
}

/// One test group per burn-rate tier: the error ratio sits just above the tier's
/// factor times the error budget, so exactly the window pairs with a lower factor
/// fire; the first group stays below every factor and expects nothing. A latency SLO
/// whose threshold bucket Prometheus 2 and 3 label differently (`le="1"`, `le="1.0"`)
/// gets the whole set once per form.
fn burn_cases<C: MetricCatalog>(
    plan: &Plan<C>,
    slo: &SloDef<C>,
    config: &Config<C>,
) -> Vec<TestGroup> {
    let budget = 1.0 - slo.objective;
    let total = f64::from(SLO_EVENTS_PER_SECOND);
    let rules: Vec<&PlannedAlert<C>> = plan
        .alerts
        .iter()
        .filter(|a| matches!(a.origin, Origin::Burn { slo: s, .. } if s.name == slo.name))
        .collect();
    let longest = BURN_WINDOWS
        .iter()
        .map(|b| b.short)
        .max()
        .unwrap_or_default();
    let eval = longest + Duration::from_secs(10 * 60);
    let samples = eval.as_secs() / 60 + 5;
    let mut factors: Vec<f64> = vec![0.5];
    factors.extend(BURN_WINDOWS.iter().map(|b| b.factor));
    factors.sort_by(f64::total_cmp);
    let le_forms = match slo.indicator {
        Indicator::Latency { threshold, .. } => le_forms(threshold),
        Indicator::Availability { .. } => vec![String::new()],
    };
    let cases: Vec<(f64, String)> = le_forms
        .iter()
        .flat_map(|le| factors.iter().map(move |f| (*f, le.clone())))
        .collect();
    cases
        .iter()
        .map(|(factor, le)| {
            let errors = (factor * budget * 1.25 * total).ceil();
            let burn = errors / total / budget;
            let metric = slo.indicator.metric().def();
            let labels = series_labels::<C>(metric, config);
            let mut inputs = Vec::new();
            match slo.indicator {
                Indicator::Availability { .. } => {
                    let twin = metric.success_twin.expect("validated").def();
                    inputs.push(InputSeries {
                        series: selector(metric.name, &labels),
                        values: format!("0+{}x{samples}", 60.0 * errors),
                    });
                    inputs.push(InputSeries {
                        series: selector(twin.name, &series_labels::<C>(twin, config)),
                        values: format!("0+{}x{samples}", 60.0 * (total - errors)),
                    });
                }
                Indicator::Latency { .. } => {
                    inputs.push(InputSeries {
                        series: selector(
                            &format!("{}_bucket", metric.name),
                            &with(&labels, "le", le),
                        ),
                        values: format!("0+{}x{samples}", 60.0 * (total - errors)),
                    });
                    inputs.push(InputSeries {
                        series: selector(&format!("{}_count", metric.name), &labels),
                        values: format!("0+{}x{samples}", 60.0 * total),
                    });
                }
            }
            let exp_alerts = rules
                .iter()
                .filter(
                    |rule| matches!(rule.origin, Origin::Burn { burn: b, .. } if burn > b.factor),
                )
                .map(|rule| {
                    let mut alert_labels = vec![("job".to_string(), config.job.clone())];
                    alert_labels.extend(rule.labels.clone());
                    expected(rule, &alert_labels, 0.0)
                })
                .collect();
            TestGroup {
                interval: "1m".to_string(),
                input_series: inputs,
                alert_rule_test: vec![AlertTest {
                    eval_time: format_duration(eval),
                    alertname: rules[0].name.clone(),
                    exp_alerts,
                }],
            }
        })
        .collect()
}

/// The instances of a mid-deploy case: one with dual emission, one on the release
/// before the rename.
const DUAL_INSTANCE: &str = "dual-emission";
const OLD_INSTANCE: &str = "previous-release";

/// `group` in the middle of a rename's deploy, when it feeds a metric renamed from an
/// old name still in the catalog: each such series split over two instances, one
/// exposing both names (the same values under each), one only the old name. Counters
/// and histograms carry half of the traffic on each instance (halves of the exact
/// values stay exact); a gauge keeps its value on both. Everything else, the expected
/// alerts included, stays: the rules aggregate the instances away.
fn mid_deploy<C: MetricCatalog>(group: &TestGroup) -> Option<TestGroup> {
    let mut renamed = false;
    let mut inputs = Vec::new();
    for input in &group.input_series {
        let split = C::ALL.iter().find_map(|&new| {
            let old = catalog::renamed_from(new)?;
            let suffix = ["", "_bucket", "_count", "_sum"]
                .into_iter()
                .find(|suffix| {
                    input
                        .series
                        .strip_prefix(new.def().name)
                        .and_then(|rest| rest.strip_prefix(suffix))
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
                })?;
            let labels = &input.series[new.def().name.len() + suffix.len()..];
            Some((new, old, suffix, labels))
        });
        let Some((new, old, suffix, labels)) = split else {
            inputs.push(input.clone());
            continue;
        };
        renamed = true;
        let values = match new.def().kind {
            catalog::MetricKind::Gauge => input.values.clone(),
            _ => halved(&input.values)?,
        };
        let on = |metric: C, instance: &str| InputSeries {
            series: format!(
                "{}{suffix}{}",
                metric.def().name,
                with_instance(labels, instance)
            ),
            values: values.clone(),
        };
        inputs.push(on(new, DUAL_INSTANCE));
        inputs.push(on(old, DUAL_INSTANCE));
        inputs.push(on(old, OLD_INSTANCE));
    }
    renamed.then(|| TestGroup {
        interval: group.interval.clone(),
        input_series: inputs,
        alert_rule_test: group.alert_rule_test.clone(),
    })
}

/// `{a="b"}` (or nothing) with `instance="..."` added.
fn with_instance(labels: &str, instance: &str) -> String {
    match labels.strip_suffix('}') {
        Some(inner) => format!("{inner}, instance=\"{instance}\"}}"),
        None => format!("{{instance=\"{instance}\"}}"),
    }
}

/// `start+stepxN` with start and step halved; `None` for another notation.
fn halved(values: &str) -> Option<String> {
    let (start, rest) = values.split_once('+')?;
    let (step, count) = rest.split_once('x')?;
    let half = |v: &str| v.parse::<f64>().ok().map(|v| v / 2.0);
    Some(format!("{}+{}x{count}", half(start)?, half(step)?))
}

/// The expected alert: all labels, annotations rendered as Prometheus would.
fn expected<C: MetricCatalog>(
    planned: &PlannedAlert<C>,
    labels: &[(String, String)],
    value: f64,
) -> ExpectedAlert {
    let exp_annotations = planned
        .annotations
        .iter()
        .map(|(name, text)| {
            let parts = template_placeholders(text).expect("validated templates");
            (name.clone(), render_template(&parts, labels, value))
        })
        .collect();
    ExpectedAlert {
        exp_labels: labels.iter().cloned().collect::<BTreeMap<_, _>>(),
        exp_annotations,
    }
}

/// A label value for each of the metric's labels, plus the job.
fn series_labels<C: MetricCatalog>(
    def: &MetricDef<C>,
    config: &Config<C>,
) -> Vec<(String, String)> {
    let mut labels = vec![("job".to_string(), config.job.clone())];
    for label in def.labels {
        let label = label.def();
        let value = match label.values {
            LabelValues::OneOf(values) => values[0].to_string(),
            LabelValues::CatalogMetric => C::ALL[0].def().name.to_string(),
            LabelValues::FreeForm => "test".to_string(),
        };
        labels.push((label.name.to_string(), value));
    }
    labels
}

fn with(labels: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut labels = labels.to_vec();
    labels.push((name.to_string(), value.to_string()));
    labels
}

/// `name{a="x", b="y"}`.
fn selector(name: &str, labels: &[(String, String)]) -> String {
    let mut out = name.to_string();
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(out, "{sep}{label}=\"{value}\"");
        }
        out.push('}');
    }
    out
}

/// The smallest power of two strictly above `threshold` (1 for 0), exactly representable
/// and, for ratio thresholds below 1, at most 1.
pub(crate) fn power_of_two_above(threshold: f64) -> f64 {
    let mut value = 1.0;
    if threshold >= 1.0 {
        while value <= threshold {
            value *= 2.0;
        }
    } else {
        while value / 2.0 > threshold {
            value /= 2.0;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_mid_deploy_case_splits_the_renamed_series_over_two_instances() {
        use sms_storage::StorageMetricId as MetricId;
        let new = MetricId::GatewayCasObjectsWritten;
        let old = catalog::renamed_from(new).expect("the storage catalog renames it");
        let other = format!(
            "{}{{job=\"sms\"}}",
            MetricId::GatewayCasWritesError.def().name
        );
        let group = TestGroup {
            interval: "1m".into(),
            input_series: vec![
                InputSeries {
                    series: format!("{}{{job=\"sms\"}}", new.def().name),
                    values: "0+59.0625x20".into(),
                },
                InputSeries {
                    series: other.clone(),
                    values: "0+0.9375x20".into(),
                },
            ],
            alert_rule_test: Vec::new(),
        };
        let mid = mid_deploy::<MetricId>(&group).expect("it feeds the renamed metric");
        let series: Vec<(&str, &str)> = mid
            .input_series
            .iter()
            .map(|i| (i.series.as_str(), i.values.as_str()))
            .collect();
        let (n, o) = (new.def().name, old.def().name);
        assert_eq!(
            series,
            [
                (
                    &*format!("{n}{{job=\"sms\", instance=\"dual-emission\"}}"),
                    "0+29.53125x20"
                ),
                (
                    &*format!("{o}{{job=\"sms\", instance=\"dual-emission\"}}"),
                    "0+29.53125x20"
                ),
                (
                    &*format!("{o}{{job=\"sms\", instance=\"previous-release\"}}"),
                    "0+29.53125x20"
                ),
                (other.as_str(), "0+0.9375x20"),
            ]
        );
        let unrelated = TestGroup {
            input_series: group.input_series[1..].to_vec(),
            ..group
        };
        assert!(mid_deploy::<MetricId>(&unrelated).is_none());
    }

    proptest! {
        /// The firing value is above the threshold, at most twice it (or 1), and a
        /// power of two.
        #[test]
        fn firing_value_is_a_power_of_two_just_above(threshold in 0.0f64..1e12) {
            let value = power_of_two_above(threshold);
            prop_assert!(value > threshold);
            prop_assert!(value <= (2.0 * threshold).max(1.0));
            prop_assert_eq!(value.log2().fract(), 0.0);
        }
    }
}
