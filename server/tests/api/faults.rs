//! Faults found by outside testing, each turned into a test of its kind (issue: "fix each
//! kind, not each input"): text the database or the next reader cannot take, one namespace
//! of sign-in identifiers, one rule for whether a token is usable, dj-rest-auth details,
//! session ids at rest.

use serde_json::json;

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::web::{location, Browser};

const NULL: &str = "Null characters are not allowed.";
const USERNAME_TAKEN: &str = "A user with that username already exists.";
const EMAIL_TAKEN: &str = "A user is already registered with this e-mail address.";

async fn patch(app: &TestApp, token: &str, body: &serde_json::Value) -> reqwest::Response {
    app.client
        .patch(app.url("/api/auth/user/"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn access(login: &serde_json::Value) -> String {
    login["access"].as_str().unwrap().to_owned()
}

// --- 1. Text the database or the next reader cannot take --------------------------------

async fn a_null_character_is_refused_in_every_field(app: TestApp) {
    let login = app.register("nully", "nully@example.com").await;
    let token = access(&login);

    // The example from the report: refused before any query, on both engines.
    let (status, body) =
        status_and_json(patch(&app, &token, &json!({"first_name": "a\u{0}b"})).await).await;
    assert_eq!((status, body), (400, json!({"first_name": [NULL]})));
    for field in ["username", "first_name", "last_name"] {
        let (status, body) =
            status_and_json(patch(&app, &token, &json!({ field: "x\u{0}" })).await).await;
        assert_eq!(status, 400, "{field}");
        assert_eq!(body[field], json!([NULL]), "{field}");
    }
    // Nothing was stored, and the profile still reads.
    let res = app.get_with_token("/api/auth/user/", &token).await;
    let (status, user) = status_and_json(res).await;
    assert_eq!((status, user["first_name"].clone()), (200, json!("")));

    // Every text field of every endpoint that reads a body.
    let cases: [(&str, serde_json::Value, &str); 9] = [
        (
            "/api/auth/register/",
            json!({"username": "a\u{0}", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
            "username",
        ),
        (
            "/api/auth/register/",
            json!({"username": "ok", "email": "a\u{0}@example.com",
                   "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
            "email",
        ),
        (
            "/api/auth/register/",
            json!({"username": "ok", "password1": "pass\u{0}word-one-x", "password2": "x"}),
            "password1",
        ),
        (
            "/api/auth/login/",
            json!({"username": "nully\u{0}", "password": GOOD_PASSWORD}),
            "username",
        ),
        (
            "/api/auth/login/",
            json!({"email": "nully@example.com\u{0}", "password": GOOD_PASSWORD}),
            "email",
        ),
        (
            "/api/auth/login/",
            json!({"username": "nully", "password": "a\u{0}"}),
            "password",
        ),
        (
            "/api/auth/token/verify/",
            json!({"token": "a\u{0}"}),
            "token",
        ),
        (
            "/api/auth/token/refresh/",
            json!({"refresh": "a\u{0}"}),
            "refresh",
        ),
        ("/api/auth/logout/", json!({"refresh": "a\u{0}"}), "refresh"),
    ];
    for (path, body, field) in cases {
        let (status, answer) = status_and_json(app.post_json(path, &body).await).await;
        assert_eq!(status, 400, "{path} {field}: {answer}");
        assert_eq!(answer[field], json!([NULL]), "{path} {field}: {answer}");
    }
    // Form-encoded bodies carry it as %00.
    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=nu%00lly&password=x")
        .send()
        .await
        .unwrap();
    let (status, answer) = status_and_json(res).await;
    assert_eq!((status, answer["username"].clone()), (400, json!([NULL])));
}

async fn web_forms_refuse_null_characters_in_words(app: TestApp) {
    let browser = Browser::new(&app);
    let res = browser.sign_up("web\u{0}user").await;
    assert_eq!(location(&res), "/signup");
    let page = browser.page("/signup").await;
    assert!(page.contains(NULL), "{page}");

    browser.sign_up("webuser").await;
    let res = browser
        .post_form("/profile", &[("first_name", "Ada\u{0}")])
        .await;
    assert_eq!(location(&res), "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains(NULL), "{page}");
    assert!(!page.contains('\u{0}'));
}

async fn usernames_are_normalised_with_nfkc(app: TestApp) {
    app.register("admin123", "").await;
    // The full-width look-alike is the same name.
    let res = app
        .post_json(
            "/api/auth/register/",
            &json!({"username": "ａｄｍｉｎ１２３", "password1": GOOD_PASSWORD,
                    "password2": GOOD_PASSWORD}),
        )
        .await;
    let (status, body) = status_and_json(res).await;
    assert_eq!((status, body), (400, json!({"username": [USERNAME_TAKEN]})));
    // Signing in with it finds the account.
    assert_eq!(
        app.login("ＡＤＭＩＮ１２３", GOOD_PASSWORD).await.status(),
        200
    );

    // A new name is stored in its normal form.
    let created = app.register("ｂｅｒｙｌ", "").await;
    assert_eq!(created["user"]["username"], "beryl");
    // Renaming to a look-alike of a taken name is refused too.
    let (status, body) = status_and_json(
        patch(
            &app,
            &access(&created),
            &json!({"username": "ＡＤＭＩＮ１２３"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body), (400, json!({"username": [USERNAME_TAKEN]})));
}

async fn case_folding_is_full_unicode_folding(app: TestApp) {
    for (first, second) in [("ΚΟΣΜΟΣ", "κοσμοσ"), ("straße", "STRASSE")] {
        app.register(first, "").await;
        let res = app
            .post_json(
                "/api/auth/register/",
                &json!({"username": second, "password1": GOOD_PASSWORD,
                        "password2": GOOD_PASSWORD}),
            )
            .await;
        let (status, body) = status_and_json(res).await;
        assert_eq!(
            (status, body),
            (400, json!({"username": [USERNAME_TAKEN]})),
            "{second}"
        );
        let (status, login) = status_and_json(app.login(second, GOOD_PASSWORD).await).await;
        assert_eq!(
            (status, login["user"]["username"].clone()),
            (200, json!(first))
        );
    }
}

async fn names_refuse_control_and_direction_characters(app: TestApp) {
    let login = app.register("nomen", "").await;
    let token = access(&login);
    for bad in [
        "x\u{1}y",
        "a\u{1b}[31mred",
        "evil\u{202e}txt.exe",
        "p\u{7f}q",
        "i\u{2066}so",
    ] {
        for field in ["first_name", "last_name"] {
            let (status, body) =
                status_and_json(patch(&app, &token, &json!({ field: bad })).await).await;
            assert_eq!(status, 400, "{field} {bad:?}");
            assert_eq!(
                body[field],
                json!(["Enter a name without control characters or text-direction overrides."]),
                "{field} {bad:?}"
            );
        }
    }
    // Letters of every script stay welcome, right-to-left marks included.
    let (status, _) = status_and_json(
        patch(
            &app,
            &token,
            &json!({"first_name": "سارا\u{200f}", "last_name": "Ødegård"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
}

async fn a_bearer_header_that_is_not_ascii_is_a_refused_token(app: TestApp) {
    app.register("asc", "").await;
    for path in [
        "/api/auth/login/",
        "/api/auth/register/",
        "/api/auth/logout/",
    ] {
        let res = app
            .client
            .post(app.url(path))
            .header(
                "authorization",
                reqwest::header::HeaderValue::from_bytes(b"Bearer abc\xc3\xa9").unwrap(),
            )
            .json(&json!({"username": "asc", "password": GOOD_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"api\", error=\"invalid_token\""
        );
    }
}

async fn email_local_parts_are_ascii(app: TestApp) {
    for email in ["josé@example.com", "ｊｏｓｅ@example.com", "ü@example.com"] {
        let res = app
            .post_json(
                "/api/auth/register/",
                &json!({"username": "jose", "email": email, "password1": GOOD_PASSWORD,
                        "password2": GOOD_PASSWORD}),
            )
            .await;
        let (status, body) = status_and_json(res).await;
        assert_eq!(status, 400, "{email}");
        assert_eq!(
            body["email"],
            json!(["Enter a valid email address."]),
            "{email}"
        );
    }
    // Internationalised domains are fine.
    app.register("jose", "jose@bücher.example").await;
}

// --- 2. One identity namespace for sign-in ----------------------------------------------

async fn a_username_may_not_be_another_accounts_email(app: TestApp) {
    app.register("victim", "victim@example.com").await;
    for name in [
        "victim@example.com",
        "VICTIM@Example.COM",
        "ｖｉｃｔｉｍ@example.com",
    ] {
        let res = app
            .post_json(
                "/api/auth/register/",
                &json!({"username": name, "password1": GOOD_PASSWORD,
                        "password2": GOOD_PASSWORD}),
            )
            .await;
        let (status, body) = status_and_json(res).await;
        assert_eq!(
            (status, body),
            (400, json!({"username": [USERNAME_TAKEN]})),
            "{name}"
        );
    }
    // Nor an account's new name.
    let other = app.register("other", "").await;
    let (status, body) = status_and_json(
        patch(
            &app,
            &access(&other),
            &json!({"username": "victim@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body), (400, json!({"username": [USERNAME_TAKEN]})));

    // The victim still signs in by email, through both fields and the web form.
    for body in [
        json!({"username": "victim@example.com", "password": GOOD_PASSWORD}),
        json!({"email": "victim@example.com", "password": GOOD_PASSWORD}),
    ] {
        let (status, login) = status_and_json(app.post_json("/api/auth/login/", &body).await).await;
        assert_eq!(
            (status, login["user"]["username"].clone()),
            (200, json!("victim"))
        );
    }
    let browser = Browser::new(&app);
    let res = browser.sign_in("victim@example.com", None).await;
    assert_eq!(location(&res), "/profile");
    assert!(browser.page("/profile").await.contains(">victim<"));
}

async fn an_email_may_not_be_another_accounts_username(app: TestApp) {
    let owner = app.register("carol@example.com", "").await;
    let res = app
        .post_json(
            "/api/auth/register/",
            &json!({"username": "mallory", "email": "Carol@Example.com",
                    "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
        )
        .await;
    let (status, body) = status_and_json(res).await;
    assert_eq!((status, body), (400, json!({"email": [EMAIL_TAKEN]})));

    // One's own address as one's own username is one name, not two.
    app.register("dave@example.com", "dave@example.com").await;
    let erin = app.register("erin", "erin@example.com").await;
    let res = patch(
        &app,
        &access(&erin),
        &json!({"username": "erin@example.com"}),
    )
    .await;
    assert_eq!(res.status(), 200);
    // ...and the old username is free again.
    app.register("erin", "").await;
    drop(owner);
}

async fn concurrent_sign_ups_cannot_split_one_name(app: TestApp) {
    for round in 0..5 {
        let name = format!("race{round}@example.com");
        let as_username = json!({"username": name, "password1": GOOD_PASSWORD,
                                 "password2": GOOD_PASSWORD});
        let as_email = json!({"username": format!("racer{round}"), "email": name,
                              "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD});
        let (a, b) = tokio::join!(
            app.post_json("/api/auth/register/", &as_username),
            app.post_json("/api/auth/register/", &as_email),
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        assert!(
            statuses == [201, 400] || statuses == [400, 201],
            "round {round}: {statuses:?}"
        );
    }
}

// --- 3. A token is judged the same way everywhere ----------------------------------------

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/auth/token/refresh/", &json!({ "refresh": token }))
        .await
}

async fn verify(app: &TestApp, token: &str) -> (u16, serde_json::Value) {
    status_and_json(
        app.post_json("/api/auth/token/verify/", &json!({ "token": token }))
            .await,
    )
    .await
}

fn not_valid() -> serde_json::Value {
    json!({"detail": "Token is invalid or expired", "code": "token_not_valid"})
}

async fn verify_refuses_what_use_would_refuse(engine: Engine) {
    let app = TestApp::spawn_with(engine, |s| s.jwt_refresh_reuse_grace = 1).await;
    let login = app.register("tina", "").await;
    let r0 = login["refresh"].as_str().unwrap().to_owned();
    let (_, refreshed) = status_and_json(refresh(&app, &r0).await).await;
    let r1 = refreshed["refresh"].as_str().unwrap().to_owned();
    // Within the grace a replay of R0 still works (it gets R1 again), so it verifies.
    assert_eq!(verify(&app, &r0).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    // Retired: refused by verify, as refresh would refuse it...
    assert_eq!(verify(&app, &r0).await, (401, not_valid()));
    // ...and verify did not spend anything: R1 is still good.
    assert_eq!(verify(&app, &r1).await.0, 200);
    assert_eq!(refresh(&app, &r1).await.status(), 200);

    // A revoked family: every token of it.
    let login = app.register("uma", "").await;
    let (r, a) = (login["refresh"].as_str().unwrap(), access(&login));
    let res = app
        .post_json("/api/auth/logout/", &json!({ "refresh": r }))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(verify(&app, r).await, (401, not_valid()));
    assert_eq!(verify(&app, &a).await, (401, not_valid()));
    // A second logout with it is refused, not "successful".
    let res = app
        .post_json("/api/auth/logout/", &json!({ "refresh": r }))
        .await;
    assert_eq!(res.status(), 401);

    // Deactivated and deleted users: their tokens verify no more.
    let login = app.register("vic", "").await;
    let id = login["user"]["pk"].as_i64().unwrap();
    app.execute("UPDATE users SET is_active = FALSE WHERE id = $1", id)
        .await;
    app.state.user_cache.invalidate(id);
    assert_eq!(verify(&app, &access(&login)).await, (401, not_valid()));
    assert_eq!(
        verify(&app, login["refresh"].as_str().unwrap()).await,
        (401, not_valid())
    );
    let login = app.register("wes", "").await;
    let id = login["user"]["pk"].as_i64().unwrap();
    app.execute("DELETE FROM users WHERE id = $1", id).await;
    app.state.user_cache.invalidate(id);
    assert_eq!(verify(&app, &access(&login)).await, (401, not_valid()));
    assert_eq!(
        verify(&app, login["refresh"].as_str().unwrap()).await,
        (401, not_valid())
    );
}

#[tokio::test]
async fn verify_refuses_what_use_would_refuse_sqlite() {
    verify_refuses_what_use_would_refuse(Engine::Sqlite).await;
}

#[tokio::test]
async fn verify_refuses_what_use_would_refuse_postgres() {
    verify_refuses_what_use_would_refuse(Engine::Postgres).await;
}

// --- 5. Contract details a dj-rest-auth client relies on ---------------------------------

async fn dj_rest_auth_details(app: TestApp) {
    // Refresh without a token: dj-rest-auth's 401, which clients take as "signed out".
    let (status, body) =
        status_and_json(app.post_json("/api/auth/token/refresh/", &json!({})).await).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "No valid refresh token found.", "code": "token_not_valid"})
        )
    );
    for (value, message) in [
        (json!(""), "This field may not be blank."),
        (json!(null), "This field may not be null."),
    ] {
        let (status, body) = status_and_json(
            app.post_json("/api/auth/token/refresh/", &json!({ "refresh": value }))
                .await,
        )
        .await;
        assert_eq!((status, body), (400, json!({ "refresh": [message] })));
    }

    // A blank email is a blank field, not "no email".
    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "xena", "email": "", "password1": GOOD_PASSWORD,
                    "password2": GOOD_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (400, json!({"email": ["This field may not be blank."]}))
    );
    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "", "email": "", "password1": "", "password2": ""}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 4, "{body}");
    assert_eq!(body["email"], json!(["This field may not be blank."]));

    // RFC 6750: a refused token says so in the challenge; no token, no error code.
    let res = app.get_with_token("/api/auth/user/", "not-a-token").await;
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"api\", error=\"invalid_token\""
    );
    let res = app.get("/api/auth/user/").await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"api\"");
    let res = app
        .post_json("/api/auth/token/verify/", &json!({"token": "x"}))
        .await;
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"api\", error=\"invalid_token\""
    );
    // The Google endpoint authenticates like the others: a bad Bearer header is a 401.
    let res = app
        .client
        .post(app.url("/api/auth/google/"))
        .bearer_auth("not-a-token")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

// --- 6. Secrets at rest ---------------------------------------------------------------------

async fn session_ids_are_stored_only_as_hashes(app: TestApp) {
    let browser = Browser::new(&app);
    let res = browser.sign_up("hashy").await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("las_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let sql = "SELECT id_hash FROM sessions";
    let stored: Vec<(String,)> = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap();
    use sha2::Digest;
    let expected = hex_of(&sha2::Sha256::digest(cookie.as_bytes()));
    assert!(stored.iter().all(|(k,)| *k != cookie));
    assert!(stored.iter().any(|(k,)| *k == expected), "{stored:?}");
    // Nor is the record readable: it holds the browser's refresh token.
    let sql = "SELECT data FROM sessions";
    let data: Vec<(String,)> = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap();
    assert!(!data.is_empty());
    assert!(
        data.iter()
            .all(|(d,)| !d.contains("eyJ") && !d.contains("refresh")),
        "{data:?}"
    );
    // And the session works from the cookie alone.
    assert!(browser.page("/profile").await.contains(">hashy<"));
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

crate::on_both_databases!(
    a_null_character_is_refused_in_every_field,
    case_folding_is_full_unicode_folding,
    names_refuse_control_and_direction_characters,
    a_bearer_header_that_is_not_ascii_is_a_refused_token,
    web_forms_refuse_null_characters_in_words,
    usernames_are_normalised_with_nfkc,
    email_local_parts_are_ascii,
    a_username_may_not_be_another_accounts_email,
    an_email_may_not_be_another_accounts_username,
    concurrent_sign_ups_cannot_split_one_name,
    dj_rest_auth_details,
    session_ids_are_stored_only_as_hashes,
);

// --- 4. Rate limits keyed on the account, shared by instances ----------------------------

/// A wrong-password attempt at `identifier` from `ip` (through a trusted proxy).
async fn wrong_login(app: &TestApp, ip: &str, identifier: &str) -> u16 {
    app.client
        .post(app.url("/api/auth/login/"))
        .header("x-forwarded-for", ip)
        .json(&json!({"username": identifier, "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn limited(store: &'static str) -> impl FnOnce(&mut backend::Settings) {
    move |s| {
        s.rate_limit_enabled = true;
        s.rate_limit_login_per_minute = 3;
        s.rate_limit_store = store.to_owned();
        s.trusted_proxies = Some(vec!["127.0.0.1".into()]);
        // Instances behind one load balancer share their secrets (the shared store's key
        // names are keyed with this one).
        s.session_secret = Some("faults-test-shared-session-secret-0123456789".into());
    }
}

#[tokio::test]
async fn one_budget_per_account_whichever_name_is_typed() {
    let app = TestApp::spawn_with(Engine::Sqlite, limited("memory")).await;
    app.register("zed", "zed@example.com").await;
    // Each attempt from another address: only the account's budget can run out.
    for (i, name) in ["zed", "ZED", "zed@example.com"].iter().enumerate() {
        assert_eq!(
            wrong_login(&app, &format!("198.51.100.{i}"), name).await,
            400
        );
    }
    for name in ["zed", "zed@example.com", "ｚｅｄ"] {
        assert_eq!(wrong_login(&app, "198.51.100.9", name).await, 429, "{name}");
    }
    // Unknown names are limited the same way, by their normalised key.
    for i in 0..3 {
        assert_eq!(
            wrong_login(&app, &format!("203.0.113.{i}"), "ghost").await,
            400
        );
    }
    assert_eq!(wrong_login(&app, "203.0.113.9", "GHOST").await, 429);
    // Another account is untouched.
    assert_eq!(wrong_login(&app, "192.0.2.1", "ada").await, 400);

    // Every X-Forwarded-For line counts, in order: a client's forged first line cannot
    // hide the hop the proxy appended on a line of its own.
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"] {
        let status = app
            .client
            .post(app.url("/api/auth/login/"))
            .header("x-forwarded-for", forged)
            .header("x-forwarded-for", "192.0.2.77")
            .json(&json!({"username": format!("line-{forged}"), "password": "wrong-password-1"}))
            .send()
            .await
            .unwrap()
            .status();
        let expected = if forged == "4.4.4.4" { 429 } else { 400 };
        assert_eq!(status, expected, "{forged}");
    }

    // An IPv6 client's budget is its /64: hopping through its own addresses buys nothing.
    for i in 1..=3 {
        assert_eq!(
            wrong_login(&app, &format!("2001:db8:7:7::{i}"), &format!("v6-{i}")).await,
            400
        );
    }
    assert_eq!(wrong_login(&app, "2001:db8:7:7:ffff::1", "v6-9").await, 429);
    assert_eq!(wrong_login(&app, "2001:db8:7:8::1", "v6-9").await, 400);
}

/// Two instances, attempts alternating between them: one budget.
/// Client addresses come from `net` (`a.b.c.`), one per attempt.
async fn two_instances_share_one_budget(first: &TestApp, second: &TestApp, name: &str, net: &str) {
    let mut statuses = Vec::new();
    for i in 0..4 {
        let app = if i % 2 == 0 { first } else { second };
        statuses.push(wrong_login(app, &format!("{net}{}", 10 + i), name).await);
    }
    assert_eq!(statuses, [400, 400, 400, 429], "{name}");
    assert_eq!(wrong_login(first, &format!("{net}99"), name).await, 429);
}

#[tokio::test]
async fn the_database_store_is_shared_by_instances() {
    let first = TestApp::spawn_with(Engine::Postgres, limited("database")).await;
    let database_url = first.state.config.database_url.clone();
    let second = TestApp::spawn_with(Engine::Sqlite, |s| {
        limited("database")(s);
        s.database_url = Some(database_url);
    })
    .await;
    first.register("shared", "").await;
    two_instances_share_one_budget(&first, &second, "shared", "198.51.100.").await;
    two_instances_share_one_budget(&first, &second, "nobody-by-this-name", "203.0.113.").await;
    // What people typed is not what the table stores.
    let backend::Db::Postgres(pool) = &first.state.db else {
        unreachable!("spawned on PostgreSQL");
    };
    let keys: Vec<(String,)> = sqlx::query_as("SELECT key FROM rate_limits")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    assert!(
        keys.iter()
            .all(|(k,)| !k.contains("nobody") && !k.contains("203.0.113")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn the_redis_store_is_shared_by_instances() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let url: &'static str = Box::leak(url.into_boxed_str());
    let first = TestApp::spawn_with(Engine::Sqlite, limited(url)).await;
    let second = TestApp::spawn_with(Engine::Sqlite, limited(url)).await;
    // Unknown names (each instance has its own database), fresh for every run.
    // Budgets outlive a test run in Redis (for up to a minute): fresh names and addresses.
    let name = format!("ghost-{}", crate::helpers::random_hex(6));
    let [a, b] = rand::random::<[u8; 2]>();
    two_instances_share_one_budget(&first, &second, &name, &format!("10.{a}.{b}.")).await;
}
