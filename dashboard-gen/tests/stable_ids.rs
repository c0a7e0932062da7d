//! Panel ids and dashboard uids derive from what a panel shows: adding, removing or
//! reordering metrics in a catalog moves no other panel's id.
//!
//! Four versions of one small catalog (its own names, so literals are fine): the base,
//! the base with a metric added in the middle, the base with a metric removed, and the
//! base in another order.

use std::collections::BTreeMap;

use catalog::{
    AlertDef, Comparison, DashboardHints, DropReason, LabelDef, LabelKey, LabelValues,
    MetricCatalog, MetricDef, Signal, Subsystem, Unit, minutes,
};
use dashboard_gen::model::Dashboard;

const WORK: Subsystem = Subsystem {
    name: "work",
    title: "Work",
    description: "Does the work.",
};
const SELF: Subsystem = Subsystem {
    name: "self",
    title: "Self",
    description: "The recorder's own metrics.",
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum L {
    Queue,
    Metric,
    Reason,
}

impl LabelKey for L {
    fn def(self) -> &'static LabelDef {
        match self {
            L::Queue => &LabelDef {
                name: "queue",
                help: "Queue name.",
                values: LabelValues::FreeForm,
            },
            L::Metric => &LabelDef {
                name: "metric",
                help: "Metric concerned.",
                values: LabelValues::CatalogMetric,
            },
            L::Reason => &LabelDef {
                name: "reason",
                help: "Why.",
                values: LabelValues::OneOf(DropReason::LABEL_VALUES),
            },
        }
    }
}

/// Defines catalog `$name` listing `$all` (variants of the same enum) in that order.
macro_rules! catalog_version {
    ($name:ident, [$($variant:ident),* $(,)?]) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(dead_code)]
        enum $name {
            Done,
            Failed,
            Added,
            Backlog,
            Seconds,
            Dropped,
            Overflow,
        }

        impl MetricCatalog for $name {
            type Label = L;
            const PREFIX: &'static str = "stable_";
            const ALL: &'static [Self] = &[$($name::$variant),*];
            const SUBSYSTEMS: &'static [Subsystem] = &[WORK, SELF];
            const SAMPLES_DROPPED: Self = $name::Dropped;
            const SERIES_OVERFLOW: Self = $name::Overflow;

            fn def(self) -> &'static MetricDef<Self> {
                type Def = MetricDef<$name>;
                match self {
                    $name::Done => {
                        const ALERTS: &[AlertDef<$name>] = &[AlertDef::new(
                            "StableJobsStalled",
                            Signal::Rate { window: minutes(5) },
                            Comparison::Below,
                            0.5,
                        )
                        .summary("No job is done.")
                        .description("{{ $labels.job }} does nothing.")];
                        const {
                            &Def::counter("stable_work_jobs_done_total", "Jobs done.", &WORK)
                                .labels(&[L::Queue])
                                .max_series(10)
                                .dashboard(DashboardHints::AUTO.split_by(&[L::Queue]))
                                .alerts(ALERTS)
                        }
                    }
                    $name::Failed => {
                        const ALERTS: &[AlertDef<$name>] = &[AlertDef::new(
                            "StableJobsFailing",
                            Signal::ErrorRatio { window: minutes(5) },
                            Comparison::Above,
                            0.1,
                        )
                        .by(&[L::Queue])
                        .summary("Jobs fail.")
                        .description("{{ $labels.queue }} fails.")];
                        const {
                            &Def::counter("stable_work_jobs_failed_total", "Jobs failed.", &WORK)
                                .labels(&[L::Queue])
                                .max_series(10)
                                .success_twin($name::Done)
                                .alerts(ALERTS)
                        }
                    }
                    $name::Added => const {
                        &Def::counter("stable_work_jobs_retried_total", "Jobs retried.", &WORK)
                    },
                    $name::Backlog => const {
                        &Def::gauge("stable_work_backlog", "Jobs waiting.", &WORK)
                    },
                    $name::Seconds => const {
                        &Def::histogram(
                            "stable_work_job_duration_seconds",
                            "Time per job.",
                            &WORK,
                            &[0.1, 1.0],
                        )
                        .unit(Unit::Seconds)
                    },
                    $name::Dropped => const {
                        &Def::counter("stable_self_samples_dropped_total", "Samples dropped.", &SELF)
                            .labels(&[L::Metric, L::Reason])
                    },
                    $name::Overflow => const {
                        &Def::counter("stable_self_series_overflow_total", "Series folded.", &SELF)
                            .labels(&[L::Metric])
                    },
                }
            }

            fn index(self) -> usize {
                Self::ALL.iter().position(|m| *m == self).unwrap_or(usize::MAX)
            }
        }
    };
}

catalog_version!(Base, [Done, Failed, Backlog, Seconds, Dropped, Overflow]);
catalog_version!(
    WithAdded,
    [Done, Failed, Added, Backlog, Seconds, Dropped, Overflow]
);
catalog_version!(WithoutBacklog, [Done, Failed, Seconds, Dropped, Overflow]);
catalog_version!(
    Reordered,
    [Seconds, Backlog, Failed, Done, Overflow, Dropped]
);

/// (dashboard uid, panel title) -> panel id, rows included.
fn ids(dashboards: &[Dashboard]) -> BTreeMap<(String, String), u32> {
    let mut ids = BTreeMap::new();
    for dashboard in dashboards {
        let mut pending: Vec<&dashboard_gen::model::Panel> = dashboard.panels.iter().collect();
        while let Some(panel) = pending.pop() {
            let previous = ids.insert((dashboard.uid.clone(), panel.title.clone()), panel.id);
            assert!(previous.is_none(), "title `{}` used twice", panel.title);
            pending.extend(panel.panels.iter().flatten());
        }
    }
    ids
}

fn generated<C: MetricCatalog>() -> Vec<Dashboard> {
    let generated = dashboard_gen::build::<C>().unwrap();
    assert!(
        generated.collisions.is_empty(),
        "{:?}",
        generated.collisions
    );
    generated.dashboards
}

#[test]
fn adding_a_metric_moves_no_existing_id() {
    let before = ids(&generated::<Base>());
    let after = ids(&generated::<WithAdded>());
    assert!(after.len() > before.len(), "the added metric has no panel");
    for (panel, id) in &before {
        assert_eq!(after.get(panel), Some(id), "{panel:?} moved");
    }
}

#[test]
fn removing_a_metric_moves_no_other_id() {
    let before = ids(&generated::<Base>());
    let after = ids(&generated::<WithoutBacklog>());
    assert!(
        after.len() < before.len(),
        "the removed metric still has panels"
    );
    for (panel, id) in &after {
        assert_eq!(before.get(panel), Some(id), "{panel:?} moved");
    }
}

#[test]
fn reordering_metrics_moves_no_id() {
    let before = ids(&generated::<Base>());
    let after = ids(&generated::<Reordered>());
    assert_eq!(before, after);
}

#[test]
fn ids_are_the_hash_of_what_the_panel_shows() {
    let dashboards = generated::<Base>();
    let work = dashboards.iter().find(|d| d.uid == "stable-work").unwrap();
    let panel = work
        .panels
        .iter()
        .find(|p| p.title == "Backlog (current)")
        .unwrap();
    assert_eq!(
        panel.id,
        dashboard_gen::panel_id("stable_work_backlog:current")
    );
    assert!(panel.id <= dashboard_gen::MAX_PANEL_ID);
}
