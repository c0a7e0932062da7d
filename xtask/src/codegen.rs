//! Writing generated files: one helper for every artifact, with write and check modes.
//!
//! Generators return the complete set of files they own under one directory; [`sync`]
//! writes them (touching only files whose content changed and deleting stale ones) or,
//! in check mode, compares them with what is committed and reports a unified diff per
//! file plus the command that fixes it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What [`sync`] does with the generated content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write changed files, delete stale ones.
    Write,
    /// Change nothing; fail with a diff when the files on disk differ.
    Check,
}

/// A set of generated files owned by one generator.
#[derive(Debug)]
pub struct Artifact {
    /// Human name for progress lines, e.g. `dashboards`.
    pub name: &'static str,
    /// Directory relative to the workspace root that the generator owns.
    pub dir: PathBuf,
    /// Files with this extension in `dir` are owned by the generator, so those it no
    /// longer generates are stale (deleted or reported). `None`: only the listed files
    /// are owned, for directories shared with hand-written files (like `docs/`).
    pub extension: Option<&'static str>,
    /// File name (relative to `dir`) -> full content.
    pub files: BTreeMap<String, String>,
    /// The command that regenerates the files, e.g. `cargo xtask dashboards`.
    pub fix_command: &'static str,
}

/// Outcome of one [`sync`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Files whose content was already right.
    pub unchanged: usize,
    /// Files written (write mode) or found different (check mode).
    pub changed: Vec<String>,
    /// Stale files deleted (write mode) or found (check mode).
    pub stale: Vec<String>,
}

impl Report {
    /// One line for progress output, e.g. `dashboards: 2 files, 1 updated`.
    pub fn summary(&self, artifact: &Artifact, mode: Mode) -> String {
        let total = artifact.files.len();
        let verb = match mode {
            Mode::Write => ("written", "deleted"),
            Mode::Check => ("out of date", "stale"),
        };
        let mut line = format!(
            "{}: {total} {} in {}",
            artifact.name,
            if total == 1 { "file" } else { "files" },
            artifact.dir.display()
        );
        if self.changed.is_empty() && self.stale.is_empty() {
            line.push_str(", up to date");
        }
        if !self.changed.is_empty() {
            let _ = write!(line, ", {} {}", self.changed.len(), verb.0);
        }
        if !self.stale.is_empty() {
            let _ = write!(line, ", {} {}", self.stale.len(), verb.1);
        }
        line
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Writes or checks `artifact` below `root`.
///
/// In check mode, differences are an error whose message holds a unified diff per file
/// and the command that fixes them.
pub fn sync(root: &Path, artifact: &Artifact, mode: Mode) -> Result<Report> {
    let dir = root.join(&artifact.dir);
    let mut report = Report::default();
    let mut diffs = String::new();
    for (name, content) in &artifact.files {
        let path = dir.join(name);
        let on_disk = match fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        if on_disk.as_deref() == Some(content.as_str()) {
            report.unchanged += 1;
            continue;
        }
        let shown = artifact.dir.join(name).display().to_string();
        match mode {
            Mode::Write => {
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
            }
            Mode::Check => diffs.push_str(&unified_diff(&shown, on_disk.as_deref(), content)),
        }
        report.changed.push(shown);
    }
    for stale in stale_files(&dir, artifact)? {
        let shown = artifact.dir.join(&stale).display().to_string();
        match mode {
            Mode::Write => fs::remove_file(dir.join(&stale))
                .with_context(|| format!("deleting stale {shown}"))?,
            Mode::Check => {
                let _ = writeln!(diffs, "{shown}: stale file, no longer generated");
            }
        }
        report.stale.push(shown);
    }
    if mode == Mode::Check && !diffs.is_empty() {
        bail!(
            "{}{} out of date: run `{}` and commit the result",
            diffs,
            artifact.name,
            artifact.fix_command
        );
    }
    Ok(report)
}

/// Files with the artifact's extension in its directory that it no longer generates.
fn stale_files(dir: &Path, artifact: &Artifact) -> Result<Vec<String>> {
    let Some(extension) = artifact.extension else {
        return Ok(Vec::new());
    };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut stale = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let owned = Path::new(&name).extension().is_some_and(|e| e == extension);
        if owned && !artifact.files.contains_key(&name) {
            stale.push(name);
        }
    }
    stale.sort();
    Ok(stale)
}

/// A unified diff from the committed content to the generated one.
fn unified_diff(path: &str, committed: Option<&str>, generated: &str) -> String {
    let old = committed.unwrap_or("");
    let diff = similar::TextDiff::from_lines(old, generated);
    let old_name = if committed.is_some() {
        format!("a/{path} (committed)")
    } else {
        "/dev/null".to_string()
    };
    diff.unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{path} (generated)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(files: &[(&str, &str)]) -> Artifact {
        Artifact {
            name: "things",
            dir: PathBuf::from("things"),
            extension: Some("json"),
            files: files
                .iter()
                .map(|(n, c)| (n.to_string(), c.to_string()))
                .collect(),
            fix_command: "cargo xtask things",
        }
    }

    fn temp_root(test: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("xtask-codegen-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn write_then_check_is_clean_and_idempotent() {
        let root = temp_root("idempotent");
        let generated = artifact(&[("a.json", "{}\n"), ("b.json", "[]\n")]);
        let first = sync(&root, &generated, Mode::Write).unwrap();
        assert_eq!(first.changed.len(), 2);
        let second = sync(&root, &generated, Mode::Write).unwrap();
        assert_eq!(
            second,
            Report {
                unchanged: 2,
                ..Report::default()
            }
        );
        assert!(sync(&root, &generated, Mode::Check).is_ok());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn check_reports_a_diff_stale_files_and_the_fix() {
        let root = temp_root("check");
        sync(
            &root,
            &artifact(&[("a.json", "one\ntwo\n"), ("old.json", "x\n")]),
            Mode::Write,
        )
        .unwrap();
        fs::write(root.join("things/notes.txt"), "not owned").unwrap();
        let error = sync(&root, &artifact(&[("a.json", "one\n2\n")]), Mode::Check)
            .unwrap_err()
            .to_string();
        assert!(error.contains("-two\n+2\n"), "{error}");
        assert!(error.contains("things/old.json: stale file"), "{error}");
        assert!(!error.contains("notes.txt"), "{error}");
        assert!(error.contains("run `cargo xtask things`"), "{error}");
        // Check mode changed nothing.
        assert_eq!(
            fs::read_to_string(root.join("things/a.json")).unwrap(),
            "one\ntwo\n"
        );
        let written = sync(&root, &artifact(&[("a.json", "one\n2\n")]), Mode::Write).unwrap();
        assert_eq!(written.stale, vec!["things/old.json".to_string()]);
        assert!(!root.join("things/old.json").exists());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn an_artifact_without_extension_owns_only_its_listed_files() {
        let root = temp_root("listed");
        let mut listed = artifact(&[("metrics.md", "generated\n")]);
        listed.extension = None;
        fs::create_dir_all(root.join("things")).unwrap();
        fs::write(root.join("things/performance.md"), "hand-written\n").unwrap();
        sync(&root, &listed, Mode::Write).unwrap();
        assert!(sync(&root, &listed, Mode::Check).is_ok());
        assert_eq!(
            fs::read_to_string(root.join("things/performance.md")).unwrap(),
            "hand-written\n"
        );
        fs::remove_dir_all(root).unwrap();
    }
}
