//! The catalogs as versioned JSON: the contract other tools read.
//!
//! One document shape serves three uses: the running service's `GET /catalog`, the
//! committed `catalog/catalog.json` (kept fresh by `cargo xtask check`), and the baseline
//! the compatibility check compares the catalog with. [`Export`] is the document,
//! [`CatalogExport::of`] builds one catalog's part from any [`MetricCatalog`], and
//! [`Export::to_json`] renders it deterministically (same catalogs, same bytes). The
//! schema is documented field by field in `docs/catalog-schema.md`; a change of meaning
//! or a removed field bumps [`SCHEMA_VERSION`], an added optional field does not.
//!
//! ```
//! use catalog::MetricId;
//! use catalog_export::{CatalogExport, Export};
//!
//! let export = Export::new(vec![CatalogExport::of::<MetricId>()]);
//! let json = export.to_json();
//! assert_eq!(Export::from_json(&json).unwrap(), export);
//! ```

mod changelog;
mod compat;

pub use changelog::changelog;
pub use compat::{Finding, Rule, compatibility};

use catalog::{LabelKey, LabelValues, MetricCatalog, MetricKind};
use serde::{Deserialize, Serialize};

/// Version of the document's schema.
pub const SCHEMA_VERSION: u32 = 2;

/// Identifies the document kind in its `schema` field.
pub const SCHEMA: &str = "sms-metrics.catalog";

/// The whole document: every catalog a service (or the workspace) uses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The catalogs, in registration order.
    pub catalogs: Vec<CatalogExport>,
    /// What the serving process exposes, in a service's `GET /catalog` only (absent from
    /// committed files, which describe no process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposition: Option<Exposition>,
}

/// How a running service exposes the catalogs (`GET /catalog`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exposition {
    /// Which names renamed metrics are exposed under during their rename window.
    pub renamed_metrics: RenamedNames,
    /// Whether deprecated metrics marked hidden are exposed anyway.
    pub show_hidden_metrics: bool,
}

/// Which names a renamed metric is exposed under while its old name is in the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenamedNames {
    /// Dual emission: the new name, and the old one (its series, deprecated HELP) until
    /// the catalog hides it.
    Both,
    /// The new name only: the old one stopped early.
    NewOnly,
    /// The old names only, as the release before the rename (a test fixture).
    OldOnly,
}

/// One catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogExport {
    /// The catalog's name, e.g. `sms`.
    pub name: String,
    /// The crate that declares it, e.g. `catalog`.
    #[serde(rename = "crate")]
    pub crate_name: String,
    /// Prefix of every metric name, e.g. `sms_`.
    pub prefix: String,
    /// True for a catalog defined at run time (from configuration), false for a compiled one.
    pub runtime_defined: bool,
    /// Its metrics, in catalog order.
    pub metrics: Vec<MetricExport>,
}

/// One metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricExport {
    /// Full Prometheus name as exposed (a counter's includes `_total`).
    pub name: String,
    /// Kind of metric.
    pub kind: Kind,
    /// The HELP text.
    pub help: String,
    /// Base unit (`seconds`, `bytes`, `ratio`), absent when the metric has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The subsystem (pipeline phase) it belongs to.
    pub subsystem: String,
    /// Its labels, in exposition order.
    pub labels: Vec<LabelExport>,
    /// Upper bound on its series when a label is free-form, absent when every label is
    /// enumerated (the bound is then the product of the value counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_series: Option<usize>,
    /// A histogram's bucket upper bounds, `+Inf` excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<f64>>,
    /// How much its users may rely on it: what may change without a deprecation.
    #[serde(default)]
    pub stability: Stability,
    /// Set once the metric is deprecated: it is still exposed (unless hidden) until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecated>,
    /// The service feature it depends on: exposed only where the feature is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Whether its feature is on, in a running service's `/catalog`; absent in the
    /// committed export (which does not know) and for metrics without a feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The deprecated metric renamed to this one, while it is in the catalog: this
    /// metric's series are exposed under that name too (dual emission, unless hidden),
    /// and queries read it as a fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// How much users may rely on a metric (Kubernetes' metric stability levels).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stability {
    /// May change or go away in any release.
    #[default]
    Alpha,
    /// Labels may still change; removal needs a deprecation.
    Beta,
    /// Name, kind, unit, labels, enumerated values and buckets are fixed; any change
    /// needs a deprecation (and a new name).
    Stable,
}

/// A deprecation: why, since when, and the metric replacing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprecated {
    /// The release that deprecated it, e.g. `0.3.0`.
    pub since: String,
    /// Why, in one sentence.
    pub reason: String,
    /// The metric that replaces it, when it was renamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    /// Hidden: no longer exposed unless the service turns hidden metrics back on; the
    /// step before removal.
    #[serde(default)]
    pub hidden: bool,
}

/// Kind of a metric, as in the Prometheus `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Cumulative histogram.
    Histogram,
}

/// One label of a metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelExport {
    /// Prometheus label name.
    pub name: String,
    /// What the label distinguishes.
    pub help: String,
    /// Which values it may take.
    pub values: Values,
}

/// The values a label may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Values {
    /// Exactly these values.
    OneOf {
        /// The allowed values, in declaration order.
        values: Vec<String>,
    },
    /// The names of the metrics of the catalogs (the recorder's self-metrics).
    CatalogMetric,
    /// Any value, bounded per metric by `max_series`.
    FreeForm,
}

impl Kind {
    /// The `# TYPE` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

impl Stability {
    /// The level's name as serialised, e.g. `stable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stability::Alpha => "alpha",
            Stability::Beta => "beta",
            Stability::Stable => "stable",
        }
    }
}

impl Export {
    /// A document of the current schema version holding `catalogs`.
    pub fn new(catalogs: Vec<CatalogExport>) -> Export {
        Export {
            schema: SCHEMA.to_string(),
            schema_version: SCHEMA_VERSION,
            catalogs,
            exposition: None,
        }
    }

    /// Pretty JSON with a trailing newline; deterministic.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("an export always serialises");
        json.push('\n');
        json
    }

    /// Reads a document, refusing another schema or a newer schema version.
    pub fn from_json(json: &str) -> Result<Export, String> {
        let export: Export =
            serde_json::from_str(json).map_err(|e| format!("not a catalog export: {e}"))?;
        if export.schema != SCHEMA {
            return Err(format!("schema {:?} is not {SCHEMA:?}", export.schema));
        }
        if export.schema_version > SCHEMA_VERSION {
            return Err(format!(
                "schema version {} is newer than this reader's {SCHEMA_VERSION}",
                export.schema_version
            ));
        }
        Ok(export)
    }

    /// Every metric of every catalog, with the catalog it belongs to.
    pub fn metrics(&self) -> impl Iterator<Item = (&CatalogExport, &MetricExport)> {
        self.catalogs
            .iter()
            .flat_map(|catalog| catalog.metrics.iter().map(move |metric| (catalog, metric)))
    }
}

impl CatalogExport {
    /// Catalog `C`, with the name and crate it declares.
    pub fn of<C: MetricCatalog>() -> CatalogExport {
        CatalogExport {
            name: C::NAME.to_string(),
            crate_name: C::CRATE.to_string(),
            prefix: C::PREFIX.to_string(),
            runtime_defined: false,
            metrics: C::ALL
                .iter()
                .map(|&metric| MetricExport::of(metric))
                .collect(),
        }
    }
}

impl MetricExport {
    /// The `# HELP` text a service exposes: the help, after the deprecation when there
    /// is one (the text of [`catalog::MetricDef::exposed_help`]).
    pub fn exposed_help(&self) -> std::borrow::Cow<'_, str> {
        match &self.deprecated {
            None => std::borrow::Cow::Borrowed(&self.help),
            Some(d) => std::borrow::Cow::Owned(catalog::deprecated_help(
                &d.since,
                d.renamed_to.as_deref(),
                &d.reason,
                &self.help,
            )),
        }
    }

    /// The export of one compiled metric.
    pub fn of<C: MetricCatalog>(metric: C) -> MetricExport {
        let def = metric.def();
        let (kind, buckets) = match def.kind {
            MetricKind::Counter => (Kind::Counter, None),
            MetricKind::Gauge => (Kind::Gauge, None),
            MetricKind::Histogram { buckets } => (Kind::Histogram, Some(buckets.to_vec())),
        };
        MetricExport {
            name: def.name.to_string(),
            kind,
            help: def.help.to_string(),
            unit: def.unit.suffix().map(str::to_string),
            subsystem: def.subsystem.name.to_string(),
            labels: def
                .labels
                .iter()
                .map(|&label| LabelExport::of(label))
                .collect(),
            max_series: (def.max_series > 0).then_some(def.max_series),
            buckets,
            stability: match def.stability {
                catalog::Stability::Alpha => Stability::Alpha,
                catalog::Stability::Beta => Stability::Beta,
                catalog::Stability::Stable => Stability::Stable,
            },
            deprecated: def.deprecated.as_ref().map(|d| Deprecated {
                since: d.since.to_string(),
                reason: d.reason.to_string(),
                renamed_to: d.renamed_to.map(|m| m.def().name.to_string()),
                hidden: d.hidden,
            }),
            feature: def.feature.map(str::to_string),
            enabled: None,
            renamed_from: catalog::renamed_from(metric).map(|old| old.def().name.to_string()),
        }
    }
}

impl LabelExport {
    fn of<L: LabelKey>(label: L) -> LabelExport {
        let def = label.def();
        LabelExport {
            name: def.name.to_string(),
            help: def.help.to_string(),
            values: match def.values {
                LabelValues::OneOf(values) => Values::OneOf {
                    values: values.iter().map(|v| v.to_string()).collect(),
                },
                LabelValues::CatalogMetric => Values::CatalogMetric,
                LabelValues::FreeForm => Values::FreeForm,
            },
        }
    }
}
