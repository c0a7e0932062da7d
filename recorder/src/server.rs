//! The `/metrics` HTTP endpoint and the exporter's periodic upkeep.
//!
//! Two resources: `/metrics` and `/catalog`, the catalog as versioned JSON
//! (`catalog_export`, schema in `docs/catalog-schema.md`), rendered once when the server
//! starts, so serving it never touches the recording path.
//!
//! HTTP hygiene, each part tested in `recorder/tests/http.rs`:
//! - `GET` and `HEAD` only; other methods get `405` with `Allow: GET, HEAD`, other paths
//!   `404`.
//! - The format is negotiated from `Accept` (OpenMetrics 1.0 or text 0.0.4, see
//!   `crate::exposition`) and the body gzipped when `Accept-Encoding` allows it;
//!   `Vary: Accept, Accept-Encoding` says so to caches.
//! - A client must send its request head within the header read timeout, counted
//!   from the connection's first read (or from the previous response on a kept-alive
//!   connection), however slowly it trickles bytes in.
//! - Request bodies are never read: hyper discards what already arrived with the head
//!   and closes the connection instead of reading more; the read buffer is capped.
//! - At most `max_connections` connections are served at once; past that a new
//!   connection gets a `503` and is closed, and one warning is logged per burst of
//!   refusals (with the count when connections are accepted again).

use std::convert::Infallible;
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::time::Duration;

use catalog::MetricCatalog;
use catalog_export::{CatalogExport, Export};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use crate::error::Error;
use crate::exposition::{self, Format};
use crate::recorder::Recorder;

/// Limits of the `/metrics` server (set through `crate::Builder`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// How long a client may take to send a request head.
    pub(crate) header_read_timeout: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 64,
        }
    }
}

/// Largest read buffer per connection (hyper's minimum is 8 KiB): bounds the request
/// head and whatever part of a body arrives with it.
const MAX_READ_BUFFER: usize = 16 * 1024;

/// What a refused connection is told before it is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 33\r\nretry-after: 1\r\nconnection: close\r\n\r\ntoo many connections to /metrics\n";

/// Serves `recorder` on `listener` (already bound) and runs upkeep every `upkeep`:
/// on the current Tokio runtime if there is one, else on a thread of its own.
pub(crate) fn spawn<C: MetricCatalog>(
    listener: StdListener,
    recorder: Recorder<C>,
    upkeep: Duration,
    limits: Limits,
) -> Result<(), Error> {
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Server(format!("cannot configure the listener: {e}")))?;
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(serve(listener, recorder, upkeep, limits));
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Server(format!("cannot start a runtime: {e}")))?;
    std::thread::Builder::new()
        .name("recorder-metrics-server".into())
        .spawn(move || runtime.block_on(serve(listener, recorder, upkeep, limits)))
        .map_err(|e| Error::Server(format!("cannot start the server thread: {e}")))?;
    Ok(())
}

async fn serve<C: MetricCatalog>(
    listener: StdListener,
    recorder: Recorder<C>,
    upkeep: Duration,
    limits: Limits,
) {
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
    let address = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut export = Export::new(vec![CatalogExport::of::<C>()]);
    export.exposition = Some(recorder.exposition());
    let catalog = Bytes::from(export.to_json());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Connections refused since the last one accepted: a burst logs once.
    let mut refused_in_burst = 0u64;
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
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            if refused_in_burst == 0 {
                tracing::warn!(
                    "metrics endpoint {address}: {} connections open, the limit: refusing new \
                     connections with 503 until one closes (logged once per burst)",
                    limits.max_connections
                );
            }
            refused_in_burst += 1;
            // Best effort, never waiting: the connection is closed either way.
            let _ = stream.try_write(REFUSED);
            continue;
        };
        if refused_in_burst > 0 {
            tracing::info!(
                "metrics endpoint {address}: accepting connections again after refusing {refused_in_burst}"
            );
            refused_in_burst = 0;
        }
        let recorder = recorder.clone();
        let catalog = catalog.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = respond(&recorder, &catalog, &request);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(MAX_READ_BUFFER)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("metrics endpoint: connection error: {e}");
            }
            drop(slot);
        });
    }
}

fn respond<C: MetricCatalog>(
    recorder: &Recorder<C>,
    catalog: &Bytes,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, body: &'static str| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
    };
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => metrics(recorder, request),
        (&Method::GET | &Method::HEAD, "/catalog") => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(catalog.clone())),
        (_, "/metrics" | "/catalog") => plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "use GET (or HEAD) /metrics or /catalog\n",
        )
        .map(|mut response| {
            let allow = header::HeaderValue::from_static("GET, HEAD");
            response.headers_mut().insert(header::ALLOW, allow);
            response
        }),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: metrics are served at /metrics, the catalog at /catalog\n",
        ),
    };
    response.unwrap_or_else(|e| {
        tracing::error!("metrics endpoint: cannot build a response: {e}");
        Response::new(Full::new(Bytes::new()))
    })
}

/// `/metrics` in the negotiated format, gzipped when accepted. `HEAD` gets the same
/// headers (hyper sends no body for it).
fn metrics<C: MetricCatalog>(
    recorder: &Recorder<C>,
    request: &Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::http::Error> {
    let headers = request.headers();
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = exposition::accepts_gzip(
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let text = recorder.render_as(format);
    let response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, format.content_type())
        .header(header::VARY, "Accept, Accept-Encoding");
    if gzip {
        response
            .header(header::CONTENT_ENCODING, "gzip")
            .body(Full::new(Bytes::from(exposition::gzip(text.as_bytes()))))
    } else {
        response.body(Full::new(Bytes::from(text)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_refusal_is_a_complete_response() {
        let text = std::str::from_utf8(super::REFUSED).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}\r\n", body.len())),
            "{text}"
        );
    }
}
