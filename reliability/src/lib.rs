//! Reliability checks with figures, shared by the tests in `reliability/tests/` and the
//! `scrape-load` client binary.
//!
//! - [`Load`]: a test catalog with one counter bounded at [`LOAD_SERIES`] series, so a
//!   scrape of 10k series can be served (the SMS catalog caps each metric at a few
//!   hundred).
//! - [`Prometheus`]: a real Prometheus server scraping one target on loopback, stopped
//!   on drop, with a query helper.
//! - [`http_get`]: a dependency-free HTTP/1.0 GET for loopback tests.
//! - [`full_size`]: whether `RELIABILITY_FULL` asks for the full sizes.
//!
//! ```no_run
//! let recorder = recorder::Builder::<reliability::LoadId>::new()
//!     .listen("127.0.0.1:0".parse().unwrap())
//!     .install()
//!     .unwrap();
//! let target = recorder.listen_address().unwrap();
//! let prometheus = reliability::Prometheus::start(target).expect("prometheus installed");
//! prometheus.wait_until_scraped(std::time::Duration::from_secs(30)).unwrap();
//! ```

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use catalog::{DashboardHints, LabelValue, Subsystem};

/// True when `RELIABILITY_FULL` is set: tests then run their full, slower sizes.
pub fn full_size() -> bool {
    std::env::var_os("RELIABILITY_FULL").is_some()
}

/// The subsystem of the load catalog.
pub const LOAD: Subsystem = Subsystem {
    name: "load",
    title: "Load",
    description: "Synthetic load for reliability tests.",
};

/// Series bound of [`Load::Requests`]: the size of the scrape under load.
pub const LOAD_SERIES: usize = 10_000;

/// Tenant id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "tenant")]
pub struct Tenant<'a>(pub &'a str);

/// A test catalog: one large counter plus the recorder's self-metrics.
#[catalog::metrics(
    prefix = "rel_",
    labels = [Tenant],
    subsystems = [LOAD],
    label_enum = LoadLabel,
)]
pub enum Load {
    /// Requests per tenant.
    #[metric(counter("rel_load_requests_total", &LOAD)
        .labels::<Tenant<'_>>()
        .max_series(LOAD_SERIES)
        .dashboard(DashboardHints::AUTO))]
    Requests,
}

/// A free loopback port (bound, read, released; a small race is acceptable in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// An HTTP/1.0 GET (no chunked encoding, connection closed by the server): status code
/// and body. `path_and_query` must already be percent-encoded.
pub fn http_get(address: SocketAddr, path_and_query: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path_and_query} HTTP/1.0\r\nHost: {address}\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    Ok((status, body.to_string()))
}

/// `text` percent-encoded for a query string (everything but unreserved characters).
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A Prometheus server scraping one target every second, on a free loopback port with
/// its own config and storage in a temporary directory. Killed and cleaned up on drop.
pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    /// Where its HTTP API listens.
    pub address: SocketAddr,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (job `reliability`). `None` when the
    /// `prometheus` binary is missing outside CI; in CI (`CI` set) that panics.
    pub fn start(target: SocketAddr) -> Option<Prometheus> {
        Self::start_with(target, &[])
    }

    /// [`Prometheus::start`] with extra command-line flags, e.g.
    /// `--enable-feature=exemplar-storage`.
    pub fn start_with(target: SocketAddr, flags: &[&str]) -> Option<Prometheus> {
        let installed = Command::new("prometheus")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "prometheus missing: apt-get install -y prometheus"
            );
            eprintln!("skipping: prometheus not installed (apt-get install -y prometheus)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "reliability-prometheus-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: reliability\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write config");
        let address: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("log file"))
            .spawn()
            .expect("start prometheus");
        Some(Prometheus {
            child,
            dir,
            address,
        })
    }

    /// The `data` member of an API response to `path_and_query`, or the error.
    pub fn api(&self, path_and_query: &str) -> Result<serde_json::Value, String> {
        let (status, body) =
            http_get(self.address, path_and_query).map_err(|e| format!("GET: {e}"))?;
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if json["status"] != "success" {
            return Err(format!("HTTP {status}: {body}"));
        }
        Ok(json["data"].clone())
    }

    /// The instant-query result vector of `expr`.
    pub fn query(&self, expr: &str) -> Result<Vec<serde_json::Value>, String> {
        let data = self.api(&format!("/api/v1/query?query={}", percent_encode(expr)))?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until the target is up and has been scraped at least twice since it came
    /// up (Prometheus 2.42 discovers targets on a 5 s timer). The error carries the
    /// target's last error and Prometheus' log.
    pub fn wait_until_scraped(&self, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let mut up_since: Option<Instant> = None;
        let mut last = String::from("no answer yet");
        while started.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(250));
            match self.api("/api/v1/targets") {
                Ok(data) => {
                    let target = &data["activeTargets"][0];
                    if target["health"] == "up" {
                        let since = *up_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= Duration::from_millis(2200) {
                            return Ok(started.elapsed());
                        }
                    } else {
                        last = format!("target: {target}");
                    }
                }
                Err(e) => last = e,
            }
        }
        let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        Err(format!(
            "target not scraped within {timeout:?}: {last}\nprometheus log:\n{log}"
        ))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
