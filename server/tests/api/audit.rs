//! Security activity: events written for sign-ins, failures, sign-outs, ended sign-ins,
//! reuse, rate limits, password changes, linking and (de)activation; listed to their owner
//! only, a page at a time; none written when the change rolls back; pruned by age.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    sign_in_events_are_recorded_and_listed,
    events_are_paginated_and_private,
    admin_commands_are_recorded,
);

async fn events(app: &TestApp, access: &Value, query: &str) -> (u16, Value) {
    status_and_json(
        app.get_with_token(
            &format!("/api/auth/events/{query}"),
            access.as_str().unwrap(),
        )
        .await,
    )
    .await
}

fn pk(login: &Value) -> i64 {
    login["user"]["pk"].as_i64().unwrap()
}

async fn sign_in_events_are_recorded_and_listed(app: TestApp) {
    let first = app.register("ann", "").await;
    let id = pk(&first);
    // A wrong password on the account, and a name that is nobody's.
    assert_eq!(app.login("ann", "not-her-password").await.status(), 400);
    assert_eq!(
        app.login("nobody-at-all", GOOD_PASSWORD).await.status(),
        400
    );
    let second: Value = app.login("ann", GOOD_PASSWORD).await.json().await.unwrap();
    let third: Value = app.login("ann", GOOD_PASSWORD).await.json().await.unwrap();

    // End one sign-in from another, then every other one, then sign out.
    let (_, list) = status_and_json(
        app.get_with_token("/api/auth/sessions/", second["access"].as_str().unwrap())
            .await,
    )
    .await;
    let third_sid = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .find(|sid| {
            // The third sign-in: its token's `sid`.
            let claims = app
                .state
                .tokens
                .codec()
                .decode(
                    third["access"].as_str().unwrap(),
                    chrono::Utc::now().timestamp(),
                )
                .unwrap();
            *sid == claims.sid
        })
        .unwrap();
    let res = app
        .client
        .delete(app.url(&format!("/api/auth/sessions/{third_sid}/")))
        .bearer_auth(second["access"].as_str().unwrap())
        .header("x-request-id", "req-ended-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .post(app.url("/api/auth/sessions/revoke-others/"))
        .bearer_auth(second["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(
            "/api/auth/password/change/",
            &json!({"old_password": "wrong", "new_password1": "x", "new_password2": "x"}),
        )
        .await;
    assert_eq!(res.status(), 401, "anonymous");
    let res = app
        .client
        .post(app.url("/api/auth/password/change/"))
        .bearer_auth(second["access"].as_str().unwrap())
        .json(&json!({
            "old_password": GOOD_PASSWORD,
            "new_password1": "a-brand-new-passphrase-3",
            "new_password2": "a-brand-new-passphrase-3",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post_json("/api/auth/logout/", &json!({"refresh": second["refresh"]}))
        .await;
    assert_eq!(res.status(), 200);

    assert_eq!(
        app.event_kinds(Some(id)).await,
        [
            "signed_out",
            "password_changed",
            "other_sign_ins_ended",
            "sign_in_ended",
            "signed_in",
            "signed_in",
            "sign_in_failed",
            "signed_in",
        ]
    );
    let all = app.events(Some(id)).await;
    assert_eq!(all[2].1.as_deref(), Some("1"), "one other sign-in ended");
    assert_eq!(all[6].1.as_deref(), Some("bad_credentials"));
    assert_eq!(all[7].1.as_deref(), Some("registration"));
    // The unknown name's failure is kept without an account, and without the name.
    let anonymous = app.events(None).await;
    assert_eq!(
        anonymous,
        [(
            "sign_in_failed".to_owned(),
            Some("bad_credentials".to_owned())
        )]
    );

    // The owner reads them through the API (signed in again with the new password).
    let res = app.login("ann", "a-brand-new-passphrase-3").await;
    let fourth: Value = res.json().await.unwrap();
    let (status, page) = events(&app, &fourth["access"], "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next"], Value::Null);
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 9);
    assert_eq!(results[0]["kind"], "signed_in");
    assert_eq!(results[0]["detail"], "password");
    assert_eq!(results[0]["ip"], "127.0.0.1");
    assert_eq!(results[0]["user_agent"], Value::Null);
    assert!(results[0]["session_id"].is_string());
    let at = results[0]["at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'));
    let ended = results
        .iter()
        .find(|e| e["kind"] == "sign_in_ended")
        .unwrap();
    assert_eq!(ended["session_id"], third_sid.as_str());
    // The request id is kept for the log search, not shown.
    let row: (Option<String>,) = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => {
            sqlx::query_as("SELECT request_id FROM audit_events WHERE kind = 'sign_in_ended'")
                .fetch_one(pool)
                .await
        }
        backend::Db::Postgres(pool) => {
            sqlx::query_as("SELECT request_id FROM audit_events WHERE kind = 'sign_in_ended'")
                .fetch_one(pool)
                .await
        }
    }
    .unwrap();
    assert_eq!(row.0.as_deref(), Some("req-ended-42"));
    // Nothing in any event is a secret.
    let dump = format!("{:?}", app.events(Some(id)).await);
    assert!(!dump.contains(GOOD_PASSWORD) && !dump.contains("not-her-password"));
    assert!(!format!("{page}").contains("nobody-at-all"));
}

async fn events_are_paginated_and_private(app: TestApp) {
    let login = app.register("pag", "").await;
    let other = app.register("oth", "").await;
    for _ in 0..24 {
        assert_eq!(app.login("pag", "wrong-password").await.status(), 400);
    }
    // 1 sign-in + 24 failures = 25 events: a page of 20, then one of 5.
    let (status, first) = events(&app, &login["access"], "").await;
    assert_eq!(status, 200);
    assert_eq!(first["results"].as_array().unwrap().len(), 20);
    let next = first["next"].as_str().unwrap();
    let prefix = format!("{}/api/auth/events/", app.state.config.public_url);
    let query = next.strip_prefix(&prefix).unwrap();
    let (status, second) = events(&app, &login["access"], query).await;
    assert_eq!(status, 200);
    let second_results = second["results"].as_array().unwrap();
    assert_eq!(second_results.len(), 5);
    assert_eq!(second["next"], Value::Null);
    assert_eq!(second_results[4]["kind"], "signed_in");

    // A cursor that is not ours to read: DRF's 404.
    for bad in ["?cursor=abc", "?cursor=-3", "?cursor=1e9", "?cursor=%ZZ"] {
        let (status, body) = events(&app, &login["access"], bad).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Invalid cursor"})),
            "{bad}"
        );
    }
    // The other account sees only its own sign-in.
    let (_, theirs) = events(&app, &other["access"], "").await;
    assert_eq!(theirs["results"].as_array().unwrap().len(), 1);
    // Anonymous: 401.
    assert_eq!(app.get("/api/auth/events/").await.status(), 401);
}

async fn admin_commands_are_recorded(app: TestApp) {
    let login = app.register("adm", "").await;
    let id = pk(&login);
    backend::accounts::set_active(&app.state.db, "adm", false)
        .await
        .unwrap()
        .unwrap();
    backend::accounts::set_active(&app.state.db, "ADM", true)
        .await
        .unwrap()
        .unwrap();
    let events = app.events(Some(id)).await;
    assert_eq!(
        events[..2],
        [
            (
                "account_activated".to_owned(),
                Some("admin command".to_owned())
            ),
            (
                "account_deactivated".to_owned(),
                Some("admin command".to_owned())
            ),
        ]
    );
}

/// A refresh token replayed after the grace window: the sign-in ends, and it is recorded.
#[tokio::test]
async fn refresh_token_reuse_is_recorded() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.jwt_refresh_reuse_grace = 0).await;
    let login = app.register("reu", "").await;
    let body = json!({"refresh": login["refresh"]});
    let refresh = || app.post_json("/api/auth/token/refresh/", &body);
    assert_eq!(refresh().await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(refresh().await.status(), 401);
    assert_eq!(
        app.event_kinds(Some(pk(&login))).await[0],
        "refresh_token_reuse"
    );
}

/// A flood of refused sign-ins on one account, from many addresses (each within its own
/// budget), is one event a minute on the account, not one per request.
#[tokio::test]
async fn rate_limit_refusals_are_recorded_once_a_minute() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.rate_limit_enabled = true;
        s.rate_limit_login_per_minute = 2;
        s.trusted_proxies = Some(vec!["127.0.0.1".into()]);
    })
    .await;
    let login = app.register("flood", "").await;
    let mut refused = 0;
    for i in 0..6 {
        let res = app
            .client
            .post(app.url("/api/auth/login/"))
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .json(&json!({"username": "flood", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            refused += 1;
        }
    }
    assert_eq!(refused, 4, "the account's budget of 2 a minute");
    let kinds = app.event_kinds(Some(pk(&login))).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "rate_limited").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "sign_in_failed").count(),
        2,
        "{kinds:?}"
    );
    // An unknown name's refusals are recorded the same way, without an account, so that
    // the refusal takes as long whether or not the name exists.
    for i in 0..4 {
        app.client
            .post(app.url("/api/auth/login/"))
            .header("x-forwarded-for", format!("10.0.1.{i}"))
            .json(&json!({"username": "nobody-here", "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
    }
    let anonymous = app.event_kinds(None).await;
    assert_eq!(
        anonymous.iter().filter(|k| *k == "rate_limited").count(),
        1,
        "{anonymous:?}"
    );
}

/// A change whose transaction rolls back leaves no event: a password change through an
/// instance that has not yet heard its sign-in was ended is refused in the transaction.
#[tokio::test]
async fn no_event_without_its_change() {
    let first = TestApp::spawn(Engine::Postgres).await;
    let second = TestApp::spawn_beside(&first, |s| s.revocation_sync_interval_ms = 3_600_000).await;
    let stale = first.register("rol", "").await;
    let keeper: Value = first
        .login("rol", GOOD_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    // The second instance accepts the stale token before it is ended, and keeps doing so.
    assert_eq!(
        second
            .get_with_token("/api/auth/user/", stale["access"].as_str().unwrap())
            .await
            .status(),
        200
    );
    let res = first
        .client
        .post(first.url("/api/auth/sessions/revoke-others/"))
        .bearer_auth(keeper["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let before = first.event_kinds(Some(pk(&stale))).await;
    let res = second
        .client
        .post(second.url("/api/auth/password/change/"))
        .bearer_auth(stale["access"].as_str().unwrap())
        .json(&json!({
            "old_password": GOOD_PASSWORD,
            "new_password1": "a-brand-new-passphrase-3",
            "new_password2": "a-brand-new-passphrase-3",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "refused inside the transaction");
    assert_eq!(first.event_kinds(Some(pk(&stale))).await, before);
    assert_eq!(first.login("rol", GOOD_PASSWORD).await.status(), 200);
}

/// Events older than `AUDIT_RETENTION_DAYS` are deleted.
#[tokio::test]
async fn old_events_are_pruned() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let login = app.register("old", "").await;
    app.execute(
        "UPDATE audit_events SET at = at - 400 * 86400 WHERE user_id = $1",
        pk(&login),
    )
    .await;
    app.login("old", GOOD_PASSWORD).await;
    let now = chrono::Utc::now().timestamp();
    let pruned = backend::audit::prune(&app.state.db, now, 365)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(app.event_kinds(Some(pk(&login))).await, ["signed_in"]);
}
