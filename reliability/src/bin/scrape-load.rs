//! `scrape-load`: a bounded load client for a `/metrics` endpoint on loopback.
//!
//! ```text
//! scrape-load ADDR CONNECTIONS SECONDS
//! ```
//!
//! Opens CONNECTIONS keep-alive HTTP/1.1 connections to ADDR, each sending
//! `GET /metrics` back to back for SECONDS seconds, and prints one line:
//! `requests=N errors=N bytes=N p50_us=N p99_us=N max_us=N`. An error is a failed
//! connect, write or read, a status other than 200, or a body shorter than its
//! `Content-Length`; the connection is then reopened. Exits 2 on bad arguments.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    bytes: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [address, connections, seconds] => address
            .parse::<SocketAddr>()
            .ok()
            .zip(
                connections
                    .parse::<usize>()
                    .ok()
                    .filter(|c| (1..=256).contains(c)),
            )
            .zip(
                seconds
                    .parse::<f64>()
                    .ok()
                    .filter(|s| *s > 0.0 && *s <= 600.0),
            ),
        _ => None,
    };
    let Some(((address, connections), seconds)) = parsed else {
        eprintln!("usage: scrape-load ADDR CONNECTIONS(1-256) SECONDS(0-600]");
        std::process::exit(2);
    };
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| scope.spawn(move || run(address, deadline)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let mut latencies: Vec<u64> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let percentile = |p: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    println!(
        "requests={} errors={} bytes={} p50_us={} p99_us={} max_us={}",
        latencies.len(),
        tallies.iter().map(|t| t.errors).sum::<u64>(),
        tallies.iter().map(|t| t.bytes).sum::<u64>(),
        percentile(0.50),
        percentile(0.99),
        latencies.last().copied().unwrap_or(0),
    );
}

/// One connection's loop until `deadline`.
fn run(address: SocketAddr, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<BufReader<TcpStream>> = None;
    while Instant::now() < deadline {
        let started = Instant::now();
        let result = match connection.as_mut() {
            Some(reader) => get_metrics(reader, address),
            None => connect(address).and_then(|mut reader| {
                let body = get_metrics(&mut reader, address);
                connection = Some(reader);
                body
            }),
        };
        match result {
            Ok(bytes) => {
                tally
                    .latencies_us
                    .push(started.elapsed().as_micros() as u64);
                tally.bytes += bytes as u64;
            }
            Err(_) => {
                tally.errors += 1;
                connection = None;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    tally
}

fn connect(address: SocketAddr) -> std::io::Result<BufReader<TcpStream>> {
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    Ok(BufReader::new(stream))
}

/// One keep-alive request; the body's length.
fn get_metrics(reader: &mut BufReader<TcpStream>, address: SocketAddr) -> std::io::Result<usize> {
    write!(
        reader.get_mut(),
        "GET /metrics HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200 ") {
        return Err(std::io::Error::other(format!("status: {line:?}")));
    }
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::other("connection closed in headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let length = length.ok_or_else(|| std::io::Error::other("no content-length"))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(length)
}
