//! The account lifecycle by mail (contract section 10, with section 11's differences):
//! password reset, address verification (every `ACCOUNT_EMAIL_VERIFICATION` mode), resend,
//! address change, on both engines.
//!
//! The apps here send to an SMTP port nobody listens on, so every message stays in the
//! outbox with its body and the tests read their links there; `smtp.rs`-backed tests (here
//! and in `password_change.rs`) show the same mail really leaving over SMTP.

use std::time::Duration;

use backend::config::EmailVerification;
use backend::config::Settings;
use serde_json::{json, Value};

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::smtp::{free_port, Smtp};
use crate::web::{location, Browser};

const NEW: &str = "amber-xylophone-77";

/// Mail to a closed port: nothing is delivered, every body stays readable in the outbox.
fn undeliverable(s: &mut Settings) {
    s.email_url = Some(format!("smtp://127.0.0.1:{}", free_port()));
}

#[derive(Debug, Clone)]
struct Mail {
    to: String,
    subject: String,
    text: String,
}

async fn outbox(app: &TestApp) -> Vec<Mail> {
    let sql = "SELECT recipient, subject, text_body FROM mail_outbox ORDER BY id";
    let rows: Vec<(String, String, String)> = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap();
    rows.into_iter()
        .map(|(to, subject, text)| Mail { to, subject, text })
        .collect()
}

/// The messages whose subject contains `subject`, once there are `n` (reset requests are
/// carried out after the answer).
async fn mails(app: &TestApp, subject: &str, n: usize) -> Vec<Mail> {
    for _ in 0..100 {
        let found: Vec<Mail> = outbox(app)
            .await
            .into_iter()
            .filter(|m| m.subject.contains(subject))
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "fewer than {n} messages about {subject:?}: {:?}",
        outbox(app).await
    );
}

/// The path of the link in `mail` that starts with `prefix` (after `PUBLIC_URL`).
fn link(app: &TestApp, mail: &Mail, prefix: &str) -> String {
    let start = format!("{}{prefix}", app.state.config.public_url);
    let line = mail
        .text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no {start} link in {}", mail.text));
    line[app.state.config.public_url.len()..].to_owned()
}

/// `uid` and `token` of a reset link's path.
fn uid_and_token(path: &str) -> (String, String) {
    let rest = path.strip_prefix("/password-reset/confirm/").unwrap();
    let mut parts = rest.trim_end_matches('/').split('/');
    (
        parts.next().unwrap().to_owned(),
        parts.next().unwrap().to_owned(),
    )
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    status_and_json(app.post_json(path, &body).await).await
}

const RESET: &str = "/api/auth/password/reset/";
const CONFIRM: &str = "/api/auth/password/reset/confirm/";
const VERIFY: &str = "/api/auth/register/verify-email/";
const RESEND: &str = "/api/auth/register/resend-email/";
const RESET_SENT: &str = "Password reset e-mail has been sent.";

async fn reset_link(app: &TestApp, email: &str, n: usize) -> (String, String) {
    let (status, body) = post(app, RESET, json!({ "email": email })).await;
    assert_eq!((status, body), (200, json!({ "detail": RESET_SENT })));
    let mail = mails(app, "Reset your password", n).await.pop().unwrap();
    uid_and_token(&link(app, &mail, "/password-reset/confirm/"))
}

async fn reset_contract(app: TestApp) {
    // Field errors, as captured.
    for (body, message) in [
        (json!({}), "This field is required."),
        (json!({"email": ""}), "This field may not be blank."),
        (
            json!({"email": "not-an-address"}),
            "Enter a valid email address.",
        ),
    ] {
        let (status, answer) = post(&app, RESET, body).await;
        assert_eq!((status, answer), (400, json!({ "email": [message] })));
    }

    let here = app.register("alice", "alice@example.com").await;
    let elsewhere = status_and_json(app.login("alice", GOOD_PASSWORD).await)
        .await
        .1;
    let id = here["user"]["pk"].as_i64().unwrap();
    app.register("ivan", "ivan@example.com").await;
    app.execute(
        "UPDATE users SET is_active = FALSE WHERE username = 'ivan' AND id > $1",
        0,
    )
    .await;

    // Known (typed in capitals), unknown and inactive addresses: one answer.
    for email in [
        "ALICE@example.com",
        "nobody@example.com",
        "ivan@example.com",
    ] {
        let (status, body) = post(&app, RESET, json!({ "email": email })).await;
        assert_eq!(
            (status, body),
            (200, json!({ "detail": RESET_SENT })),
            "{email}"
        );
    }
    let sent = mails(&app, "Reset your password", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_now = mails(&app, "Reset your password", 1).await;
    assert_eq!(
        sent.len(),
        1,
        "only the active account's address gets a link"
    );
    assert_eq!(sent_now.len(), 1);
    // To the stored address, never to the address as typed; the link from PUBLIC_URL.
    assert_eq!(sent[0].to, "alice@example.com");
    let path = link(&app, &sent[0], "/password-reset/confirm/");
    let (uid, token) = uid_and_token(&path);
    assert!(path.ends_with('/'), "{path}");
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    assert!(sent[0].text.contains("alice"), "{}", sent[0].text);

    // Opening the link spends nothing: the mailed path leads to the page, which renders
    // the form.
    let res = app.get(&path).await;
    assert_eq!(res.status(), 303);
    let page_path = location(&res).to_owned();
    let page = app.get(&page_path).await.text().await.unwrap();
    assert!(page.contains("reset-confirm-form"), "{page}");

    // Missing fields, in the captured order.
    let (status, body) = post(&app, CONFIRM, json!({})).await;
    assert_eq!(status, 400);
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["new_password1", "new_password2", "uid", "token"]);

    // Any bad pair: one message, whichever half is wrong.
    let invalid = json!({"token": ["Invalid value"]});
    let other_uid = backend::accounts::uid_of(id + 1);
    for (uid, token) in [
        (other_uid.as_str(), token.as_str()),
        ("0", token.as_str()),
        (&format!("0{uid}"), token.as_str()),
        (&format!("{uid}0"), token.as_str()),
        (uid.as_str(), "nope"),
        (uid.as_str(), &token.to_uppercase()),
    ] {
        let (status, body) = post(
            &app,
            CONFIRM,
            json!({"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}),
        )
        .await;
        assert_eq!((status, &body), (400, &invalid), "{uid} {token}");
    }
    // Then the passwords, under new_password2.
    let (_, body) = post(
        &app,
        CONFIRM,
        json!({"uid": uid, "token": token, "new_password1": NEW, "new_password2": "other-77"}),
    )
    .await;
    assert_eq!(
        body,
        json!({"new_password2": ["The two password fields didn\u{2019}t match."]})
    );
    let (_, body) = post(
        &app,
        CONFIRM,
        json!({"uid": uid, "token": token, "new_password1": "1234", "new_password2": "1234"}),
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

    let (status, body) = post(
        &app,
        CONFIRM,
        json!({"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"detail": "Password has been reset with the new password."})
        )
    );
    // Single use.
    let (status, body) = post(
        &app,
        CONFIRM,
        json!({"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}),
    )
    .await;
    assert_eq!((status, body), (400, invalid));
    // Every sign-in is over (section 11), access and refresh tokens alike.
    for login in [&here, &elsewhere] {
        let access = login["access"].as_str().unwrap();
        assert_eq!(
            app.get_with_token("/api/auth/user/", access).await.status(),
            401
        );
        let res = app
            .post_json(
                "/api/auth/token/refresh/",
                &json!({"refresh": login["refresh"]}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(app.login("alice", NEW).await.status(), 200);
    assert_eq!(app.login("alice", GOOD_PASSWORD).await.status(), 400);
    // And the address is told.
    let notices = mails(&app, "Your password was changed", 1).await;
    assert_eq!(notices[0].to, "alice@example.com");
    assert!(notices[0].text.contains("/password-reset"));

    // POST only; a bad Bearer header is refused even here.
    let res = app.get(RESET).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS");
    let res = app
        .client
        .post(app.url(RESET))
        .bearer_auth("not-a-token")
        .json(&json!({"email": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

/// A reset link dies with a newer one, with any password change, and with time.
async fn reset_links_die(app: TestApp) {
    let login = app.register("bert", "bert@example.com").await;
    let first = reset_link(&app, "bert@example.com", 1).await;
    let second = reset_link(&app, "bert@example.com", 2).await;
    assert_ne!(first, second);
    let confirm = |(uid, token): (String, String)| json!({"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW});
    let invalid = json!({"token": ["Invalid value"]});
    assert_eq!(
        post(&app, CONFIRM, confirm(first)).await,
        (400, invalid.clone())
    );

    // A password change (here through the API) ends the outstanding link.
    let res = app
        .client
        .post(app.url("/api/auth/password/change/"))
        .bearer_auth(login["access"].as_str().unwrap())
        .json(&json!({"old_password": GOOD_PASSWORD, "new_password1": NEW, "new_password2": NEW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        post(&app, CONFIRM, confirm(second)).await,
        (400, invalid.clone())
    );

    // Signing in does not (section 11).
    let third = reset_link(&app, "bert@example.com", 3).await;
    assert_eq!(app.login("bert", NEW).await.status(), 200);
    let (status, _) = post(&app, CONFIRM, confirm(third)).await;
    assert_eq!(status, 200);

    // Expired.
    let fourth = reset_link(&app, "bert@example.com", 4).await;
    app.execute("UPDATE account_tokens SET expires_at = $1", 1)
        .await;
    assert_eq!(post(&app, CONFIRM, confirm(fourth)).await, (400, invalid));
    // The link's page says so, before anyone types a password.
    let fifth = reset_link(&app, "bert@example.com", 5).await;
    app.execute("UPDATE account_tokens SET expires_at = $1", 1)
        .await;
    let page = app
        .get(&format!("/password-reset/confirm/{}/{}", fifth.0, fifth.1))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("link-invalid"), "{page}");
}

async fn verification_contract(app: TestApp) {
    let login = app.register("vera", "vera@example.com").await;
    assert!(login["access"].is_string(), "optional: signed in at once");
    let mail = mails(&app, "confirm your e-mail address", 1)
        .await
        .remove(0);
    assert_eq!(mail.to, "vera@example.com");
    let path = link(&app, &mail, "/verify-email/");
    let key = path
        .trim_start_matches("/verify-email/")
        .trim_end_matches('/')
        .to_owned();

    // Opening the link renders a button and verifies nothing.
    let res = app.get(path.trim_end_matches('/')).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("verify-form"));
    assert!(!verified(&app, "vera").await);

    let (status, body) = post(&app, VERIFY, json!({})).await;
    assert_eq!(
        (status, body),
        (400, json!({"key": ["This field is required."]}))
    );
    for bad in [
        json!("nope"),
        json!(key.to_uppercase()),
        json!(&key[..20]),
        json!(12),
    ] {
        let (status, body) = post(&app, VERIFY, json!({ "key": bad })).await;
        assert_eq!(
            (status, body),
            (404, json!({"detail": "Not found."})),
            "{bad}"
        );
    }
    let res = app.get(VERIFY).await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS, HEAD");
    assert_eq!(
        app.client
            .head(app.url(VERIFY))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );

    let (status, body) = post(&app, VERIFY, json!({ "key": key })).await;
    assert_eq!((status, body), (200, json!({"detail": "ok"})));
    assert!(verified(&app, "vera").await);
    let (status, _) = post(&app, VERIFY, json!({ "key": key })).await;
    assert_eq!(status, 404, "single use");

    // Resend: the address is required (section 11); every address hears "ok"; only an
    // unverified one gets mail.
    let (status, body) = post(&app, RESEND, json!({})).await;
    assert_eq!(
        (status, body),
        (400, json!({"email": ["This field is required."]}))
    );
    app.register("walt", "walt@example.com").await;
    mails(&app, "confirm your e-mail address", 2).await;
    for email in ["vera@example.com", "nobody@example.com", "WALT@example.com"] {
        let (status, body) = post(&app, RESEND, json!({ "email": email })).await;
        assert_eq!((status, body), (200, json!({"detail": "ok"})), "{email}");
    }
    let links = mails(&app, "confirm your e-mail address", 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let links_now = mails(&app, "confirm your e-mail address", 3).await;
    assert_eq!(links.len(), 3);
    assert_eq!(links_now.len(), 3, "only walt's address got a new link");
    assert_eq!(links[2].to, "walt@example.com");
    // Both of walt's links work until one is followed.
    let newer = link(&app, &links[2], "/verify-email/");
    let key = newer
        .trim_start_matches("/verify-email/")
        .trim_end_matches('/');
    assert_eq!(post(&app, VERIFY, json!({ "key": key })).await.0, 200);
}

async fn verified(app: &TestApp, username: &str) -> bool {
    let sql = "SELECT email_verified FROM users WHERE username = $1";
    let row: (bool,) = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => {
            sqlx::query_as(sql).bind(username).fetch_one(pool).await
        }
        backend::Db::Postgres(pool) => sqlx::query_as(sql).bind(username).fetch_one(pool).await,
    }
    .unwrap();
    row.0
}

/// `mandatory`: no tokens at sign-up, no sign-in before the link, and sign-up reveals no
/// address (section 10's table, and the no-enumeration rule).
async fn mandatory_verification(app: TestApp) {
    let register = |username: &str, email: Option<&str>| {
        let mut body = json!({
            "username": username,
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        });
        if let Some(email) = email {
            body["email"] = email.into();
        }
        body
    };
    let (status, body) = post(&app, "/api/auth/register/", register("nell", None)).await;
    assert_eq!(
        (status, body),
        (400, json!({"email": ["This field is required."]}))
    );
    let sent = json!({"detail": "Verification e-mail sent."});
    let (status, body) = post(
        &app,
        "/api/auth/register/",
        register("nell", Some("nell@example.com")),
    )
    .await;
    assert_eq!((status, &body), (201, &sent));

    // The password first; then the address.
    let bad = status_and_json(app.login("nell", "wrong-password-1").await).await;
    assert_eq!(
        bad,
        (
            400,
            json!({"non_field_errors": ["Unable to log in with provided credentials."]})
        )
    );
    let unverified = status_and_json(app.login("nell", GOOD_PASSWORD).await).await;
    assert_eq!(
        unverified,
        (
            400,
            json!({"non_field_errors": ["E-mail is not verified."]})
        )
    );

    // Someone else signs up with nell's address: the very same answer; nell is told.
    let (status, body) = post(
        &app,
        "/api/auth/register/",
        register("mallory", Some("NELL@example.com")),
    )
    .await;
    assert_eq!((status, &body), (201, &sent));
    let note = mails(&app, "Your address was used to sign up", 1)
        .await
        .remove(0);
    assert_eq!(note.to, "nell@example.com");
    assert!(note.text.contains("/password-reset"), "{}", note.text);
    assert_eq!(app.login("mallory", GOOD_PASSWORD).await.status(), 400);

    let mail = mails(&app, "confirm your e-mail address", 1)
        .await
        .remove(0);
    let path = link(&app, &mail, "/verify-email/");
    let key = path
        .trim_start_matches("/verify-email/")
        .trim_end_matches('/');
    assert_eq!(post(&app, VERIFY, json!({ "key": key })).await.0, 200);
    assert_eq!(app.login("nell", GOOD_PASSWORD).await.status(), 200);
}

/// Reset and resend are limited per address (whether or not it has an account) and per
/// client IP, with 429 and `Retry-After`.
async fn mail_requests_are_rate_limited(app: TestApp) {
    // The verification mail at sign-up spent one of known's two.
    app.register("known", "known@example.com").await;
    for (address, left) in [("known@example.com", 1), ("unknown@example.com", 2)] {
        for _ in 0..left {
            assert_eq!(post(&app, RESET, json!({ "email": address })).await.0, 200);
        }
        let res = app.post_json(RESET, &json!({ "email": address })).await;
        assert_eq!(res.status(), 429, "{address}");
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=1800).contains(&wait), "{wait}");
        // Resend counts against the same budget.
        assert_eq!(
            app.post_json(RESEND, &json!({ "email": address }))
                .await
                .status(),
            429
        );
    }
}

/// The address change, from the profile: a link to the new address, the change on
/// confirming it, the old address told; an address of another account hears the same
/// and its owner is told instead.
async fn email_change_from_the_profile(app: TestApp) {
    app.register("owner", "owner@example.com").await;
    let browser = Browser::new(&app);
    browser
        .sign_up_with_email("mover", "mover@example.com")
        .await;

    // The password is required, and checked.
    let res = browser
        .post_form(
            "/profile/email",
            &[("email", "mover@new.example"), ("password", "wrong")],
        )
        .await;
    assert_eq!(location(&res), "/profile");
    let page = browser.page("/profile").await;
    assert!(
        page.contains("Your password was entered incorrectly."),
        "{page}"
    );

    for (address, tells) in [
        ("mover@new.example", "mover@new.example"),
        ("OWNER@example.com", "owner@example.com"),
    ] {
        let res = browser
            .post_form(
                "/profile/email",
                &[("email", address), ("password", GOOD_PASSWORD)],
            )
            .await;
        assert_eq!(location(&res), "/profile");
        let page = browser.page("/profile").await;
        assert!(
            page.contains(&format!("We sent a link to {address}.")),
            "{page}"
        );
        assert!(outbox(&app).await.iter().any(|m| m.to == tells), "{tells}");
    }
    let note = mails(&app, "Someone tried to use your address", 1)
        .await
        .remove(0);
    assert_eq!(note.to, "owner@example.com");
    // The current address heard of both requests at once, the taken address's as well.
    let requested = mails(&app, "A change of your e-mail address was requested", 2).await;
    assert!(
        requested.iter().all(|m| m.to == "mover@example.com"),
        "{requested:?}"
    );

    // Nothing changes until the new address follows its link.
    assert!(browser.page("/profile").await.contains("mover@example.com"));
    let mail = mails(&app, "confirm your e-mail address", 3)
        .await
        .into_iter()
        .find(|m| m.to == "mover@new.example")
        .unwrap();
    let path = link(&app, &mail, "/verify-email/");
    let page = browser.page(path.trim_end_matches('/')).await;
    assert!(page.contains("verify-form"), "{page}");
    let res = browser.post_form(path.trim_end_matches('/'), &[]).await;
    assert_eq!(location(&res), "/profile");
    let page = browser.page("/profile").await;
    assert!(
        page.contains("Your account&#x27;s address is now mover@new.example.")
            || page.contains("Your account's address is now mover@new.example."),
        "{page}"
    );
    assert!(page.contains("email-verified"), "{page}");
    let told = mails(&app, "Your e-mail address was changed", 1)
        .await
        .remove(0);
    assert_eq!(told.to, "mover@example.com");
    // The old address no longer signs in; the new one does.
    assert_eq!(
        app.login("mover@example.com", GOOD_PASSWORD).await.status(),
        400
    );
    assert_eq!(
        app.login("mover@new.example", GOOD_PASSWORD).await.status(),
        200
    );
}

/// The "Forgot password?" pages, without JavaScript: the same sentence for every address,
/// and the link's form.
async fn reset_from_the_web(app: TestApp) {
    app.register("wendy", "wendy@example.com").await;
    let browser = Browser::new(&app);
    let page = browser.page("/signin").await;
    assert!(page.contains("href=\"/password-reset\""), "{page}");
    let mut answers = Vec::new();
    for address in ["wendy@example.com", "nobody@example.com"] {
        let res = browser
            .post_form("/password-reset", &[("email", address)])
            .await;
        assert_eq!(location(&res), "/password-reset");
        let page = browser.page("/password-reset").await;
        let sentence = page
            .split("data-testid=\"form-notice\"")
            .nth(1)
            .and_then(|rest| rest.split_once('>'))
            .and_then(|(_, rest)| rest.split('<').next())
            .unwrap_or_else(|| panic!("{page}"))
            .to_owned();
        answers.push(sentence);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(
        answers[0].starts_with("If an account uses this address"),
        "{}",
        answers[0]
    );

    let mail = mails(&app, "Reset your password", 1).await.remove(0);
    let path = link(&app, &mail, "/password-reset/confirm/");
    let page_path = path.trim_end_matches('/');
    let res = browser
        .post_form(
            page_path,
            &[("new_password1", NEW), ("new_password2", "different-77")],
        )
        .await;
    assert_eq!(location(&res), page_path);
    let page = browser.page(page_path).await;
    assert!(page.contains("didn\u{2019}t match"), "{page}");
    let res = browser
        .post_form(page_path, &[("new_password1", NEW), ("new_password2", NEW)])
        .await;
    assert_eq!(location(&res), "/signin");
    assert_eq!(app.login("wendy", NEW).await.status(), 200);
}

async fn spawn_undeliverable(engine: Engine) -> TestApp {
    TestApp::spawn_with(engine, undeliverable).await
}

macro_rules! on_both {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::spawn_undeliverable(crate::helpers::Engine::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::spawn_undeliverable(crate::helpers::Engine::Postgres).await).await
                }
            )*
        }
    };
}

/// Every change by mailed link is a security event, in the transaction that makes it.
async fn lifecycle_changes_are_recorded(app: TestApp) {
    let login = app.register("rec", "rec@example.com").await;
    let id = login["user"]["pk"].as_i64().unwrap();
    let mail = mails(&app, "Please confirm", 1).await.pop().unwrap();
    let key = link(&app, &mail, "/verify-email/")["/verify-email/".len()..].to_owned();
    assert_eq!(post(&app, VERIFY, json!({ "key": key })).await.0, 200);
    // A spent key changes nothing, and records nothing.
    assert_eq!(post(&app, VERIFY, json!({ "key": key })).await.0, 404);
    assert_eq!(
        app.event_kinds(Some(id)).await,
        ["email_verified", "signed_in"]
    );

    let (uid, token) = reset_link(&app, "rec@example.com", 1).await;
    let new_password = json!({
        "new_password1": "another-long-passphrase-9",
        "new_password2": "another-long-passphrase-9",
        "uid": uid,
        "token": token,
    });
    assert_eq!(post(&app, CONFIRM, new_password.clone()).await.0, 200);
    assert_eq!(post(&app, CONFIRM, new_password).await.0, 400);
    assert_eq!(app.event_kinds(Some(id)).await[0], "password_reset");
    assert_eq!(
        app.event_kinds(Some(id))
            .await
            .iter()
            .filter(|k| *k == "password_reset")
            .count(),
        1
    );

    let browser = Browser::new(&app);
    browser.sign_up_with_email("mov", "mov@example.com").await;
    let res = browser
        .post_form(
            "/profile/email",
            &[("email", "mov@new.example"), ("password", GOOD_PASSWORD)],
        )
        .await;
    assert_eq!(location(&res), "/profile");
    let mover = backend::users::find_by_username(&app.state.db, "mov")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        app.event_kinds(Some(mover)).await[0],
        "email_change_requested"
    );
    let mail = mails(&app, "Please confirm", 3)
        .await
        .into_iter()
        .find(|m| m.to == "mov@new.example")
        .unwrap();
    let key = link(&app, &mail, "/verify-email/")["/verify-email/".len()..].to_owned();
    assert_eq!(post(&app, VERIFY, json!({ "key": key })).await.0, 200);
    let kinds = app.event_kinds(Some(mover)).await;
    assert_eq!(kinds[..2], ["email_changed", "email_change_requested"]);

    // The profile page tells it in words.
    let page = browser.page("/profile").await;
    assert!(page.contains("Recent security activity"), "{page}");
    assert!(page.contains("Changed the e-mail address"), "{page}");
    assert!(
        page.contains("Asked to change the e-mail address"),
        "{page}"
    );
}

/// A password reset (or change) cancels an address change asked for before it, and a
/// deactivated account's links do not come back with it.
async fn credentials_changes_end_pending_links(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up_with_email("kim", "kim@example.com").await;
    let res = browser
        .post_form(
            "/profile/email",
            &[
                ("email", "kim@attacker.example"),
                ("password", GOOD_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&res), "/profile");
    let change = mails(&app, "confirm your e-mail address", 2)
        .await
        .into_iter()
        .find(|m| m.to == "kim@attacker.example")
        .unwrap();
    let path = link(&app, &change, "/verify-email/");
    let key = path.trim_start_matches("/verify-email/").to_owned();

    let (uid, token) = reset_link(&app, "kim@example.com", 1).await;
    let (status, _) = post(
        &app,
        CONFIRM,
        json!({"uid": uid, "token": token, "new_password1": NEW, "new_password2": NEW}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        post(&app, VERIFY, json!({ "key": key })).await,
        (404, json!({"detail": "Not found."}))
    );
    assert_eq!(app.login("kim@example.com", NEW).await.status(), 200);

    // Deactivation ends every link; reactivation does not revive them.
    let (uid, token) = reset_link(&app, "kim@example.com", 2).await;
    backend::accounts::set_active(&app.state.db, "kim", false)
        .await
        .unwrap();
    backend::accounts::set_active(&app.state.db, "kim", true)
        .await
        .unwrap();
    let (status, body) = post(
        &app,
        CONFIRM,
        json!({"uid": uid, "token": token, "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD}),
    )
    .await;
    assert_eq!((status, body), (400, json!({"token": ["Invalid value"]})));
}

on_both!(
    lifecycle_changes_are_recorded,
    credentials_changes_end_pending_links,
    reset_contract,
    reset_links_die,
    verification_contract,
    email_change_from_the_profile,
    reset_from_the_web,
);

#[tokio::test]
async fn mandatory_verification_sqlite() {
    mandatory_verification(
        TestApp::spawn_with(Engine::Sqlite, |s| {
            undeliverable(s);
            s.account_email_verification = EmailVerification::Mandatory;
        })
        .await,
    )
    .await;
}

#[tokio::test]
async fn mandatory_verification_postgres() {
    mandatory_verification(
        TestApp::spawn_with(Engine::Postgres, |s| {
            undeliverable(s);
            s.account_email_verification = EmailVerification::Mandatory;
        })
        .await,
    )
    .await;
}

#[tokio::test]
async fn mail_requests_are_rate_limited_sqlite() {
    mail_requests_are_rate_limited(
        TestApp::spawn_with(Engine::Sqlite, |s| {
            undeliverable(s);
            s.rate_limit_enabled = true;
            s.rate_limit_email_per_hour = 2;
        })
        .await,
    )
    .await;
}

#[tokio::test]
async fn mail_requests_are_rate_limited_postgres() {
    mail_requests_are_rate_limited(
        TestApp::spawn_with(Engine::Postgres, |s| {
            undeliverable(s);
            s.rate_limit_enabled = true;
            s.rate_limit_email_per_hour = 2;
            s.rate_limit_store = "database".into();
        })
        .await,
    )
    .await;
}

/// With `EMAIL_URL=none`, the flows that need mail say so.
#[tokio::test]
async fn without_mail_the_flows_say_so() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.email_url = Some("none".into())).await;
    for path in [RESET, RESEND] {
        let (status, body) = post(&app, path, json!({"email": "a@example.com"})).await;
        assert_eq!(status, 503, "{path}");
        assert!(
            body["detail"].as_str().unwrap().contains("no e-mail"),
            "{body}"
        );
    }
}

/// The reset link really leaves over SMTP, and a provider-verified address links a social
/// sign-in only once the local address is verified (see `social.rs`).
#[tokio::test]
async fn the_reset_link_is_mailed_over_smtp() {
    let smtp = Smtp::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.email_url = Some(url);
        s.account_email_verification = EmailVerification::None;
        s.site_name = "Acme".into();
    })
    .await;
    app.register("sam", "sam@example.com").await;
    let (status, _) = post(&app, RESET, json!({"email": "sam@example.com"})).await;
    assert_eq!(status, 200);
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("Subject: [Acme] Reset your password"));
    assert!(messages[0].contains(&format!("{}/password-reset/confirm/", app.address)));
}

/// An address with an internationalised domain gets its mail from a server without
/// SMTPUTF8 (aiosmtpd's default): the domain travels in its ASCII form, with a Message-ID.
#[tokio::test]
async fn an_internationalised_domain_is_delivered() {
    let smtp = Smtp::start();
    let url = smtp.url();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| s.email_url = Some(url)).await;
    app.register("jose", "jose@bücher.example").await;
    let messages = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1, "the verification link never arrived");
    assert!(
        messages[0].contains("To: jose@xn--bcher-kva.example"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("Message-ID: <"), "{}", messages[0]);
}

/// Sign-ups without an address send no mail, so they spend none of the mail budgets.
#[tokio::test]
async fn sign_ups_without_an_address_spend_no_mail_budget() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        undeliverable(s);
        s.rate_limit_enabled = true;
        s.rate_limit_email_ip_per_hour = 2;
    })
    .await;
    for name in ["nomail1", "nomail2", "nomail3"] {
        app.register(name, "").await;
    }
    for address in ["a@example.com", "b@example.com"] {
        let (status, _) = post(&app, RESET, json!({ "email": address })).await;
        assert_eq!(status, 200, "{address}");
    }
}
