//! The SMS ingest pipeline's catalog: every metric it records, defined once.
//!
//! Flow: sources are polled over HTTP for envelopes -> the gateway deduplicates them and
//! writes each to a content-addressed store (CAS) -> the ingest log appends a record per
//! envelope and rotates files. The recorder's own self-metrics close the list.

use crate::alerting::{
    AlertDef, Comparison::Above, Comparison::Below, Severity, Signal, SloDef, minutes,
};
use crate::model::{
    CustomQuery, DashboardHints, DropReason, LabelDef, LabelKey, LabelValues, MetricCatalog,
    MetricDef, PanelHint, Subsystem, Unit,
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

/// Error kinds of a source request.
pub const SOURCE_ERROR_TYPES: &[&str] = &["timeout", "connection", "http_status", "malformed"];

/// Error kinds of a write to local storage (CAS or ingest log).
pub const STORAGE_ERROR_TYPES: &[&str] = &["disk_full", "read_only", "io"];

/// Label keys of the SMS catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, strum::EnumIter)]
pub enum Label {
    /// Which source a request or envelope came from (free-form, bounded per metric).
    SourceId,
    /// Why a source request failed.
    SourceErrorType,
    /// Why a storage write failed.
    StorageErrorType,
    /// A catalog metric name (recorder self-metrics).
    MetricName,
    /// Why the recorder dropped a sample.
    Reason,
}

impl LabelKey for Label {
    fn def(self) -> &'static LabelDef {
        match self {
            Label::SourceId => &LabelDef {
                name: "source_id",
                help: "Identifier of the source, as configured.",
                values: LabelValues::FreeForm,
            },
            Label::SourceErrorType => &LabelDef {
                name: "error_type",
                help: "Kind of source failure.",
                values: LabelValues::OneOf(SOURCE_ERROR_TYPES),
            },
            Label::StorageErrorType => &LabelDef {
                name: "error_type",
                help: "Kind of storage failure.",
                values: LabelValues::OneOf(STORAGE_ERROR_TYPES),
            },
            Label::MetricName => &LabelDef {
                name: "metric",
                help: "Name of the catalog metric concerned.",
                values: LabelValues::CatalogMetric,
            },
            Label::Reason => &LabelDef {
                name: "reason",
                help: "Why the sample was dropped.",
                values: LabelValues::OneOf(DropReason::LABEL_VALUES),
            },
        }
    }
}

/// Every metric of the SMS ingest pipeline.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::EnumIter,
    strum::EnumCount,
    strum::VariantArray,
)]
pub enum Metric {
    // Sources
    /// Successful source requests.
    SourcesRequestsSuccess,
    /// Failed source requests.
    SourcesRequestsError,
    /// Source request latency.
    SourcesRequestDuration,
    /// Source requests in flight.
    SourcesRequestsInFlight,
    /// Envelopes received from sources.
    SourcesEnvelopesReceived,
    // Gateway
    /// Envelopes accepted by the gateway.
    GatewayEnvelopesAccepted,
    /// Envelopes dropped as duplicates.
    GatewayEnvelopesDeduplicated,
    /// Envelopes waiting for the gateway.
    GatewayQueueDepth,
    /// Successful CAS writes.
    GatewayCasWritesSuccess,
    /// Failed CAS writes.
    GatewayCasWritesError,
    /// CAS write latency.
    GatewayCasWriteDuration,
    /// Bytes written to the CAS.
    GatewayCasWrittenBytes,
    // Ingest log
    /// Successful ingest log appends.
    IngestLogWritesSuccess,
    /// Failed ingest log appends.
    IngestLogWritesError,
    /// Size of the current ingest log file.
    IngestLogCurrentFileSize,
    /// Ingest log file rotations.
    IngestLogRotations,
    /// Ingest log fsync latency.
    IngestLogFsyncDuration,
    /// Bytes appended to the ingest log.
    IngestLogWrittenBytes,
    // Recorder
    /// Samples the recorder dropped because of misuse.
    RecorderSamplesDropped,
    /// New series folded into the overflow series.
    RecorderSeriesOverflow,
}

/// Buckets for calls to remote sources: 100 ms to 10 s.
const SOURCE_LATENCY_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Buckets for local disk operations: 100 µs to 250 ms.
const DISK_LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25];
/// Series bound for metrics split by `source_id`.
const MAX_SOURCE_SERIES: usize = 100;

type Def = MetricDef<Metric>;

impl Metric {
    /// The definition of this metric (same as [`MetricCatalog::def`], usable in `const`).
    pub const fn def(self) -> &'static Def {
        match self {
            Metric::SourcesRequestsSuccess => {
                const {
                    &Def::counter(
                        "sms_sources_requests_success_total",
                        "Source requests that returned a valid batch of envelopes.",
                        &SOURCES,
                    )
                    .alerts(SOURCES_REQUESTS_SUCCESS_ALERTS)
                    .labels(&[Label::SourceId])
                    .max_series(MAX_SOURCE_SERIES)
                    .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceId]))
                }
            }
            Metric::SourcesRequestsError => {
                const {
                    &Def::counter(
                        "sms_sources_requests_error_total",
                        "Source requests that failed, by kind of failure.",
                        &SOURCES,
                    )
                    .alerts(SOURCES_REQUESTS_ERROR_ALERTS)
                    .labels(&[Label::SourceId, Label::SourceErrorType])
                    .max_series(MAX_SOURCE_SERIES * 4)
                    .success_twin(Metric::SourcesRequestsSuccess)
                    .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceErrorType]))
                }
            }
            Metric::SourcesRequestDuration => {
                const {
                    &Def::histogram(
                        "sms_sources_request_duration_seconds",
                        "Time from sending a source request to having its response parsed.",
                        &SOURCES,
                        SOURCE_LATENCY_BUCKETS,
                    )
                    .alerts(SOURCES_REQUEST_DURATION_ALERTS)
                    .labels(&[Label::SourceId])
                    .unit(Unit::Seconds)
                    .max_series(MAX_SOURCE_SERIES)
                }
            }
            Metric::SourcesRequestsInFlight => {
                const {
                    &Def::gauge(
                        "sms_sources_requests_in_flight",
                        "Source requests sent and not yet answered.",
                        &SOURCES,
                    )
                    .alerts(SOURCES_REQUESTS_IN_FLIGHT_ALERTS)
                }
            }
            Metric::SourcesEnvelopesReceived => {
                const {
                    &Def::counter(
                        "sms_sources_envelopes_received_total",
                        "Envelopes received in successful source responses.",
                        &SOURCES,
                    )
                    .labels(&[Label::SourceId])
                    .max_series(MAX_SOURCE_SERIES)
                    .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceId]))
                }
            }
            Metric::GatewayEnvelopesAccepted => {
                const {
                    &Def::counter(
                        "sms_gateway_envelopes_accepted_total",
                        "Envelopes the gateway accepted as new.",
                        &GATEWAY,
                    )
                    .labels(&[Label::SourceId])
                    .max_series(MAX_SOURCE_SERIES)
                    .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceId]))
                }
            }
            Metric::GatewayEnvelopesDeduplicated => {
                const {
                    &Def::counter(
                    "sms_gateway_envelopes_deduplicated_total",
                    "Envelopes the gateway dropped because it had already seen them.",
                    &GATEWAY,
                )
                .alerts(GATEWAY_ENVELOPES_DEDUPLICATED_ALERTS)
                .labels(&[Label::SourceId])
                .max_series(MAX_SOURCE_SERIES)
                .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceId]).queries(&[
                    CustomQuery {
                        title: "Duplicate share of received envelopes",
                        expr: "sum(rate(sms_gateway_envelopes_deduplicated_total{job=~\"$job\", instance=~\"$instance\", source_id=~\"$source_id\"}[$__rate_interval])) / sum(rate(sms_sources_envelopes_received_total{job=~\"$job\", instance=~\"$instance\", source_id=~\"$source_id\"}[$__rate_interval]))",
                        legend: "duplicates",
                        unit: Unit::Ratio,
                    },
                ]))
                }
            }
            Metric::GatewayQueueDepth => {
                const {
                    &Def::gauge(
                        "sms_gateway_queue_depth",
                        "Envelopes received from sources and waiting for the gateway.",
                        &GATEWAY,
                    )
                    .alerts(GATEWAY_QUEUE_DEPTH_ALERTS)
                }
            }
            Metric::GatewayCasWritesSuccess => {
                const {
                    &Def::counter(
                        "sms_gateway_cas_writes_success_total",
                        "Envelopes written to the content-addressed store.",
                        &GATEWAY,
                    )
                }
            }
            Metric::GatewayCasWritesError => {
                const {
                    &Def::counter(
                        "sms_gateway_cas_writes_error_total",
                        "Writes to the content-addressed store that failed, by kind of failure.",
                        &GATEWAY,
                    )
                    .alerts(GATEWAY_CAS_WRITES_ERROR_ALERTS)
                    .labels(&[Label::StorageErrorType])
                    .success_twin(Metric::GatewayCasWritesSuccess)
                    .dashboard(DashboardHints::AUTO.split_by(&[Label::StorageErrorType]))
                }
            }
            Metric::GatewayCasWriteDuration => {
                const {
                    &Def::histogram(
                    "sms_gateway_cas_write_duration_seconds",
                    "Time to write one envelope to the content-addressed store, fsync included.",
                    &GATEWAY,
                    DISK_LATENCY_BUCKETS,
                )
                .alerts(GATEWAY_CAS_WRITE_DURATION_ALERTS)
                .unit(Unit::Seconds)
                }
            }
            Metric::GatewayCasWrittenBytes => {
                const {
                    &Def::counter(
                        "sms_gateway_cas_written_bytes_total",
                        "Bytes written to the content-addressed store.",
                        &GATEWAY,
                    )
                    .unit(Unit::Bytes)
                }
            }
            Metric::IngestLogWritesSuccess => {
                const {
                    &Def::counter(
                        "sms_ingest_log_writes_success_total",
                        "Records appended to the ingest log.",
                        &INGEST_LOG,
                    )
                }
            }
            Metric::IngestLogWritesError => {
                const {
                    &Def::counter(
                        "sms_ingest_log_writes_error_total",
                        "Appends to the ingest log that failed, by kind of failure.",
                        &INGEST_LOG,
                    )
                    .alerts(INGEST_LOG_WRITES_ERROR_ALERTS)
                    .labels(&[Label::StorageErrorType])
                    .success_twin(Metric::IngestLogWritesSuccess)
                    .dashboard(DashboardHints::AUTO.split_by(&[Label::StorageErrorType]))
                }
            }
            Metric::IngestLogCurrentFileSize => {
                const {
                    &Def::gauge(
                        "sms_ingest_log_current_file_size_bytes",
                        "Size of the ingest log file currently appended to.",
                        &INGEST_LOG,
                    )
                    .alerts(INGEST_LOG_CURRENT_FILE_SIZE_ALERTS)
                    .unit(Unit::Bytes)
                }
            }
            Metric::IngestLogRotations => {
                const {
                    &Def::counter(
                        "sms_ingest_log_rotations_total",
                        "Ingest log files closed and replaced by a new one.",
                        &INGEST_LOG,
                    )
                    .dashboard(DashboardHints::AUTO.panel(PanelHint::Stat))
                }
            }
            Metric::IngestLogFsyncDuration => {
                const {
                    &Def::histogram(
                        "sms_ingest_log_fsync_duration_seconds",
                        "Time to fsync the ingest log after a batch of appends.",
                        &INGEST_LOG,
                        DISK_LATENCY_BUCKETS,
                    )
                    .alerts(INGEST_LOG_FSYNC_DURATION_ALERTS)
                    .unit(Unit::Seconds)
                }
            }
            Metric::IngestLogWrittenBytes => {
                const {
                    &Def::counter(
                        "sms_ingest_log_written_bytes_total",
                        "Bytes appended to the ingest log.",
                        &INGEST_LOG,
                    )
                    .unit(Unit::Bytes)
                }
            }
            Metric::RecorderSamplesDropped => {
                const {
                    &Def::counter(
                    "sms_recorder_samples_dropped_total",
                    "Samples the recorder dropped because the call did not match the catalog.",
                    &RECORDER,
                )
                .alerts(RECORDER_SAMPLES_DROPPED_ALERTS)
                .labels(&[Label::MetricName, Label::Reason])
                .unused("recorded by the recorder crate itself, through MetricCatalog::SAMPLES_DROPPED")
                }
            }
            Metric::RecorderSeriesOverflow => {
                const {
                    &Def::counter(
                    "sms_recorder_series_overflow_total",
                    "Samples folded into the overflow series because the metric reached its series bound.",
                    &RECORDER,
                )
                .alerts(RECORDER_SERIES_OVERFLOW_ALERTS)
                .labels(&[Label::MetricName])
                .unused("recorded by the recorder crate itself, through MetricCatalog::SERIES_OVERFLOW")
                }
            }
        }
    }
}

impl MetricCatalog for Metric {
    type Label = Label;
    const PREFIX: &'static str = "sms_";
    const ALL: &'static [Self] = <Metric as strum::VariantArray>::VARIANTS;
    const SUBSYSTEMS: &'static [Subsystem] = &[SOURCES, GATEWAY, INGEST_LOG, RECORDER];
    const SLOS: &'static [SloDef<Self>] = SLOS;
    const RUNBOOK_BASE: &'static str = RUNBOOK_BASE;
    const SAMPLES_DROPPED: Self = Metric::RecorderSamplesDropped;
    const SERIES_OVERFLOW: Self = Metric::RecorderSeriesOverflow;

    fn def(self) -> &'static MetricDef<Self> {
        Metric::def(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Where the on-call runbooks live (generated, one page per alert): relative to the
/// repository root; make it absolute where the repository is browsable.
pub const RUNBOOK_BASE: &str = "docs/runbooks";

/// The SMS pipeline's service-level objectives.
const SLOS: &[SloDef<Metric>] = &[
    SloDef::availability(
        "sources_requests_availability",
        "99 % of source requests return a valid batch",
        Metric::SourcesRequestsError,
        0.99,
    ),
    SloDef::latency(
        "sources_requests_latency",
        "99 % of source requests complete within 2.5 s",
        Metric::SourcesRequestDuration,
        2.5,
        0.99,
    ),
    SloDef::availability(
        "gateway_cas_writes_availability",
        "99.9 % of envelope writes to the content-addressed store succeed",
        Metric::GatewayCasWritesError,
        0.999,
    ),
    SloDef::availability(
        "ingest_log_writes_availability",
        "99.9 % of ingest log appends succeed",
        Metric::IngestLogWritesError,
        0.999,
    ),
    SloDef::latency(
        "ingest_log_fsync_latency",
        "99 % of ingest log fsyncs complete within 25 ms",
        Metric::IngestLogFsyncDuration,
        0.025,
        0.99,
    ),
];

type Alert = AlertDef<Metric>;

const SOURCES_REQUESTS_SUCCESS_ALERTS: &[Alert] = &[
    Alert::new("SmsSourcesStalled", Signal::Rate { window: minutes(10) }, Below, 0.01)
        .for_duration(minutes(10))
        .severity(Severity::Critical)
        .summary("No source request has succeeded for 10 minutes: no SMS is ingested.")
        .description(
            "{{ $labels.job }} completed {{ $value | humanize }} successful source requests per second over 10 minutes.",
        ),
    Alert::absent("SmsSourcesMetricsAbsent", minutes(15))
        .summary("No source request metrics are scraped: the pipeline is down or not scraped.")
        .description("No series of the successful source requests counter for 15 minutes."),
];

const SOURCES_REQUESTS_ERROR_ALERTS: &[Alert] = &[
    Alert::new("SmsSourceFailing", Signal::ErrorRatio { window: minutes(5) }, Above, 0.1)
        .by(&[Label::SourceId])
        .for_duration(minutes(10))
        .summary("A source fails more than 10 % of its requests.")
        .description(
            "Source {{ $labels.source_id }} of {{ $labels.job }} failed {{ $value | humanizePercentage }} of its requests over 5 minutes.",
        ),
    Alert::new("SmsSourcesMostlyFailing", Signal::ErrorRatio { window: minutes(5) }, Above, 0.5)
        .for_duration(minutes(5))
        .severity(Severity::Critical)
        .summary("More than half of all source requests fail.")
        .description(
            "{{ $labels.job }} failed {{ $value | humanizePercentage }} of all source requests over 5 minutes.",
        ),
];

const SOURCES_REQUEST_DURATION_ALERTS: &[Alert] = &[Alert::new(
    "SmsSourceSlow",
    Signal::Quantile {
        quantile: 0.99,
        window: minutes(5),
    },
    Above,
    5.0,
)
.by(&[Label::SourceId])
.for_duration(minutes(15))
.summary("A source's 99th percentile request latency is above 5 s.")
.description(
    "Source {{ $labels.source_id }} of {{ $labels.job }}: p99 request latency {{ $value | humanizeDuration }} over 5 minutes.",
)];

const SOURCES_REQUESTS_IN_FLIGHT_ALERTS: &[Alert] =
    &[
        Alert::new("SmsSourceRequestsPilingUp", Signal::Value, Above, 50.0)
            .for_duration(minutes(10))
            .summary("More than 50 source requests are in flight: sources answer too slowly.")
            .description("{{ $labels.job }} has {{ $value }} source requests in flight."),
    ];

const GATEWAY_ENVELOPES_DEDUPLICATED_ALERTS: &[Alert] = &[Alert::new(
    "SmsSourceMostlyDuplicates",
    Signal::Ratio {
        denominator: Metric::SourcesEnvelopesReceived,
        window: minutes(15),
    },
    Above,
    0.5,
)
.by(&[Label::SourceId])
.for_duration(minutes(30))
.severity(Severity::Info)
.summary("More than half of a source's envelopes are duplicates: it resends old batches.")
.description(
    "{{ $value | humanizePercentage }} of the envelopes from source {{ $labels.source_id }} of {{ $labels.job }} were duplicates over 15 minutes.",
)];

const GATEWAY_QUEUE_DEPTH_ALERTS: &[Alert] =
    &[
        Alert::new("SmsGatewayBacklog", Signal::Value, Above, 1000.0)
            .for_duration(minutes(10))
            .summary("More than 1000 envelopes wait for the gateway.")
            .description("{{ $labels.job }} has {{ $value }} envelopes queued for the gateway."),
    ];

const GATEWAY_CAS_WRITES_ERROR_ALERTS: &[Alert] = &[Alert::new(
    "SmsGatewayCasWritesFailing",
    Signal::ErrorRatio { window: minutes(5) },
    Above,
    0.01,
)
.for_duration(minutes(5))
.severity(Severity::Critical)
.summary("More than 1 % of writes to the content-addressed store fail: envelopes are lost.")
.description(
    "{{ $labels.job }} failed {{ $value | humanizePercentage }} of its CAS writes over 5 minutes.",
)];

const GATEWAY_CAS_WRITE_DURATION_ALERTS: &[Alert] = &[Alert::new(
    "SmsGatewayCasWritesSlow",
    Signal::Quantile {
        quantile: 0.99,
        window: minutes(5),
    },
    Above,
    0.1,
)
.for_duration(minutes(15))
.summary("The 99th percentile CAS write latency is above 100 ms: the disk is saturated.")
.description(
    "{{ $labels.job }}: p99 CAS write latency {{ $value | humanizeDuration }} over 5 minutes.",
)];

const INGEST_LOG_WRITES_ERROR_ALERTS: &[Alert] = &[Alert::new(
    "SmsIngestLogWritesFailing",
    Signal::ErrorRatio { window: minutes(5) },
    Above,
    0.01,
)
.for_duration(minutes(5))
.severity(Severity::Critical)
.summary("More than 1 % of ingest log appends fail: accepted envelopes are not logged.")
.description(
    "{{ $labels.job }} failed {{ $value | humanizePercentage }} of its ingest log appends over 5 minutes.",
)];

const INGEST_LOG_CURRENT_FILE_SIZE_ALERTS: &[Alert] = &[Alert::new(
    "SmsIngestLogNotRotating",
    Signal::Value,
    Above,
    1_073_741_824.0,
)
.for_duration(minutes(15))
.summary("The current ingest log file is larger than 1 GiB: rotation is not happening.")
.description("{{ $labels.job }}: the current ingest log file holds {{ $value | humanize }}B.")];

const INGEST_LOG_FSYNC_DURATION_ALERTS: &[Alert] = &[Alert::new(
    "SmsIngestLogFsyncSlow",
    Signal::Quantile {
        quantile: 0.99,
        window: minutes(5),
    },
    Above,
    0.025,
)
.for_duration(minutes(15))
.summary("The 99th percentile ingest log fsync latency is above 25 ms.")
.description(
    "{{ $labels.job }}: p99 fsync latency {{ $value | humanizeDuration }} over 5 minutes.",
)];

const RECORDER_SAMPLES_DROPPED_ALERTS: &[Alert] = &[Alert::new(
    "SmsRecorderDroppingSamples",
    Signal::Rate { window: minutes(5) },
    Above,
    0.0,
)
.by(&[Label::MetricName, Label::Reason])
.summary("Code records a metric in a way the catalog does not allow; samples are dropped.")
.description(
    "{{ $labels.job }} dropped {{ $value | humanize }} samples per second of {{ $labels.metric }} ({{ $labels.reason }}).",
)];

const RECORDER_SERIES_OVERFLOW_ALERTS: &[Alert] = &[Alert::new(
    "SmsRecorderSeriesOverflow",
    Signal::Rate { window: minutes(5) },
    Above,
    0.0,
)
.by(&[Label::MetricName])
.severity(Severity::Info)
.summary("A metric reached its series bound; new label values fold into the overflow series.")
.description(
    "{{ $labels.job }}: {{ $value | humanize }} samples per second of {{ $labels.metric }} went to the overflow series.",
)];
