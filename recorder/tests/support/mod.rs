//! A second, tiny catalog (proves the recorder works with any `MetricCatalog`) and
//! helpers to read samples back. Shared by several test binaries; each uses a part.
#![allow(dead_code)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use catalog::{
    DashboardHints, DropReason, LabelDef, LabelKey, LabelValues, MetricCatalog, MetricDef,
    Subsystem, Unit,
};

pub const JOBS: Subsystem = Subsystem {
    name: "jobs",
    title: "Jobs",
    description: "Background jobs.",
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TinyLabel {
    Tenant,
    Outcome,
    Metric,
    Reason,
}

impl LabelKey for TinyLabel {
    fn def(self) -> &'static LabelDef {
        match self {
            TinyLabel::Tenant => &LabelDef {
                name: "tenant",
                help: "Tenant id.",
                values: LabelValues::FreeForm,
            },
            TinyLabel::Outcome => &LabelDef {
                name: "outcome",
                help: "How the job ended.",
                values: LabelValues::OneOf(&["ok", "failed"]),
            },
            TinyLabel::Metric => &LabelDef {
                name: "metric",
                help: "Metric name.",
                values: LabelValues::CatalogMetric,
            },
            TinyLabel::Reason => &LabelDef {
                name: "reason",
                help: "Drop reason.",
                values: LabelValues::OneOf(DropReason::LABEL_VALUES),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tiny {
    Run,
    ByTenant,
    Queued,
    Duration,
    Dropped,
    Overflow,
}

/// Series bound of `ByTenant`.
pub const MAX_TENANT_SERIES: usize = 3;

type Def = MetricDef<Tiny>;

impl Tiny {
    pub const fn def(self) -> &'static Def {
        match self {
            Tiny::Run => {
                const {
                    &Def::counter("tiny_jobs_run_total", "Jobs run.", &JOBS)
                        .labels(&[TinyLabel::Outcome])
                }
            }
            Tiny::ByTenant => {
                const {
                    &Def::counter("tiny_jobs_by_tenant_total", "Jobs per tenant.", &JOBS)
                        .labels(&[TinyLabel::Tenant, TinyLabel::Outcome])
                        .max_series(MAX_TENANT_SERIES)
                        .dashboard(DashboardHints::AUTO)
                }
            }
            Tiny::Queued => const { &Def::gauge("tiny_jobs_queued", "Jobs waiting.", &JOBS) },
            Tiny::Duration => {
                const {
                    &Def::histogram(
                        "tiny_jobs_duration_seconds",
                        "Job run time.",
                        &JOBS,
                        &[0.5, 1.0],
                    )
                    .unit(Unit::Seconds)
                }
            }
            Tiny::Dropped => {
                const {
                    &Def::counter("tiny_jobs_dropped_samples_total", "Dropped samples.", &JOBS)
                        .labels(&[TinyLabel::Metric, TinyLabel::Reason])
                }
            }
            Tiny::Overflow => {
                const {
                    &Def::counter(
                        "tiny_jobs_overflow_samples_total",
                        "Overflowed samples.",
                        &JOBS,
                    )
                    .labels(&[TinyLabel::Metric])
                }
            }
        }
    }
}

impl MetricCatalog for Tiny {
    type Label = TinyLabel;
    const PREFIX: &'static str = "tiny_";
    const ALL: &'static [Self] = &[
        Tiny::Run,
        Tiny::ByTenant,
        Tiny::Queued,
        Tiny::Duration,
        Tiny::Dropped,
        Tiny::Overflow,
    ];
    const SUBSYSTEMS: &'static [Subsystem] = &[JOBS];
    const SAMPLES_DROPPED: Self = Tiny::Dropped;
    const SERIES_OVERFLOW: Self = Tiny::Overflow;

    fn def(self) -> &'static MetricDef<Self> {
        Tiny::def(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A recorder of the tiny catalog that counts misuse instead of panicking.
pub fn counting_recorder() -> recorder::Recorder<Tiny> {
    recorder::Builder::<Tiny>::new()
        .panic_on_misuse(false)
        .build()
        .expect("tiny catalog is valid")
}

/// The value of `SAMPLES_DROPPED{metric=metric, reason=reason}` of catalog `C` in `text`.
pub fn dropped<C: MetricCatalog>(text: &str, metric: C, reason: &str) -> f64 {
    let series = format!(
        "{}{{metric=\"{}\",reason=\"{reason}\"}}",
        C::SAMPLES_DROPPED.def().name,
        metric.def().name
    );
    sample(text, &series).unwrap_or_else(|| panic!("{series} not in:\n{text}"))
}

/// The value of the sample line `series` (e.g. `name{a="b"}`) in `text`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A catalog that breaks naming rules, to prove the builder refuses it.
pub mod bad {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Bad {
        Requests,
        Latency,
        Dropped,
        Overflow,
    }

    const BAD: Subsystem = Subsystem {
        name: "bad",
        title: "Bad",
        description: "Broken on purpose.",
    };

    impl MetricCatalog for Bad {
        type Label = TinyLabel;
        const PREFIX: &'static str = "bad_";
        const ALL: &'static [Self] = &[Bad::Requests, Bad::Latency, Bad::Dropped, Bad::Overflow];
        const SUBSYSTEMS: &'static [Subsystem] = &[BAD];
        const SAMPLES_DROPPED: Self = Bad::Dropped;
        const SERIES_OVERFLOW: Self = Bad::Overflow;

        fn def(self) -> &'static MetricDef<Self> {
            match self {
                Bad::Requests => const { &MetricDef::counter("bad_requests", "Requests.", &BAD) },
                Bad::Latency => {
                    const {
                        &MetricDef::histogram("bad_latency_ms", "Latency.", &BAD, &[1.0])
                            .unit(Unit::Seconds)
                    }
                }
                Bad::Dropped => {
                    const {
                        &MetricDef::counter("bad_dropped_total", "Dropped.", &BAD)
                            .labels(&[TinyLabel::Metric, TinyLabel::Reason])
                    }
                }
                Bad::Overflow => {
                    const {
                        &MetricDef::counter("bad_overflow_total", "Overflow.", &BAD)
                            .labels(&[TinyLabel::Metric])
                    }
                }
            }
        }

        fn index(self) -> usize {
            self as usize
        }
    }
}

/// Runs `promtool check metrics` on `text`; `Err` with its output when it rejects it.
/// `Ok(false)` when promtool is not installed (allowed outside CI only).
pub fn promtool_accepts(text: &str) -> Result<bool, String> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool missing: apt-get install -y prometheus"
        );
        eprintln!(
            "skipping the promtool check: promtool not installed (apt-get install -y prometheus)"
        );
        return Ok(false);
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && printed.trim().is_empty() {
        Ok(true)
    } else {
        Err(printed)
    }
}
