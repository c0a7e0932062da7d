//! PromQL for the catalog's derived signals, written once for dashboards and rules.
//!
//! A derived signal is what an alert or a panel computes from a catalog metric: the
//! per-second [`rate`] of a counter, the [`error_ratio`] of an error counter and its
//! success twin, the [`ratio`] of two counters, a [`quantile`] of a histogram, the
//! [`saturation`] of a gauge (its maximum), and an SLO's error ratio
//! ([`slo_error_ratio`]). Each builder takes the labels to keep, the rate window
//! (`5m` in rules, `$__rate_interval` on dashboards) and a [`Select`] that writes each
//! selector (bare names in rules, Grafana variable matchers on dashboards), so a panel
//! and a rule computing the same signal differ only in those three inputs.
//!
//! Renames: while a metric renamed to `metric` is still in the catalog (deprecated with
//! `renamed_to`, hidden or not), every builder reads `metric` with the old name as a
//! per-series fallback inside the aggregation ([`rated`], [`current`], [`absent`]).
//! `rate` drops the metric name, so an instance exposing both names (dual emission) has
//! the same label set on both sides, and the fallback keeps, per series, the larger of
//! the two rates: `sum((rate(new[w]) >= rate(old[w])) or rate(old[w]) or rate(new[w]))`
//! (the comparison keeps new where it is at least old, the first `or` adds old where new
//! is smaller or missing, the second new where old is missing). Why the larger and not
//! simply `new or old`: both are estimates of the same counter, and the one whose
//! series covers more of the window is the larger. At the deploy of the renaming
//! release an instance restarts; its old-name series goes on (same labels, the reset is
//! handled by `rate`) while its new-name series is born, so `rate(new[w])` sees only the
//! minutes since the restart and Prometheus extrapolates them to about
//! increase-since-restart / window: a panel would dip to a fifth a minute into a 5m
//! window, and a 3d SLO window would be computed over minutes of data. When the old
//! name is hidden later, the roles swap: the new series covers the window, the old one
//! stops. So dual emission must last at least the longest window the rules use (the
//! SLO windows, 3d) before the old name is hidden; hidden earlier, the SLO windows
//! still spanning the deploy read only the new series' part of them and dip. Nothing
//! is counted twice (one series per label set survives), an instance of the release
//! before the rename (old name only) comes in through the old name, and a panel's line
//! and an alert's evaluation are continuous across the deploy and over the TSDB's
//! history of the old name. Gauges have no window: `new or old` (both carry the same
//! value). (A rename keeps the labels: the catalog validation refuses one that does
//! not, since the fallback would then keep both.)
//!
//! Every alert's signal is recorded under a `level:metric:operations` name
//! ([`alert_record`]): the rules generator writes the recording rule and compares it,
//! the dashboard generator plots the same series on the alert's panel, and
//! [`recorded_series`] lists every such name with its labels so PromQL checks accept
//! them. Knows nothing about Grafana or rule files.

use std::time::Duration;

use catalog::{
    AlertDef, Indicator, LabelKey, MetricCatalog, MetricDef, MetricKind, Signal, SloDef,
};

/// Writes the selector of `metric`'s series with `suffix` (`""`, `_bucket`, `_count`).
pub type Select<'a, C> = &'a dyn Fn(C, &str) -> String;

/// The bare series name, as rules select it: `name` plus `suffix`.
pub fn bare<C: MetricCatalog>(metric: C, suffix: &str) -> String {
    format!("{}{suffix}", metric.def().name)
}

/// A recording rule: name and expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `level:metric:operations`.
    pub name: String,
    /// The expression it records.
    pub expr: String,
}

/// A Prometheus duration: the largest of `d`, `h`, `m`, `s` that divides it (`30m`, `3d`).
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds > 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// Labels every alert aggregation keeps (the scrape job), followed by `by`.
pub fn kept_labels<C: MetricCatalog>(by: &[C::Label]) -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = catalog::TARGET_LABELS.to_vec();
    labels.extend(by.iter().map(|l| l.def().name));
    labels
}

/// `sum by (a, b) (inner)`, or `sum(inner)` without labels.
fn sum_by(by: &[&str], inner: &str) -> String {
    aggregate("sum", by, inner)
}

fn aggregate(op: &str, by: &[&str], inner: &str) -> String {
    if by.is_empty() {
        format!("{op}({inner})")
    } else {
        format!("{op} by ({}) ({inner})", by.join(", "))
    }
}

/// `rate(series[window])` of `metric`'s `suffix` series (`""`, `_bucket`, `_count`),
/// per series, before aggregation. While a metric renamed to `metric` is in the
/// catalog, the larger of the new and the old name's rate per series:
/// `(rate(new[w]) >= rate(old[w])) or rate(old[w]) or rate(new[w])` (see the module
/// documentation).
pub fn rated<C: MetricCatalog>(
    metric: C,
    suffix: &str,
    window: &str,
    select: Select<'_, C>,
) -> String {
    let new = format!("rate({}[{window}])", select(metric, suffix));
    match catalog::renamed_from(metric) {
        Some(old) => {
            let old = format!("rate({}[{window}])", select(old, suffix));
            format!("({new} >= {old}) or {old} or {new}")
        }
        None => new,
    }
}

/// The current value of gauge `metric`'s series, before aggregation: `new or old` while
/// a metric renamed to `metric` is in the catalog (`or` matches label sets without the
/// metric name, so an instance exposing both counts once).
pub fn current<C: MetricCatalog>(metric: C, select: Select<'_, C>) -> String {
    let new = select(metric, "");
    match catalog::renamed_from(metric) {
        Some(old) => format!("{new} or {}", select(old, "")),
        None => new,
    }
}

/// True when no series of `metric` is scraped (`_count` for a histogram): under its
/// new name and, while a rename lasts, under its old name either
/// (`absent(new) and absent(old)`).
pub fn absent<C: MetricCatalog>(metric: C) -> String {
    let new = format!("absent({})", present_series(metric.def()));
    match catalog::renamed_from(metric) {
        Some(old) => format!("{new} and absent({})", present_series(old.def())),
        None => new,
    }
}

/// Per-second rate of counter `metric` over `window`, summed by `by`.
pub fn rate<C: MetricCatalog>(
    metric: C,
    by: &[&str],
    window: &str,
    select: Select<'_, C>,
) -> String {
    sum_by(by, &rated(metric, "", window, select))
}

/// Share of failed operations: `errors` over `errors` plus its success twin, by `by`.
/// A missing error series counts as no errors (`or 0 * successes`), so a service that
/// never failed shows 0, not nothing. `None` when `errors` has no success twin.
pub fn error_ratio<C: MetricCatalog>(
    errors: C,
    by: &[&str],
    window: &str,
    select: Select<'_, C>,
) -> Option<String> {
    let successes = errors.def().success_twin?;
    let ok = rate(successes, by, window, select);
    let err = format!("({} or 0 * {ok})", rate(errors, by, window, select));
    Some(format!("{err} / ({err} + {ok})"))
}

/// Rate of counter `numerator` over the rate of counter `denominator`, by `by`.
pub fn ratio<C: MetricCatalog>(
    numerator: C,
    denominator: C,
    by: &[&str],
    window: &str,
    select: Select<'_, C>,
) -> String {
    format!(
        "{} / {}",
        rate(numerator, by, window, select),
        rate(denominator, by, window, select)
    )
}

/// The `quantile` of histogram `metric` estimated from its bucket rates, by `by`.
pub fn quantile<C: MetricCatalog>(
    metric: C,
    quantile: f64,
    by: &[&str],
    window: &str,
    select: Select<'_, C>,
) -> String {
    let mut grouping: Vec<&str> = by.to_vec();
    grouping.push("le");
    format!(
        "histogram_quantile({quantile}, {})",
        sum_by(&grouping, &rated(metric, "_bucket", window, select))
    )
}

/// Saturation of gauge `metric`: its maximum over the series kept apart by `by`.
pub fn saturation<C: MetricCatalog>(metric: C, by: &[&str], select: Select<'_, C>) -> String {
    aggregate("max", by, &current(metric, select))
}

/// The expression of `signal` on `metric`, by `by`, over `window`; `None` for
/// [`Signal::Absent`] (no value to plot) and for an error ratio without a success twin.
pub fn signal_expr<C: MetricCatalog>(
    metric: C,
    signal: Signal<C>,
    by: &[&str],
    window: &str,
    select: Select<'_, C>,
) -> Option<String> {
    match signal {
        Signal::Rate { .. } => Some(rate(metric, by, window, select)),
        Signal::ErrorRatio { .. } => error_ratio(metric, by, window, select),
        Signal::Ratio { denominator, .. } => Some(ratio(metric, denominator, by, window, select)),
        Signal::Quantile { quantile: q, .. } => Some(quantile(metric, q, by, window, select)),
        Signal::Value => Some(saturation(metric, by, select)),
        Signal::Absent => None,
    }
}

/// The recording rule of an alert's signal: per job plus the alert's `by` labels, over
/// the signal's own window, with bare selectors. `None` for [`Signal::Absent`].
pub fn alert_record<C: MetricCatalog>(metric: C, alert: &AlertDef<C>) -> Option<Record> {
    let def = metric.def();
    let kept = kept_labels::<C>(alert.by);
    let level = kept.join("_");
    let window = alert
        .signal
        .window()
        .map(format_duration)
        .unwrap_or_default();
    let (metric_part, operations) = match alert.signal {
        Signal::Rate { .. } => (base(def), format!("rate{window}")),
        Signal::ErrorRatio { .. } => (base(def), format!("ratio_rate{window}")),
        Signal::Ratio { denominator, .. } => {
            let per = base(denominator.def());
            let per = per.strip_prefix(C::PREFIX).unwrap_or(&per).to_string();
            (
                format!("{}_per_{per}", base(def)),
                format!("ratio_rate{window}"),
            )
        }
        Signal::Quantile { quantile: q, .. } => (
            def.name.to_string(),
            format!("p{}_rate{window}", quantile_digits(q)),
        ),
        Signal::Value => (def.name.to_string(), "max".to_string()),
        Signal::Absent => return None,
    };
    let expr = signal_expr(metric, alert.signal, &kept, &window, &bare::<C>)?;
    Some(Record {
        name: format!("{level}:{metric_part}:{operations}"),
        expr,
    })
}

/// Windows of the SLO error-ratio recording rules.
pub const SLO_WINDOWS: [Duration; 7] = [
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(86_400),
    Duration::from_secs(3 * 86_400),
];

/// The windows an SLO's error ratio is recorded over: [`SLO_WINDOWS`] (the burn-rate
/// alerts') and the SLO's period (the error budget left), in increasing order.
pub fn slo_windows<C: MetricCatalog>(slo: &SloDef<C>) -> Vec<Duration> {
    let mut windows = SLO_WINDOWS.to_vec();
    if !windows.contains(&slo.period) {
        windows.push(slo.period);
        windows.sort();
    }
    windows
}

/// The longest window any SLO of `C` is recorded over (its period, the budget left),
/// `None` without SLOs: how long a rename's dual emission must last before the old name
/// is hidden, so that no window still spanning the deploy reads only part of itself.
pub fn longest_slo_window<C: MetricCatalog>() -> Option<Duration> {
    C::SLOS.iter().flat_map(slo_windows).max()
}

/// The recording rule of an SLO's error ratio over `window`, per job.
///
/// Availability is the [`error_ratio`] (same name and expression as an error-ratio
/// alert's); latency the share of observations above the threshold bucket, selected
/// with [`le_matcher`].
pub fn slo_error_ratio<C: MetricCatalog>(slo: &SloDef<C>, window: Duration) -> Record {
    let w = format_duration(window);
    let kept = kept_labels::<C>(&[]);
    let level = kept.join("_");
    match slo.indicator {
        Indicator::Availability { errors } => Record {
            name: format!("{level}:{}:ratio_rate{w}", base(errors.def())),
            expr: error_ratio(errors, &kept, &w, &bare::<C>).unwrap_or_default(),
        },
        Indicator::Latency {
            histogram,
            threshold,
        } => {
            let name = histogram.def().name;
            let total = sum_by(&kept, &rated(histogram, "_count", &w, &bare::<C>));
            let le = le_matcher(threshold);
            let good_bucket = |m: C, suffix: &str| format!("{}{{{le}}}", bare(m, suffix));
            let good = sum_by(&kept, &rated(histogram, "_bucket", &w, &good_bucket));
            Record {
                name: format!(
                    "{level}:{name}_above_{}:ratio_rate{w}",
                    threshold.to_string().replace('.', "_")
                ),
                expr: format!("({total} - {good}) / {total}"),
            }
        }
    }
}

/// A multi-window burn-rate condition of an SLO (Google SRE workbook, chapter 5): both
/// windows' error ratios above `factor` times the error budget.
#[derive(Debug)]
pub struct BurnWindows {
    /// Long window.
    pub long: Duration,
    /// Short window (makes the alert resolve soon after the burn stops).
    pub short: Duration,
    /// Burn-rate factor both windows must exceed.
    pub factor: f64,
    /// Page (critical) or ticket (warning).
    pub severity: catalog::Severity,
}

/// Page on fast burns, ticket on slow ones.
pub const BURN_WINDOWS: [BurnWindows; 4] = [
    BurnWindows {
        long: Duration::from_secs(3600),
        short: Duration::from_secs(300),
        factor: 14.4,
        severity: catalog::Severity::Critical,
    },
    BurnWindows {
        long: Duration::from_secs(6 * 3600),
        short: Duration::from_secs(1800),
        factor: 6.0,
        severity: catalog::Severity::Critical,
    },
    BurnWindows {
        long: Duration::from_secs(86_400),
        short: Duration::from_secs(2 * 3600),
        factor: 3.0,
        severity: catalog::Severity::Warning,
    },
    BurnWindows {
        long: Duration::from_secs(3 * 86_400),
        short: Duration::from_secs(6 * 3600),
        factor: 1.0,
        severity: catalog::Severity::Warning,
    },
];

impl BurnWindows {
    /// The error ratio both windows must exceed for `slo`: `factor * (1 - objective)`,
    /// as PromQL computes it in the rule.
    pub fn threshold<C: MetricCatalog>(&self, slo: &SloDef<C>) -> f64 {
        self.factor * (1.0 - slo.objective)
    }
}

/// What links an alerting rule to its panel: the alert name, and for one window pair of
/// an SLO burn alert also its windows (`SmsXBudgetBurn:1h:5m`).
pub fn link_key(alert: &str, burn: Option<&BurnWindows>) -> String {
    match burn {
        Some(burn) => format!(
            "{alert}:{}:{}",
            format_duration(burn.long),
            format_duration(burn.short)
        ),
        None => alert.to_string(),
    }
}

/// A series recorded by the generated rules: its name, the metric it derives from and
/// the labels it keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedSeries<C> {
    /// Recording rule name.
    pub name: String,
    /// The catalog metric it is computed from.
    pub metric: C,
    /// Labels of the recorded series.
    pub labels: Vec<&'static str>,
}

/// Every series the generated rules record: each alert's signal, then each SLO's error
/// ratio per window. Deduplicated by name, in catalog order.
pub fn recorded_series<C: MetricCatalog>() -> Vec<RecordedSeries<C>> {
    let mut out: Vec<RecordedSeries<C>> = Vec::new();
    let mut push = |series: RecordedSeries<C>| {
        if !out.iter().any(|s| s.name == series.name) {
            out.push(series);
        }
    };
    for &metric in C::ALL {
        for alert in metric.def().alerts {
            if let Some(record) = alert_record(metric, alert) {
                push(RecordedSeries {
                    name: record.name,
                    metric,
                    labels: kept_labels::<C>(alert.by),
                });
            }
        }
    }
    for slo in C::SLOS {
        for window in slo_windows(slo) {
            push(RecordedSeries {
                name: slo_error_ratio(slo, window).name,
                metric: slo.indicator.metric(),
                labels: kept_labels::<C>(&[]),
            });
        }
    }
    out
}

/// Every form a bucket bound may be stored in: as written by Rust's `Display` (`1`,
/// older expositions), and as Prometheus 3 normalises `le` at ingestion and OpenMetrics
/// writes it (Go's shortest `%g` with `.0` added to integers: `1.0`, `1e-05`, `1e+06`).
/// Deduplicated, in that order.
pub fn le_forms(bound: f64) -> Vec<String> {
    let display = bound.to_string();
    let scientific = format!("{bound:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .map_or((scientific.as_str(), 0), |(m, e)| {
            (m, e.parse::<i32>().unwrap_or(0))
        });
    // Go's `strconv.FormatFloat(f, 'g', -1, 64)` uses an exponent below 1e-4 and from
    // 1e6 up (shortest precision decides at 6 digits).
    let canonical = if bound.is_finite() && bound != 0.0 && !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else if display.contains('.') || !bound.is_finite() {
        display.clone()
    } else {
        format!("{display}.0")
    };
    let mut forms = vec![display, canonical];
    forms.dedup();
    forms
}

/// A matcher selecting the bucket with upper bound `bound` on Prometheus 2 and 3 alike:
/// `le="2.5"` when every form agrees, else a regex of the forms, e.g. `le=~"1|1\\.0"`.
pub fn le_matcher(bound: f64) -> String {
    let forms = le_forms(bound);
    if forms.len() == 1 {
        return format!("le=\"{}\"", forms[0]);
    }
    let alternatives: Vec<String> = forms
        .iter()
        .map(|f| f.replace('.', "\\\\.").replace('+', "\\\\+"))
        .collect();
    format!("le=~\"{}\"", alternatives.join("|"))
}

/// The series whose presence shows the metric is exported (`_count` for histograms).
pub fn present_series<C: MetricCatalog>(def: &MetricDef<C>) -> String {
    match def.kind {
        MetricKind::Histogram { .. } => format!("{}_count", def.name),
        _ => def.name.to_string(),
    }
}

/// The metric part of a recording rule name: counters lose `_total`.
fn base<C: MetricCatalog>(def: &MetricDef<C>) -> String {
    match def.kind {
        MetricKind::Counter => def.name.trim_end_matches("_total").to_string(),
        _ => def.name.to_string(),
    }
}

/// `0.99` -> `99`, `0.999` -> `999`, `0.5` -> `50`.
fn quantile_digits(quantile: f64) -> String {
    let text = quantile.to_string();
    let digits = text.trim_start_matches("0.");
    if digits.len() < 2 {
        format!("{digits:0<2}")
    } else {
        digits.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::MetricId;

    #[test]
    fn quantile_digits_read_like_percentiles() {
        for (q, expected) in [(0.99, "99"), (0.999, "999"), (0.5, "50"), (0.95, "95")] {
            assert_eq!(quantile_digits(q), expected);
        }
    }

    #[test]
    fn le_matchers_match_every_stored_form() {
        for (bound, matcher) in [
            (2.5, r#"le="2.5""#),
            (0.025, r#"le="0.025""#),
            (0.0001, r#"le="0.0001""#),
            (1.0, r#"le=~"1|1\\.0""#),
            (10.0, r#"le=~"10|10\\.0""#),
            (0.00001, r#"le=~"0\\.00001|1e-05""#),
        ] {
            assert_eq!(le_matcher(bound), matcher, "{bound}");
        }
        assert_eq!(le_forms(1e6), ["1000000", "1e+06"]);
        assert_eq!(le_forms(100_000.0), ["100000", "100000.0"]);
    }

    #[test]
    fn one_builder_serves_rules_and_dashboards() {
        let dashboard =
            |m: MetricId, suffix: &str| format!("{}{suffix}{{job=~\"$job\"}}", m.def().name);
        let errors = MetricId::SourcesRequestsError;
        let rule = error_ratio(errors, &["job"], "5m", &bare::<MetricId>).unwrap();
        let panel = error_ratio(errors, &["job"], "$__rate_interval", &dashboard).unwrap();
        let mut expected = rule.replace("[5m]", "[$__rate_interval]");
        for metric in [errors, MetricId::SourcesRequestsSuccess] {
            let name = metric.def().name;
            expected = expected.replace(&format!("{name}["), &format!("{name}{{job=~\"$job\"}}["));
        }
        assert_eq!(panel, expected);
        assert_eq!(
            error_ratio(
                MetricId::SourcesRequestsSuccess,
                &[],
                "5m",
                &bare::<MetricId>
            ),
            None
        );
        let histogram = MetricId::SourcesRequestDuration;
        assert_eq!(
            quantile(histogram, 0.99, &[], "5m", &bare::<MetricId>),
            format!(
                "histogram_quantile(0.99, sum by (le) (rate({}_bucket[5m])))",
                histogram.def().name
            )
        );
    }

    #[test]
    fn a_renamed_metric_is_read_with_its_old_name_as_fallback() {
        use sms_storage::StorageMetricId as MetricId;
        let new = MetricId::GatewayCasObjectsWritten;
        let old = catalog::renamed_from(new).expect("the storage catalog renames it");
        let (n, o) = (new.def().name, old.def().name);
        assert_eq!(
            rate(new, &["job"], "5m", &bare::<MetricId>),
            format!(
                "sum by (job) ((rate({n}[5m]) >= rate({o}[5m])) or rate({o}[5m]) or rate({n}[5m]))"
            )
        );
        assert_eq!(current(new, &bare::<MetricId>), format!("{n} or {o}"));
        assert_eq!(absent(new), format!("absent({n}) and absent({o})"));
        // Metrics without a rename are read as before.
        let plain = MetricId::GatewayCasWrittenBytes;
        let p = plain.def().name;
        assert_eq!(
            rated(plain, "", "5m", &bare::<MetricId>),
            format!("rate({p}[5m])")
        );
        assert_eq!(absent(plain), format!("absent({p})"));
        // The error ratio of its twin reads the fallback in both places it uses it.
        let errors = MetricId::GatewayCasWritesError;
        let ratio = error_ratio(errors, &["job"], "5m", &bare::<MetricId>).unwrap();
        let fallback =
            format!("(rate({n}[5m]) >= rate({o}[5m])) or rate({o}[5m]) or rate({n}[5m])");
        assert_eq!(ratio.matches(&fallback).count(), 3, "{ratio}");
        // So does its SLO over the longest window: the larger of the two rates over 3d.
        let slo = MetricId::SLOS
            .iter()
            .find(
                |slo| matches!(slo.indicator, Indicator::Availability { errors: e } if e == errors),
            )
            .expect("an availability SLO on the renamed metric's twin");
        let longest = *slo_windows(slo).last().expect("an SLO has windows");
        let w = format_duration(longest);
        let expr = slo_error_ratio(slo, longest).expr;
        let fallback =
            format!("(rate({n}[{w}]) >= rate({o}[{w}])) or rate({o}[{w}]) or rate({n}[{w}])");
        assert_eq!(expr.matches(&fallback).count(), 3, "{expr}");
        assert!(longest_slo_window::<MetricId>() >= Some(longest));
        assert!(longest >= *SLO_WINDOWS.last().expect("burn-rate windows"));
    }

    #[test]
    fn every_alert_but_absent_ones_is_recorded_once() {
        let recorded = recorded_series::<MetricId>();
        let failing = recorded
            .iter()
            .find(|s| {
                s.name
                    == format!(
                        "job_source_id:{}:ratio_rate5m",
                        MetricId::SourcesRequestsError
                            .def()
                            .name
                            .trim_end_matches("_total")
                    )
            })
            .expect("the error ratio of SmsSourceFailing is recorded");
        assert_eq!(failing.labels, ["job", "source_id"]);
        for metric in <MetricId as MetricCatalog>::ALL {
            for alert in metric.def().alerts {
                let record = alert_record(*metric, alert);
                assert_eq!(
                    record.is_none(),
                    alert.signal == Signal::Absent,
                    "{}",
                    alert.name
                );
                if let Some(record) = record {
                    assert!(
                        recorded.iter().any(|s| s.name == record.name),
                        "{}",
                        alert.name
                    );
                }
            }
        }
    }
}
