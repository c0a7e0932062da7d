//! `cargo xtask lint`: the catalog and its use in the workspace, before anything runs.
//!
//! Rules:
//! - everything `catalog::validate` reports (what `promtool check metrics` would say
//!   about names, the application prefix, percent instead of `_ratio`, unit and suffix,
//!   label bounds, buckets, alerts and SLOs);
//! - `metric-unused`: a catalog metric never referenced as `Metric::Variant` (its
//!   catalog's typed-constant type: `StorageMetric::Variant` for the storage catalog)
//!   from non-test code of the workspace (outside `catalog/`, the other catalog
//!   declarations, `tests/`, `benches/` and `#[cfg(test)]`/`#[test]` items), unless the
//!   catalog marks it `unused` with a reason;
//! - `metric-renamed`: non-test code referencing a metric renamed away (deprecated with
//!   `renamed_to`) instead of its new metric; such a metric is never `metric-unused`;
//! - `metric-name-literal`: a catalog metric name (or its `_bucket`, `_sum`, `_count`
//!   series) inside a string literal of any `.rs` file outside `catalog/` and the other
//!   declarations, tests included: names come from `Metric::def()`, never from a copy.
//!
//! Every rule runs for every catalog of the service ([`lint_all`]).
//!
//! Sources are parsed with `syn`, so comments, doc comments and identifiers never match;
//! macro bodies (`format!`, `assert!`, ...) are scanned token by token.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use catalog::{MetricCatalog, MetricKind};
use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};

use crate::catalogs::{DECLARATIONS, Visitor, visit_all};

/// One problem: the metric, the rule, what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The metric's Prometheus name.
    pub metric: String,
    /// Rule identifier, e.g. `metric-unused`.
    pub rule: String,
    /// What is wrong, where, and the fix.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.metric, self.message, self.rule)
    }
}

/// Runs every rule for every catalog of the service over the workspace at `root`.
pub fn lint_all(root: &Path) -> Result<Vec<Finding>> {
    struct All {
        sources: Vec<Source>,
        findings: Vec<Finding>,
    }
    impl Visitor for All {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            self.findings.extend(lint::<C>(&self.sources));
            Ok(())
        }
    }
    let mut all = All {
        sources: workspace_sources(root)?,
        findings: Vec::new(),
    };
    visit_all(&mut all)?;
    Ok(all.findings)
}

/// Runs every rule for catalog `C` over `sources`.
pub fn lint<C: MetricCatalog>(sources: &[Source]) -> Vec<Finding> {
    let mut findings: Vec<Finding> = match catalog::validate::<C>() {
        Ok(()) => Vec::new(),
        Err(problems) => problems
            .into_iter()
            .map(|p| Finding {
                metric: p.metric,
                rule: p.rule.to_string(),
                message: p.message,
            })
            .collect(),
    };
    findings.extend(unused_metrics::<C>(sources));
    findings.extend(name_literals::<C>(sources));
    findings
}

/// The name of catalog `C`'s typed-constant type, the `Metric` of `Metric::X`: its id
/// type's name without `Id` (`MetricId` -> `Metric`, `StorageMetricId` -> `StorageMetric`).
fn typed_name<C: MetricCatalog>() -> &'static str {
    let full = std::any::type_name::<C>();
    let last = full.rsplit("::").next().unwrap_or(full);
    last.strip_suffix("Id").unwrap_or(last)
}

/// True for the type of a catalog's typed constants (`Metric`, `StorageMetric`, ...).
fn is_typed_catalog(ident: &impl ToString) -> bool {
    ident.to_string().ends_with("Metric")
}

/// A parsed `.rs` file of the workspace.
pub struct Source {
    /// Path relative to the workspace root.
    pub path: PathBuf,
    /// What the file holds.
    pub scan: Scan,
}

impl Source {
    /// Parses `text` as the file at `path` (relative to the workspace root).
    pub fn parse(path: &Path, text: &str) -> Result<Source> {
        let file = syn::parse_file(text).with_context(|| format!("parsing {}", path.display()))?;
        let mut scan = Scan::default();
        scan.visit_file(&file);
        Ok(Source {
            path: path.to_path_buf(),
            scan,
        })
    }

    /// True for integration tests and benchmarks (`tests/`, `benches/` directories).
    fn is_test_file(&self) -> bool {
        self.path
            .components()
            .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "benches")
    }
}

/// What one file references and which string literals it holds.
#[derive(Debug, Default)]
pub struct Scan {
    /// `Metric::Variant` paths (any catalog's typed-constant type) outside test items.
    pub references: BTreeSet<String>,
    /// `Metric::Variant` paths inside test items.
    pub test_references: BTreeSet<String>,
    /// String literals with their line.
    pub literals: Vec<(usize, String)>,
    test_depth: usize,
}

impl Scan {
    fn reference(&mut self, variant: String) {
        if self.test_depth == 0 {
            self.references.insert(variant);
        } else {
            self.test_references.insert(variant);
        }
    }

    /// `Metric :: Variant` and string literals inside macro bodies.
    fn tokens(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => self.tokens(group.stream()),
                TokenTree::Ident(ident) if is_typed_catalog(ident) => {
                    if let [
                        TokenTree::Punct(a),
                        TokenTree::Punct(b),
                        TokenTree::Ident(v),
                        ..,
                    ] = &tokens[i + 1..]
                    {
                        if a.as_char() == ':' && b.as_char() == ':' {
                            self.reference(format!("{ident}::{v}"));
                        }
                    }
                }
                TokenTree::Literal(literal) => {
                    if let syn::Lit::Str(s) = syn::Lit::new(literal.clone()) {
                        self.literals.push((literal.span().start().line, s.value()));
                    }
                }
                _ => {}
            }
        }
    }
}

/// `#[test]`, `#[cfg(test)]` or a `cfg` mentioning `test` (e.g. `all(test, unix)`).
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("test") {
            return true;
        }
        if !path.is_ident("cfg") {
            return false;
        }
        let Ok(list) = attr.meta.require_list() else {
            return false;
        };
        list.tokens.clone().into_iter().any(|t| match t {
            TokenTree::Ident(ident) => ident == "test",
            TokenTree::Group(group) => group
                .stream()
                .into_iter()
                .any(|t| matches!(t, TokenTree::Ident(ref i) if i == "test")),
            _ => false,
        }) && !list.tokens.to_string().starts_with("not")
    })
}

impl<'ast> Visit<'ast> for Scan {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            _ => &[],
        };
        let test = is_test_only(attrs);
        self.test_depth += usize::from(test);
        visit::visit_item(self, item);
        self.test_depth -= usize::from(test);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let test = is_test_only(&item.attrs);
        self.test_depth += usize::from(test);
        visit::visit_impl_item_fn(self, item);
        self.test_depth -= usize::from(test);
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {
        // Doc comments and attributes are not code.
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        for pair in path.segments.iter().collect::<Vec<_>>().windows(2) {
            if is_typed_catalog(&pair[0].ident) {
                self.reference(format!("{}::{}", pair[0].ident, pair[1].ident));
            }
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        visit::visit_macro(self, mac);
    }

    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        self.literals.push((lit.span().start().line, lit.value()));
    }
}

/// Every `.rs` file of the workspace outside `catalog/`, the other catalog declarations
/// (`catalogs::DECLARATIONS`), `target/` and hidden directories, parsed; sorted by path.
pub fn workspace_sources(root: &Path) -> Result<Vec<Source>> {
    let mut paths = Vec::new();
    collect_rs(root, root, &mut paths)?;
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = fs::read_to_string(root.join(path))
                .with_context(|| format!("reading {}", path.display()))?;
            Source::parse(path, &text)
        })
        .collect()
}

fn collect_rs(root: &Path, dir: &Path, paths: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            let skipped =
                name.starts_with('.') || name == "target" || (dir == root && name == "catalog");
            if !skipped {
                collect_rs(root, &path, paths)?;
            }
        } else if name.ends_with(".rs") {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            // Catalog declarations outside `catalog/` are skipped like `catalog/` itself.
            if !DECLARATIONS.iter().any(|d| relative == Path::new(d)) {
                paths.push(relative);
            }
        }
    }
    Ok(())
}

/// `metric-unused` (and `metric-unused-mark`, for a metric marked unused that code does
/// reference).
pub fn unused_metrics<C: MetricCatalog>(sources: &[Source]) -> Vec<Finding> {
    let referenced: BTreeMap<String, &Path> = sources
        .iter()
        .filter(|s| !s.is_test_file())
        .flat_map(|s| {
            s.scan
                .references
                .iter()
                .map(|r| (r.clone(), s.path.as_path()))
        })
        .collect();
    let mut findings = Vec::new();
    for &metric in C::ALL {
        let def = metric.def();
        let variant = format!("{}::{metric:?}", typed_name::<C>());
        // Renamed away: recorded through its new metric, and code still naming it is
        // told to move (recording it would land in the new metric, on the slow path).
        if let Some(new) = def.renamed_to() {
            if let Some(path) = referenced.get(&variant) {
                let new = format!("{}::{new:?}", typed_name::<C>());
                findings.push(Finding {
                    metric: def.name.to_string(),
                    rule: "metric-renamed".to_string(),
                    message: format!(
                        "`{variant}` is renamed to `{new}` but referenced in {}: record `{new}` \
                         (both names stay exposed while the rename lasts)",
                        path.display()
                    ),
                });
            }
            continue;
        }
        match (referenced.get(&variant), def.unused) {
            (None, None) => findings.push(Finding {
                metric: def.name.to_string(),
                rule: "metric-unused".to_string(),
                message: format!(
                    "`{variant}` is never referenced from non-test code of the workspace: \
                     record it (e.g. `recorder::inc({variant}, ..)`) where it happens, \
                     delete it from the catalog, or mark it `.unused(\"why\")`"
                ),
            }),
            (Some(path), Some(_)) => findings.push(Finding {
                metric: def.name.to_string(),
                rule: "metric-unused-mark".to_string(),
                message: format!(
                    "marked unused in the catalog but `{variant}` is referenced in {}: \
                     remove the `.unused(..)` mark",
                    path.display()
                ),
            }),
            _ => {}
        }
    }
    findings
}

/// `metric-name-literal`.
pub fn name_literals<C: MetricCatalog>(sources: &[Source]) -> Vec<Finding> {
    let mut names: BTreeMap<String, &'static str> = BTreeMap::new();
    for metric in C::ALL {
        let def = metric.def();
        names.insert(def.name.to_string(), def.name);
        if let MetricKind::Histogram { .. } = def.kind {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{}{suffix}", def.name), def.name);
            }
        }
    }
    let mut findings = Vec::new();
    for source in sources {
        for (line, literal) in &source.scan.literals {
            let words = literal.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            let found: BTreeSet<&str> = words.filter_map(|w| names.get(w).copied()).collect();
            for metric in found {
                findings.push(Finding {
                    metric: metric.to_string(),
                    rule: "metric-name-literal".to_string(),
                    message: format!(
                        "{}:{line}: the metric name is spelled out in a string literal: \
                         use `Metric::..def().name` (or generate the text from the catalog)",
                        source.path.display()
                    ),
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::MetricId;

    fn names_found(code: &str) -> Vec<String> {
        let source = Source::parse(Path::new("demo/src/lib.rs"), code).unwrap();
        name_literals::<MetricId>(&[source])
            .into_iter()
            .map(|f| f.metric)
            .collect()
    }

    /// Fixtures are built from the catalog, so this file holds no metric name itself.
    #[test]
    fn name_literals_are_found_in_code_tests_and_macros_but_not_comments() {
        let counter = MetricId::SourcesRequestsError.def().name;
        let histogram = MetricId::SourcesRequestDuration.def().name;
        let cases: Vec<(String, Vec<&str>)> = vec![
            (format!("const A: &str = \"{counter}\";"), vec![counter]),
            (
                format!("fn f() {{ let q = \"rate({counter}[5m])\"; }}"),
                vec![counter],
            ),
            (
                format!("fn f() {{ let q = r#\"{histogram}_bucket{{le=\"1\"}}\"#; }}"),
                vec![histogram],
            ),
            (
                format!("fn f() {{ println!(\"{{}}\", \"{histogram}_count\"); }}"),
                vec![histogram],
            ),
            (
                format!(
                    "#[cfg(test)] mod tests {{ #[test] fn t() {{ assert_eq!(x, \"{counter}\"); }} }}"
                ),
                vec![counter],
            ),
            (format!("// {counter}\nfn f() {{}}"), vec![]),
            (format!("/// {counter}\nfn f() {{}}"), vec![]),
            (format!("const A: &str = \"{counter}_extra\";"), vec![]),
            (format!("const A: &str = \"x{counter}\";"), vec![]),
            ("const A: &str = \"sms\";".to_string(), vec![]),
        ];
        for (code, expected) in cases {
            assert_eq!(names_found(&code), expected, "{code}");
        }
    }

    /// A tree where `demo` references every metric except the ones the catalog marks
    /// unused; `files` replaces or adds files.
    fn fixture(files: &[(&str, String)]) -> Vec<Finding> {
        fixture_of::<MetricId>(files)
    }

    /// [`fixture`] for catalog `C`.
    fn fixture_of<C: MetricCatalog>(files: &[(&str, String)]) -> Vec<Finding> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("xtask-lint-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let uses: String = C::ALL
            .iter()
            .filter(|m| m.def().unused.is_none() && m.def().renamed_to().is_none())
            .map(|m| format!("    recorder::inc({}::{m:?}, ());\n", typed_name::<C>()))
            .collect();
        let mut all = vec![("demo/src/main.rs", format!("fn main() {{\n{uses}}}\n"))];
        all.extend(files.iter().cloned());
        // The catalog directory is never scanned, whatever it holds.
        all.push((
            "catalog/src/sms.rs",
            format!("const N: &str = \"{}\";", C::ALL[0].def().name),
        ));
        for (path, content) in all {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let sources = workspace_sources(&root).unwrap();
        let mut findings = unused_metrics::<C>(&sources);
        findings.extend(name_literals::<C>(&sources));
        fs::remove_dir_all(root).unwrap();
        findings
    }

    fn rules(findings: &[Finding]) -> Vec<(String, String)> {
        findings
            .iter()
            .map(|f| (f.metric.clone(), f.rule.clone()))
            .collect()
    }

    #[test]
    fn a_fully_used_tree_is_clean() {
        assert_eq!(fixture(&[]), vec![]);
    }

    #[test]
    fn removing_the_only_use_of_a_metric_is_reported_with_the_fix() {
        let metric = MetricId::GatewayQueueDepth;
        let name = metric.def().name.to_string();
        let only_other_uses = |code: &str| {
            let uses: String = MetricId::ALL
                .iter()
                .filter(|m| {
                    m.def().unused.is_none() && m.def().renamed_to().is_none() && **m != metric
                })
                .map(|m| format!("    recorder::inc(Metric::{m:?}, ());\n"))
                .collect();
            vec![(
                "demo/src/main.rs",
                format!("fn main() {{\n{uses}}}\n{code}"),
            )]
        };
        let cases = [
            // Gone entirely.
            "",
            // Only in a unit test, an integration test or a test function.
            "#[cfg(test)] mod tests { fn t() { recorder::inc(Metric::GatewayQueueDepth, &[]); } }",
            "#[test] fn t() { recorder::set(Metric::GatewayQueueDepth, 1.0); }",
        ];
        for code in cases {
            let findings = fixture(&only_other_uses(code));
            assert_eq!(
                rules(&findings),
                vec![(name.clone(), "metric-unused".to_string())],
                "{code}"
            );
            assert!(findings[0].message.contains("mark it `.unused(\"why\")`"));
        }
        let mut files = only_other_uses("");
        files.push((
            "demo/tests/it.rs",
            "fn t() { recorder::inc(Metric::GatewayQueueDepth, &[]); }".to_string(),
        ));
        assert_eq!(
            rules(&fixture(&files)),
            vec![(name.clone(), "metric-unused".to_string())]
        );
        // A use inside a macro counts.
        let files = only_other_uses("fn g() { record!(Metric::GatewayQueueDepth, 1.0); }");
        assert_eq!(fixture(&files), vec![]);
    }

    #[test]
    fn code_naming_a_renamed_metric_is_told_to_record_the_new_one() {
        use sms_storage::StorageMetricId;
        let old = StorageMetricId::ALL
            .iter()
            .find(|m| m.def().renamed_to().is_some())
            .expect("the storage catalog carries a rename");
        let findings = fixture_of::<StorageMetricId>(&[(
            "demo/src/extra.rs",
            format!("fn f() {{ recorder::inc(StorageMetric::{old:?}, ()); }}"),
        )]);
        assert_eq!(
            rules(&findings),
            vec![(old.def().name.to_string(), "metric-renamed".to_string())]
        );
        let new = old.def().renamed_to().unwrap();
        assert!(
            findings[0]
                .message
                .contains(&format!("record `StorageMetric::{new:?}`")),
            "{}",
            findings[0].message
        );
        // Tests may name it (they check the old name still works).
        let findings = fixture_of::<StorageMetricId>(&[(
            "demo/tests/it.rs",
            format!("fn t() {{ recorder::inc(StorageMetric::{old:?}, ()); }}"),
        )]);
        assert_eq!(findings, vec![]);
    }

    #[test]
    fn referencing_a_metric_marked_unused_is_reported() {
        let marked = recorder::SelfMetricId::ALL
            .iter()
            .find(|m| m.def().unused.is_some())
            .expect("the recorder marks its self-metrics unused");
        let sources = [Source::parse(
            Path::new("demo/src/extra.rs"),
            &format!("fn f() {{ recorder::inc(SelfMetric::{marked:?}, ()); }}"),
        )
        .unwrap()];
        let findings = unused_metrics::<recorder::SelfMetricId>(&sources);
        assert_eq!(
            rules(&findings),
            vec![(
                marked.def().name.to_string(),
                "metric-unused-mark".to_string()
            )]
        );
    }

    /// The house rule, enforced by `cargo test`: no metric name string literal outside
    /// `catalog/` (generated files are not Rust).
    #[test]
    fn no_metric_name_literal_outside_the_catalog() {
        struct Literals(Vec<Source>, Vec<Finding>);
        impl Visitor for Literals {
            fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
                self.1.extend(name_literals::<C>(&self.0));
                Ok(())
            }
        }
        let sources = workspace_sources(&crate::codegen::workspace_root()).unwrap();
        let mut literals = Literals(sources, Vec::new());
        visit_all(&mut literals).unwrap();
        let findings = literals.1;
        assert!(
            findings.is_empty(),
            "metric names spelled out in string literals:\n{}",
            findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
