//! `grafana::push` against the in-process Grafana double: success, idempotent re-push,
//! and every error case (auth, permissions, folder, conflicts, 5xx, slow answers).

mod support;

use std::time::Duration;

use axum::http::Method;
use catalog::MetricId;
use dashboard_gen::grafana::{
    Action, Auth, Client, FolderAction, PushOptions, PushReport, Settings, push,
};
use dashboard_gen::model::Dashboard;
use dashboard_gen::{Error, Folder, default_folder, generate};
use support::grafana_double::{Fault, GrafanaDouble, PASSWORD, TOKEN, USER, VERSION, VIEWER_TOKEN};

const SAVE: &str = "POST /api/dashboards/db";

fn settings() -> Settings {
    Settings {
        timeout: Duration::from_millis(400),
        attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

fn client(double: &GrafanaDouble, auth: Auth) -> Client {
    Client::new(&double.url, auth, settings()).unwrap()
}

fn options(dry_run: bool) -> PushOptions {
    PushOptions {
        folder: default_folder::<MetricId>(),
        message: "generated from abc1234".to_string(),
        dry_run,
    }
}

/// One generated dashboard (the overview).
fn dashboards() -> Vec<Dashboard> {
    vec![generate::<MetricId>().unwrap().remove(0)]
}

/// Two dashboards, so that a failure of one shows the other is still pushed.
fn two_dashboards() -> Vec<Dashboard> {
    let first = dashboards().remove(0);
    let mut second = first.clone();
    second.uid = format!("{}-copy", first.uid);
    second.title = format!("{} (copy)", first.title);
    vec![first, second]
}

async fn run(client: &Client, dashboards: &[Dashboard], options: &PushOptions) -> PushReport {
    let mut lines = Vec::new();
    let report = push(client, dashboards, options, &mut |line| {
        lines.push(line.to_string())
    })
    .await
    .unwrap();
    for line in &lines {
        assert!(!line.contains(TOKEN) && !line.contains(PASSWORD), "{line}");
    }
    report
}

fn actions(report: &PushReport) -> Vec<Action> {
    report
        .dashboards
        .iter()
        .map(|d| d.result.as_ref().expect("pushed").action)
        .collect()
}

#[tokio::test]
async fn first_push_creates_folder_and_dashboard_then_repush_is_unchanged() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let dashboards = dashboards();
    let uid = dashboards[0].uid.clone();

    let first = run(&client, &dashboards, &options(false)).await;
    assert_eq!(first.grafana_version, VERSION);
    assert_eq!(first.folder, FolderAction::Created);
    assert_eq!(actions(&first), [Action::Created]);
    let pushed = first.dashboards[0].result.as_ref().unwrap();
    assert_eq!(pushed.version, Some(1));
    assert!(
        pushed.url.starts_with(&format!("{}/d/{uid}/", double.url)),
        "{}",
        pushed.url
    );
    assert_eq!(
        double.stored(&uid),
        Some((1, default_folder::<MetricId>().uid))
    );

    let second = run(&client, &dashboards, &options(false)).await;
    assert_eq!(second.folder, FolderAction::Existed);
    assert_eq!(actions(&second), [Action::Unchanged]);
    assert_eq!(
        double.count(SAVE),
        1,
        "unchanged dashboards are not saved again"
    );
    assert_eq!(double.stored(&uid).unwrap().0, 1);
    double.stop().await;
}

#[tokio::test]
async fn an_organization_is_named_on_every_request_and_only_when_asked() {
    let double = GrafanaDouble::start().await;
    let plain = client(&double, Auth::Token(TOKEN.to_string()));
    run(&plain, &dashboards(), &options(true)).await;
    let before = double.org_ids().len();
    assert!(before > 0);
    assert!(double.org_ids().iter().all(Option::is_none));

    let in_org = client(&double, Auth::Token(TOKEN.to_string())).org(7);
    let report = run(&in_org, &dashboards(), &options(false)).await;
    assert_eq!(actions(&report), [Action::Created]);
    let sent = &double.org_ids()[before..];
    assert!(!sent.is_empty());
    assert!(
        sent.iter().all(|org| org.as_deref() == Some("7")),
        "{sent:?}"
    );
    double.stop().await;
}

#[tokio::test]
async fn a_changed_dashboard_is_updated_with_a_new_version() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let mut dashboards = dashboards();
    run(&client, &dashboards, &options(false)).await;

    dashboards[0].refresh = "1m".to_string();
    let report = run(&client, &dashboards, &options(false)).await;
    assert_eq!(actions(&report), [Action::Updated]);
    assert_eq!(
        report.dashboards[0].result.as_ref().unwrap().version,
        Some(2)
    );
    assert_eq!(double.stored(&dashboards[0].uid).unwrap().0, 2);
    double.stop().await;
}

#[tokio::test]
async fn a_dashboard_in_another_folder_is_moved() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let dashboards = dashboards();
    double.add_folder("elsewhere", "Elsewhere");
    let elsewhere = PushOptions {
        folder: Folder {
            uid: "elsewhere".to_string(),
            title: "Elsewhere".to_string(),
        },
        ..options(false)
    };
    run(&client, &dashboards, &elsewhere).await;
    let report = run(&client, &dashboards, &options(false)).await;
    assert_eq!(actions(&report), [Action::Updated]);
    assert_eq!(
        double.stored(&dashboards[0].uid).unwrap().1,
        default_folder::<MetricId>().uid
    );
    double.stop().await;
}

#[tokio::test]
async fn dry_run_writes_nothing_and_says_what_would_change() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let mut dashboards = dashboards();

    let report = run(&client, &dashboards, &options(true)).await;
    assert_eq!(report.folder, FolderAction::WouldCreate);
    assert_eq!(actions(&report), [Action::WouldCreate]);
    assert!(
        double.requests().iter().all(|r| r.starts_with("GET ")),
        "{:?}",
        double.requests()
    );

    run(&client, &dashboards, &options(false)).await;
    dashboards[0].title.push_str(" v2");
    let report = run(&client, &dashboards, &options(true)).await;
    assert_eq!(actions(&report), [Action::WouldUpdate]);
    assert_eq!(double.count(SAVE), 1);
    assert_eq!(double.stored(&dashboards[0].uid).unwrap().0, 1);
    double.stop().await;
}

#[tokio::test]
async fn basic_auth_works_and_a_wrong_password_is_a_401() {
    let double = GrafanaDouble::start().await;
    let good = client(
        &double,
        Auth::Basic {
            user: USER.to_string(),
            password: PASSWORD.to_string(),
        },
    );
    let report = run(&good, &dashboards(), &options(false)).await;
    assert_eq!(actions(&report), [Action::Created]);

    let bad = client(
        &double,
        Auth::Basic {
            user: USER.to_string(),
            password: "wrong".to_string(),
        },
    );
    let error = push(&bad, &dashboards(), &options(false), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Unauthorized { message_id, .. } if message_id == "password-auth.failed"),
        "{error}"
    );
    assert!(!error.to_string().contains("wrong"), "{error}");
    double.stop().await;
}

#[tokio::test]
async fn missing_or_invalid_credentials_are_a_401_naming_the_fix() {
    let double = GrafanaDouble::start().await;
    for (auth, expected) in [
        (Auth::Anonymous, "auth.unauthorized"),
        (
            Auth::Token("glsa_not_a_real_token".to_string()),
            "api-key.invalid",
        ),
    ] {
        let error = push(
            &client(&double, auth),
            &dashboards(),
            &options(false),
            &mut |_| {},
        )
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, Error::Unauthorized { message_id, .. } if message_id == expected),
            "{text}"
        );
        assert!(
            text.contains("GRAFANA_TOKEN") && !text.contains("glsa_not_a_real_token"),
            "{text}"
        );
    }
    double.stop().await;
}

#[tokio::test]
async fn a_viewer_token_gets_403_on_writes() {
    let double = GrafanaDouble::start().await;
    let folder = default_folder::<MetricId>();
    double.add_folder(&folder.uid, &folder.title);
    let client = client(&double, Auth::Token(VIEWER_TOKEN.to_string()));
    let report = run(&client, &dashboards(), &options(false)).await;
    assert_eq!(report.failures(), 1);
    let error = report.dashboards[0].result.as_ref().unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error}");
    assert!(
        error.to_string().contains("additional permissions"),
        "{error}"
    );
    double.stop().await;
}

#[tokio::test]
async fn grafana_400_messages_are_passed_on() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let dashboard = &dashboards()[0];

    let error = client
        .save(dashboard, "no-such-folder", "m")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Rejected { message, .. } if message == "folder not found"),
        "{error}"
    );

    let mut untitled = dashboard.clone();
    untitled.title = String::new();
    let error = client.save(&untitled, "", "m").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Dashboard title cannot be empty"),
        "{error}"
    );
    double.stop().await;
}

#[tokio::test]
async fn conflicts_412_and_409_are_reported_as_conflicts() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    for status in [412, 409] {
        double.inject(Method::POST, "/api/dashboards/db", 1, Fault::Status(status));
        let report = run(&client, &dashboards(), &options(false)).await;
        let error = report.dashboards[0].result.as_ref().unwrap_err();
        assert!(
            matches!(error, Error::Conflict { status: s, .. } if *s == status),
            "{error}"
        );
        assert_eq!(report.failures(), 1);
    }
    double.stop().await;
}

/// The double itself refuses a save without overwrite over another version, as Grafana
/// does (412, or 409 on Grafana 13); the client always overwrites, so it never meets it.
#[tokio::test]
async fn the_double_answers_version_mismatch_without_overwrite() {
    let double = GrafanaDouble::start().await;
    let http = reqwest::Client::new();
    let save = |overwrite: bool| {
        http.post(format!("{}/api/dashboards/db", double.url))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({
                "dashboard": { "uid": "x", "title": "X" }, "overwrite": overwrite,
            }))
            .send()
    };
    assert_eq!(save(false).await.unwrap().status(), 200);
    let conflict = save(false).await.unwrap();
    assert_eq!(conflict.status(), 412);
    assert!(conflict.text().await.unwrap().contains("version-mismatch"));
    double.set_grafana_13();
    assert_eq!(save(false).await.unwrap().status(), 409);
    let overwritten: serde_json::Value = save(true).await.unwrap().json().await.unwrap();
    assert_eq!(overwritten["version"], 2);
    double.stop().await;
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    double.inject(Method::POST, "/api/dashboards/db", 2, Fault::Status(500));
    let report = run(&client, &dashboards(), &options(false)).await;
    assert_eq!(actions(&report), [Action::Created]);
    assert_eq!(double.count(SAVE), 3);
    double.stop().await;
}

#[tokio::test]
async fn persistent_server_errors_fail_one_dashboard_and_the_rest_still_go() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let dashboards = two_dashboards();
    let first_path = format!("/api/dashboards/uid/{}", dashboards[0].uid);
    // All three attempts of the first dashboard's GET fail; the copy comes after them.
    double.inject(Method::GET, &first_path, 3, Fault::Status(502));
    let report = run(&client, &dashboards, &options(false)).await;
    assert_eq!(report.failures(), 1);
    let error = report.dashboards[0].result.as_ref().unwrap_err();
    assert!(
        matches!(
            error,
            Error::Server {
                status: 502,
                attempts: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        report.dashboards[1].result.as_ref().unwrap().action,
        Action::Created
    );
    double.stop().await;
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let double = GrafanaDouble::start().await;
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    double.inject(
        Method::GET,
        "/api/health",
        1,
        Fault::Delay(Duration::from_secs(2)),
    );
    let report = run(&client, &dashboards(), &options(false)).await;
    assert_eq!(actions(&report), [Action::Created]);
    assert_eq!(double.count("GET /api/health"), 2);

    double.inject(
        Method::GET,
        "/api/health",
        3,
        Fault::Delay(Duration::from_secs(2)),
    );
    let error = push(&client, &dashboards(), &options(false), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Unreachable { attempts: 3, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("no answer within"), "{error}");
    double.stop().await;
}

#[tokio::test]
async fn an_unhealthy_grafana_stops_the_push_before_any_write() {
    let double = GrafanaDouble::start().await;
    double.set_unhealthy();
    let client = client(&double, Auth::Token(TOKEN.to_string()));
    let error = push(&client, &dashboards(), &options(false), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Server { status: 503, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("failing"), "{error}");
    assert!(double.requests().iter().all(|r| r == "GET /api/health"));
    double.stop().await;
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(&url, Auth::Token(TOKEN.to_string()), settings()).unwrap();
    let error = client.health().await.unwrap_err();
    assert!(
        matches!(error, Error::Unreachable { attempts: 3, .. }),
        "{error}"
    );
    assert!(!error.to_string().contains(TOKEN));
}

#[test]
fn bad_urls_are_rejected_up_front() {
    for url in ["localhost:3000", "ftp://grafana", "http://grafana?x=1"] {
        let error = Client::new(url, Auth::Anonymous, Settings::default()).unwrap_err();
        assert!(matches!(error, Error::InvalidUrl { .. }), "{url}: {error}");
    }
}

#[test]
fn credentials_never_show_in_debug_output() {
    let token = format!("{:?}", Auth::Token(TOKEN.to_string()));
    let basic = format!(
        "{:?}",
        Auth::Basic {
            user: USER.to_string(),
            password: PASSWORD.to_string()
        }
    );
    assert!(
        !token.contains(TOKEN) && !basic.contains(PASSWORD),
        "{token} {basic}"
    );
}
