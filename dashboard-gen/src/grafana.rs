//! Pushing dashboards to Grafana over its HTTP API: the only module of the crate doing I/O.
//!
//! Uses the legacy dashboard API, which works on Grafana 5 through 13 (see Grafana's
//! "Dashboard HTTP API" and "Folder HTTP API" docs):
//!
//! 1. `GET /api/health` checks the URL and reports Grafana's version;
//! 2. `GET /api/folders/{uid}`, then `POST /api/folders` if the folder is missing;
//! 3. per dashboard, `GET /api/dashboards/uid/{uid}` to skip unchanged ones, then
//!    `POST /api/dashboards/db` with `"id": null`, the stable uid, an explicit
//!    `folderUid`, `"overwrite": true` and a version message.
//!
//! Every request has a timeout; 5xx answers and transport errors are retried a bounded
//! number of times with exponential backoff. Each status maps to its own [`Error`]
//! variant carrying Grafana's message. One failing dashboard does not stop the others:
//! [`push`] reports an outcome per dashboard. Credentials are never logged or shown
//! (`Auth`'s `Debug` redacts them).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Folder;
use crate::error::Error;
use crate::model::Dashboard;

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// A service-account token, sent as `Authorization: Bearer <token>`.
    Token(String),
    /// Basic auth with a user and password (self-hosted Grafana).
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// No credentials (only `GET /api/health` will work on a default Grafana).
    Anonymous,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token(<redacted>)"),
            Auth::Basic { user, .. } => {
                write!(f, "Basic {{ user: {user:?}, password: <redacted> }}")
            }
            Auth::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// Timeouts and retries of a [`Client`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Time limit of one request, answer included.
    pub timeout: Duration,
    /// Attempts per request (at least 1); only 5xx and transport errors are retried.
    pub attempts: u32,
    /// Wait before the first retry; doubles after each.
    pub backoff: Duration,
}

impl Default for Settings {
    /// 10 s per request, 3 attempts, 500 ms then 1 s between them.
    fn default() -> Self {
        Settings {
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A connection to one Grafana.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    settings: Settings,
    org_id: Option<u64>,
}

/// What `GET /api/health` says.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Health {
    /// Grafana version, e.g. `11.6.0`.
    pub version: String,
    /// `ok` when the database is reachable.
    pub database: String,
}

/// What a push did, or would do, with the folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderAction {
    /// The folder was there.
    Existed,
    /// The folder was created.
    Created,
    /// Dry run: the folder would be created.
    WouldCreate,
}

/// What a push did, or would do, with one dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Saved as a new dashboard.
    Created,
    /// Saved over a different version.
    Updated,
    /// Same content and folder on the server; not saved.
    Unchanged,
    /// Dry run: would be created.
    WouldCreate,
    /// Dry run: would be updated.
    WouldUpdate,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Unchanged => "unchanged",
            Action::WouldCreate => "would create",
            Action::WouldUpdate => "would update",
        })
    }
}

/// A dashboard the push handled successfully.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// What happened.
    pub action: Action,
    /// Full URL of the dashboard.
    pub url: String,
    /// Version on the server afterwards, when known.
    pub version: Option<u64>,
}

/// The outcome for one dashboard.
#[derive(Debug)]
pub struct DashboardOutcome {
    /// Dashboard uid.
    pub uid: String,
    /// Dashboard title.
    pub title: String,
    /// What happened, or why it failed.
    pub result: Result<Pushed, Error>,
}

/// Everything a push did.
#[derive(Debug)]
pub struct PushReport {
    /// Grafana's version, from `GET /api/health`.
    pub grafana_version: String,
    /// What happened to the folder.
    pub folder: FolderAction,
    /// One outcome per dashboard, in the order given.
    pub dashboards: Vec<DashboardOutcome>,
}

impl PushReport {
    /// Number of dashboards that failed.
    pub fn failures(&self) -> usize {
        self.dashboards.iter().filter(|d| d.result.is_err()).count()
    }
}

/// Where and how to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushOptions {
    /// Target folder; created if missing.
    pub folder: Folder,
    /// Version message shown in the dashboard's history, e.g. with the git commit.
    pub message: String,
    /// Only report what would change; send no write.
    pub dry_run: bool,
}

impl Client {
    /// A client for the Grafana at `url` (`http://` or `https://`, with or without a
    /// sub-path).
    pub fn new(url: &str, auth: Auth, settings: Settings) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("no query or fragment allowed"));
        }
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| invalid(&e.to_string()))?;
        Ok(Client {
            http,
            base: url.trim_end_matches('/').to_string(),
            auth,
            settings: Settings {
                attempts: settings.attempts.max(1),
                ..settings
            },
            org_id: None,
        })
    }

    /// Acts in organization `org_id` rather than the user's current one: sends Grafana's
    /// `X-Grafana-Org-Id` header with every request.
    pub fn org(mut self, org_id: u64) -> Self {
        self.org_id = Some(org_id);
        self
    }

    /// The base URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /api/health`; fails unless Grafana and its database are up.
    pub async fn health(&self) -> Result<Health, Error> {
        let operation = "GET /api/health";
        let (status, body) = self
            .send(operation, reqwest::Method::GET, "/api/health", None)
            .await?;
        if status != 200 {
            return Err(self.status_error(operation, status, &body));
        }
        parse(operation, status, &body)
    }

    /// Whether folder `uid` exists (`GET /api/folders/{uid}`).
    pub async fn folder_exists(&self, uid: &str) -> Result<bool, Error> {
        let operation = format!("GET /api/folders/{uid}");
        let (status, body) = self
            .send(
                &operation,
                reqwest::Method::GET,
                &format!("/api/folders/{uid}"),
                None,
            )
            .await?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.status_error(&operation, status, &body)),
        }
    }

    /// Creates `folder` (`POST /api/folders`); a 409 (it exists already) is success.
    pub async fn create_folder(&self, folder: &Folder) -> Result<(), Error> {
        let operation = "POST /api/folders";
        let body = serde_json::json!({ "uid": folder.uid, "title": folder.title });
        let (status, body) = self
            .send(operation, reqwest::Method::POST, "/api/folders", Some(body))
            .await?;
        match status {
            200 | 409 => Ok(()),
            _ => Err(self.status_error(operation, status, &body)),
        }
    }

    /// The stored dashboard `uid` (`GET /api/dashboards/uid/{uid}`), `None` on 404.
    pub async fn dashboard(&self, uid: &str) -> Result<Option<StoredDashboard>, Error> {
        let operation = format!("GET /api/dashboards/uid/{uid}");
        let (status, body) = self
            .send(
                &operation,
                reqwest::Method::GET,
                &format!("/api/dashboards/uid/{uid}"),
                None,
            )
            .await?;
        match status {
            200 => parse(&operation, status, &body).map(Some),
            404 => Ok(None),
            _ => Err(self.status_error(&operation, status, &body)),
        }
    }

    /// Saves `dashboard` into folder `folder_uid` with overwrite (`POST /api/dashboards/db`).
    pub async fn save(
        &self,
        dashboard: &Dashboard,
        folder_uid: &str,
        message: &str,
    ) -> Result<SavedDashboard, Error> {
        let operation = format!("POST /api/dashboards/db ({})", dashboard.uid);
        let request = SaveRequest {
            dashboard,
            folder_uid,
            overwrite: true,
            message,
        };
        let body = serde_json::to_value(&request).expect("the save request always serialises");
        let (status, body) = self
            .send(
                &operation,
                reqwest::Method::POST,
                "/api/dashboards/db",
                Some(body),
            )
            .await?;
        if status != 200 {
            return Err(self.status_error(&operation, status, &body));
        }
        parse(&operation, status, &body)
    }

    /// Sends a request, retrying 5xx answers and transport errors; returns status and body.
    async fn send(
        &self,
        operation: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, String), Error> {
        let mut backoff = self.settings.backoff;
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(org_id) = self.org_id {
                request = request.header("X-Grafana-Org-Id", org_id);
            }
            request = match &self.auth {
                Auth::Token(token) => request.bearer_auth(token),
                Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
                Auth::Anonymous => request,
            };
            if let Some(body) = &body {
                request = request.json(body);
            }
            let answer = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    response.text().await.map(|text| (status, text))
                }
                Err(error) => Err(error),
            };
            let retry = match &answer {
                Ok((status, _)) => *status >= 500,
                Err(_) => true,
            };
            if !retry || attempt >= self.settings.attempts {
                return answer.map_err(|error| Error::Unreachable {
                    operation: operation.to_string(),
                    attempts: attempt,
                    reason: describe(&error, self.settings.timeout),
                });
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    /// The error for a status Grafana answered with (after retries for 5xx).
    fn status_error(&self, operation: &str, status: u16, body: &str) -> Error {
        let json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let field = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_string);
        let message = field("message").unwrap_or_else(|| body.trim().to_string());
        let operation = operation.to_string();
        match status {
            400 => Error::Rejected { operation, message },
            401 => Error::Unauthorized {
                operation,
                message_id: field("messageId").unwrap_or_else(|| "no messageId".to_string()),
                message,
            },
            403 => Error::Forbidden { operation, message },
            409 | 412 => Error::Conflict {
                operation,
                status,
                message,
            },
            500..=599 => Error::Server {
                operation,
                status,
                attempts: self.settings.attempts,
                message,
            },
            _ => Error::Unexpected {
                operation,
                status,
                message,
            },
        }
    }
}

/// What `GET /api/dashboards/uid/{uid}` returns.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct StoredDashboard {
    /// The stored model, with Grafana's `id` and `version`.
    pub dashboard: Value,
    /// Where and which version.
    pub meta: StoredMeta,
}

/// `meta` of a stored dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredMeta {
    /// Current version.
    pub version: u64,
    /// Folder uid (empty or absent for the root folder).
    #[serde(default)]
    pub folder_uid: String,
    /// Path of the dashboard, e.g. `/d/uid/slug`.
    pub url: String,
}

/// What `POST /api/dashboards/db` returns.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SavedDashboard {
    /// Uid.
    pub uid: String,
    /// Path, e.g. `/d/uid/slug`.
    pub url: String,
    /// Version after the save (1 for a new dashboard).
    pub version: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SaveRequest<'a> {
    dashboard: &'a Dashboard,
    folder_uid: &'a str,
    overwrite: bool,
    message: &'a str,
}

/// Pushes `dashboards` into the folder of `options`, reporting progress lines to
/// `progress` (no secrets in them).
///
/// Fails as a whole only when Grafana is unreachable or unhealthy, or the folder cannot
/// be checked or created; otherwise every dashboard is attempted and has its outcome.
pub async fn push(
    client: &Client,
    dashboards: &[Dashboard],
    options: &PushOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<PushReport, Error> {
    progress(&format!("checking Grafana at {}", client.url()));
    let health = client.health().await?;
    progress(&format!(
        "Grafana {} (database {})",
        health.version, health.database
    ));

    let folder = &options.folder;
    let folder_action = if client.folder_exists(&folder.uid).await? {
        FolderAction::Existed
    } else if options.dry_run {
        FolderAction::WouldCreate
    } else {
        client.create_folder(folder).await?;
        FolderAction::Created
    };
    progress(&format!(
        "folder `{}` ({}): {}",
        folder.title,
        folder.uid,
        match folder_action {
            FolderAction::Existed => "exists",
            FolderAction::Created => "created",
            FolderAction::WouldCreate => "would be created",
        }
    ));

    let mut outcomes = Vec::new();
    for dashboard in dashboards {
        let result = push_one(client, dashboard, options).await;
        match &result {
            Ok(pushed) => progress(&format!(
                "{} `{}`: {}{}",
                pushed.action,
                dashboard.uid,
                pushed.url,
                pushed
                    .version
                    .map(|v| format!(" (version {v})"))
                    .unwrap_or_default()
            )),
            Err(error) => progress(&format!("failed `{}`: {error}", dashboard.uid)),
        }
        outcomes.push(DashboardOutcome {
            uid: dashboard.uid.clone(),
            title: dashboard.title.clone(),
            result,
        });
    }
    Ok(PushReport {
        grafana_version: health.version,
        folder: folder_action,
        dashboards: outcomes,
    })
}

async fn push_one(
    client: &Client,
    dashboard: &Dashboard,
    options: &PushOptions,
) -> Result<Pushed, Error> {
    let stored = client.dashboard(&dashboard.uid).await?;
    let link = |path: &str| format!("{}{path}", client.url());
    if let Some(stored) = &stored {
        if stored.meta.folder_uid == options.folder.uid
            && same_content(dashboard, &stored.dashboard)
        {
            return Ok(Pushed {
                action: Action::Unchanged,
                url: link(&stored.meta.url),
                version: Some(stored.meta.version),
            });
        }
    }
    if options.dry_run {
        return Ok(match &stored {
            Some(stored) => Pushed {
                action: Action::WouldUpdate,
                url: link(&stored.meta.url),
                version: Some(stored.meta.version),
            },
            None => Pushed {
                action: Action::WouldCreate,
                url: link(&format!("/d/{}", dashboard.uid)),
                version: None,
            },
        });
    }
    let saved = client
        .save(dashboard, &options.folder.uid, &options.message)
        .await?;
    Ok(Pushed {
        action: if stored.is_some() {
            Action::Updated
        } else {
            Action::Created
        },
        url: link(&saved.url),
        version: Some(saved.version),
    })
}

/// True when the stored model equals ours, ignoring what Grafana assigns (`id`, `version`).
fn same_content(dashboard: &Dashboard, stored: &Value) -> bool {
    let strip = |mut value: Value| {
        if let Some(object) = value.as_object_mut() {
            object.remove("id");
            object.remove("version");
        }
        value
    };
    let ours = serde_json::to_value(dashboard).expect("the dashboard model always serialises");
    strip(ours) == strip(stored.clone())
}

fn parse<T: for<'de> Deserialize<'de>>(
    operation: &str,
    status: u16,
    body: &str,
) -> Result<T, Error> {
    serde_json::from_str(body).map_err(|e| Error::Unexpected {
        operation: operation.to_string(),
        status,
        message: format!("body is not the documented JSON ({e})"),
    })
}

/// A transport error in one line, with its causes.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
