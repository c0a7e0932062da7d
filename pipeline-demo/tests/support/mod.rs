//! A running `pipeline-demo` binary for integration tests, killed on drop.
//!
//! Shared by several test binaries; each uses a part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running `pipeline-demo` with its own data directory, killed on drop.
pub struct Demo {
    child: Child,
    /// The `--listen` argument it was given.
    pub listen: String,
    /// When it was started.
    pub started: Instant,
    /// Holds `data/` (its `--data-dir`) and `output.txt` (its stdout and stderr).
    pub dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the binary on a loopback port it binds itself (`--listen 127.0.0.1:0`, so
    /// no other process can take the port in between) and waits until `/metrics` answers.
    pub fn start(args: &[&str]) -> Demo {
        Demo::start_in(tempfile::tempdir().expect("temporary directory"), args)
    }

    /// Like [`Demo::start`], with data in `dir/data` (e.g. to restart on old data).
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Demo {
        // A restart in `dir` appends to the output of the run before.
        let before = std::fs::metadata(dir.path().join("output.txt")).map_or(0, |m| m.len());
        let mut demo = Demo::spawn(dir, "127.0.0.1:0", args);
        demo.listen = demo.bound_address(usize::try_from(before).unwrap_or(usize::MAX));
        demo.wait_until_serving();
        demo
    }

    /// The address the recorder logged it serves on (`serving metrics at
    /// http://ADDRESS/metrics`, after byte `from` of the output), waiting at most 10 s
    /// for the line.
    fn bound_address(&self, from: usize) -> String {
        const LINE: &str = "serving metrics at http://";
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = self.output();
            if let Some(address) = output
                .get(from..)
                .unwrap_or_default()
                .split(LINE)
                .nth(1)
                .and_then(|rest| rest.split_once("/metrics"))
                .map(|(address, _)| address.to_string())
            {
                return address;
            }
            assert!(
                Instant::now() < deadline,
                "no `{LINE}...` line after 10 s:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the binary with `--listen listen`, without waiting for it to serve.
    pub fn start_on(listen: &str, args: &[&str]) -> Demo {
        Demo::spawn(
            tempfile::tempdir().expect("temporary directory"),
            listen,
            args,
        )
    }

    fn spawn(dir: tempfile::TempDir, listen: &str, args: &[&str]) -> Demo {
        let output = File::options()
            .create(true)
            .append(true)
            .open(dir.path().join("output.txt"))
            .expect("output file");
        let child = Command::new(env!("CARGO_BIN_EXE_pipeline-demo"))
            .args(["--listen", listen])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("output"))
            .stderr(output)
            .spawn()
            .expect("start pipeline-demo");
        Demo {
            child,
            listen: listen.to_string(),
            started: Instant::now(),
            dir,
        }
    }

    /// Its `--data-dir`.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// What the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("output.txt")).unwrap_or_default()
    }

    /// `/metrics`, or `None` when the server does not answer (yet) with 200.
    pub fn scrape(&self) -> Option<String> {
        let address: SocketAddr = self.listen.parse().ok()?;
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.contains(" 200 ").then(|| body.to_string())
    }

    /// Scrapes until one succeeds, at most 10 s.
    pub fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.scrape().is_none() {
            assert!(
                Instant::now() < deadline,
                "no /metrics after 10 s:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Scrapes every 100 ms for `duration`; every scrape must answer. The last text.
    pub fn scrape_for(&self, duration: Duration) -> String {
        let started = Instant::now();
        let mut last = None;
        while started.elapsed() < duration || last.is_none() {
            let text = self
                .scrape()
                .unwrap_or_else(|| panic!("/metrics did not answer; output:\n{}", self.output()));
            last = Some(text);
            std::thread::sleep(Duration::from_millis(100));
        }
        last.expect("scraped at least once")
    }

    /// Sends `signal` (e.g. `-TERM`) with `kill`.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal} failed");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "pipeline-demo still running after {timeout:?}; output:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
