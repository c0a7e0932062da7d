//! `cargo xtask e2e` killed with SIGKILL leaves no process behind.
//!
//! Runs the real harness with a marker in its environment (children inherit it), waits
//! until the whole fleet runs, kills the harness with SIGKILL (no destructor runs), and
//! then finds no process carrying the marker.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MARKER: &str = "SMS_E2E_SIGKILL_TEST";

/// Pids and command lines of the processes whose environment holds `MARKER=value`.
fn marked(value: &str) -> Vec<(u32, String)> {
    let needle = format!("{MARKER}={value}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue; // gone, or a zombie
        };
        if environ
            .split(|b| *b == 0)
            .any(|var| var == needle.as_bytes())
        {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmdline.trim().to_string()));
        }
    }
    found
}

#[test]
fn sigkill_of_the_harness_leaves_no_survivor() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let value = format!("{}-{nanos}", std::process::id());
    let mut harness = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("e2e")
        .env(MARKER, &value)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start cargo xtask e2e");
    let stderr = harness.stderr.take().expect("stderr");
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with("e2e: fleet started") => break,
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = harness.kill();
                panic!(
                    "the harness never reported its fleet; it said:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    let before = marked(&value);
    // The harness, 3 pipeline-demo instances and Prometheus at least.
    assert!(
        before.len() >= 5,
        "expected the fleet to be running: {before:?}"
    );

    harness.kill().expect("SIGKILL the harness");
    harness.wait().expect("reap the harness");

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut survivors = marked(&value);
    while !survivors.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        survivors = marked(&value);
    }
    for (pid, _) in &survivors {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        survivors.is_empty(),
        "processes outlived the harness killed with SIGKILL (now killed):\n{survivors:#?}\n(before the kill: {} marked processes)",
        before.len()
    );
    eprintln!(
        "sigkill: {} marked processes before the kill, none 10 s after",
        before.len()
    );
}
