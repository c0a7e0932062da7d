//! `cargo xtask live-check` against a served exposition: findings, exit code, bad URLs.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};

/// Serves `body` as `/metrics` to one connection, on a free loopback port.
fn serve_once(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

fn live_check(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["live-check", "--url", url])
        .output()
        .expect("run xtask live-check")
}

#[test]
fn an_uncatalogued_family_and_missing_metrics_are_findings() {
    let url = serve_once(
        "# HELP sms_made_up_total Not in the catalog.\n# TYPE sms_made_up_total counter\nsms_made_up_total 1\n",
    );
    let output = live_check(&url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{url}/metrics: sms_made_up_total: exposed, but the catalog does not define it"
        )),
        "{stdout}"
    );
    let missing = stdout
        .lines()
        .filter(|l| l.contains("but not exposed"))
        .count();
    // Every metric of every catalog of the service (the committed export), but those
    // behind a feature: with no `/catalog` to say it is on, they may be absent.
    let export = catalog_export::Export::from_json(include_str!("../../catalog/catalog.json"))
        .expect("the committed export");
    assert_eq!(export.catalogs.len(), 3);
    let required = export.metrics().filter(|(_, m)| m.feature.is_none());
    assert_eq!(missing, required.count(), "{stdout}");
    assert!(stderr.contains("live-check: "), "{stderr}");
}

#[test]
fn a_bad_or_unreachable_url_is_a_clear_error() {
    let output = live_check("127.0.0.1:9464");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("expected http://HOST:PORT"));

    let free = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", free.local_addr().expect("address"));
    drop(free);
    let output = live_check(&url);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("GET {url}/metrics")), "{stderr}");
}
