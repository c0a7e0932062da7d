//! `cargo xtask export [--check]`: `catalog/catalog.json`, the catalogs as versioned JSON.
//!
//! The same document the running service serves at `GET /catalog` (schema in
//! `docs/catalog-schema.md`), committed so other tools can read the contract without
//! building the workspace.

use std::collections::BTreeMap;
use std::path::PathBuf;

use catalog::Metric;
use catalog_export::{CatalogExport, Export};

use crate::codegen::Artifact;

/// Every catalog the workspace's service uses, as one document.
pub fn document() -> Export {
    Export::new(vec![CatalogExport::of::<Metric>("sms", "catalog")])
}

/// `catalog/catalog.json` (the generator owns only that file of `catalog/`).
pub fn artifact() -> Artifact {
    Artifact {
        name: "catalog export",
        dir: PathBuf::from("catalog"),
        extension: None,
        files: BTreeMap::from([("catalog.json".to_string(), document().to_json())]),
        fix_command: "cargo xtask export",
    }
}
