//! Panel ids and dashboard uids derive from what a panel shows: adding, removing or
//! reordering metrics in a catalog moves no other panel's id.
//!
//! Four versions of one small catalog (its own names, so literals are fine): the base,
//! the base with a metric added in the middle, the base with a metric removed, and the
//! base in another order.

use std::collections::BTreeMap;

use catalog::{
    AlertDef, Comparison, DashboardHints, LabelValue, MetricCatalog, Signal, Subsystem, Unit,
    minutes,
};
use dashboard_gen::model::Dashboard;

const WORK: Subsystem = Subsystem {
    name: "work",
    title: "Work",
    description: "Does the work.",
};

/// Queue name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "queue")]
pub struct Queue<'a>(pub &'a str);

/// Declares, in module `$module`, catalog `$name` with the listed metrics in that order.
/// Each metric's declaration is written once below (`@item` rules); the muncher gathers
/// the chosen ones, then hands the whole enum to `#[catalog::metrics]`.
macro_rules! version {
    ($module:ident, $name:ident: $($metric:ident)*) => {
        mod $module {
            use super::*;
            version!(@munch $name [] $($metric)*);
        }
    };
    (@munch $name:ident [$($done:tt)*] Done $($rest:ident)*) => {
        version!(@munch $name [$($done)*
            /// Jobs done.
            #[metric(counter("stable_work_jobs_done_total", &WORK)
                .labels::<Queue<'_>>()
                .max_series(10)
                .dashboard(DashboardHints::AUTO.split_by(&[Label::Queue]))
                .alerts(&[AlertDef::new("StableJobsStalled", Signal::Rate { window: minutes(5) }, Comparison::Below, 0.5)
                    .summary("No job is done.")
                    .description("{{ $labels.job }} does nothing.")]))]
            Done,
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*] Failed $($rest:ident)*) => {
        version!(@munch $name [$($done)*
            /// Jobs failed.
            #[metric(counter("stable_work_jobs_failed_total", &WORK)
                .labels::<Queue<'_>>()
                .max_series(10)
                .success_twin($name::Done)
                .alerts(&[AlertDef::new("StableJobsFailing", Signal::ErrorRatio { window: minutes(5) }, Comparison::Above, 0.1)
                    .by(&[Label::Queue])
                    .summary("Jobs fail.")
                    .description("{{ $labels.queue }} fails.")]))]
            Failed,
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*] Added $($rest:ident)*) => {
        version!(@munch $name [$($done)*
            /// Jobs retried.
            #[metric(counter("stable_work_jobs_retried_total", &WORK))]
            Added,
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*] Backlog $($rest:ident)*) => {
        version!(@munch $name [$($done)*
            /// Jobs waiting.
            #[metric(gauge("stable_work_backlog", &WORK))]
            Backlog,
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*] Seconds $($rest:ident)*) => {
        version!(@munch $name [$($done)*
            /// Time per job.
            #[metric(histogram("stable_work_job_duration_seconds", &WORK, &[0.1, 1.0]).unit(Unit::Seconds))]
            Seconds,
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*] Dropped $($rest:ident)*) => {
        version!(@munch $name [$($done)*
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*] Overflow $($rest:ident)*) => {
        version!(@munch $name [$($done)*
        ] $($rest)*);
    };
    (@munch $name:ident [$($done:tt)*]) => {
        /// One version of the small catalog.
        #[catalog::metrics(
            prefix = "stable_",
            labels = [Queue],
            subsystems = [WORK],
        )]
        pub enum $name { $($done)* }
    };
}

version!(base, Base: Done Failed Backlog Seconds Dropped Overflow);
version!(with_added, WithAdded: Done Failed Added Backlog Seconds Dropped Overflow);
version!(without_backlog, WithoutBacklog: Done Failed Seconds Dropped Overflow);
version!(reordered, Reordered: Seconds Backlog Failed Done Overflow Dropped);

use base::BaseId as Base;
use reordered::ReorderedId as Reordered;
use with_added::WithAddedId as WithAdded;
use without_backlog::WithoutBacklogId as WithoutBacklog;

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
