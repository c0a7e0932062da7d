//! An in-process Grafana test double for push tests (never shipped).
//!
//! Follows Grafana's documented HTTP API behaviour (Dashboard, Folder and Health API
//! docs, Grafana 11-13) for what the push client uses:
//! - auth: `Authorization: Bearer <service-account token>` or basic auth; 401 bodies
//!   with `messageId` `auth.unauthorized`, `api-key.invalid`, `password-auth.failed`;
//!   a viewer token may read but gets 403 `Access denied` on writes;
//! - `GET /api/health` without auth (503 with `"database": "failing"` when unhealthy);
//! - `GET /api/folders`, `GET /api/folders/{uid}` (404 `folder not found`),
//!   `POST /api/folders` (409 when the uid exists);
//! - `POST /api/dashboards/db`: 400 `bad request data`, empty title, bad uid, `folder not
//!   found`; version 1 on create, +1 per save; 412 `version-mismatch` (409 in Grafana 13
//!   mode) when `overwrite` is false and the sent version differs from the stored one;
//! - `GET /api/dashboards/uid/{uid}`: `{dashboard, meta}` or 404 `Dashboard not found`;
//! - injected failures (any status) and slow answers, per path prefix, for a number of
//!   requests.
//!
//! Binds 127.0.0.1 on port 0 and stops when dropped or on `stop()`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The service-account token with the Editor role.
pub const TOKEN: &str = "glsa_editor_0123456789abcdef";
/// A service-account token with the Viewer role: reads only.
pub const VIEWER_TOKEN: &str = "glsa_viewer_0123456789abcdef";
/// Basic-auth user and password.
pub const USER: &str = "admin";
/// Basic-auth password.
pub const PASSWORD: &str = "s3cret-password";
/// Version reported by `/api/health`.
pub const VERSION: &str = "11.6.0";

/// What the double injects into matching requests.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Answer with this status and Grafana's generic body for it.
    Status(u16),
    /// Wait this long before answering normally.
    Delay(Duration),
}

struct Injection {
    method: Method,
    path_prefix: String,
    remaining: u32,
    fault: Fault,
}

struct Stored {
    dashboard: Value,
    version: u64,
    folder_uid: String,
}

#[derive(Default)]
struct Inner {
    folders: BTreeMap<String, String>,
    dashboards: BTreeMap<String, Stored>,
    next_id: u64,
    injections: Vec<Injection>,
    requests: Vec<String>,
    /// The `X-Grafana-Org-Id` header of each request, in order (`None` when absent).
    org_ids: Vec<Option<String>>,
    unhealthy: bool,
    grafana_13: bool,
}

type Shared = Arc<Mutex<Inner>>;

/// A running double.
pub struct GrafanaDouble {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    state: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl GrafanaDouble {
    /// Starts a double on 127.0.0.1, port 0.
    pub async fn start() -> GrafanaDouble {
        let state: Shared = Arc::new(Mutex::new(Inner {
            next_id: 1,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/health", get(health))
            .route("/api/folders", get(list_folders).post(create_folder))
            .route("/api/folders/{uid}", get(get_folder))
            .route("/api/dashboards/db", post(save_dashboard))
            .route("/api/dashboards/uid/{uid}", get(get_dashboard))
            .layer(middleware::from_fn_with_state(state.clone(), gate))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("double serves");
        });
        GrafanaDouble {
            url,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    /// Injects `fault` into the next `count` requests of `method` whose path starts with
    /// `path_prefix`.
    pub fn inject(&self, method: Method, path_prefix: &str, count: u32, fault: Fault) {
        self.state.lock().unwrap().injections.push(Injection {
            method,
            path_prefix: path_prefix.to_string(),
            remaining: count,
            fault,
        });
    }

    /// Makes `/api/health` report a failing database (503).
    pub fn set_unhealthy(&self) {
        self.state.lock().unwrap().unhealthy = true;
    }

    /// Answers version conflicts like Grafana 13 (409) instead of 412.
    pub fn set_grafana_13(&self) {
        self.state.lock().unwrap().grafana_13 = true;
    }

    /// Creates a folder directly.
    pub fn add_folder(&self, uid: &str, title: &str) {
        self.state
            .lock()
            .unwrap()
            .folders
            .insert(uid.to_string(), title.to_string());
    }

    /// `METHOD path` of every request received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The `X-Grafana-Org-Id` header of every request so far, in order.
    pub fn org_ids(&self) -> Vec<Option<String>> {
        self.state.lock().unwrap().org_ids.clone()
    }

    /// How many requests were `METHOD path` exactly.
    pub fn count(&self, request: &str) -> usize {
        self.requests().iter().filter(|r| *r == request).count()
    }

    /// Version and folder of a stored dashboard.
    pub fn stored(&self, uid: &str) -> Option<(u64, String)> {
        let state = self.state.lock().unwrap();
        state
            .dashboards
            .get(uid)
            .map(|s| (s.version, s.folder_uid.clone()))
    }
}

impl Drop for GrafanaDouble {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn reply(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// Logging, fault injection and authentication, in that order.
async fn gate(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let fault = {
        let mut state = state.lock().unwrap();
        state.requests.push(format!("{method} {path}"));
        let org_id = request.headers().get("x-grafana-org-id");
        let org_id = org_id.and_then(|v| v.to_str().ok()).map(str::to_string);
        state.org_ids.push(org_id);
        let injection = state
            .injections
            .iter_mut()
            .find(|i| i.remaining > 0 && i.method == method && path.starts_with(&i.path_prefix));
        injection.map(|i| {
            i.remaining -= 1;
            i.fault
        })
    };
    match fault {
        Some(Fault::Status(status)) => {
            // Grafana's documented bodies for the statuses a save can fail with.
            let body = match status {
                400 => json!({ "message": "bad request data" }),
                409 => {
                    json!({ "message": "Dashboard already exists. Use overwrite flag to update." })
                }
                412 => json!({
                    "message": "The dashboard has been changed by someone else",
                    "status": "version-mismatch",
                }),
                500 if path == "/api/dashboards/db" => {
                    json!({ "message": "Failed to save dashboard" })
                }
                _ => json!({ "message": "Internal Server Error" }),
            };
            return reply(status, body);
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    if path == "/api/health" {
        return next.run(request).await;
    }
    match role(request.headers()) {
        Err((message, message_id)) => reply(
            401,
            json!({ "message": message, "messageId": message_id, "statusCode": 401 }),
        ),
        Ok(Role::Viewer) if method != Method::GET => reply(
            403,
            json!({
                "accessErrorId": "ACE0946184573",
                "message": "You'll need additional permissions to perform this action. Permissions needed: dashboards:create",
                "title": "Access denied",
            }),
        ),
        Ok(_) => next.run(request).await,
    }
}

enum Role {
    Editor,
    Viewer,
}

/// The caller's role, or the 401 `(message, messageId)` Grafana answers with.
fn role(headers: &HeaderMap) -> Result<Role, (&'static str, &'static str)> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(("Unauthorized", "auth.unauthorized"));
    };
    if let Some(token) = value.strip_prefix("Bearer ") {
        return match token {
            TOKEN => Ok(Role::Editor),
            VIEWER_TOKEN => Ok(Role::Viewer),
            _ => Err(("Invalid API key", "api-key.invalid")),
        };
    }
    if let Some(encoded) = value.strip_prefix("Basic ") {
        if encoded == base64(&format!("{USER}:{PASSWORD}")) {
            return Ok(Role::Editor);
        }
        return Err(("Invalid username or password", "password-auth.failed"));
    }
    Err(("Unauthorized", "auth.unauthorized"))
}

/// Standard base64 with padding (RFC 4648), enough to check basic auth.
fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let bytes = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn health(State(state): State<Shared>) -> Response {
    let unhealthy = state.lock().unwrap().unhealthy;
    let database = if unhealthy { "failing" } else { "ok" };
    reply(
        if unhealthy { 503 } else { 200 },
        json!({ "commit": "abc1234", "database": database, "version": VERSION }),
    )
}

fn folder_json(uid: &str, title: &str) -> Value {
    json!({ "uid": uid, "title": title, "url": format!("/dashboards/f/{uid}/") })
}

async fn list_folders(State(state): State<Shared>) -> Response {
    let state = state.lock().unwrap();
    let list: Vec<Value> = state
        .folders
        .iter()
        .map(|(uid, title)| folder_json(uid, title))
        .collect();
    reply(200, Value::Array(list))
}

async fn get_folder(State(state): State<Shared>, Path(uid): Path<String>) -> Response {
    match state.lock().unwrap().folders.get(&uid) {
        Some(title) => reply(200, folder_json(&uid, title)),
        None => reply(
            404,
            json!({ "message": "folder not found", "status": "not-found" }),
        ),
    }
}

async fn create_folder(State(state): State<Shared>, body: Body) -> Response {
    let Some(request) = json_body(body).await else {
        return reply(400, json!({ "message": "bad request data" }));
    };
    let uid = request["uid"].as_str().unwrap_or_default().to_string();
    let title = request["title"].as_str().unwrap_or_default().to_string();
    if title.is_empty() {
        return reply(400, json!({ "message": "folder title cannot be empty" }));
    }
    let mut state = state.lock().unwrap();
    if state.folders.contains_key(&uid) {
        return reply(
            409,
            json!({ "message": "a folder with the same uid already exists" }),
        );
    }
    state.folders.insert(uid.clone(), title.clone());
    reply(200, folder_json(&uid, &title))
}

async fn json_body(body: Body) -> Option<Value> {
    let bytes = axum::body::to_bytes(body, 10 << 20).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn save_dashboard(State(state): State<Shared>, body: Body) -> Response {
    let Some(request) = json_body(body).await else {
        return reply(400, json!({ "message": "bad request data" }));
    };
    let Some(mut dashboard) = request.get("dashboard").filter(|d| d.is_object()).cloned() else {
        return reply(400, json!({ "message": "bad request data" }));
    };
    let title = dashboard["title"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_string();
    if title.is_empty() {
        return reply(
            400,
            json!({ "message": "Dashboard title cannot be empty", "status": "empty-name" }),
        );
    }
    let overwrite = request["overwrite"].as_bool().unwrap_or(false);
    let folder_uid = request["folderUid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut state = state.lock().unwrap();
    if !folder_uid.is_empty() && !state.folders.contains_key(&folder_uid) {
        return reply(400, json!({ "message": "folder not found" }));
    }
    let uid = match dashboard["uid"].as_str() {
        Some(uid) if uid.len() > 40 => {
            return reply(400, json!({ "message": "uid too long, max 40 characters" }));
        }
        Some(uid)
            if !uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            return reply(400, json!({ "message": "uid contains illegal characters" }));
        }
        Some(uid) if !uid.is_empty() => uid.to_string(),
        _ => format!("generated{}", state.next_id),
    };
    let sent_version = dashboard["version"].as_u64().unwrap_or(0);
    let (id, version) = match state.dashboards.get(&uid) {
        Some(stored) => {
            if !overwrite && sent_version != stored.version {
                return if state.grafana_13 {
                    reply(
                        409,
                        json!({ "message": "Dashboard already exists. Use overwrite flag to update." }),
                    )
                } else {
                    reply(
                        412,
                        json!({ "message": "The dashboard has been changed by someone else", "status": "version-mismatch" }),
                    )
                };
            }
            (
                stored.dashboard["id"].as_u64().unwrap_or(0),
                stored.version + 1,
            )
        }
        None => {
            let id = state.next_id;
            state.next_id += 1;
            (id, 1)
        }
    };
    dashboard["id"] = json!(id);
    dashboard["uid"] = json!(uid);
    dashboard["version"] = json!(version);
    state.dashboards.insert(
        uid.clone(),
        Stored {
            dashboard,
            version,
            folder_uid: folder_uid.clone(),
        },
    );
    let slug = slug(&title);
    reply(
        200,
        json!({
            "id": id, "uid": uid, "url": format!("/d/{uid}/{slug}"), "status": "success",
            "version": version, "slug": slug, "folderUid": folder_uid,
        }),
    )
}

async fn get_dashboard(State(state): State<Shared>, Path(uid): Path<String>) -> Response {
    let state = state.lock().unwrap();
    let Some(stored) = state.dashboards.get(&uid) else {
        return reply(404, json!({ "message": "Dashboard not found" }));
    };
    let slug = slug(stored.dashboard["title"].as_str().unwrap_or_default());
    reply(
        200,
        json!({
            "dashboard": stored.dashboard,
            "meta": {
                "type": "db", "canSave": true, "slug": slug,
                "url": format!("/d/{uid}/{slug}"), "version": stored.version,
                "folderUid": stored.folder_uid,
            },
        }),
    )
}

fn slug(title: &str) -> String {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.join("-")
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain), encoded);
        }
    }
}
