//! `promtool test rules` files: for every alert a firing and a not-firing case.
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
    let mut slos_done: Vec<&str> = Vec::new();
    for planned in &plan.alerts {
        match planned.origin {
            Origin::Alert { metric, alert } => {
                for firing in [true, false] {
                    tests.push(alert_case(planned, metric, alert, firing, config));
                }
            }
            Origin::Burn { slo, .. } => {
                if !slos_done.contains(&slo.name) {
                    slos_done.push(slo.name);
                    tests.extend(burn_cases(plan, slo, config));
                }
            }
        }
    }
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
