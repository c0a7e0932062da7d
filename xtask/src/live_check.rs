//! `cargo xtask live-check --url URL`: a running service's `/metrics` against the catalog.
//!
//! Weaver's live-check, for Prometheus exposition: every exposed family with a catalog's
//! prefix is catalogued in one of the service's catalogs (`crate::catalogs`), every
//! catalog metric is exposed, and kinds, HELP, label names, label values (enumerated
//! sets, series bounds) and histogram buckets match; and the service's `/catalog` lists
//! the same catalogs as the committed export. The comparisons are the e2e's
//! [`conformance::check`] and [`conformance::catalog_drift`]; this task only fetches and
//! reports.

use anyhow::{Context, Result, bail};

use crate::e2e::conformance::{self, Exposition};
use crate::e2e::prometheus::Api;

/// Flags of `cargo xtask live-check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The service: `http://HOST:PORT` (then `/metrics` is scraped) or the full URL of
    /// its metrics endpoint
    #[arg(long)]
    url: String,
}

/// Scrapes the service once and prints one line per finding; fails when there is one.
pub fn run(args: Args) -> Result<()> {
    let (base, path) = split_url(&args.url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let api = Api::new(base.to_string())?;
    let text = runtime.block_on(api.get_text(path))?;
    let exposition = Exposition::parse(&text);
    let export = crate::catalogs::export();
    // The catalogs it says it serves, on the same listener, with its feature flags.
    let served = runtime.block_on(api.get_text("/catalog"));
    let with_features = match &served {
        Ok(served) => conformance::with_served_features(&export, served),
        Err(_) => export.clone(),
    };
    let mut problems: Vec<String> = conformance::check(&with_features, &exposition)
        .iter()
        .map(|p| format!("{base}{path}: {p}"))
        .collect();
    match served {
        Ok(served) => problems.extend(
            conformance::catalog_drift(&export, &served)
                .into_iter()
                .map(|d| format!("{base}{d}")),
        ),
        Err(error) => problems.push(format!("{base}/catalog: {error:#}")),
    }
    for problem in &problems {
        println!("{problem}");
    }
    if !problems.is_empty() {
        bail!(
            "live-check: {} findings for {base}{path} (see above)",
            problems.len()
        );
    }
    println!(
        "live-check: {base}{path} matches the catalog ({} families, {} series)",
        exposition.families.len(),
        exposition
            .families
            .values()
            .map(|f| f.series.len())
            .sum::<usize>()
    );
    Ok(())
}

/// `http://host:port[/path]` split into the base and the path (`/metrics` when absent).
fn split_url(url: &str) -> Result<(&str, &str)> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        bail!("--url {url:?}: expected http://HOST:PORT or http://HOST:PORT/metrics");
    };
    let scheme = url.len() - rest.len();
    let (base, path) = match rest.find('/') {
        Some(slash) => url.split_at(scheme + slash),
        None => (url, ""),
    };
    if base.len() == scheme {
        bail!("--url {url:?}: no host");
    }
    Ok((
        base,
        if path.is_empty() || path == "/" {
            "/metrics"
        } else {
            path
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn urls_split_into_base_and_metrics_path() {
        fn check(url: &str) -> Result<(&str, &str), String> {
            split_url(url).map_err(|e| e.to_string())
        }
        assert_eq!(
            check("http://127.0.0.1:9464"),
            Ok(("http://127.0.0.1:9464", "/metrics"))
        );
        assert_eq!(
            check("http://127.0.0.1:9464/"),
            Ok(("http://127.0.0.1:9464", "/metrics"))
        );
        assert_eq!(
            check("http://h:1/custom/path"),
            Ok(("http://h:1", "/custom/path"))
        );
        assert!(
            check("127.0.0.1:9464")
                .unwrap_err()
                .contains("expected http://")
        );
        assert!(check("http:///metrics").unwrap_err().contains("no host"));
    }
}
