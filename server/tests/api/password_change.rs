//! Changing a password: the contract of dj-rest-auth's `password/change/` with the old
//! password required (`docs/api.md`), other sign-ins ended, and the notice really mailed.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::smtp::{free_port, Smtp};
use crate::web::{location, Browser};

const NEW: &str = "amber-xylophone-77";

async fn change(app: &TestApp, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res = app
        .client
        .post(app.url("/api/auth/password/change/"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    status_and_json(res).await
}

fn access(login: &serde_json::Value) -> String {
    login["access"].as_str().unwrap().to_owned()
}

async fn contract_and_sessions(app: TestApp) {
    let here = app.register("pat", "pat@example.com").await;
    let token = access(&here);
    let (status, body) = change(&app, &token, json!({})).await;
    assert_eq!(status, 400);
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["old_password", "new_password1", "new_password2"],
        "{body}"
    );

    // A wrong old password hides every other problem.
    let (status, body) = change(
        &app,
        &token,
        json!({"old_password": "nope", "new_password1": "1", "new_password2": "2"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]})
        )
    );
    let (_, body) = change(
        &app,
        &token,
        json!({"old_password": GOOD_PASSWORD, "new_password1": NEW, "new_password2": "other-one-77"}),
    )
    .await;
    assert_eq!(
        body,
        json!({"new_password2": ["The two password fields didn\u{2019}t match."]})
    );
    let (_, body) = change(
        &app,
        &token,
        json!({"old_password": GOOD_PASSWORD, "new_password1": "1234", "new_password2": "1234"}),
    )
    .await;
    assert_eq!(
        body,
        json!({"new_password2": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric."
        ]})
    );

    // Another sign-in of the same account, and its tokens.
    let elsewhere = app.login("pat", GOOD_PASSWORD).await;
    let (_, elsewhere) = status_and_json(elsewhere).await;
    let (status, body) = change(
        &app,
        &token,
        json!({"old_password": GOOD_PASSWORD, "new_password1": NEW, "new_password2": NEW}),
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"detail": "New password has been saved."}))
    );
    // This sign-in stays; the other one is over, access and refresh tokens alike.
    assert_eq!(
        app.get_with_token("/api/auth/user/", &token).await.status(),
        200
    );
    assert_eq!(
        app.get_with_token("/api/auth/user/", &access(&elsewhere))
            .await
            .status(),
        401
    );
    let res = app
        .post_json(
            "/api/auth/token/refresh/",
            &json!({"refresh": elsewhere["refresh"]}),
        )
        .await;
    assert_eq!(res.status(), 401);
    // The new password signs in; the old one no longer does.
    assert_eq!(app.login("pat", NEW).await.status(), 200);
    assert_eq!(app.login("pat", GOOD_PASSWORD).await.status(), 400);

    // Authentication first, whatever the method; then only POST.
    assert_eq!(app.get("/api/auth/password/change/").await.status(), 401);
    let res = app
        .get_with_token("/api/auth/password/change/", &token)
        .await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS");
}

/// A sign-in ended elsewhere a moment ago (another instance has not told this one yet)
/// cannot change the password.
async fn an_ended_sign_in_cannot_change_it(app: TestApp) {
    let login = app.register("sid", "").await;
    let id = login["user"]["pk"].as_i64().unwrap();
    app.execute(
        "UPDATE token_families SET revoked_at = 1, revoked_reason = 'elsewhere' WHERE user_id = $1",
        id,
    )
    .await;
    let (status, body) = change(
        &app,
        &access(&login),
        json!({"old_password": GOOD_PASSWORD, "new_password1": NEW, "new_password2": NEW}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(app.login("sid", GOOD_PASSWORD).await.status(), 200);
}

async fn from_the_profile_page(app: TestApp) {
    let browser = Browser::new(&app);
    browser
        .sign_up_with_email("quinn", "quinn@example.com")
        .await;
    let other = Browser::new(&app);
    other.sign_in("quinn", None).await;
    assert!(other.page("/profile").await.contains(">quinn<"));

    let res = browser
        .post_form(
            "/profile/password",
            &[
                ("old_password", "wrong"),
                ("new_password1", NEW),
                ("new_password2", NEW),
            ],
        )
        .await;
    assert_eq!(location(&res), "/profile");
    let page = browser.page("/profile").await;
    assert!(
        page.contains("Your old password was entered incorrectly."),
        "{page}"
    );
    assert!(!page.contains(NEW), "a password is never shown again");

    let res = browser
        .post_form(
            "/profile/password",
            &[
                ("old_password", GOOD_PASSWORD),
                ("new_password1", NEW),
                ("new_password2", NEW),
            ],
        )
        .await;
    assert_eq!(location(&res), "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains("Your password was changed."), "{page}");
    // The other browser was signed out.
    let res = other.get("/profile").await;
    assert_eq!(res.status(), 303);
}

crate::on_both_databases!(
    contract_and_sessions,
    an_ended_sign_in_cannot_change_it,
    from_the_profile_page
);

#[tokio::test]
async fn the_notice_is_mailed_over_smtp() {
    let smtp = Smtp::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.email_url = Some(url);
        s.email_from = "Acme Auth <auth@acme.example>".into();
        s.site_name = "Acme".into();
        // Only the notice, no verification link at sign-up.
        s.account_email_verification = backend::config::EmailVerification::None;
    })
    .await;
    let login = app.register("rita", "Rita@Example.com").await;
    let (status, _) = change(
        &app,
        &access(&login),
        json!({"old_password": GOOD_PASSWORD, "new_password1": NEW, "new_password2": NEW}),
    )
    .await;
    assert_eq!(status, 200);
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let mail = &messages[0];
    assert!(mail.contains("To: Rita@Example.com"), "{mail}");
    assert!(
        mail.contains("From: \"Acme Auth\" <auth@acme.example>")
            || mail.contains("From: Acme Auth <auth@acme.example>"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: [Acme] Your password was changed"),
        "{mail}"
    );
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("{}/password-reset", app.address)),
        "{mail}"
    );
    // Delivered rows keep no body (it may hold links).
    let sql = "SELECT text_body FROM mail_outbox WHERE status = 'sent'";
    let bodies: Vec<(String,)> = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap();
    assert_eq!(bodies, [(String::new(),)]);
}

fn message(i: usize) -> backend::mail::Message {
    backend::mail::Message {
        to: format!("user{i}@example.com"),
        subject: format!("message {i}"),
        text: format!("body {i}"),
        html: format!("<p>body {i}</p>"),
    }
}

/// Two instances on one PostgreSQL database share one outbox: every message goes out
/// exactly once.
#[tokio::test]
async fn two_instances_send_each_message_once() {
    let smtp = Smtp::start();
    let url = smtp.url();
    let first = TestApp::spawn_with(Engine::Postgres, {
        let url = url.clone();
        move |s| s.email_url = Some(url)
    })
    .await;
    let database_url = first.state.config.database_url.clone();
    let second = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.email_url = Some(url);
        s.database_url = Some(database_url);
    })
    .await;
    for i in 0..30 {
        backend::mail::outbox::enqueue(&first.state.db, &message(i))
            .await
            .unwrap();
    }
    first.state.mailer.wake();
    second.state.mailer.wake();
    let received = smtp.wait_for(30, Duration::from_secs(20)).await;
    // A moment more, for any duplicate to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = smtp.messages().len().max(received.len());
    assert_eq!(received, 30);
    let mut subjects: Vec<String> = smtp
        .messages()
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 30);
}

/// A mail server that is down delays mail; it loses none.
#[tokio::test]
async fn mail_waits_for_the_server_to_come_back() {
    let port = free_port();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.email_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    backend::mail::outbox::enqueue(&app.state.db, &message(1))
        .await
        .unwrap();
    app.state.mailer.wake();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let smtp = Smtp::start_on(port);
    // The first retry comes 5 s after the failure.
    let received = smtp.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1);
    assert!(received[0].contains("Subject: message 1"));
}

/// With mail switched off an instance claims nothing: queued messages wait for one that
/// can send them (a rollout that switches mail on instance by instance loses nothing).
#[tokio::test]
async fn with_mail_off_nothing_is_claimed() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.email_url = Some("none".into())).await;
    backend::mail::outbox::enqueue(&app.state.db, &message(1))
        .await
        .unwrap();
    app.state.mailer.wake();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sql = "SELECT status FROM mail_outbox";
    let rows: Vec<(String,)> = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap();
    assert_eq!(rows, [("pending".to_owned(),)]);
}
