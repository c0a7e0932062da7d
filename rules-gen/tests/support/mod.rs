//! What the promtool-backed test binaries share: finding `promtool`.

use std::path::PathBuf;

/// `promtool` on `PATH` (Debian: `apt-get install -y prometheus`). Without it a test
/// fails when `CI` is set and is skipped, saying so, otherwise.
pub fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool not found on PATH: install it: apt-get install -y prometheus"
        );
        eprintln!(
            "SKIPPED: promtool not found on PATH (install it: apt-get install -y prometheus)"
        );
    }
    found
}
