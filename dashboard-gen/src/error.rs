//! The crate's error type: generation, lint and push failures, each naming what is wrong.

use std::fmt;

use crate::lint::Finding;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog itself is invalid (see `catalog::validate`).
    #[error("the catalog is invalid:\n{}", lines(.0))]
    Catalog(Vec<catalog::Problem>),
    /// Queries (generated or custom catalog ones) failed the PromQL checks.
    #[error("dashboard queries fail the PromQL checks:\n{}", lines(.0))]
    Queries(Vec<QueryProblem>),
    /// A generated dashboard has lint findings.
    #[error("dashboard `{uid}` fails lint:\n{}", lines(findings))]
    Lint {
        /// Uid of the dashboard.
        uid: String,
        /// Every finding.
        findings: Vec<Finding>,
    },
    /// The Grafana URL is unusable.
    #[error("invalid Grafana URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it is unusable.
        reason: String,
    },
    /// Grafana could not be reached, or did not answer in time, after every retry.
    #[error("{operation}: cannot reach Grafana after {attempts} attempts: {reason}")]
    Unreachable {
        /// What was being done, e.g. `GET /api/health`.
        operation: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error (connection refused, timeout, ...).
        reason: String,
    },
    /// 401: no or wrong credentials.
    #[error(
        "{operation}: 401 unauthorized ({message_id}: {message}): set GRAFANA_TOKEN to a service-account token, or GRAFANA_USER and GRAFANA_PASSWORD"
    )]
    Unauthorized {
        /// What was being done.
        operation: String,
        /// Grafana's `messageId`, e.g. `api-key.invalid`.
        message_id: String,
        /// Grafana's `message`.
        message: String,
    },
    /// 403: the credentials lack a permission.
    #[error(
        "{operation}: 403 access denied: {message} (the service account needs the Editor role, or dashboards:write and folders:create on the folder)"
    )]
    Forbidden {
        /// What was being done.
        operation: String,
        /// Grafana's `message`.
        message: String,
    },
    /// 400: Grafana rejected the request, e.g. `folder not found`.
    #[error("{operation}: 400 rejected by Grafana: {message}")]
    Rejected {
        /// What was being done.
        operation: String,
        /// Grafana's `message`.
        message: String,
    },
    /// 412 or 409: the dashboard changed on the server and the save did not overwrite.
    #[error(
        "{operation}: {status} conflict: {message} (someone else changed the dashboard; generated dashboards are pushed with overwrite, so retry the push)"
    )]
    Conflict {
        /// What was being done.
        operation: String,
        /// 412 (Grafana up to 12) or 409 (Grafana 13).
        status: u16,
        /// Grafana's `message`.
        message: String,
    },
    /// 5xx after every retry.
    #[error("{operation}: {status} server error after {attempts} attempts: {message}")]
    Server {
        /// What was being done.
        operation: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// Grafana's `message`, or the body.
        message: String,
    },
    /// Any other status, or a body that is not what Grafana documents.
    #[error("{operation}: unexpected answer {status}: {message}")]
    Unexpected {
        /// What was being done.
        operation: String,
        /// HTTP status.
        status: u16,
        /// What was unexpected.
        message: String,
    },
}

/// A query that failed a PromQL check, with the metric and panel it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryProblem {
    /// Prometheus name of the metric whose panel holds the query.
    pub metric: String,
    /// Panel title.
    pub panel: String,
    /// The expression.
    pub expr: String,
    /// Rule identifier, e.g. `target-counter-agg`.
    pub rule: &'static str,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for QueryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: panel `{}`: {} [{}] in `{}`",
            self.metric, self.panel, self.message, self.rule, self.expr
        )
    }
}

fn lines<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|item| format!("  - {item}"))
        .collect::<Vec<_>>()
        .join("\n")
}
