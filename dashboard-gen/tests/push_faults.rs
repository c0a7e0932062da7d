//! Push faults, one table: each Grafana fault gives its documented outcome within a
//! time bound, and the token never appears in progress lines, errors or the report.
//!
//! Faults: unreachable, slower than the timeout, 5xx then success, 401, 403, 400,
//! 412, 409 (Grafana 13), and a 200 whose body is not JSON (a raw loopback server).
//! `cargo xtask dashboards --push` turns any `Err` here into exit code 1 (0 when every
//! dashboard was pushed; 2 for bad flags); see `docs/reliability.md`.

// The shared double's helpers are not all used by this file.
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use axum::http::Method;
use catalog::MetricId;
use dashboard_gen::grafana::{Action, Auth, Client, PushOptions, Settings, push};
use dashboard_gen::{Error, default_folder, generate};
use support::grafana_double::{Fault, GrafanaDouble, TOKEN, VIEWER_TOKEN};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TIMEOUT: Duration = Duration::from_millis(300);
const ATTEMPTS: u32 = 3;
const BACKOFF: Duration = Duration::from_millis(20);

/// Worst case of one request: every attempt times out, plus the backoffs, plus slack
/// for a loaded machine.
fn request_bound() -> Duration {
    TIMEOUT * ATTEMPTS + BACKOFF * (1 << ATTEMPTS) + Duration::from_secs(2)
}

/// A fault to set up before pushing.
#[derive(Clone, Copy, Debug)]
enum Case {
    Unreachable,
    SlowHealth,
    ServerErrorsThenSuccess,
    WrongToken,
    ViewerToken,
    BadRequest,
    Conflict412,
    Conflict409,
    InvalidJson,
}

/// What the push ended with: the whole push's error, else the dashboard's.
type Outcome = Result<Action, Error>;

/// A loopback server answering every request with 200 and a body that is not JSON.
async fn garbage_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let body = "<html>502 Bad Gateway</html> {\"version\":";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, task)
}

/// Runs one push against `case`; the outcome, the progress lines and the time taken.
async fn push_with(case: Case) -> (Outcome, String, Duration) {
    let double = GrafanaDouble::start().await;
    let save = "/api/dashboards/db";
    let mut token = TOKEN;
    let mut url = double.url.clone();
    let mut garbage = None;
    match case {
        Case::Unreachable => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            url = format!("http://127.0.0.1:{port}");
        }
        Case::SlowHealth => double.inject(
            Method::GET,
            "/api/health",
            ATTEMPTS,
            Fault::Delay(TIMEOUT * 4),
        ),
        Case::ServerErrorsThenSuccess => {
            double.inject(Method::POST, save, ATTEMPTS - 1, Fault::Status(503))
        }
        Case::WrongToken => token = "glsa_wrong_token_0000",
        Case::ViewerToken => token = VIEWER_TOKEN,
        Case::BadRequest => double.inject(Method::POST, save, 1, Fault::Status(400)),
        Case::Conflict412 => double.inject(Method::POST, save, 1, Fault::Status(412)),
        Case::Conflict409 => double.inject(Method::POST, save, 1, Fault::Status(409)),
        Case::InvalidJson => {
            let (garbage_url, task) = garbage_server().await;
            url = garbage_url;
            garbage = Some(task);
        }
    }
    let settings = Settings {
        timeout: TIMEOUT,
        attempts: ATTEMPTS,
        backoff: BACKOFF,
    };
    let client = Client::new(&url, Auth::Token(token.to_string()), settings).expect("client");
    let dashboards = vec![generate::<MetricId>().expect("generate").remove(0)];
    let options = PushOptions {
        folder: default_folder::<MetricId>(),
        message: "push_faults".to_string(),
        dry_run: false,
    };
    let mut lines = Vec::new();
    let started = Instant::now();
    let result = push(&client, &dashboards, &options, &mut |line| {
        lines.push(line.to_string())
    })
    .await;
    let elapsed = started.elapsed();
    let mut printed = lines.join("\n");
    printed.push_str(&format!("\n{result:?}\n{client:?}\n"));
    let outcome = result.and_then(|mut report| {
        printed.push_str(&format!("{report:?}\n"));
        report
            .dashboards
            .remove(0)
            .result
            .map(|pushed| pushed.action)
    });
    if let Err(error) = &outcome {
        printed.push_str(&format!("{error}\n"));
    }
    if let Some(task) = garbage {
        task.abort();
    }
    double.stop().await;
    (outcome, printed, elapsed)
}

#[tokio::test]
async fn every_push_fault_has_its_documented_outcome_in_bounded_time_without_the_token() {
    let cases = [
        Case::Unreachable,
        Case::SlowHealth,
        Case::ServerErrorsThenSuccess,
        Case::WrongToken,
        Case::ViewerToken,
        Case::BadRequest,
        Case::Conflict412,
        Case::Conflict409,
        Case::InvalidJson,
    ];
    let mut figures = Vec::new();
    for case in cases {
        let (outcome, printed, elapsed) = push_with(case).await;
        let expected = match (&case, &outcome) {
            (Case::Unreachable, Err(Error::Unreachable { attempts, .. }))
            | (Case::SlowHealth, Err(Error::Unreachable { attempts, .. })) => *attempts == ATTEMPTS,
            (Case::ServerErrorsThenSuccess, Ok(Action::Created)) => true,
            (Case::WrongToken, Err(Error::Unauthorized { .. })) => true,
            (Case::ViewerToken, Err(Error::Forbidden { .. })) => true,
            // Grafana's own message reaches the user.
            (Case::BadRequest, Err(Error::Rejected { message, .. })) => {
                message == "bad request data"
            }
            (
                Case::Conflict412,
                Err(Error::Conflict {
                    status: 412,
                    message,
                    ..
                }),
            ) => message.contains("changed by someone else"),
            (
                Case::Conflict409,
                Err(Error::Conflict {
                    status: 409,
                    message,
                    ..
                }),
            ) => message.contains("Use overwrite flag"),
            (Case::InvalidJson, Err(Error::Unexpected { .. })) => true,
            _ => false,
        };
        assert!(expected, "{case:?}: unexpected outcome {outcome:?}");
        assert!(
            elapsed <= request_bound() * 2,
            "{case:?}: took {elapsed:?}, bound {:?}",
            request_bound() * 2
        );
        assert!(
            !printed.contains(TOKEN) && !printed.contains(VIEWER_TOKEN),
            "{case:?}: token in output:\n{printed}"
        );
        assert!(
            !printed.contains("glsa_wrong_token"),
            "{case:?}: token in output"
        );
        let shown = match &outcome {
            Ok(action) => format!("ok: {action}"),
            Err(error) => error.to_string(),
        };
        figures.push(format!("{case:?}: {elapsed:.2?}: {shown}"));
    }
    eprintln!(
        "push_faults (timeout {TIMEOUT:?}, {ATTEMPTS} attempts, backoff {BACKOFF:?}):\n  {}",
        figures.join("\n  ")
    );
}
