//! The SMS ingest pipeline's catalog: every metric it records, each declared once.
//!
//! Flow: sources are polled over HTTP for envelopes -> the gateway deduplicates them and
//! writes each to a content-addressed store (CAS) -> the ingest log appends a record per
//! envelope and rotates files. The recorder's own self-metrics close the list.
//!
//! A metric is one variant: its doc comment is the HELP text, its `#[metric(...)]` the
//! rest (see [`metrics`](macro@crate::metrics)).

use crate::alerting::{
    AlertDef, Comparison::Above, Comparison::Below, Severity, Signal, SloDef, minutes,
};
use crate::model::{
    CustomQuery, DashboardHints, Deprecation, DropReason, MetricName, PanelHint, Stability,
    Subsystem, Unit,
};

/// Sources: remote systems polled over HTTP for SMS envelopes.
pub const SOURCES: Subsystem = Subsystem {
    name: "sources",
    title: "Sources",
    description: "Polls remote sources over HTTP for batches of SMS envelopes.",
};

/// Gateway: deduplication and the content-addressed store.
pub const GATEWAY: Subsystem = Subsystem {
    name: "gateway",
    title: "Gateway",
    description: "Deduplicates envelopes and writes each new one to the content-addressed store.",
};

/// Ingest log: the append-only log of accepted envelopes.
pub const INGEST_LOG: Subsystem = Subsystem {
    name: "ingest_log",
    title: "Ingest log",
    description: "Appends one record per accepted envelope to a rotating, fsynced log file.",
};

/// Recorder: the metrics recorder's own health.
pub const RECORDER: Subsystem = Subsystem {
    name: "recorder",
    title: "Recorder",
    description: "The metrics recorder itself: samples it dropped and series it folded.",
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

/// Kind of storage failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, crate::LabelValue)]
#[label(name = "error_type")]
pub enum StorageErrorType {
    /// No space left on the device.
    DiskFull,
    /// The file system is read-only.
    ReadOnly,
    /// Any other I/O error.
    Io,
}

/// Buckets for calls to remote sources: 100 ms to 10 s.
const SOURCE_LATENCY_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets for local disk operations: 100 µs to 250 ms.
const DISK_LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25];
/// Series bound for metrics split by `source_id`.
const MAX_SOURCE_SERIES: usize = 100;

type Alert = AlertDef<MetricId>;
/// The hints of a metric split by source on dashboards.
const BY_SOURCE: DashboardHints<MetricId> = DashboardHints::AUTO.split_by(&[Label::SourceId]);

/// Every metric of the SMS ingest pipeline.
#[crate::metrics(
    prefix = "sms_",
    labels = [SourceId, SourceErrorType, StorageErrorType, MetricName, DropReason],
    subsystems = [SOURCES, GATEWAY, INGEST_LOG, RECORDER],
    runbook_base = RUNBOOK_BASE,
    samples_dropped = RecorderSamplesDropped,
    series_overflow = RecorderSeriesOverflow,
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
    /// Envelopes written to the content-addressed store.
    #[metric(counter("sms_gateway_cas_writes_success_total", &GATEWAY)
        .stability(Stability::Stable)
        .deprecated(Deprecation::new("0.2.0", "Named after what it counts, the objects stored, as sms_gateway_cas_written_bytes_total counts their bytes")
            .renamed_to(Metric::GatewayCasObjectsWritten.id())))]
    GatewayCasWritesSuccess,
    /// Envelopes written to the content-addressed store, one object each.
    #[metric(counter("sms_gateway_cas_objects_written_total", &GATEWAY).stability(Stability::Stable))]
    GatewayCasObjectsWritten,
    /// Writes to the content-addressed store that failed, by kind of failure.
    #[metric(counter("sms_gateway_cas_writes_error_total", &GATEWAY)
        .labels::<StorageErrorType>()
        .success_twin(Metric::GatewayCasObjectsWritten)
        .dashboard(DashboardHints::AUTO.split_by(&[Label::StorageErrorType]))
        .alerts(&[Alert::new("SmsGatewayCasWritesFailing", Signal::ErrorRatio { window: minutes(5) }, Above, 0.01)
            .for_duration(minutes(5))
            .severity(Severity::Critical)
            .summary("More than 1 % of writes to the content-addressed store fail: envelopes are lost.")
            .description("{{ $labels.job }} failed {{ $value | humanizePercentage }} of its CAS writes over 5 minutes.")])
        .slos(&[SloDef::availability("gateway_cas_writes_availability", "99.9 % of envelope writes to the content-addressed store succeed", Metric::GatewayCasWritesError.id(), 0.999)]).stability(Stability::Stable))]
    GatewayCasWritesError,
    /// Time to write one envelope to the content-addressed store, fsync included.
    #[metric(histogram("sms_gateway_cas_write_duration_seconds", &GATEWAY, DISK_LATENCY_BUCKETS)
        .unit(Unit::Seconds)
        .alerts(&[Alert::new("SmsGatewayCasWritesSlow", Signal::Quantile { quantile: 0.99, window: minutes(5) }, Above, 0.1)
            .for_duration(minutes(15))
            .summary("The 99th percentile CAS write latency is above 100 ms: the disk is saturated.")
            .description("{{ $labels.job }}: p99 CAS write latency {{ $value | humanizeDuration }} over 5 minutes.")]).stability(Stability::Stable))]
    GatewayCasWriteDuration,
    /// Bytes written to the content-addressed store.
    #[metric(counter("sms_gateway_cas_written_bytes_total", &GATEWAY).unit(Unit::Bytes).stability(Stability::Stable))]
    GatewayCasWrittenBytes,
    // Ingest log
    /// Records appended to the ingest log.
    #[metric(counter("sms_ingest_log_writes_success_total", &INGEST_LOG).stability(Stability::Stable))]
    IngestLogWritesSuccess,
    /// Appends to the ingest log that failed, by kind of failure.
    #[metric(counter("sms_ingest_log_writes_error_total", &INGEST_LOG)
        .labels::<StorageErrorType>()
        .success_twin(Metric::IngestLogWritesSuccess)
        .dashboard(DashboardHints::AUTO.split_by(&[Label::StorageErrorType]))
        .alerts(&[Alert::new("SmsIngestLogWritesFailing", Signal::ErrorRatio { window: minutes(5) }, Above, 0.01)
            .for_duration(minutes(5))
            .severity(Severity::Critical)
            .summary("More than 1 % of ingest log appends fail: accepted envelopes are not logged.")
            .description("{{ $labels.job }} failed {{ $value | humanizePercentage }} of its ingest log appends over 5 minutes.")])
        .slos(&[SloDef::availability("ingest_log_writes_availability", "99.9 % of ingest log appends succeed", Metric::IngestLogWritesError.id(), 0.999)]).stability(Stability::Stable))]
    IngestLogWritesError,
    /// Size of the ingest log file currently appended to.
    #[metric(gauge("sms_ingest_log_current_file_size_bytes", &INGEST_LOG)
        .unit(Unit::Bytes)
        .alerts(&[Alert::new("SmsIngestLogNotRotating", Signal::Value, Above, 1_073_741_824.0)
            .for_duration(minutes(15))
            .summary("The current ingest log file is larger than 1 GiB: rotation is not happening.")
            .description("{{ $labels.job }}: the current ingest log file holds {{ $value | humanize }}B.")]).stability(Stability::Stable))]
    IngestLogCurrentFileSize,
    /// Ingest log files closed and replaced by a new one.
    #[metric(counter("sms_ingest_log_rotations_total", &INGEST_LOG)
        .dashboard(DashboardHints::AUTO.panel(PanelHint::Stat)).stability(Stability::Stable))]
    IngestLogRotations,
    /// Time to fsync the ingest log after a batch of appends.
    #[metric(histogram("sms_ingest_log_fsync_duration_seconds", &INGEST_LOG, DISK_LATENCY_BUCKETS)
        .unit(Unit::Seconds)
        .alerts(&[Alert::new("SmsIngestLogFsyncSlow", Signal::Quantile { quantile: 0.99, window: minutes(5) }, Above, 0.025)
            .for_duration(minutes(15))
            .summary("The 99th percentile ingest log fsync latency is above 25 ms.")
            .description("{{ $labels.job }}: p99 fsync latency {{ $value | humanizeDuration }} over 5 minutes.")])
        .slos(&[SloDef::latency("ingest_log_fsync_latency", "99 % of ingest log fsyncs complete within 25 ms", Metric::IngestLogFsyncDuration.id(), 0.025, 0.99)]).stability(Stability::Stable))]
    IngestLogFsyncDuration,
    /// Bytes appended to the ingest log.
    #[metric(counter("sms_ingest_log_written_bytes_total", &INGEST_LOG).unit(Unit::Bytes).stability(Stability::Stable))]
    IngestLogWrittenBytes,
    // Recorder
    /// Samples the recorder dropped because the call did not match the catalog.
    #[metric(counter("sms_recorder_samples_dropped_total", &RECORDER)
        .labels::<(MetricName<'_>, DropReason)>()
        .unused("recorded by the recorder crate itself, through MetricCatalog::SAMPLES_DROPPED")
        .alerts(&[Alert::new("SmsRecorderDroppingSamples", Signal::Rate { window: minutes(5) }, Above, 0.0)
            .by(&[Label::MetricName, Label::DropReason])
            .summary("Code records a metric in a way the catalog does not allow; samples are dropped.")
            .description("{{ $labels.job }} dropped {{ $value | humanize }} samples per second of {{ $labels.metric }} ({{ $labels.reason }}).")]).stability(Stability::Beta))]
    RecorderSamplesDropped,
    /// Samples folded into the overflow series because the metric reached its series bound.
    #[metric(counter("sms_recorder_series_overflow_total", &RECORDER)
        .labels::<MetricName<'_>>()
        .unused("recorded by the recorder crate itself, through MetricCatalog::SERIES_OVERFLOW")
        .alerts(&[Alert::new("SmsRecorderSeriesOverflow", Signal::Rate { window: minutes(5) }, Above, 0.0)
            .by(&[Label::MetricName])
            .severity(Severity::Info)
            .summary("A metric reached its series bound; new label values fold into the overflow series.")
            .description("{{ $labels.job }}: {{ $value | humanize }} samples per second of {{ $labels.metric }} went to the overflow series.")]).stability(Stability::Beta))]
    RecorderSeriesOverflow,
}
