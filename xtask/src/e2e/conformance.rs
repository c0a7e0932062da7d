//! Live conformance: one instance's `/metrics` text compared with the catalog.
//!
//! [`Exposition::parse`] reads the Prometheus text format (0.0.4, what `recorder` serves)
//! with the `prometheus-parse` crate and groups samples into families; [`check`] then
//! compares every family carrying the catalog's prefix with its [`MetricDef`]: type,
//! HELP, label names, label values inside the declared sets or series bounds, histogram
//! buckets, and reports catalog metrics that are not exposed at all. Both are pure, so
//! the report is tested on fixtures without any process.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use catalog::{LabelKey, LabelValues, MetricCatalog, MetricDef, MetricKind, OVERFLOW_VALUE};
use prometheus_parse::{LineInfo, SampleType, Scrape, Value};

/// The parsed `/metrics` text of one instance.
#[derive(Debug, Default)]
pub struct Exposition {
    /// Metric families by name (a histogram's `_bucket`, `_sum` and `_count` samples
    /// belong to the family without the suffix).
    pub families: BTreeMap<String, Family>,
    /// Every sample name as exposed (`x_bucket`, `x_sum`, ... included): what a PromQL
    /// selector can select.
    pub sample_names: BTreeSet<String>,
    /// Lines that are neither comments nor valid samples.
    pub unparseable: Vec<String>,
}

/// One metric family of an exposition.
#[derive(Debug, Default)]
pub struct Family {
    /// The `# TYPE` word, `None` when the family has no TYPE line.
    pub kind: Option<&'static str>,
    /// The `# HELP` text.
    pub help: Option<String>,
    /// Label sets of its series (`le` excluded), with each series' value (a histogram's
    /// series has its `+Inf` bucket count).
    pub series: BTreeMap<BTreeMap<String, String>, f64>,
    /// Upper bounds of the histogram buckets, `+Inf` excluded, as exposed by each series.
    pub buckets: BTreeSet<Vec<u64>>,
}

impl Exposition {
    /// Whether family `name` has at least one series.
    pub fn exposes(&self, name: &str) -> bool {
        self.families
            .get(name)
            .is_some_and(|f| !f.series.is_empty())
    }

    /// Parses the text format; lines the parser cannot read are kept in `unparseable`.
    pub fn parse(text: &str) -> Exposition {
        let mut exposition = Exposition::default();
        let mut types = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            match LineInfo::parse(line) {
                LineInfo::Type {
                    metric_name,
                    metric_alias,
                    sample_type,
                } => {
                    types.insert(metric_alias.unwrap_or(metric_name), sample_type);
                }
                LineInfo::Sample {
                    metric_name, value, ..
                } => {
                    exposition.sample_names.insert(metric_name.to_string());
                    if parse_value(value).is_none() {
                        exposition
                            .unparseable
                            .push(format!("line {}: {line}", number + 1));
                    }
                }
                LineInfo::Ignored if !line.trim_start().starts_with('#') => exposition
                    .unparseable
                    .push(format!("line {}: {line}", number + 1)),
                LineInfo::Doc { .. } | LineInfo::Empty | LineInfo::Ignored => {}
            }
        }
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
            .expect("reading lines from a string cannot fail");
        for (name, kind) in &types {
            exposition.families.entry(name.clone()).or_default().kind = Some(type_word(*kind));
        }
        for (name, help) in scrape.docs {
            exposition.families.entry(name).or_default().help = Some(help);
        }
        for sample in scrape.samples {
            let labels: BTreeMap<String, String> = sample
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let (family, value) = match &sample.value {
                Value::Histogram(counts) => {
                    let family = exposition.families.entry(sample.metric).or_default();
                    let bounds = counts
                        .iter()
                        .filter(|c| c.less_than.is_finite())
                        .map(|c| c.less_than.to_bits())
                        .collect();
                    family.buckets.insert(bounds);
                    let total = counts
                        .iter()
                        .find(|c| c.less_than.is_infinite())
                        .map_or(f64::NAN, |c| c.count);
                    (family, total)
                }
                Value::Untyped(v) => match histogram_part(&sample.metric, &types) {
                    // `_sum` and `_count` of a histogram: their labels are the bucket
                    // series' labels, already recorded with the buckets.
                    Some(_) => continue,
                    None => (exposition.families.entry(sample.metric).or_default(), *v),
                },
                Value::Counter(v) | Value::Gauge(v) => {
                    (exposition.families.entry(sample.metric).or_default(), *v)
                }
                Value::Summary(_) => (exposition.families.entry(sample.metric).or_default(), 0.0),
            };
            family.series.insert(labels, value);
        }
        exposition
    }

    /// Sum over all series of a family (e.g. a counter's instance-wide total).
    pub fn total(&self, name: &str) -> f64 {
        self.families
            .get(name)
            .map_or(0.0, |f| f.series.values().sum())
    }
}

/// A difference between an instance's exposition and the catalog.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// A line the exposition parser could not read.
    Unparseable(String),
    /// A family with the catalog's prefix that the catalog does not define.
    Unknown {
        /// Family name.
        name: String,
    },
    /// A catalog metric the instance does not expose.
    Missing {
        /// Metric name.
        name: String,
    },
    /// The TYPE differs from the catalog's kind.
    WrongType {
        /// Metric name.
        name: String,
        /// Catalog's type word.
        expected: &'static str,
        /// Exposed type word, or `none`.
        found: String,
    },
    /// The HELP text differs from the catalog's help.
    WrongHelp {
        /// Metric name.
        name: String,
        /// Catalog's help.
        expected: String,
        /// Exposed help, or `none`.
        found: String,
    },
    /// A series' label names differ from the catalog's labels.
    WrongLabels {
        /// Metric name.
        name: String,
        /// Catalog's label names, sorted.
        expected: Vec<String>,
        /// The series' label names, sorted.
        found: Vec<String>,
    },
    /// A label value outside the label's declared values.
    ValueNotAllowed {
        /// Metric name.
        name: String,
        /// Label name.
        label: String,
        /// The offending value.
        value: String,
        /// What the catalog allows.
        allowed: String,
    },
    /// More series than the catalog's bound allows.
    TooManySeries {
        /// Metric name.
        name: String,
        /// Exposed series.
        found: usize,
        /// Allowed series, overflow series included.
        max: usize,
    },
    /// Histogram buckets differ from the catalog's.
    WrongBuckets {
        /// Metric name.
        name: String,
        /// Catalog's buckets, e.g. `[0.1, 0.5]`.
        expected: String,
        /// Exposed buckets.
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unparseable(line) => write!(f, "unparseable exposition {line}"),
            Problem::Unknown { name } => write!(
                f,
                "{name}: exposed, but the catalog does not define it (declare it in catalog::Metric or stop recording it)"
            ),
            Problem::Missing { name } => write!(
                f,
                "{name}: defined in the catalog, but not exposed (record it in the demo, or mark it unused)"
            ),
            Problem::WrongType {
                name,
                expected,
                found,
            } => write!(f, "{name}: TYPE is {found}, the catalog says {expected}"),
            Problem::WrongHelp {
                name,
                expected,
                found,
            } => write!(
                f,
                "{name}: HELP is {found:?}, the catalog says {expected:?}"
            ),
            Problem::WrongLabels {
                name,
                expected,
                found,
            } => write!(
                f,
                "{name}: a series has labels [{}], the catalog declares [{}]",
                found.join(", "),
                expected.join(", ")
            ),
            Problem::ValueNotAllowed {
                name,
                label,
                value,
                allowed,
            } => write!(
                f,
                "{name}: label {label}={value:?} is not allowed (allowed: {allowed})"
            ),
            Problem::TooManySeries { name, found, max } => write!(
                f,
                "{name}: {found} series exposed, the catalog bounds it at {max} (overflow series included)"
            ),
            Problem::WrongBuckets {
                name,
                expected,
                found,
            } => write!(
                f,
                "{name}: buckets {found}, the catalog declares {expected}"
            ),
        }
    }
}

/// Compares every family with the catalog's prefix against catalog `C`, returning every
/// problem found, sorted.
///
/// A renamed metric counts as exposed under either of its names (see [`may_be_absent`]).
pub fn check<C: MetricCatalog>(exposition: &Exposition) -> Vec<Problem> {
    let catalog: BTreeMap<&str, C> = C::ALL.iter().map(|m| (m.def().name, *m)).collect();
    let mut problems: Vec<Problem> = exposition
        .unparseable
        .iter()
        .cloned()
        .map(Problem::Unparseable)
        .collect();
    for (name, family) in &exposition.families {
        if !name.starts_with(C::PREFIX) {
            continue;
        }
        match catalog.get(name.as_str()) {
            None => problems.push(Problem::Unknown { name: name.clone() }),
            Some(metric) => check_family::<C>(metric.def(), family, &mut problems),
        }
    }
    for (name, metric) in &catalog {
        if !exposition.exposes(name) && !may_be_absent(*metric, exposition) {
            problems.push(Problem::Missing {
                name: name.to_string(),
            });
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// Whether catalog metric `metric` may be missing from an exposition: a hidden
/// (deprecated) one, which services show only on request, or one side of a rename whose
/// other side is exposed: an instance of the release before the rename exposes only the
/// old name, one with dual emission stopped early only the new one.
pub fn may_be_absent<C: MetricCatalog>(metric: C, exposition: &Exposition) -> bool {
    let def = metric.def();
    let other = def.renamed_to().or_else(|| catalog::renamed_from(metric));
    def.is_hidden() || other.is_some_and(|other| exposition.exposes(other.def().name))
}

fn check_family<C: MetricCatalog>(def: &MetricDef<C>, family: &Family, out: &mut Vec<Problem>) {
    let name = def.name.to_string();
    let expected_type = def.kind.type_name();
    if family.kind != Some(expected_type) {
        out.push(Problem::WrongType {
            name: name.clone(),
            expected: expected_type,
            found: family.kind.unwrap_or("none").to_string(),
        });
    }
    let help = def.exposed_help();
    if family.help.as_deref() != Some(&*help) {
        out.push(Problem::WrongHelp {
            name: name.clone(),
            expected: help.to_string(),
            found: family.help.clone().unwrap_or_else(|| "none".to_string()),
        });
    }
    if let MetricKind::Histogram { buckets } = def.kind {
        let expected: Vec<u64> = buckets.iter().map(|b| b.to_bits()).collect();
        for found in family.buckets.iter().filter(|b| **b != expected) {
            out.push(Problem::WrongBuckets {
                name: name.clone(),
                expected: format!("{buckets:?}"),
                found: format!(
                    "{:?}",
                    found.iter().map(|b| f64::from_bits(*b)).collect::<Vec<_>>()
                ),
            });
        }
    }
    let mut expected_labels: Vec<String> = def
        .labels
        .iter()
        .map(|l| l.def().name.to_string())
        .collect();
    expected_labels.sort();
    for labels in family.series.keys() {
        let found: Vec<String> = labels.keys().cloned().collect();
        if found != expected_labels {
            out.push(Problem::WrongLabels {
                name: name.clone(),
                expected: expected_labels.clone(),
                found,
            });
            continue;
        }
        for label in def.labels {
            let label = label.def();
            let value = &labels[label.name];
            if let Some(allowed) = not_allowed::<C>(label.values, value) {
                out.push(Problem::ValueNotAllowed {
                    name: name.clone(),
                    label: label.name.to_string(),
                    value: value.clone(),
                    allowed,
                });
            }
        }
    }
    if def.has_free_form_label() {
        // One overflow series per combination of the enumerated labels, at most.
        let max = def.max_series + enumerated_combinations(def);
        if family.series.len() > max {
            out.push(Problem::TooManySeries {
                name,
                found: family.series.len(),
                max,
            });
        }
    }
}

/// `Some(description of the allowed values)` when `value` is not one of them.
fn not_allowed<C: MetricCatalog>(values: LabelValues, value: &str) -> Option<String> {
    match values {
        LabelValues::OneOf(allowed) if !allowed.contains(&value) => Some(allowed.join(", ")),
        LabelValues::CatalogMetric if !C::ALL.iter().any(|m| m.def().name == value) => {
            Some("the catalog's metric names".to_string())
        }
        LabelValues::FreeForm if value.is_empty() => {
            Some(format!("any non-empty value, or {OVERFLOW_VALUE}"))
        }
        _ => None,
    }
}

/// Number of value combinations of the metric's enumerated labels.
fn enumerated_combinations<C: MetricCatalog>(def: &MetricDef<C>) -> usize {
    def.labels
        .iter()
        .map(|l| match l.def().values {
            LabelValues::OneOf(values) => values.len(),
            LabelValues::CatalogMetric => C::ALL.len(),
            LabelValues::FreeForm => 1,
        })
        .product()
}

fn parse_value(value: &str) -> Option<f64> {
    match value {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => value.parse().ok(),
    }
}

fn type_word(kind: SampleType) -> &'static str {
    match kind {
        SampleType::Counter => "counter",
        SampleType::Gauge => "gauge",
        SampleType::Histogram => "histogram",
        SampleType::Summary => "summary",
        SampleType::Untyped => "untyped",
    }
}

/// For `x_sum` or `x_count` of a histogram family `x`, that family's name.
fn histogram_part<'a>(sample: &'a str, types: &BTreeMap<String, SampleType>) -> Option<&'a str> {
    let base = sample
        .strip_suffix("_sum")
        .or_else(|| sample.strip_suffix("_count"))?;
    (types.get(base) == Some(&SampleType::Histogram)).then_some(base)
}

#[cfg(test)]
mod tests {
    use catalog::MetricId;

    use super::*;
    use crate::e2e::fixtures;

    fn check_text(text: &str) -> Vec<String> {
        check::<MetricId>(&Exposition::parse(text))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn what_the_recorder_serves_conforms() {
        assert_eq!(check_text(&fixtures::exposition()), Vec::<String>::new());
    }

    #[test]
    fn unknown_family_is_reported_by_name() {
        let text = format!(
            "{}# HELP sms_bogus_total Not in the catalog.\n# TYPE sms_bogus_total counter\nsms_bogus_total 3\n",
            fixtures::exposition()
        );
        assert_eq!(
            check_text(&text),
            [
                "sms_bogus_total: exposed, but the catalog does not define it (declare it in catalog::Metric or stop recording it)"
            ]
        );
    }

    #[test]
    fn missing_metric_wrong_value_and_type_are_reported() {
        let queue = MetricId::GatewayQueueDepth.def().name;
        let errors = MetricId::SourcesRequestsError.def().name;
        let text: String = fixtures::exposition()
            .lines()
            .filter(|l| !l.contains(queue))
            .map(|l| {
                let l = l.replace("error_type=\"timeout\"", "error_type=\"gremlins\"");
                format!("{l}\n")
            })
            .collect::<String>()
            .replace(
                &format!("# TYPE {errors} counter"),
                &format!("# TYPE {errors} gauge"),
            );
        let report = check_text(&text);
        assert!(
            report.contains(&format!(
                "{queue}: defined in the catalog, but not exposed (record it in the demo, or mark it unused)"
            )),
            "{report:#?}"
        );
        assert!(
            report.contains(&format!(
                "{errors}: label error_type=\"gremlins\" is not allowed (allowed: timeout, connection, http_status, malformed)"
            )),
            "{report:#?}"
        );
        assert!(
            report.contains(&format!(
                "{errors}: TYPE is gauge, the catalog says counter"
            )),
            "{report:#?}"
        );
    }

    #[test]
    fn a_renamed_metric_conforms_under_either_name_but_not_under_none() {
        use recorder::RenamedMetrics;
        for renamed in [RenamedMetrics::OldOnly, RenamedMetrics::NewOnly] {
            let text = fixtures::exposition_naming(renamed);
            assert_eq!(check_text(&text), Vec::<String>::new(), "{renamed:?}");
        }
        let new = MetricId::GatewayCasObjectsWritten;
        let old = catalog::renamed_from(new).expect("the SMS catalog renames it");
        let neither: String = fixtures::exposition_naming(RenamedMetrics::NewOnly)
            .lines()
            .filter(|l| !l.contains(new.def().name))
            .map(|l| format!("{l}\n"))
            .collect();
        let report = check_text(&neither);
        for metric in [old, new] {
            let name = metric.def().name;
            assert!(
                report.contains(&format!(
                    "{name}: defined in the catalog, but not exposed (record it in the demo, or mark it unused)"
                )),
                "{report:#?}"
            );
        }
    }

    #[test]
    fn totals_sum_every_series_of_a_counter() {
        let exposition = Exposition::parse(&fixtures::exposition());
        let name = MetricId::SourcesRequestsSuccess.def().name;
        assert_eq!(exposition.total(name), fixtures::COUNTER_STEP as f64);
        assert_eq!(exposition.total("no_such_family"), 0.0);
    }

    #[test]
    fn garbage_lines_are_reported() {
        let report = check_text(&format!("{}this is not a sample\n", fixtures::exposition()));
        assert_eq!(report.len(), 1, "{report:#?}");
        assert!(
            report[0].starts_with("unparseable exposition line"),
            "{report:#?}"
        );
    }
}
