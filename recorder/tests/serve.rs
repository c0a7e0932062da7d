//! The installed recorder serves `/metrics` over HTTP on loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use catalog::{Metric, MetricId, SourceErrorType, SourceId};

/// A raw HTTP/1.1 GET; returns the status line and the body.
fn get(address: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("http response");
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn install_serves_metrics_and_reports_a_busy_port() {
    // A port that is taken: the error names the address.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let error = recorder::Builder::<MetricId>::new()
        .listen(busy)
        .install()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("cannot serve /metrics on {busy}: ")),
        "{error}"
    );

    let recorder = recorder::Builder::<MetricId>::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .install()
        .expect("install on a free port");
    let address = recorder.listen_address().expect("bound address");
    assert!(address.ip().is_loopback());

    recorder::inc(
        Metric::SourcesRequestsError,
        (SourceId("a"), SourceErrorType::Timeout),
    );
    recorder::inc(Metric::GatewayCasObjectsWritten, ());
    recorder::observe(Metric::SourcesRequestDuration, SourceId("a"), 0.7);

    let (status, body) = get(address, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let errors = Metric::SourcesRequestsError.def().name;
    assert!(
        body.contains(&format!(
            "{errors}{{source_id=\"a\",error_type=\"timeout\"}} 1\n"
        )),
        "{body}"
    );
    let cas = Metric::GatewayCasObjectsWritten.def().name;
    assert!(body.contains(&format!("\n{cas} 1\n")), "{body}");
    let duration = Metric::SourcesRequestDuration.def().name;
    assert!(
        body.contains(&format!(
            "{duration}_bucket{{source_id=\"a\",le=\"1.0\"}} 1\n"
        )),
        "{body}"
    );

    let (status, _) = get(address, "/");
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    // Only one recorder per process.
    let again = recorder::Builder::<MetricId>::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .install();
    assert!(matches!(again, Err(recorder::Error::AlreadyInstalled)));
}
