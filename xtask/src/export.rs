//! The catalog as a contract: its JSON export, the release baseline, the changelog.
//!
//! - `cargo xtask export [--check]`: `catalog/catalog.json`, the document the running
//!   service serves at `GET /catalog` (schema in `docs/catalog-schema.md`), committed so
//!   other tools can read the contract without building the workspace.
//! - `catalog/baseline.json`: the export as of the last release, advanced by
//!   `cargo xtask baseline` when a release is cut (and only then). `cargo xtask check`
//!   compares the catalog with it ([`catalog_export::compatibility`]) and fails on a
//!   breaking change made without a deprecation.
//! - `docs/catalog-changelog.md`: what changed since the baseline, regenerated with the
//!   export.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use catalog_export::{Export, Finding};

use crate::codegen::Artifact;

/// The baseline's path, relative to the workspace root.
pub const BASELINE: &str = "catalog/baseline.json";

/// Every catalog the workspace's service uses, as one document.
pub fn document() -> Export {
    crate::catalogs::export()
}

/// `catalog/catalog.json` and `docs/catalog-changelog.md`.
pub fn artifacts(root: &Path) -> Result<Vec<Artifact>> {
    let current = document();
    let changelog = catalog_export::changelog(&baseline(root)?, &current);
    Ok(vec![
        Artifact {
            name: "catalog export",
            dir: PathBuf::from("catalog"),
            // catalog/ holds the crate and the baseline: own only the export.
            extension: None,
            files: BTreeMap::from([("catalog.json".to_string(), current.to_json())]),
            fix_command: "cargo xtask export",
        },
        Artifact {
            name: "catalog changelog",
            dir: PathBuf::from("docs"),
            extension: None,
            files: BTreeMap::from([("catalog-changelog.md".to_string(), changelog)]),
            fix_command: "cargo xtask export",
        },
    ])
}

/// The committed baseline.
pub fn baseline(root: &Path) -> Result<Export> {
    let path = root.join(BASELINE);
    let json = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (create it with `cargo xtask baseline`)",
            path.display()
        )
    })?;
    Export::from_json(&json).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The breaking changes from the baseline to the catalog.
pub fn compatibility(root: &Path) -> Result<Vec<Finding>> {
    Ok(catalog_export::compatibility(&baseline(root)?, &document()))
}

/// `cargo xtask baseline`: the catalog as it is becomes the baseline (run when releasing).
pub fn advance_baseline(root: &Path) -> Result<()> {
    let findings = compatibility(root).unwrap_or_default();
    if !findings.is_empty() {
        for finding in &findings {
            eprintln!("{finding}");
        }
        bail!(
            "{} breaking changes since {BASELINE} (above): fix them before advancing the baseline",
            findings.len()
        );
    }
    let path = root.join(BASELINE);
    std::fs::write(&path, document().to_json())
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "baseline: {BASELINE} is now the current catalog; run `cargo xtask export` to restart the changelog"
    );
    Ok(())
}
