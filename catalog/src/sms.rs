//! The SMS ingest pipeline's catalog: every metric it records, each declared once.
//!
//! Flow: sources are polled over HTTP for envelopes -> the gateway deduplicates them and
//! hands each new one to the storage layer. The storage layer (content-addressed store
//! and ingest log) is the library crate `sms-storage`, with a catalog of its own; the
//! recorder's self-metrics are the recorder's own catalog (`recorder::SelfMetric`).
//!
//! A metric is one variant: its doc comment is the HELP text, its `#[metric(...)]` the
//! rest (see [`metrics`](macro@crate::metrics)).

use crate::alerting::{
    AlertDef, Comparison::Above, Comparison::Below, Severity, Signal, SloDef, minutes,
};
use crate::model::{CustomQuery, DashboardHints, Stability, Subsystem, Unit};

/// Sources: remote systems polled over HTTP for SMS envelopes.
pub const SOURCES: Subsystem = Subsystem {
    name: "sources",
    title: "Sources",
    description: "Polls remote sources over HTTP for batches of SMS envelopes.",
};

/// Gateway: deduplication.
pub const GATEWAY: Subsystem = Subsystem {
    name: "gateway",
    title: "Gateway",
    description: "Deduplicates envelopes and hands each new one to the storage layer.",
};

/// Where the on-call runbooks live (generated, one page per alert): relative to the
/// repository root; make it absolute where the repository is browsable.
pub const RUNBOOK_BASE: &str = "docs/runbooks";

/// Identifier of the source, as configured.
///
/// Free-form: bounded per metric by its `max_series`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, crate::LabelValue)]
#[label(name = "source_id")]
pub struct SourceId<'a>(pub &'a str);

/// Kind of source failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, crate::LabelValue)]
#[label(name = "error_type")]
pub enum SourceErrorType {
    /// No complete response within the request timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connection,
    /// The source answered with a non-success HTTP status.
    HttpStatus,
    /// The response body is not a valid batch.
    Malformed,
}

/// Buckets for calls to remote sources: 100 ms to 10 s.
const SOURCE_LATENCY_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Series bound for metrics split by `source_id`.
const MAX_SOURCE_SERIES: usize = 100;

type Alert = AlertDef<MetricId>;
/// The hints of a metric split by source on dashboards.
const BY_SOURCE: DashboardHints<MetricId> = DashboardHints::AUTO.split_by(&[Label::SourceId]);

/// Every metric of the SMS ingest pipeline.
#[crate::metrics(
    prefix = "sms_",
    labels = [SourceId, SourceErrorType],
    subsystems = [SOURCES, GATEWAY],
    runbook_base = RUNBOOK_BASE,
)]
pub enum Metric {
    // Sources
    /// Source requests that returned a valid batch of envelopes.
    #[metric(counter("sms_sources_requests_success_total", &SOURCES)
        .labels::<SourceId<'_>>()
        .max_series(MAX_SOURCE_SERIES)
        .dashboard(BY_SOURCE)
        .alerts(&[
            Alert::new("SmsSourcesStalled", Signal::Rate { window: minutes(10) }, Below, 0.01)
                .for_duration(minutes(10))
                .severity(Severity::Critical)
                .summary("No source request has succeeded for 10 minutes: no SMS is ingested.")
                .description("{{ $labels.job }} completed {{ $value | humanize }} successful source requests per second over 10 minutes."),
            Alert::absent("SmsSourcesMetricsAbsent", minutes(15))
                .summary("No source request metrics are scraped: the pipeline is down or not scraped.")
                .description("No series of the successful source requests counter for 15 minutes."),
        ]).stability(Stability::Stable))]
    SourcesRequestsSuccess,
    /// Source requests that failed, by kind of failure.
    #[metric(counter("sms_sources_requests_error_total", &SOURCES)
        .labels::<(SourceId<'_>, SourceErrorType)>()
        .max_series(MAX_SOURCE_SERIES * 4)
        .success_twin(Metric::SourcesRequestsSuccess)
        .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceErrorType]))
        .alerts(&[
            Alert::new("SmsSourceFailing", Signal::ErrorRatio { window: minutes(5) }, Above, 0.1)
                .by(&[Label::SourceId])
                .for_duration(minutes(10))
                .summary("A source fails more than 10 % of its requests.")
                .description("Source {{ $labels.source_id }} of {{ $labels.job }} failed {{ $value | humanizePercentage }} of its requests over 5 minutes."),
            Alert::new("SmsSourcesMostlyFailing", Signal::ErrorRatio { window: minutes(5) }, Above, 0.5)
                .for_duration(minutes(5))
                .severity(Severity::Critical)
                .summary("More than half of all source requests fail.")
                .description("{{ $labels.job }} failed {{ $value | humanizePercentage }} of all source requests over 5 minutes."),
        ])
        .slos(&[SloDef::availability("sources_requests_availability", "99 % of source requests return a valid batch", Metric::SourcesRequestsError.id(), 0.99)]).stability(Stability::Stable))]
    SourcesRequestsError,
    /// Time from sending a source request to having its response parsed.
    #[metric(histogram("sms_sources_request_duration_seconds", &SOURCES, SOURCE_LATENCY_BUCKETS)
        .labels::<SourceId<'_>>()
        .unit(Unit::Seconds)
        .max_series(MAX_SOURCE_SERIES)
        .alerts(&[Alert::new("SmsSourceSlow", Signal::Quantile { quantile: 0.99, window: minutes(5) }, Above, 5.0)
            .by(&[Label::SourceId])
            .for_duration(minutes(15))
            .summary("A source's 99th percentile request latency is above 5 s.")
            .description("Source {{ $labels.source_id }} of {{ $labels.job }}: p99 request latency {{ $value | humanizeDuration }} over 5 minutes.")])
        .slos(&[SloDef::latency("sources_requests_latency", "99 % of source requests complete within 2.5 s", Metric::SourcesRequestDuration.id(), 2.5, 0.99)]).stability(Stability::Stable))]
    SourcesRequestDuration,
    /// Source requests sent and not yet answered.
    #[metric(gauge("sms_sources_requests_in_flight", &SOURCES)
        .alerts(&[Alert::new("SmsSourceRequestsPilingUp", Signal::Value, Above, 50.0)
            .for_duration(minutes(10))
            .summary("More than 50 source requests are in flight: sources answer too slowly.")
            .description("{{ $labels.job }} has {{ $value }} source requests in flight.")]).stability(Stability::Stable))]
    SourcesRequestsInFlight,
    /// Envelopes received in successful source responses.
    #[metric(counter("sms_sources_envelopes_received_total", &SOURCES)
        .labels::<SourceId<'_>>()
        .max_series(MAX_SOURCE_SERIES)
        .dashboard(BY_SOURCE).stability(Stability::Stable))]
    SourcesEnvelopesReceived,
    // Gateway
    /// Envelopes the gateway accepted as new.
    #[metric(counter("sms_gateway_envelopes_accepted_total", &GATEWAY)
        .labels::<SourceId<'_>>()
        .max_series(MAX_SOURCE_SERIES)
        .dashboard(BY_SOURCE).stability(Stability::Stable))]
    GatewayEnvelopesAccepted,
    /// Envelopes the gateway dropped because it had already seen them.
    #[metric(counter("sms_gateway_envelopes_deduplicated_total", &GATEWAY)
        .labels::<SourceId<'_>>()
        .max_series(MAX_SOURCE_SERIES)
        .dashboard(BY_SOURCE.queries(&[CustomQuery {
            title: "Duplicate share of received envelopes",
            expr: "sum(rate(sms_gateway_envelopes_deduplicated_total{job=~\"$job\", instance=~\"$instance\", source_id=~\"$source_id\"}[$__rate_interval])) / sum(rate(sms_sources_envelopes_received_total{job=~\"$job\", instance=~\"$instance\", source_id=~\"$source_id\"}[$__rate_interval]))",
            legend: "duplicates",
            unit: Unit::Ratio,
        }]))
        .alerts(&[Alert::new("SmsSourceMostlyDuplicates", Signal::Ratio { denominator: Metric::SourcesEnvelopesReceived.id(), window: minutes(15) }, Above, 0.5)
            .by(&[Label::SourceId])
            .for_duration(minutes(30))
            .severity(Severity::Info)
            .summary("More than half of a source's envelopes are duplicates: it resends old batches.")
            .description("{{ $value | humanizePercentage }} of the envelopes from source {{ $labels.source_id }} of {{ $labels.job }} were duplicates over 15 minutes.")]).stability(Stability::Stable))]
    GatewayEnvelopesDeduplicated,
    /// Envelopes received from sources and waiting for the gateway.
    #[metric(gauge("sms_gateway_queue_depth", &GATEWAY)
        .alerts(&[Alert::new("SmsGatewayBacklog", Signal::Value, Above, 1000.0)
            .for_duration(minutes(10))
            .summary("More than 1000 envelopes wait for the gateway.")
            .description("{{ $labels.job }} has {{ $value }} envelopes queued for the gateway.")]).stability(Stability::Stable))]
    GatewayQueueDepth,
    /// Envelope hashes the deduplication window holds.
    #[metric(gauge("sms_gateway_dedup_window_entries", &GATEWAY).feature("dedup_window_stats"))]
    GatewayDedupWindowEntries,
}
