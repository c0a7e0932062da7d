//! HTTP hygiene of `/metrics`, over real TCP on loopback: `405` with `Allow`, `HEAD`,
//! the header read timeout against slowloris clients, request bodies never read, the
//! connection bound and its once-per-burst log line, gzip and format negotiation.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use catalog::{Metric, MetricId, SourceErrorType, SourceId};

/// Everything this binary's servers log (they run on threads of their own, so the
/// subscriber is global).
fn logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::new(Mutex::new(Vec::new())));
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || LogWriter(logs))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    })
}

struct LogWriter(&'static Mutex<Vec<u8>>);

impl Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Log lines mentioning `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    let logs = logs().lock().unwrap();
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_string)
        .collect()
}

/// A recorder served (not installed) on a free loopback port.
fn serve(
    configure: impl FnOnce(recorder::Builder<MetricId>) -> recorder::Builder<MetricId>,
) -> (recorder::Recorder<MetricId>, SocketAddr) {
    logs();
    let builder = recorder::Builder::<MetricId>::new()
        .panic_on_misuse(true)
        .listen("127.0.0.1:0".parse().unwrap());
    let recorder = configure(builder).serve().expect("serve");
    let address = recorder.listen_address().expect("bound");
    recorder.inc(
        Metric::SourcesRequestsError,
        (SourceId("a"), SourceErrorType::Timeout),
    );
    recorder.observe(Metric::SourcesRequestDuration, SourceId("a"), 0.7);
    (recorder, address)
}

struct Response {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one response; the body by `content-length` (none for `HEAD`).
fn read_response(reader: &mut BufReader<TcpStream>, head_request: bool) -> Response {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header line");
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    let length: usize = response
        .header("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    if !head_request {
        response.body = vec![0; length];
        reader.read_exact(&mut response.body).expect("body");
    }
    response
}

/// One request on a fresh connection; `extra` holds extra header lines.
fn request(address: SocketAddr, method: &str, path: &str, extra: &[&str]) -> Response {
    let mut stream = connect(address);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    read_response(&mut BufReader::new(stream), method == "HEAD")
}

/// True once the server closed `stream` (EOF or reset); false on a read timeout.
fn closed(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 512];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn other_methods_get_405_with_allow_and_head_gets_the_get_headers() {
    let (_recorder, address) = serve(|b| b);
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let response = request(address, method, "/metrics", &[]);
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
    }
    assert_eq!(request(address, "GET", "/other", &[]).status, 404);

    let get = request(address, "GET", "/metrics", &[]);
    // HEAD then GET on one kept-alive connection: HEAD sends no body bytes (or the
    // second response would not parse) and announces the GET body's length and type.
    let stream = connect(address);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    write!(writer, "HEAD /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let head = read_response(&mut reader, true);
    write!(
        writer,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let after = read_response(&mut reader, false);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(after.status, 200);
    assert_eq!(after.body, get.body);
}

#[test]
fn slowloris_connections_are_closed_at_the_header_read_timeout() {
    let timeout = Duration::from_secs(2);
    let (_recorder, address) = serve(|b| b.header_read_timeout(timeout));
    let slow = 10;
    let started = Instant::now();
    let lifetimes: Vec<Duration> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..slow)
            .map(|_| {
                scope.spawn(move || {
                    let mut stream = connect(address);
                    stream
                        .set_read_timeout(Some(Duration::from_secs(1)))
                        .unwrap();
                    let opened = Instant::now();
                    // A request head that never ends, one byte a second (the read
                    // timeout paces it); bounded at 10 bytes.
                    let head = b"GET /metrics HTTP/1.1\r\nX-Slow: aaaaaaaa";
                    for byte in head.iter().take(10) {
                        if stream.write_all(&[*byte]).is_err() || closed(&mut stream) {
                            return opened.elapsed();
                        }
                    }
                    panic!("slow connection still open after {:?}", opened.elapsed());
                })
            })
            .collect();
        // Meanwhile a normal scrape is served.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(request(address, "GET", "/metrics", &[]).status, 200);
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for lifetime in &lifetimes {
        assert!(
            *lifetime >= timeout - Duration::from_millis(100)
                && *lifetime <= timeout + Duration::from_millis(1500),
            "a slow connection lived {lifetime:?} with a {timeout:?} header read timeout: {lifetimes:?}"
        );
    }
    eprintln!(
        "slowloris: {slow} connections sending a byte a second, all closed after {:?}..{:?} (timeout {timeout:?}); total {:?}",
        lifetimes.iter().min().unwrap(),
        lifetimes.iter().max().unwrap(),
        started.elapsed()
    );
}

#[test]
fn request_bodies_are_never_read() {
    let (_recorder, address) = serve(|b| b);
    // 10 GB announced, 64 bytes sent: the answer comes without the body, then the
    // connection is closed rather than drained.
    for (method, status) in [("POST", 405), ("GET", 200)] {
        let mut stream = connect(address);
        write!(
            stream,
            "{method} /metrics HTTP/1.1\r\nHost: {address}\r\nContent-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n{}",
            "x".repeat(64)
        )
        .unwrap();
        let started = Instant::now();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let response = read_response(&mut reader, false);
        assert_eq!(
            response.status, status,
            "{method}: no 100 Continue, the answer"
        );
        assert!(
            closed(&mut stream),
            "{method}: the connection stays open waiting for a body"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{method}");
    }
    // A chunked body that never ends: same.
    let mut stream = connect(address);
    write!(
        stream,
        "POST /metrics HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\nabc"
    )
    .unwrap();
    let response = read_response(&mut BufReader::new(stream.try_clone().unwrap()), false);
    assert_eq!(response.status, 405);
    assert!(closed(&mut stream));
}

#[test]
fn connections_past_the_bound_get_503_and_one_log_line_per_burst() {
    let (_recorder, address) = serve(|b| b.max_connections(3));
    let refusing = format!("metrics endpoint {address}: 3 connections open, the limit");
    let again = format!("metrics endpoint {address}: accepting connections again after refusing");
    // Three kept-alive connections, each served once (so they surely hold a slot).
    let mut held: Vec<(TcpStream, BufReader<TcpStream>)> = (0..3)
        .map(|_| {
            let stream = connect(address);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream.try_clone().unwrap();
            write!(writer, "GET /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
            assert_eq!(read_response(&mut reader, false).status, 200);
            (stream, reader)
        })
        .collect();
    for burst in 1..=2 {
        for _ in 0..4 {
            let mut stream = connect(address);
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap_or_default();
            assert!(
                answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
                "burst {burst}: {answer:?}"
            );
        }
        assert_eq!(log_lines(&refusing).len(), burst, "one warning per burst");
        // One slot frees up: the next connection is served, and the burst is over.
        let (stream, _) = held.pop().unwrap();
        drop(stream);
        // Let the server see the close (a refusal before that joins this burst).
        std::thread::sleep(Duration::from_millis(300));
        let deadline = Instant::now() + Duration::from_secs(5);
        let served = loop {
            let response = std::panic::catch_unwind(|| request(address, "GET", "/metrics", &[]));
            match response {
                Ok(response) if response.status == 200 => break true,
                _ if Instant::now() > deadline => break false,
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        assert!(served, "burst {burst}: a freed slot serves again");
        let recovered = log_lines(&again);
        assert_eq!(recovered.len(), burst, "{recovered:?}");
        let refused: u64 = recovered[burst - 1]
            .rsplit("refusing ")
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(refused >= 4, "{recovered:?}");
        // Refill the freed slot for the next burst.
        let stream = connect(address);
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream.try_clone().unwrap();
        write!(writer, "GET /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut reader, false).status, 200);
        held.push((stream, reader));
    }
    eprintln!("connection bound: {:?}", log_lines(&address.to_string()));
}

#[test]
fn gzip_when_accepted_decompresses_to_the_plain_body() {
    let (_recorder, address) = serve(|b| b);
    let plain = request(address, "GET", "/metrics", &[]);
    assert_eq!(plain.header("content-encoding"), None);
    let gzipped = request(
        address,
        "GET",
        "/metrics",
        &["Accept-Encoding: gzip, deflate"],
    );
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    for response in [&plain, &gzipped] {
        let vary = response.header("vary").unwrap_or("").to_ascii_lowercase();
        assert!(vary.contains("accept-encoding"), "{vary}");
    }
    let mut decompressed = Vec::new();
    flate2::read::GzDecoder::new(&gzipped.body[..])
        .read_to_end(&mut decompressed)
        .expect("valid gzip");
    assert_eq!(decompressed, plain.body);
    assert!(
        gzipped.body.len() * 3 < plain.body.len(),
        "{} vs {}",
        gzipped.body.len(),
        plain.body.len()
    );
    let refused = request(
        address,
        "GET",
        "/metrics",
        &["Accept-Encoding: gzip;q=0, identity"],
    );
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, plain.body);
}

#[test]
fn openmetrics_is_served_when_negotiated_and_text_otherwise() {
    let (_recorder, address) = serve(|b| b);
    let prometheus = "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let om = request(address, "GET", "/metrics", &[prometheus]);
    assert_eq!(
        om.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let body = String::from_utf8(om.body).unwrap();
    assert!(body.ends_with("\n# EOF\n"), "{body}");
    let errors = Metric::SourcesRequestsError.def().name;
    let family = errors.strip_suffix("_total").unwrap();
    assert!(
        body.contains(&format!("# TYPE {family} counter\n")),
        "{body}"
    );
    for accept in [
        None,
        Some("Accept: text/plain"),
        Some("Accept: application/json"),
    ] {
        let text = request(address, "GET", "/metrics", accept.as_slice());
        assert_eq!(
            text.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8"),
            "{accept:?}"
        );
        let body = String::from_utf8(text.body).unwrap();
        assert!(
            body.contains(&format!("# TYPE {errors} counter\n")),
            "{body}"
        );
        assert!(!body.contains("# EOF"));
    }
}

/// `/catalog` serves the catalog export (the same document as `catalog/catalog.json`),
/// and takes only `GET` and `HEAD`.
#[test]
fn the_catalog_is_served_as_versioned_json() {
    let (_recorder, address) = serve(|builder| builder);
    let response = request(address, "GET", "/catalog", &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = String::from_utf8(response.body).expect("utf-8");
    let served = catalog_export::Export::from_json(&body).expect("a catalog export");
    // The service's catalog, then the recorder's own self-metrics, and what this
    // process exposes: dual emission by default.
    let mut expected = catalog_export::Export::new(vec![
        catalog_export::CatalogExport::of::<MetricId>(),
        catalog_export::CatalogExport::of::<recorder::SelfMetricId>(),
    ]);
    expected.exposition = Some(catalog_export::Exposition {
        renamed_metrics: catalog_export::RenamedNames::Both,
        show_hidden_metrics: false,
    });
    // A running service says whether each feature is on: none is here.
    for metric in &mut expected.catalogs[0].metrics {
        if metric.feature.is_some() {
            metric.enabled = Some(false);
        }
    }
    assert!(
        expected.catalogs[0]
            .metrics
            .iter()
            .any(|m| m.enabled.is_some())
    );
    assert_eq!(served, expected);
    assert_eq!(served.catalogs[0].name, "sms");
    assert_eq!(served.catalogs[0].crate_name, "catalog");
    assert_eq!(served.catalogs[1].name, "recorder");
    assert_eq!(served.catalogs[1].crate_name, "recorder");

    // Which names renamed metrics are exposed under is this process' choice (the rename
    // itself, both ways, is in the export: catalog-export/tests/export.rs).
    let (_stopped, address) =
        serve(|builder| builder.renamed_metrics(recorder::RenamedMetrics::NewOnly));
    let body = String::from_utf8(request(address, "GET", "/catalog", &[]).body).unwrap();
    let served = catalog_export::Export::from_json(&body).expect("a catalog export");
    assert_eq!(
        served.exposition.map(|e| e.renamed_metrics),
        Some(catalog_export::RenamedNames::NewOnly)
    );

    let response = request(address, "POST", "/catalog", &["content-length: 0"]);
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
    let response = request(address, "GET", "/nothing", &[]);
    assert_eq!(response.status, 404);
    assert!(String::from_utf8_lossy(&response.body).contains("/catalog"));
}
