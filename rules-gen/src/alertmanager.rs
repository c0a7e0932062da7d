//! The Alertmanager configuration for the generated alerts: routes by severity and
//! inhibition derived from how the rules label their alerts.
//!
//! - `severity="critical"` goes to the `page` receiver, `severity="warning"` to
//!   `ticket`, anything else (`info`) to `silent`, which notifies nobody;
//! - a critical alert inhibits the warnings of the same `signal` (the catalog metric an
//!   alert watches, a label every generated alert carries) and job: when more than half
//!   of all source requests fail, the per-source warnings add nothing;
//! - an SLO's page (critical burn) inhibits its ticket (warning burn) for the same job.
//!
//! Alerts are grouped by alert name and job; `group_wait`, `group_interval` and
//! `repeat_interval` come from [`Routing`] so a drill can use seconds where production
//! uses minutes.

use serde::Serialize;

/// Where notifications go and how fast.
#[derive(Clone, Debug)]
pub struct Routing {
    /// Webhook URL of the `page` receiver (critical); `None`: no integration.
    pub page_webhook: Option<String>,
    /// Webhook URL of the `ticket` receiver (warning); `None`: no integration.
    pub ticket_webhook: Option<String>,
    /// How long to wait for more alerts of a new group, e.g. `30s`.
    pub group_wait: String,
    /// How long to wait before notifying about changes of a group, e.g. `5m`.
    pub group_interval: String,
    /// How long before a firing alert is sent again, e.g. `4h`.
    pub repeat_interval: String,
}

impl Default for Routing {
    /// Alertmanager's documented defaults; receivers without integrations.
    fn default() -> Self {
        Routing {
            page_webhook: None,
            ticket_webhook: None,
            group_wait: "30s".to_string(),
            group_interval: "5m".to_string(),
            repeat_interval: "4h".to_string(),
        }
    }
}

#[derive(Serialize)]
struct Config {
    route: Route,
    inhibit_rules: Vec<Inhibit>,
    receivers: Vec<Receiver>,
}

#[derive(Serialize)]
struct Route {
    receiver: String,
    group_by: Vec<String>,
    group_wait: String,
    group_interval: String,
    repeat_interval: String,
    routes: Vec<ChildRoute>,
}

#[derive(Serialize)]
struct ChildRoute {
    receiver: String,
    matchers: Vec<String>,
}

#[derive(Serialize)]
struct Inhibit {
    source_matchers: Vec<String>,
    target_matchers: Vec<String>,
    equal: Vec<String>,
}

#[derive(Serialize)]
struct Receiver {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    webhook_configs: Vec<Webhook>,
}

#[derive(Serialize)]
struct Webhook {
    url: String,
    send_resolved: bool,
}

/// The `signal` label every generated alert carries: the catalog metric it watches.
pub const SIGNAL_LABEL: &str = "signal";

/// `alertmanager.yml` for the generated alerts, routed as `routing` says.
pub fn config(routing: &Routing, header: &str) -> Result<String, serde_norway::Error> {
    let receiver = |name: &str, url: &Option<String>| Receiver {
        name: name.to_string(),
        webhook_configs: url
            .iter()
            .map(|url| Webhook {
                url: url.clone(),
                send_resolved: true,
            })
            .collect(),
    };
    let config = Config {
        route: Route {
            receiver: "silent".to_string(),
            group_by: vec!["alertname".to_string(), "job".to_string()],
            group_wait: routing.group_wait.clone(),
            group_interval: routing.group_interval.clone(),
            repeat_interval: routing.repeat_interval.clone(),
            routes: vec![
                ChildRoute {
                    receiver: "page".to_string(),
                    matchers: vec!["severity=\"critical\"".to_string()],
                },
                ChildRoute {
                    receiver: "ticket".to_string(),
                    matchers: vec!["severity=\"warning\"".to_string()],
                },
            ],
        },
        inhibit_rules: vec![
            Inhibit {
                source_matchers: vec!["severity=\"critical\"".to_string()],
                target_matchers: vec!["severity=\"warning\"".to_string()],
                equal: vec!["job".to_string(), SIGNAL_LABEL.to_string()],
            },
            Inhibit {
                source_matchers: vec![
                    "severity=\"critical\"".to_string(),
                    "slo=~\".+\"".to_string(),
                ],
                target_matchers: vec![
                    "severity=\"warning\"".to_string(),
                    "slo=~\".+\"".to_string(),
                ],
                equal: vec!["job".to_string(), "slo".to_string()],
            },
        ],
        receivers: vec![
            receiver("page", &routing.page_webhook),
            receiver("ticket", &routing.ticket_webhook),
            receiver("silent", &None),
        ],
    };
    Ok(format!("{header}{}", serde_norway::to_string(&config)?))
}
