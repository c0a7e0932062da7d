//! Quickstart: install the recorder, record a labelled counter and a histogram, print the scrape.
//!
//! Run it with `cargo run -p recorder --example quickstart`.

use std::io::{Read, Write};
use std::net::TcpStream;

use catalog::{Metric, MetricId, SourceErrorType, SourceId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Serve /metrics on a free loopback port (the default is 127.0.0.1:9464).
    let recorder = recorder::Builder::<MetricId>::new()
        .listen("127.0.0.1:0".parse()?)
        .install()?;

    // A counter with a free-form and an enumerated label, typed as the catalog declares
    // them: a misspelled value or a missing label does not compile.
    let source = SourceId("provider-a");
    recorder::inc(
        Metric::SourcesRequestsError,
        (source, SourceErrorType::Timeout),
    );

    // A histogram observation, in the catalog's unit (seconds).
    recorder::observe(Metric::SourcesRequestDuration, source, 0.42);

    // Scrape it as Prometheus would.
    let address = recorder
        .listen_address()
        .ok_or("the recorder serves no address")?;
    let mut stream = TcpStream::connect(address)?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    println!("{}", head.lines().next().unwrap_or_default());

    // Print the two families recorded above (names come from the catalog).
    let shown = [
        Metric::SourcesRequestsError.def().name,
        Metric::SourcesRequestDuration.def().name,
    ];
    let mut family = false;
    for line in body.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            family = shown
                .iter()
                .any(|name| help.starts_with(&format!("{name} ")));
        }
        if family {
            println!("{line}");
        }
    }
    Ok(())
}
