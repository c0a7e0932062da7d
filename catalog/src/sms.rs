//! The SMS ingest pipeline's catalog: every metric it records, defined once.
//!
//! Flow: sources are polled over HTTP for envelopes -> the gateway deduplicates them and
//! writes each to a content-addressed store (CAS) -> the ingest log appends a record per
//! envelope and rotates files. The recorder's own self-metrics close the list.

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
                .labels(&[Label::SourceId])
                .max_series(MAX_SOURCE_SERIES)
                .dashboard(DashboardHints::AUTO.split_by(&[Label::SourceId]).queries(&[
                    CustomQuery {
                        title: "Duplicate share of received envelopes",
                        expr: "sum(rate(sms_gateway_envelopes_deduplicated_total{job=~\"$job\", instance=~\"$instance\", source_id=~\"$source_id\"}[$__rate_interval])) / sum(rate(sms_sources_envelopes_received_total{job=~\"$job\", instance=~\"$instance\", source_id=~\"$source_id\"}[$__rate_interval]))",
                        legend: "duplicates",
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
    const SAMPLES_DROPPED: Self = Metric::RecorderSamplesDropped;
    const SERIES_OVERFLOW: Self = Metric::RecorderSeriesOverflow;

    fn def(self) -> &'static MetricDef<Self> {
        Metric::def(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}
