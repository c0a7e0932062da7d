//! Sources: simulated SMS providers, polled over in-process "HTTP".
//!
//! [`RemoteSource`] plays a provider's HTTP endpoint: messages accrue at the configured
//! rate, each request takes a seeded random latency, answers with a JSON [`Page`] of
//! envelopes, sometimes re-sends recently delivered ones, and sometimes fails: it hangs
//! past the client's timeout, refuses the connection, answers with a 5xx or 429 status,
//! or sends a body that does not parse. [`poll`] is the client side: it requests a page,
//! enforces the request timeout, classifies failures into the catalog's source error
//! types, queues the envelopes for the gateway and records the sources' metrics.

use std::collections::VecDeque;
use std::time::Duration;

use catalog::{Metric, SourceId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::envelope::{Envelope, unix_millis};
use crate::faults::{FaultPlan, Schedule};
use crate::queue::QueueSender;

pub use catalog::SourceErrorType;

/// The body of a successful response.
#[derive(Debug, Serialize, Deserialize)]
pub struct Page {
    /// Envelopes delivered by this response (possibly including re-sent ones).
    pub envelopes: Vec<Envelope>,
}

/// What the simulated endpoint answers.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
}

/// The simulated connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("connection refused by {source_id}")]
pub struct ConnectionRefused {
    source_id: String,
}

/// Settings shared by every simulated source.
#[derive(Clone, Copy, Debug)]
pub struct SourceSettings {
    /// Envelopes per second each source receives.
    pub rate: f64,
    /// Whether sources fail on purpose (on a schedule and at random).
    pub faults: bool,
}

/// Most envelopes one response carries; the rest wait for the next poll.
const PAGE_SIZE: usize = 200;
/// Most envelopes a source keeps waiting while it cannot deliver (older ones are lost).
const MAX_BACKLOG: usize = 20_000;
/// Recently delivered envelopes a source may re-send at random.
const RESEND_HISTORY: usize = 64;
/// Delivered envelopes a source remembers; a `source-resend` fault re-sends them all.
const DELIVERED_HISTORY: usize = 200;
/// Probability that a successful response re-sends some recent envelopes.
const RESEND_PROBABILITY: f64 = 0.2;
/// Probability of a random failure per request, besides the scheduled ones (well under
/// the catalog's 10 % error-ratio alert).
const RANDOM_FAULT_PROBABILITY: f64 = 0.02;
/// Delay between two polls of one source.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A simulated provider endpoint.
#[derive(Debug)]
pub struct RemoteSource {
    id: String,
    rate: f64,
    rng: StdRng,
    faults: FaultPlan<SourceErrorType>,
    last_accrual: Instant,
    accrued: f64,
    next_sequence: u64,
    backlog: VecDeque<Envelope>,
    delivered: VecDeque<Envelope>,
    resend_all: Vec<std::ops::Range<std::time::Instant>>,
}

impl RemoteSource {
    /// The `index`-th source, named `id`, drawing every random choice from `seed`.
    ///
    /// With faults on, source `index` fails once with each error type, starting a second
    /// or so after start with type `index` (modulo the number of types) and 1.5 s apart,
    /// so that with four sources every type shows up within two seconds; afterwards
    /// it fails only at random.
    pub fn new(id: String, index: usize, seed: u64, settings: SourceSettings) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let faults = if settings.faults {
            let schedule = Schedule {
                first_after: Duration::from_millis(1000 + 250 * (index as u64 % 4)),
                period: Duration::from_millis(1500),
                first_kind: index,
            };
            FaultPlan::new(
                SourceErrorType::ALL,
                schedule,
                Instant::now().into_std(),
                RANDOM_FAULT_PROBABILITY,
                rng.random(),
            )
        } else {
            FaultPlan::never(SourceErrorType::ALL)
        };
        RemoteSource {
            id,
            rate: settings.rate,
            rng,
            faults,
            last_accrual: Instant::now(),
            accrued: 0.0,
            next_sequence: 1,
            backlog: VecDeque::new(),
            delivered: VecDeque::new(),
            resend_all: Vec::new(),
        }
    }

    /// This source with a declared fault schedule instead of its own faults: `faults`
    /// for its requests, and the windows during which every page re-sends every recently
    /// delivered envelope (see [`crate::schedule`]).
    pub fn with_schedule(
        mut self,
        faults: FaultPlan<SourceErrorType>,
        resend_all: Vec<std::ops::Range<std::time::Instant>>,
    ) -> Self {
        self.faults = faults;
        self.resend_all = resend_all;
        self
    }

    /// The source's identifier (the `source_id` label).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Handles one poll: after a random latency, a page of waiting envelopes, or a failure.
    /// Envelopes leave the backlog only when a valid page is sent.
    pub async fn handle_request(&mut self) -> Result<Response, ConnectionRefused> {
        self.accrue();
        let fault = self.faults.draw(Instant::now().into_std());
        if fault == Some(SourceErrorType::Connection) {
            tokio::time::sleep(Duration::from_millis(self.rng.random_range(1..30))).await;
            return Err(ConnectionRefused {
                source_id: self.id.clone(),
            });
        }
        let injected = self.faults.delay(Instant::now().into_std());
        let latency = if injected.is_zero() {
            self.latency()
        } else {
            injected
        };
        tokio::time::sleep(latency).await;
        match fault {
            Some(SourceErrorType::Timeout) => std::future::pending().await,
            Some(SourceErrorType::HttpStatus) => {
                let status = [429, 500, 502, 503][self.rng.random_range(0..4)];
                Ok(Response {
                    status,
                    body: b"upstream unavailable, try again later".to_vec(),
                })
            }
            Some(SourceErrorType::Malformed) => Ok(Response {
                status: 200,
                body: self.malformed_body(),
            }),
            Some(SourceErrorType::Connection) | None => Ok(Response {
                status: 200,
                body: self.page_body(),
            }),
        }
    }

    /// Moves the envelopes that arrived since the last request into the backlog.
    fn accrue(&mut self) {
        let now = Instant::now();
        self.accrued += now.duration_since(self.last_accrual).as_secs_f64() * self.rate;
        self.last_accrual = now;
        while self.accrued >= 1.0 {
            self.accrued -= 1.0;
            let envelope = self.new_envelope();
            self.backlog.push_back(envelope);
            if self.backlog.len() > MAX_BACKLOG {
                self.backlog.pop_front();
            }
        }
    }

    /// Mostly tens of milliseconds, sometimes most of a second or more.
    fn latency(&mut self) -> Duration {
        let millis = if self.rng.random_bool(0.08) {
            self.rng.random_range(300..1500)
        } else {
            self.rng.random_range(15..180)
        };
        Duration::from_millis(millis)
    }

    /// A page of up to [`PAGE_SIZE`] waiting envelopes, sometimes with re-sent ones.
    fn page_body(&mut self) -> Vec<u8> {
        let count = self.backlog.len().min(PAGE_SIZE);
        let mut envelopes: Vec<Envelope> = self.backlog.drain(..count).collect();
        let now = Instant::now().into_std();
        if self.resend_all.iter().any(|window| window.contains(&now)) {
            envelopes.extend(self.delivered.iter().cloned());
        } else if !self.delivered.is_empty() && self.rng.random_bool(RESEND_PROBABILITY) {
            for _ in 0..self.rng.random_range(1..=3) {
                let len = self.delivered.len();
                let index = self
                    .rng
                    .random_range(len.saturating_sub(RESEND_HISTORY)..len);
                envelopes.push(self.delivered[index].clone());
            }
        }
        for envelope in &envelopes[..count] {
            self.delivered.push_back(envelope.clone());
            if self.delivered.len() > DELIVERED_HISTORY {
                self.delivered.pop_front();
            }
        }
        serde_json::to_vec(&Page { envelopes }).expect("pages always serialise")
    }

    /// A body that does not parse: a truncated page, or an HTML error page from a proxy.
    fn malformed_body(&mut self) -> Vec<u8> {
        if self.rng.random_bool(0.5) {
            return b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec();
        }
        let count = self.backlog.len().min(PAGE_SIZE);
        let envelopes: Vec<Envelope> = self.backlog.iter().take(count).cloned().collect();
        let mut body = serde_json::to_vec(&Page { envelopes }).expect("pages always serialise");
        body.truncate(body.len() * 2 / 3);
        body
    }

    fn new_envelope(&mut self) -> Envelope {
        const BODIES: &[&str] = &[
            "Your verification code is {}",
            "STOP",
            "Your parcel {} will be delivered tomorrow between 9:00 and 13:00",
            "Reminder: appointment on Tuesday at {}",
            "Balance low: {} credits left",
            "YES",
        ];
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let template = BODIES[self.rng.random_range(0..BODIES.len())];
        Envelope {
            source_id: self.id.clone(),
            id: format!("{}-{sequence:08}", self.id),
            from: format!("+316{:08}", self.rng.random_range(0..100_000_000u32)),
            to: ["4411", "3010", "+3197010203040"][self.rng.random_range(0..3)].to_string(),
            body: template.replace("{}", &self.rng.random_range(1000..10_000u32).to_string()),
            sent_at_ms: unix_millis(),
        }
    }
}

/// A failed request: its catalog type and what happened.
#[derive(Debug)]
struct Failure {
    error_type: SourceErrorType,
    detail: String,
}

/// Polls `source` until `stop` turns true (or its sender is dropped), queueing every
/// envelope received. A request in flight when stopping is abandoned: its envelopes
/// stay with the source.
pub async fn poll(
    mut source: RemoteSource,
    queue: QueueSender,
    request_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let id = source.id().to_string();
    let source_id = SourceId(&id);
    let duration = recorder::histogram(Metric::SourcesRequestDuration, source_id);
    let in_flight = recorder::gauge(Metric::SourcesRequestsInFlight, ());
    register_series(source_id);
    while !*stop.borrow() {
        let started = Instant::now();
        in_flight.inc();
        let page = tokio::select! {
            _ = stop.changed() => {
                in_flight.dec();
                break;
            }
            page = request(&mut source, request_timeout) => page,
        };
        in_flight.dec();
        duration.observe(started.elapsed().as_secs_f64());
        match page {
            Ok(page) => {
                recorder::inc(Metric::SourcesRequestsSuccess, source_id);
                recorder::add(
                    Metric::SourcesEnvelopesReceived,
                    source_id,
                    page.envelopes.len() as u64,
                );
                for envelope in page.envelopes {
                    if queue.send(envelope).await.is_err() {
                        tracing::warn!(source_id = %id, "gateway gone: stopping this source");
                        return;
                    }
                }
            }
            Err(failure) => {
                recorder::inc(
                    Metric::SourcesRequestsError,
                    (source_id, failure.error_type),
                );
                tracing::debug!(
                    source_id = %id,
                    error_type = failure.error_type.as_str(),
                    "source request failed: {}",
                    failure.detail
                );
            }
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

/// Creates the source's error and duplicate counters at zero, so that the first error
/// or duplicate already shows as an increase (a rate sees no increase before a series'
/// first sample).
fn register_series(source_id: SourceId<'_>) {
    for error_type in SourceErrorType::ALL {
        recorder::counter(Metric::SourcesRequestsError, (source_id, *error_type));
    }
    recorder::counter(Metric::GatewayEnvelopesDeduplicated, source_id);
}

/// Requests a page from `source`, giving up after `request_timeout`.
async fn request(source: &mut RemoteSource, request_timeout: Duration) -> Result<Page, Failure> {
    match tokio::time::timeout(request_timeout, source.handle_request()).await {
        Err(_elapsed) => Err(Failure {
            error_type: SourceErrorType::Timeout,
            detail: format!("no response within {request_timeout:?}"),
        }),
        Ok(Err(refused)) => Err(Failure {
            error_type: SourceErrorType::Connection,
            detail: refused.to_string(),
        }),
        Ok(Ok(response)) => parse_response(&response),
    }
}

/// The page of a response, or why it is not one.
fn parse_response(response: &Response) -> Result<Page, Failure> {
    if response.status != 200 {
        return Err(Failure {
            error_type: SourceErrorType::HttpStatus,
            detail: format!("HTTP status {}", response.status),
        });
    }
    serde_json::from_slice(&response.body).map_err(|error| Failure {
        error_type: SourceErrorType::Malformed,
        detail: format!("body is not a page of envelopes: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_classified() {
        let check = |status, body: &[u8], expected: Option<SourceErrorType>| {
            let response = Response {
                status,
                body: body.to_vec(),
            };
            let got = parse_response(&response).err().map(|f| f.error_type);
            assert_eq!(
                got,
                expected,
                "{status} {:?}",
                String::from_utf8_lossy(body)
            );
        };
        check(200, br#"{"envelopes":[]}"#, None);
        check(
            503,
            br#"{"envelopes":[]}"#,
            Some(SourceErrorType::HttpStatus),
        );
        check(200, br#"{"envelopes":[{"#, Some(SourceErrorType::Malformed));
        check(200, b"<html></html>", Some(SourceErrorType::Malformed));
    }

    fn settings(faults: bool) -> SourceSettings {
        SourceSettings {
            rate: 1000.0,
            faults,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_delivers_what_accrued_and_re_sends_some() {
        let mut source = RemoteSource::new("provider-1".into(), 0, 5, settings(false));
        let mut ids = Vec::new();
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let response = source.handle_request().await.unwrap();
            let page = parse_response(&response).unwrap();
            ids.extend(page.envelopes.into_iter().map(|e| e.id));
        }
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 1000, "{} envelopes", distinct.len());
        assert!(ids.len() > distinct.len(), "no envelope was re-sent");
    }

    #[tokio::test(start_paused = true)]
    async fn a_declared_schedule_slows_fails_and_re_sends_only_inside_its_windows() {
        use crate::schedule::{self, FaultSpec, SLOW_RESPONSE};
        let specs: Vec<FaultSpec> = [
            "source-slow@provider-1:1..1.5",
            "source-malformed@provider-1:5..6",
            "source-resend@provider-1:8..9",
            "source-connection@provider-2:0..100",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let clock = Instant::now();
        let start = clock.into_std();
        let mut source = RemoteSource::new("provider-1".into(), 0, 5, settings(true))
            .with_schedule(
                schedule::source_plan(&specs, "provider-1", start),
                schedule::resend_windows(&specs, "provider-1", start),
            );
        let mut ids = Vec::new();
        let mut slow = 0;
        let mut failures = Vec::new();
        while clock.elapsed() < Duration::from_secs(12) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let began = Instant::now();
            let at = clock.elapsed().as_secs_f64();
            match request(&mut source, Duration::from_secs(10)).await {
                Ok(page) => {
                    // A random re-send adds at most 3 envelopes to a full page.
                    // Pages are built when answered.
                    let answered = clock.elapsed().as_secs_f64();
                    if page.envelopes.len() > PAGE_SIZE + 3 {
                        assert!((8.0..9.0).contains(&answered), "re-sent page at {answered}");
                    }
                    ids.extend(page.envelopes.into_iter().map(|e| e.id));
                }
                Err(failure) => failures.push((at, failure.error_type)),
            }
            if began.elapsed() >= SLOW_RESPONSE {
                assert!((1.0..1.5).contains(&at), "slow answer at {at}");
                slow += 1;
            }
        }
        assert_eq!(slow, 1);
        assert!(!failures.is_empty());
        for (at, error_type) in &failures {
            assert_eq!(*error_type, SourceErrorType::Malformed);
            assert!((5.0..6.0).contains(at), "failure at {at}");
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert!(ids.len() > distinct.len() + PAGE_SIZE, "nothing re-sent");
    }

    #[tokio::test(start_paused = true)]
    async fn scheduled_faults_cover_every_error_type_within_ten_seconds() {
        for index in 0..4 {
            let mut source =
                RemoteSource::new(format!("provider-{index}"), index, 9, settings(true));
            let started = Instant::now();
            let mut seen = Vec::new();
            while started.elapsed() < Duration::from_secs(10) {
                if let Err(failure) = request(&mut source, Duration::from_secs(2)).await
                    && !seen.contains(&failure.error_type)
                {
                    seen.push(failure.error_type);
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            assert_eq!(
                seen.len(),
                SourceErrorType::ALL.len(),
                "source {index}: {seen:?}"
            );
        }
    }
}
