//! Live conformance: one instance's `/metrics` text compared with the catalog.
//!
//! [`Exposition::parse`] reads the Prometheus text format (0.0.4, what `recorder` serves)
//! with the `prometheus-parse` crate and groups samples into families; [`check`] then
//! compares every family carrying a catalog's prefix with its definition in the export
//! of the service's catalogs (`catalog_export::Export`): type,
//! HELP, label names, label values inside the declared sets or series bounds, histogram
//! buckets, and reports catalog metrics that are not exposed at all. Both are pure, so
//! the report is tested on fixtures without any process.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use catalog::OVERFLOW_VALUE;
use catalog_export::{Export, MetricExport, Values};
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
    /// Exposed although the feature it depends on is off in that service.
    ExposedWhileOff {
        /// Metric name.
        name: String,
        /// The feature.
        feature: String,
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
            Problem::ExposedWhileOff { name, feature } => write!(
                f,
                "{name}: exposed, but its feature `{feature}` is off in this service (/catalog says so): recording it must be a no-op"
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

/// Compares every family carrying a catalog's prefix with the catalogs of `export` (the
/// service's set: what `/catalog` serves and `catalog/catalog.json` commits), returning
/// every problem found, sorted.
///
/// A renamed metric counts as exposed under either of its names (see [`may_be_absent`]).
pub fn check(export: &Export, exposition: &Exposition) -> Vec<Problem> {
    let catalog: BTreeMap<&str, &MetricExport> = export
        .metrics()
        .map(|(_, metric)| (metric.name.as_str(), metric))
        .collect();
    let mut problems: Vec<Problem> = exposition
        .unparseable
        .iter()
        .cloned()
        .map(Problem::Unparseable)
        .collect();
    for (name, family) in &exposition.families {
        if !export
            .catalogs
            .iter()
            .any(|c| name.starts_with(c.prefix.as_str()))
        {
            continue;
        }
        match catalog.get(name.as_str()) {
            None => problems.push(Problem::Unknown { name: name.clone() }),
            Some(metric) => check_family(metric, &catalog, family, &mut problems),
        }
    }
    // A hidden (deprecated) metric may be absent: services show it only on request; so
    // may one side of a rename whose other side is exposed. A metric whose feature is
    // off must be absent; one whose feature is on, or has none, must be exposed; one
    // whose feature's state is unknown (no `enabled`) may be either.
    for (name, metric) in &catalog {
        let required = match (&metric.feature, metric.enabled) {
            (None, _) | (Some(_), Some(true)) => true,
            (Some(_), None) => false,
            (Some(feature), Some(false)) => {
                if exposition.families.contains_key(*name) {
                    problems.push(Problem::ExposedWhileOff {
                        name: name.to_string(),
                        feature: feature.clone(),
                    });
                }
                false
            }
        };
        if required && !exposition.exposes(name) && !may_be_absent(metric, exposition) {
            problems.push(Problem::Missing {
                name: name.to_string(),
            });
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// What a service's `GET /catalog` (`served`, its body) says that differs from
/// `expected`, the export of the catalogs xtask generates for: one line per catalog
/// missing, extra or different. Empty when they are the same document.
pub fn catalog_drift(expected: &Export, served: &str) -> Vec<String> {
    let mut served = match Export::from_json(served) {
        Ok(served) => served,
        Err(error) => return vec![format!("/catalog: {error}")],
    };
    // Whether a feature is on is the service's business, not drift.
    for catalog in &mut served.catalogs {
        for metric in &mut catalog.metrics {
            metric.enabled = None;
        }
    }
    let mut drift = Vec::new();
    for catalog in &expected.catalogs {
        match served.catalogs.iter().find(|c| c.name == catalog.name) {
            None => drift.push(format!(
                "/catalog: catalog `{}` (crate `{}`) is not registered by the service: register it with recorder::Builder::with",
                catalog.name, catalog.crate_name
            )),
            Some(found) if found != catalog => drift.push(format!(
                "/catalog: catalog `{}` differs from the committed export (rebuild the service, or run `cargo xtask export`)",
                catalog.name
            )),
            Some(_) => {}
        }
    }
    for catalog in &served.catalogs {
        if !expected.catalogs.iter().any(|c| c.name == catalog.name) {
            drift.push(format!(
                "/catalog: catalog `{}` (crate `{}`) is served but not generated for: add it to xtask/src/catalogs.rs",
                catalog.name, catalog.crate_name
            ));
        }
    }
    let order = |e: &Export| {
        e.catalogs
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    if drift.is_empty() && order(expected) != order(&served) {
        drift.push(format!(
            "/catalog: catalogs registered in the order {:?}, generated in the order {:?}",
            order(&served),
            order(expected)
        ));
    }
    drift
}

/// `expected` with each metric's `enabled` flag as a service's `/catalog` (`served`)
/// reports it, for [`check`]: a metric whose feature is off there must be absent. Flags
/// stay unknown when `served` is not a catalog export.
pub fn with_served_features(expected: &Export, served: &str) -> Export {
    let mut export = expected.clone();
    let Ok(served) = Export::from_json(served) else {
        return export;
    };
    let flags: BTreeMap<&str, bool> = served
        .metrics()
        .filter_map(|(_, m)| Some((m.name.as_str(), m.enabled?)))
        .collect();
    for catalog in &mut export.catalogs {
        for metric in &mut catalog.metrics {
            metric.enabled = flags.get(metric.name.as_str()).copied();
        }
    }
    export
}

/// Whether catalog metric `metric` may be missing from an exposition: a hidden
/// (deprecated) one, which services show only on request, or one side of a rename whose
/// other side is exposed: an instance of the release before the rename exposes only the
/// old name, one with dual emission stopped early only the new one.
pub fn may_be_absent(metric: &MetricExport, exposition: &Exposition) -> bool {
    let deprecated = metric.deprecated.as_ref();
    let other = deprecated
        .and_then(|d| d.renamed_to.as_deref())
        .or(metric.renamed_from.as_deref());
    deprecated.is_some_and(|d| d.hidden) || other.is_some_and(|other| exposition.exposes(other))
}

fn check_family(
    def: &MetricExport,
    catalog: &BTreeMap<&str, &MetricExport>,
    family: &Family,
    out: &mut Vec<Problem>,
) {
    let name = def.name.clone();
    let expected_type = def.kind.as_str();
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
    if let Some(buckets) = &def.buckets {
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
    let mut expected_labels: Vec<String> = def.labels.iter().map(|l| l.name.clone()).collect();
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
        for label in &def.labels {
            let value = &labels[&label.name];
            if let Some(allowed) = not_allowed(&label.values, catalog, value) {
                out.push(Problem::ValueNotAllowed {
                    name: name.clone(),
                    label: label.name.clone(),
                    value: value.clone(),
                    allowed,
                });
            }
        }
    }
    if let Some(max_series) = def.max_series {
        // One overflow series per combination of the enumerated labels, at most.
        let max = max_series + enumerated_combinations(def, catalog.len());
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
fn not_allowed(
    values: &Values,
    catalog: &BTreeMap<&str, &MetricExport>,
    value: &str,
) -> Option<String> {
    match values {
        Values::OneOf { values } if !values.iter().any(|v| v == value) => Some(values.join(", ")),
        Values::CatalogMetric if !catalog.contains_key(value) => {
            Some("the catalogs' metric names".to_string())
        }
        Values::FreeForm if value.is_empty() => {
            Some(format!("any non-empty value, or {OVERFLOW_VALUE}"))
        }
        _ => None,
    }
}

/// Number of value combinations of the metric's enumerated labels (`metrics`: how many
/// metric names a `catalog_metric` label can take).
fn enumerated_combinations(def: &MetricExport, metrics: usize) -> usize {
    def.labels
        .iter()
        .map(|l| match &l.values {
            Values::OneOf { values } => values.len(),
            Values::CatalogMetric => metrics,
            Values::FreeForm => 1,
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
        check(&crate::catalogs::export(), &Exposition::parse(text))
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
        let new = sms_storage::StorageMetricId::GatewayCasObjectsWritten;
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
    fn catalog_drift_names_missing_extra_and_changed_catalogs() {
        let expected = crate::catalogs::export();
        assert_eq!(
            catalog_drift(&expected, &expected.to_json()),
            Vec::<String>::new()
        );
        let mut served = expected.clone();
        let storage = served.catalogs.remove(1);
        served.catalogs[0].metrics.pop();
        let mut extra = storage.clone();
        extra.name = "extra".to_string();
        served.catalogs.push(extra);
        assert_eq!(
            catalog_drift(&expected, &served.to_json()),
            [
                "/catalog: catalog `sms` differs from the committed export (rebuild the service, or run `cargo xtask export`)",
                "/catalog: catalog `storage` (crate `sms-storage`) is not registered by the service: register it with recorder::Builder::with",
                "/catalog: catalog `extra` (crate `sms-storage`) is served but not generated for: add it to xtask/src/catalogs.rs",
            ]
        );
        assert!(catalog_drift(&expected, "{}")[0].starts_with("/catalog: not a catalog export"));
    }

    #[test]
    fn a_feature_metric_is_required_where_on_and_refused_where_off() {
        let expected = crate::catalogs::export();
        let metric = MetricId::GatewayDedupWindowEntries.def();
        let feature = metric.feature.expect("the catalog's feature metric");
        let served = |on: bool| {
            recorder::Builder::<MetricId>::new()
                .with::<sms_storage::StorageMetricId>()
                .feature(feature, on)
                .build()
                .unwrap()
                .export()
                .to_json()
        };
        let name = metric.name;
        // The fixture turns every feature on; without the metric's lines, as a service
        // with the feature off serves it.
        let exposing = Exposition::parse(&fixtures::exposition());
        let fixture = Exposition::parse(
            &fixtures::exposition()
                .lines()
                .filter(|l| !l.contains(name))
                .map(|l| format!("{l}\n"))
                .collect::<String>(),
        );
        let report = |exposition: &Exposition, on: bool| -> Vec<String> {
            check(&with_served_features(&expected, &served(on)), exposition)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        // The fixture does not expose it: fine when off (or unknown), missing when on.
        assert_eq!(report(&fixture, false), Vec::<String>::new());
        assert_eq!(check(&expected, &fixture), vec![]);
        assert_eq!(
            report(&fixture, true),
            [format!(
                "{}: defined in the catalog, but not exposed (record it in the demo, or mark it unused)",
                metric.name
            )]
        );
        assert_eq!(report(&exposing, true), Vec::<String>::new());
        assert_eq!(
            report(&exposing, false),
            [format!(
                "{name}: exposed, but its feature `{feature}` is off in this service (/catalog says so): recording it must be a no-op"
            )]
        );
        // Its state is no drift.
        assert_eq!(
            catalog_drift(&expected, &served(true)),
            Vec::<String>::new()
        );
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
