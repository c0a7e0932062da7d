//! The `/metrics` HTTP endpoint and the exporter's periodic upkeep.

use std::convert::Infallible;
use std::net::TcpListener as StdListener;
use std::time::Duration;

use catalog::MetricCatalog;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};

use crate::error::Error;
use crate::recorder::Recorder;

/// Content type of the Prometheus text exposition format 0.0.4.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves `recorder` on `listener` (already bound) and runs upkeep every `upkeep`:
/// on the current Tokio runtime if there is one, else on a thread of its own.
pub(crate) fn spawn<C: MetricCatalog>(
    listener: StdListener,
    recorder: Recorder<C>,
    upkeep: Duration,
) -> Result<(), Error> {
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Server(format!("cannot configure the listener: {e}")))?;
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(serve(listener, recorder, upkeep));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Server(format!("cannot start a runtime: {e}")))?;
    std::thread::Builder::new()
        .name("recorder-metrics-server".into())
        .spawn(move || runtime.block_on(serve(listener, recorder, upkeep)))
        .map_err(|e| Error::Server(format!("cannot start the server thread: {e}")))?;
    Ok(())
}

async fn serve<C: MetricCatalog>(listener: StdListener, recorder: Recorder<C>, upkeep: Duration) {
    let upkeep_recorder = recorder.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(upkeep);
        loop {
            ticks.tick().await;
            upkeep_recorder.run_upkeep();
        }
    });
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("metrics endpoint stopped: {e}");
            return;
        }
    };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("metrics endpoint: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let recorder = recorder.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&recorder, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("metrics endpoint: connection error: {e}");
            }
        });
    }
}

fn respond<C: MetricCatalog>(
    recorder: &Recorder<C>,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("static response parts are valid")
    };
    match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            reply(StatusCode::OK, TEXT_FORMAT, recorder.render())
        }
        (_, "/metrics") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "use GET /metrics\n".into(),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: metrics are served at /metrics\n".into(),
        ),
    }
}
