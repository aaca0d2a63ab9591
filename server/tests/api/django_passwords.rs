//! Passwords hashed by Django (first slice of moving from the Django stack): an account
//! whose stored hash came from Django signs in with its old password, through the API and
//! the sign-in page, and its hash is argon2id afterwards.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_databases;
use crate::web::{location, Browser};

on_both_databases!(django_hashes_sign_in_and_are_upgraded);

// Made with Django 4.2.30's `PBKDF2PasswordHasher` (1,000 iterations) and
// `BCryptSHA256PasswordHasher` (cost 4) for "correct horse".
const PBKDF2: &str = "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=";
const BCRYPT: &str = "bcrypt_sha256$$2b$04$11COUS3uIhbdUkOD1o1S3.ft7n/9wXM27.GsA8DmLc8JeYfvIzNMW";

async fn stored_hash(app: &TestApp, username: &str) -> Option<String> {
    backend::users::find_by_username(&app.state.db, username)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

async fn set_hash(app: &TestApp, id: i64, hash: &str) {
    app.execute(
        &format!("UPDATE users SET password_hash = '{hash}' WHERE id = $1"),
        id,
    )
    .await;
    app.state.user_cache.invalidate(id);
}

async fn django_hashes_sign_in_and_are_upgraded(app: TestApp) {
    // Through the API.
    let api = app.register("dj-api", "").await;
    set_hash(&app, api["user"]["pk"].as_i64().unwrap(), PBKDF2).await;
    assert_eq!(app.login("dj-api", "correct horsE").await.status(), 400);
    assert_eq!(stored_hash(&app, "dj-api").await.as_deref(), Some(PBKDF2));
    assert_eq!(app.login("dj-api", "correct horse").await.status(), 200);
    let upgraded = stored_hash(&app, "dj-api").await.unwrap();
    assert!(upgraded.starts_with("$argon2id$v=19$"), "{upgraded}");
    assert_eq!(app.login("dj-api", "correct horse").await.status(), 200);

    // Through the sign-in page.
    let web = app.register("dj-web", "").await;
    set_hash(&app, web["user"]["pk"].as_i64().unwrap(), BCRYPT).await;
    let browser = Browser::new(&app);
    let res = browser
        .post_form(
            "/signin",
            &[("username", "dj-web"), ("password", "correct horse")],
        )
        .await;
    assert_eq!(location(&res), "/profile");
    assert!(stored_hash(&app, "dj-web")
        .await
        .unwrap()
        .starts_with("$argon2id$"));

    // Django's unusable password, and formats Django does not use by default: refused,
    // with the answer any wrong password gets.
    let other = app.register("dj-other", "").await;
    let id = other["user"]["pk"].as_i64().unwrap();
    for hash in [
        "!dCT1mDbvZX9WHlFyBmG6Ya9WV4yZdCpWhHt1A0Ck",
        "md5$seasalt$abc",
    ] {
        set_hash(&app, id, hash).await;
        let res = app.login("dj-other", "correct horse").await;
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!({"non_field_errors": ["Unable to log in with provided credentials."]})
        );
    }
}
