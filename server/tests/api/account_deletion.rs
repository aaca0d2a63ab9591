//! Re-authentication for sensitive actions, deleting an account (nothing left that names
//! the user, in any table), and the data export.

use serde_json::{json, Value};

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;
use crate::smtp::free_port;
use crate::web::{location, Browser};

on_both_databases!(
    sensitive_actions_need_a_recent_sign_in_or_the_password,
    deleting_leaves_no_row_that_names_the_user,
    the_last_superuser_cannot_delete_themselves,
    the_export_holds_what_the_profile_shows,
    deleting_from_the_profile_page,
);

const REAUTH_BODY: &str = "Confirm it is you: send your password with this request \
    (accounts without a password: sign in again, then retry within a few minutes).";
const WRONG: &str = "Your password was entered incorrectly. Please enter it again.";

fn pk(login: &Value) -> i64 {
    login["user"]["pk"].as_i64().unwrap()
}

fn bearer(login: &Value) -> &str {
    login["access"].as_str().unwrap()
}

/// Makes every sign-in of `user_id` look as if it last proved itself `secs` seconds ago.
async fn age_proof(app: &TestApp, user_id: i64, secs: i64) {
    app.execute(
        &format!(
            "UPDATE token_families SET authenticated_at = authenticated_at - {secs} \
             WHERE user_id = $1"
        ),
        user_id,
    )
    .await;
}

async fn revoke_others(app: &TestApp, login: &Value, body: Value) -> (u16, Value) {
    status_and_json(
        app.client
            .post(app.url("/api/auth/sessions/revoke-others/"))
            .bearer_auth(bearer(login))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn delete_account(app: &TestApp, login: &Value, body: Value) -> reqwest::Response {
    app.client
        .delete(app.url("/api/auth/user/"))
        .bearer_auth(bearer(login))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn sensitive_actions_need_a_recent_sign_in_or_the_password(app: TestApp) {
    let login = app.register("rea", "").await;
    let id = pk(&login);
    // Just signed in: no password needed.
    assert_eq!(revoke_others(&app, &login, json!({})).await.0, 200);

    age_proof(&app, id, 601).await;
    let (status, body) = revoke_others(&app, &login, json!({})).await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"detail": REAUTH_BODY, "code": "reauthentication_required"})
        )
    );
    let (status, body) = revoke_others(&app, &login, json!({"password": "nope"})).await;
    assert_eq!((status, body), (400, json!({"password": [WRONG]})));
    let (status, body) = revoke_others(&app, &login, json!({"password": GOOD_PASSWORD})).await;
    assert_eq!(status, 200, "{body}");
    // The password renewed the proof: the next action within the window needs none.
    assert_eq!(revoke_others(&app, &login, json!({})).await.0, 200);
    // The wrong password is on the owner's activity list.
    let events = app.events(Some(id)).await;
    assert!(events.contains(&(
        "sign_in_failed".to_owned(),
        Some("reauthentication".to_owned())
    )));

    // Ending one other sign-in is as sensitive as ending all: a stolen token cannot end
    // the owner's sign-ins one by one. Ending one's own needs nothing.
    let other: Value = app.login("rea", GOOD_PASSWORD).await.json().await.unwrap();
    let other_sid = app
        .state
        .tokens
        .codec()
        .decode(bearer(&other), chrono::Utc::now().timestamp())
        .unwrap()
        .sid;
    age_proof(&app, id, 601).await;
    let end = |who: &Value, sid: &str, body: Value| {
        app.client
            .delete(app.url(&format!("/api/auth/sessions/{sid}/")))
            .bearer_auth(bearer(who).to_owned())
            .json(&body)
            .send()
    };
    let own_sid = app
        .state
        .tokens
        .codec()
        .decode(bearer(&login), chrono::Utc::now().timestamp())
        .unwrap()
        .sid;
    assert_eq!(
        end(&login, &other_sid, json!({})).await.unwrap().status(),
        403
    );
    assert_eq!(
        end(&login, &other_sid, json!({"password": GOOD_PASSWORD}))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        end(&login, &own_sid, json!({})).await.unwrap().status(),
        204
    );

    // An account without a password cannot send one: a fresh sign-in is its proof.
    let social = app.register("soc", "").await;
    app.execute(
        "UPDATE users SET password_hash = NULL WHERE id = $1",
        pk(&social),
    )
    .await;
    app.state.user_cache.invalidate(pk(&social));
    age_proof(&app, pk(&social), 601).await;
    let (status, body) = revoke_others(&app, &social, json!({"password": GOOD_PASSWORD})).await;
    assert_eq!(status, 403, "{body}");
    let res = delete_account(&app, &social, json!({})).await;
    assert_eq!(res.status(), 403);
    age_proof(&app, pk(&social), -601).await;
    let res = delete_account(&app, &social, json!({})).await;
    assert_eq!(res.status(), 204);

    // From the profile page: a stale sign-in's "sign out everywhere else" asks for the
    // password, and the "Confirm it's you" form renews the proof.
    let browser = Browser::new(&app);
    browser.sign_up("web").await;
    let user = backend::users::find_by_username(&app.state.db, "web")
        .await
        .unwrap()
        .unwrap();
    app.login("web", GOOD_PASSWORD).await;
    assert!(!browser
        .page("/profile")
        .await
        .contains("Confirm it&#x27;s you"));
    age_proof(&app, user.id, 601).await;
    let page = browser.page("/profile").await;
    assert!(page.contains("data-testid=\"confirm-identity\""), "{page}");
    assert!(page.contains("data-testid=\"end-others-form\""));
    let res = browser.post_form("/profile/sign-ins/end-others", &[]).await;
    assert_eq!(location(&res), "/profile");
    let page = browser.page("/profile").await;
    assert!(
        page.contains("For your security, confirm it is you"),
        "{page}"
    );
    let res = browser
        .post_form("/profile/reauth", &[("password", "nope")])
        .await;
    assert_eq!(location(&res), "/profile");
    assert!(browser.page("/profile").await.contains(WRONG));
    browser
        .post_form("/profile/reauth", &[("password", GOOD_PASSWORD)])
        .await;
    let page = browser.page("/profile").await;
    assert!(
        page.contains("Thank you. For the next 10 minutes"),
        "{page}"
    );
    assert!(!page.contains("data-testid=\"confirm-identity\""));
    browser.post_form("/profile/sign-ins/end-others", &[]).await;
    assert!(browser
        .page("/profile")
        .await
        .contains("1 other sign-in was ended."));
}

/// Every user table's rows, each as one line of text, on either engine.
async fn dump(app: &TestApp) -> Vec<(String, String)> {
    let (tables_sql, columns_sql) = match &app.state.db {
        backend::Db::Sqlite { .. } => (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_sqlx%'",
            "SELECT name FROM pragma_table_info($1)",
        ),
        backend::Db::Postgres(_) => (
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%'",
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1",
        ),
    };
    macro_rules! on {
        ($pool:ident => $body:expr) => {
            match &app.state.db {
                backend::Db::Sqlite { pool: $pool, .. } => $body,
                backend::Db::Postgres($pool) => $body,
            }
        };
    }
    let tables: Vec<(String,)> =
        on!(pool => sqlx::query_as(tables_sql).fetch_all(pool).await).unwrap();
    let mut rows = Vec::new();
    for (table,) in tables {
        let columns: Vec<(String,)> =
            on!(pool => sqlx::query_as(columns_sql).bind(&table).fetch_all(pool).await).unwrap();
        let line = columns
            .iter()
            .map(|(c,)| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {line} FROM \"{table}\"");
        let found: Vec<(String,)> =
            on!(pool => sqlx::query_as(&sql).fetch_all(pool).await).unwrap();
        rows.extend(found.into_iter().map(|(row,)| (table.clone(), row)));
    }
    rows
}

async fn deleting_leaves_no_row_that_names_the_user(app: TestApp) {
    const NAME: &str = "quintessa-del";
    const EMAIL: &str = "quintessa@deleted.example";
    let first = app.register(NAME, EMAIL).await;
    let id = pk(&first);
    let second: Value = app.login(NAME, GOOD_PASSWORD).await.json().await.unwrap();
    app.execute(
        "INSERT INTO identities (provider, subject, user_id, email, created_at) \
         VALUES ('github', 'gh-quintessa', $1, 'quintessa@deleted.example', 0)",
        id,
    )
    .await;
    // Mail on its way to the address, and a live reset link.
    let res = app
        .post_json("/api/auth/password/reset/", &json!({"email": EMAIL}))
        .await;
    assert_eq!(res.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !dump(&app)
        .await
        .iter()
        .any(|(table, _)| table == "account_tokens")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no reset link was made"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let before = dump(&app).await;
    assert!(before.iter().any(|(_, row)| row.contains(EMAIL)));

    // Refused without the password, or with a wrong one: nothing is deleted.
    let (status, body) = status_and_json(delete_account(&app, &second, json!({})).await).await;
    assert_eq!(
        (status, body),
        (400, json!({"password": ["This field is required."]}))
    );
    let (status, body) =
        status_and_json(delete_account(&app, &second, json!({"password": "nope"})).await).await;
    assert_eq!((status, body), (400, json!({"password": [WRONG]})));
    let res = delete_account(&app, &second, json!({"password": GOOD_PASSWORD})).await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.text().await.unwrap(), "");

    // Every token of every sign-in stops working.
    for login in [&first, &second] {
        let res = app.get_with_token("/api/auth/user/", bearer(login)).await;
        assert_eq!(res.status(), 401);
        let res = app
            .post_json(
                "/api/auth/token/refresh/",
                &json!({"refresh": login["refresh"]}),
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(app.login(NAME, GOOD_PASSWORD).await.status(), 400);

    // No row in any table names the user; one tombstone event keeps the id and the time.
    let after = dump(&app).await;
    let naming: Vec<&(String, String)> = after
        .iter()
        .filter(|(_, row)| {
            row.contains(NAME) || row.contains(EMAIL) || row.contains("gh-quintessa")
        })
        .collect();
    assert!(naming.is_empty(), "{naming:?}");
    assert_eq!(
        app.events(Some(id)).await,
        [("account_deleted".to_owned(), None)]
    );
    let tombstone: Vec<&(String, String)> = after
        .iter()
        .filter(|(table, _)| table == "audit_events")
        .filter(|(_, row)| row.contains("account_deleted"))
        .collect();
    assert_eq!(tombstone.len(), 1);
    assert!(!tombstone[0].1.contains("127.0.0.1"), "{tombstone:?}");
    // The other tables that hold a user id hold none of this one's.
    for table in [
        "token_families",
        "identities",
        "login_names",
        "account_tokens",
    ] {
        assert!(
            !after.iter().any(|(t, _)| t == table),
            "{table} still has rows: {after:?}"
        );
    }
}

async fn the_last_superuser_cannot_delete_themselves(app: TestApp) {
    use backend::accounts::{create, Role};
    create(
        &app.state.db,
        &app.state.passwords,
        "root1",
        None,
        GOOD_PASSWORD,
        Role::Administrator,
    )
    .await
    .unwrap();
    let login: Value = app
        .login("root1", GOOD_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (status, body) =
        status_and_json(delete_account(&app, &login, json!({"password": GOOD_PASSWORD})).await)
            .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"non_field_errors": [backend::accounts::LAST_SUPERUSER]})
        )
    );
    assert_eq!(
        app.get_with_token("/api/auth/user/", bearer(&login))
            .await
            .status(),
        200
    );
    create(
        &app.state.db,
        &app.state.passwords,
        "root2",
        None,
        GOOD_PASSWORD,
        Role::Administrator,
    )
    .await
    .unwrap();
    let res = delete_account(&app, &login, json!({"password": GOOD_PASSWORD})).await;
    assert_eq!(res.status(), 204);
}

async fn the_export_holds_what_the_profile_shows(app: TestApp) {
    let login = app.register("exp", "exp@example.com").await;
    app.client
        .post(app.url("/api/auth/login/"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .json(&json!({"username": "exp", "password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, data) = status_and_json(
        app.get_with_token("/api/auth/user/export/", bearer(&login))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{data}");
    assert_eq!(data["user"]["pk"], pk(&login));
    assert_eq!(data["user"]["username"], "exp");
    assert_eq!(data["user"]["email"], "exp@example.com");
    assert_eq!(data["user"]["has_password"], true);
    assert_eq!(data["sign_ins"].as_array().unwrap().len(), 2);
    assert!(data["sign_ins"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["user_agent"] == "Firefox on Linux"));
    let kinds: Vec<&str> = data["security_activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["signed_in", "signed_in"]);
    assert_eq!(data["identities"], json!([]));
    // No secret: no hash, no token.
    let text = data.to_string();
    assert!(!text.contains("argon2") && !text.contains(bearer(&login)));
    assert!(!text.contains(login["refresh"].as_str().unwrap()));

    // From the profile: the same document, as a download.
    let browser = Browser::new(&app);
    browser.sign_up("exw").await;
    let res = browser.get("/profile/export").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"account-data.json\""
    );
    let data: Value = res.json().await.unwrap();
    assert_eq!(data["user"]["username"], "exw");
    // Signed out: to the sign-in page.
    let res = Browser::new(&app).get("/profile/export").await;
    assert_eq!(res.status(), 303);
}

async fn deleting_from_the_profile_page(app: TestApp) {
    let laptop = Browser::new(&app);
    let phone = Browser::new(&app);
    laptop.sign_up("bye").await;
    phone.sign_in("bye", None).await;
    let page = laptop.page("/profile").await;
    assert!(page.contains("data-testid=\"delete-form\""));

    let res = laptop
        .post_form("/profile/delete", &[("password", "nope")])
        .await;
    assert_eq!(location(&res), "/profile");
    assert!(laptop.page("/profile").await.contains(WRONG));

    let res = laptop
        .post_form("/profile/delete", &[("password", GOOD_PASSWORD)])
        .await;
    assert_eq!(location(&res), "/");
    let home = laptop.page("/").await;
    assert!(
        home.contains("Your account and everything in it were deleted."),
        "{home}"
    );
    assert!(location(&laptop.get("/profile").await).starts_with("/signin"));
    assert!(location(&phone.get("/profile").await).starts_with("/signin"));
    assert_eq!(app.login("bye", GOOD_PASSWORD).await.status(), 400);
}

/// With mail configured (undeliverable here), deleting also drops mail still queued for
/// the account's address.
#[tokio::test]
async fn queued_mail_to_a_deleted_account_is_dropped() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.email_url = Some(format!("smtp://127.0.0.1:{}", free_port()));
    })
    .await;
    let login = app.register("mailed", "mailed@example.com").await;
    let rows = || async {
        dump(&app)
            .await
            .into_iter()
            .filter(|(t, row)| t == "mail_outbox" && row.contains("mailed@example.com"))
            .count()
    };
    assert!(rows().await >= 1, "the verification mail is queued");
    let res = delete_account(&app, &login, json!({"password": GOOD_PASSWORD})).await;
    assert_eq!(res.status(), 204);
    assert_eq!(rows().await, 0);
}

/// Passwords are never trimmed, so one with spaces around it still confirms an action.
#[tokio::test]
async fn a_password_with_spaces_confirms_deletion() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let password = "  spacious-meadow-lantern-8  ";
    let res = app
        .post_json(
            "/api/auth/register/",
            &json!({"username": "spacey", "password1": password, "password2": password}),
        )
        .await;
    let (status, login) = status_and_json(res).await;
    assert_eq!(status, 201, "{login}");
    let res = delete_account(&app, &login, json!({"password": password.trim()})).await;
    assert_eq!(
        res.status(),
        400,
        "the trimmed password is another password"
    );
    let res = delete_account(&app, &login, json!({"password": password})).await;
    assert_eq!(res.status(), 204);
}

/// A sign-in that ends while a sensitive request is handled (here: ended on another
/// instance that this one has not heard from yet) gets the token's 401, not a request to
/// re-authenticate that could never succeed.
#[tokio::test]
async fn a_sign_in_ended_meanwhile_gets_the_tokens_401() {
    let first = TestApp::spawn(Engine::Postgres).await;
    let second = TestApp::spawn_beside(&first, |s| s.revocation_sync_interval_ms = 3_600_000).await;
    let stale = first.register("ended", "").await;
    let keeper: Value = first
        .login("ended", GOOD_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revoke_others(&first, &keeper, json!({})).await.0, 200);
    let (status, body) =
        status_and_json(delete_account(&second, &stale, json!({"password": GOOD_PASSWORD})).await)
            .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "token_not_valid");
    // Nothing was deleted.
    assert_eq!(first.login("ended", GOOD_PASSWORD).await.status(), 200);
}

/// An account deleted between a sign-in's password check and its new sign-in: the answer
/// is the usual bad-credentials 400, not a 500.
#[tokio::test]
async fn signing_in_to_an_account_deleted_meanwhile_is_refused_cleanly() {
    use backend::auth::sign_ins::{Channel, SignInOrigin};
    let app = TestApp::spawn(Engine::Sqlite).await;
    let login = app.register("gone", "").await;
    let user = backend::users::find_by_id(&app.state.db, pk(&login))
        .await
        .unwrap()
        .unwrap();
    app.execute("DELETE FROM users WHERE id = $1", user.id)
        .await;
    let client = backend::client::Client::at(std::net::IpAddr::from([127, 0, 0, 1]));
    let origin = SignInOrigin::new("password", Channel::Api, &client);
    let outcome =
        backend::accounts::start_sign_in(&app.state.db, &app.state.tokens, &user, &origin, None)
            .await;
    match outcome {
        Err(backend::accounts::AccountError::Invalid(errors)) => {
            let text = format!("{errors:?}");
            assert!(text.contains(backend::accounts::BAD_CREDENTIALS), "{text}");
        }
        other => panic!("expected bad credentials, got {other:?}"),
    }
}
