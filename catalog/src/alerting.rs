//! Alerts and service-level objectives, declared next to the metrics they watch.
//!
//! An [`AlertDef`] hangs off a metric ([`MetricDef::alerts`](crate::MetricDef::alerts))
//! and says *what* to watch ([`Signal`]), *when* it is wrong (a threshold, a `for`
//! duration) and *who* cares ([`Severity`], summary, description, runbook anchor).
//! An [`SloDef`] (listed in `MetricCatalog::SLOS`) turns a
//! success/error counter pair or a histogram into an objective over a period.
//!
//! These are plain `const` data: turning them into PromQL and rule files is the job of
//! the rules generator, not of this crate.

use std::time::Duration;

use crate::labels::CatalogLabels;

/// `n` minutes, for windows and `for` durations in `const` definitions.
pub const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// `n` hours.
pub const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

/// `n` days.
pub const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// Labels that alert descriptions may use besides the alert's `by` labels: the scrape
/// job, which every aggregation keeps so that two services never mix.
pub const TARGET_LABELS: &[&str] = &["job"];

/// Who gets told, and how urgently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Pages someone now: users are affected.
    Critical,
    /// Opens a ticket: needs attention within working hours.
    Warning,
    /// Informational: shown on dashboards and in alert lists, notifies nobody.
    Info,
}

impl Severity {
    /// The value of the `severity` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// Fires when the signal is greater than the threshold.
    Above,
    /// Fires when the signal is less than the threshold.
    Below,
}

/// The quantity an alert watches, derived from its metric.
///
/// Every signal is aggregated per scrape job plus the alert's `by` labels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Signal<C: CatalogLabels> {
    /// Per-second rate of a counter over `window`.
    Rate {
        /// Rate window.
        window: Duration,
    },
    /// Share of failed operations: the error counter's rate divided by the sum of its
    /// rate and its success twin's rate (the metric needs a success twin).
    ErrorRatio {
        /// Rate window.
        window: Duration,
    },
    /// Rate of this counter divided by the rate of another counter.
    Ratio {
        /// The counter in the denominator.
        denominator: C,
        /// Rate window.
        window: Duration,
    },
    /// A quantile of a histogram; the threshold must be one of its buckets (the only
    /// values a bucketed quantile estimate is exact at).
    Quantile {
        /// The quantile, strictly between 0 and 1 (e.g. 0.99).
        quantile: f64,
        /// Rate window.
        window: Duration,
    },
    /// The current value of a gauge (maximum over the aggregated series).
    Value,
    /// The metric has no series at all (the process is gone or never records it).
    /// Comparison and threshold are ignored.
    Absent,
}

impl<C: CatalogLabels> Signal<C> {
    /// The rate window, for signals computed over one.
    pub const fn window(&self) -> Option<Duration> {
        match *self {
            Signal::Rate { window }
            | Signal::ErrorRatio { window }
            | Signal::Ratio { window, .. }
            | Signal::Quantile { window, .. } => Some(window),
            Signal::Value | Signal::Absent => None,
        }
    }
}

/// One alert on one metric.
///
/// Built with [`AlertDef::new`] or [`AlertDef::absent`] and `const` setters. The summary
/// is static; the description is a Prometheus alert template that may use only
/// `{{ $value }}` (optionally piped to `humanize`, `humanizePercentage` or
/// `humanizeDuration`) and `{{ $labels.NAME }}` for the alert's labels (see
/// [`template_placeholders`](crate::template_placeholders)).
#[derive(Debug)]
pub struct AlertDef<C: CatalogLabels> {
    /// Alert name, CamelCase, starting with the catalog prefix (e.g. `SmsSourcesFailing`).
    pub name: &'static str,
    /// What is watched.
    pub signal: Signal<C>,
    /// Labels the alert keeps (one alert per value combination), besides the job.
    pub by: &'static [C::Label],
    /// Which side of the threshold fires.
    pub comparison: Comparison,
    /// The threshold, in the signal's unit (per second, ratio 0-1, seconds, gauge value).
    pub threshold: f64,
    /// How long the condition must hold before the alert fires.
    pub for_duration: Duration,
    /// Who gets told.
    pub severity: Severity,
    /// Static one-line summary.
    pub summary: &'static str,
    /// Templated description: what is happening, with values and labels.
    pub description: &'static str,
    /// Anchor of this alert in the runbook; defaults to the lower-cased alert name.
    pub runbook_anchor: Option<&'static str>,
}

impl<C: CatalogLabels> AlertDef<C> {
    /// An alert firing when `signal` compares to `threshold` as `comparison` says.
    /// Defaults: severity warning, `for` 0, no `by` labels; summary and description
    /// must be set.
    pub const fn new(
        name: &'static str,
        signal: Signal<C>,
        comparison: Comparison,
        threshold: f64,
    ) -> Self {
        AlertDef {
            name,
            signal,
            by: &[],
            comparison,
            threshold,
            for_duration: Duration::ZERO,
            severity: Severity::Warning,
            summary: "",
            description: "",
            runbook_anchor: None,
        }
    }

    /// An alert firing when the metric has no series for `for_duration`. Severity
    /// warning: a missing metric is worth a ticket, never a page by default (page on the
    /// user-facing symptom instead).
    pub const fn absent(name: &'static str, for_duration: Duration) -> Self {
        Self::new(name, Signal::Absent, Comparison::Above, 0.0).for_duration(for_duration)
    }

    /// Keeps these labels: one alert per combination of their values.
    pub const fn by(mut self, labels: &'static [C::Label]) -> Self {
        self.by = labels;
        self
    }

    /// Sets how long the condition must hold.
    pub const fn for_duration(mut self, duration: Duration) -> Self {
        self.for_duration = duration;
        self
    }

    /// Sets the severity.
    pub const fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the static one-line summary.
    pub const fn summary(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }

    /// Sets the templated description.
    pub const fn description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// Overrides the runbook anchor.
    pub const fn runbook_anchor(mut self, anchor: &'static str) -> Self {
        self.runbook_anchor = Some(anchor);
        self
    }

    /// The runbook anchor: the override, or the lower-cased alert name.
    pub fn anchor(&self) -> String {
        match self.runbook_anchor {
            Some(anchor) => anchor.to_string(),
            None => self.name.to_ascii_lowercase(),
        }
    }
}

/// A service-level objective over a catalog metric.
#[derive(Debug)]
pub struct SloDef<C: CatalogLabels> {
    /// Identifier, snake_case, unique in the catalog (e.g. `sources_requests_availability`).
    pub name: &'static str,
    /// What the objective promises, one line, for docs and alert summaries.
    pub title: &'static str,
    /// The service-level indicator.
    pub indicator: Indicator<C>,
    /// Target share of good events, strictly between 0 and 1 (e.g. `0.999` for 99.9 %).
    pub objective: f64,
    /// The period the objective is measured over (e.g. 30 days).
    pub period: Duration,
}

/// How good and bad events are counted for an SLO.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Indicator<C: CatalogLabels> {
    /// Bad events: this error counter; all events: it plus its success twin.
    Availability {
        /// The error counter (it must have a success twin).
        errors: C,
    },
    /// Bad events: observations above `threshold`; all events: every observation.
    Latency {
        /// The histogram.
        histogram: C,
        /// Upper bound of a good event, in the histogram's unit; one of its buckets.
        threshold: f64,
    },
}

impl<C: CatalogLabels> Indicator<C> {
    /// The metric the indicator is computed from.
    pub const fn metric(&self) -> C {
        match *self {
            Indicator::Availability { errors } => errors,
            Indicator::Latency { histogram, .. } => histogram,
        }
    }
}

impl<C: CatalogLabels> SloDef<C> {
    /// The standard SLO period: 30 days.
    pub const DEFAULT_PERIOD: Duration = days(30);

    /// Availability: errors over errors plus successes of `errors`' success twin.
    pub const fn availability(
        name: &'static str,
        title: &'static str,
        errors: C,
        objective: f64,
    ) -> Self {
        SloDef {
            name,
            title,
            indicator: Indicator::Availability { errors },
            objective,
            period: Self::DEFAULT_PERIOD,
        }
    }

    /// Latency: the share of observations of `histogram` at or below `threshold`.
    pub const fn latency(
        name: &'static str,
        title: &'static str,
        histogram: C,
        threshold: f64,
        objective: f64,
    ) -> Self {
        SloDef {
            name,
            title,
            indicator: Indicator::Latency {
                histogram,
                threshold,
            },
            objective,
            period: Self::DEFAULT_PERIOD,
        }
    }

    /// Sets the period.
    pub const fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }
}

/// `sms_` -> `Sms`, `my_app_` -> `MyApp`: how alert names spell the catalog's words.
pub(crate) fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_helpers_agree() {
        assert_eq!(minutes(60), hours(1));
        assert_eq!(hours(24), days(1));
    }

    #[test]
    fn camel_case_joins_snake_words() {
        assert_eq!(camel_case("sms_"), "Sms");
        assert_eq!(camel_case("my_app_"), "MyApp");
    }
}
