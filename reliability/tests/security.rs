//! Security defaults: `/metrics` binds loopback unless configured, a busy port is a
//! clear error, and no `unsafe` outside justified test allocators and the few library
//! files that need it ([`UNSAFE_FILES`]), each use there justified.
//!
//! The dependency policy (sources, licences, duplicate versions, advisories) is
//! `deny.toml`, checked by `cargo xtask deny` with cargo-deny.

use std::path::{Path, PathBuf};

use reliability::LoadId;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[test]
fn metrics_bind_loopback_unless_configured() {
    assert!(recorder::DEFAULT_LISTEN.ip().is_loopback());
    let builder = format!("{:?}", recorder::Builder::<LoadId>::new());
    assert!(
        builder.contains(&format!("listen: {}", recorder::DEFAULT_LISTEN)),
        "{builder}"
    );
    // A detached recorder serves nothing at all.
    let detached = recorder::Builder::<LoadId>::new().build().expect("build");
    assert_eq!(detached.listen_address(), None);
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("address");
    let error = recorder::Builder::<LoadId>::new()
        .listen(busy)
        .install()
        .expect_err("port in use");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("cannot serve /metrics on {busy}: ")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("in use"), "{text}");
}

/// Every `.rs` file of the workspace (sources, tests, benches, build scripts).
fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

/// Library files allowed `unsafe`, and why: each `unsafe` block or `impl` in them is
/// preceded by a `SAFETY:` comment, each `unsafe fn` documents its contract under
/// `# Safety`. A new file here is a design decision, made in review.
const UNSAFE_FILES: &[(&str, &str)] = &[
    (
        "catalog/src/slot.rs",
        "the installed recorder's cast from `dyn Any` after a `TypeId` compare (no vtable call on the recording path)",
    ),
    (
        "recorder/src/cell_ref.rs",
        "handles and timers point at cells their store owns and keeps in place (no `Arc` per series)",
    ),
    (
        "recorder/src/store.rs",
        "where the store makes those pointers to its own cells",
    ),
];

#[test]
fn no_unsafe_outside_justified_test_allocators_and_listed_files() {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    assert!(
        manifest.contains("unsafe_code = \"deny\""),
        "workspace lints must deny unsafe_code"
    );
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut problems = Vec::new();
    let mut justified = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            // The line without comments and string literals.
            let code: String = line
                .split("//")
                .next()
                .unwrap_or("")
                .split('"')
                .step_by(2)
                .collect();
            if !code.contains("unsafe ") && !code.contains("unsafe{") {
                continue;
            }
            let shown = file.strip_prefix(&root).unwrap_or(file).display();
            // Allowed: a test's counting `#[global_allocator]`, each `unsafe impl` and
            // block preceded by a `SAFETY:` comment within five lines.
            let allocator = text.contains("#[global_allocator]")
                && file.starts_with(&root)
                && file
                    .components()
                    .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "benches");
            // `unsafe fn` lines are the `GlobalAlloc` trait's own signatures.
            let commented = code.contains("unsafe fn ")
                || lines[n.saturating_sub(5)..n]
                    .iter()
                    .any(|l| l.contains("SAFETY:"));
            let relative = file.strip_prefix(&root).unwrap_or(file);
            let listed = UNSAFE_FILES
                .iter()
                .any(|(path, _)| relative == Path::new(path));
            // In a listed file: a `SAFETY:` comment within five lines above a block or
            // impl, a `# Safety` section within fifteen above an `unsafe fn`.
            let justified_here = if code.contains("unsafe fn ") {
                lines[n.saturating_sub(15)..n]
                    .iter()
                    .any(|l| l.contains("# Safety"))
            } else {
                lines[n.saturating_sub(5)..n]
                    .iter()
                    .any(|l| l.contains("SAFETY:"))
            };
            if (allocator && commented) || (listed && justified_here) {
                justified += 1;
            } else {
                problems.push(format!("{shown}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "unsafe outside a justified test allocator or a listed file (UNSAFE_FILES), or without its SAFETY comment:\n{}",
        problems.join("\n")
    );
    eprintln!(
        "security: {} Rust files scanned, {justified} unsafe uses, all justified (test counting allocators and {} listed files)",
        files.len(),
        UNSAFE_FILES.len()
    );
}
