//! Sign-in sessions: refresh rotation, the reuse grace window, logout, revocation seen by
//! other instances, and rate limits.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{settings, status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    refresh_rotates_and_racing_tabs_get_the_same_successor,
    logout_revokes_the_whole_session,
    logout_with_only_an_access_token,
);

async fn refresh(app: &TestApp, token: &Value) -> (u16, Value) {
    status_and_json(
        app.post_json("/api/auth/token/refresh/", &json!({"refresh": token}))
            .await,
    )
    .await
}

async fn refresh_rotates_and_racing_tabs_get_the_same_successor(app: TestApp) {
    let login = app.register("uma", "").await;
    let (status, first) = refresh(&app, &login["refresh"]).await;
    assert_eq!(status, 200, "{first}");
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "access",
            "refresh",
            "access_expiration",
            "refresh_expiration"
        ]
    );
    let expiration = first["access_expiration"].as_str().unwrap();
    assert!(
        expiration.len() == 27 && expiration.ends_with('Z') && expiration.as_bytes()[19] == b'.',
        "{expiration}"
    );
    assert_ne!(first["refresh"], login["refresh"]);
    assert_eq!(
        app.get_with_token("/api/auth/user/", first["access"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // A second tab presents the same (now retired) token at once: same successor.
    let (status, second) = refresh(&app, &login["refresh"]).await;
    assert_eq!(status, 200);
    assert_eq!(second["refresh"], first["refresh"]);

    // The successor works and rotates in turn.
    let (status, third) = refresh(&app, &first["refresh"]).await;
    assert_eq!(status, 200);
    assert_ne!(third["refresh"], first["refresh"]);
}

#[tokio::test]
async fn replay_after_the_grace_window_revokes_the_session() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let app = TestApp::spawn_with(engine, |s| s.jwt_refresh_reuse_grace = 0).await;
        let login = app.register("victor", "").await;
        let (status, rotated) = refresh(&app, &login["refresh"]).await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(1100)).await;

        // The old token comes back later: someone copied it. Everything of that sign-in dies.
        let (status, body) = refresh(&app, &login["refresh"]).await;
        assert_eq!(
            (status, body["code"].clone()),
            (401, json!("token_not_valid")),
            "{engine:?}"
        );
        let (status, _) = refresh(&app, &rotated["refresh"]).await;
        assert_eq!(
            status, 401,
            "{engine:?}: the legitimate successor is revoked too"
        );
        let res = app
            .get_with_token("/api/auth/user/", rotated["access"].as_str().unwrap())
            .await;
        assert_eq!(res.status(), 401, "{engine:?}");
        // Other sign-ins of the same user are untouched.
        assert_eq!(app.login("victor", GOOD_PASSWORD).await.status(), 200);
    }
}

async fn logout_revokes_the_whole_session(app: TestApp) {
    let login = app.register("wendy", "").await;
    let other = app
        .login("wendy", GOOD_PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (status, body) = status_and_json(
        app.post_json("/api/auth/logout/", &json!({"refresh": login["refresh"]}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (200, json!({"detail": "Successfully logged out."}))
    );

    let res = app
        .get_with_token("/api/auth/user/", login["access"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), 401);
    let (status, _) = refresh(&app, &login["refresh"]).await;
    assert_eq!(status, 401);
    let (status, _) = status_and_json(
        app.post_json(
            "/api/auth/token/verify/",
            &json!({"token": login["access"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    // Logging out twice with the same token: it is no longer valid.
    let (status, body) = status_and_json(
        app.post_json("/api/auth/logout/", &json!({"refresh": login["refresh"]}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (401, json!("token_not_valid"))
    );
    // The user's other sign-in is unaffected.
    assert_eq!(
        app.get_with_token("/api/auth/user/", other["access"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

async fn logout_with_only_an_access_token(app: TestApp) {
    let login = app.register("xena", "").await;
    let access = login["access"].as_str().unwrap();
    let res = app
        .client
        .post(app.url("/api/auth/logout/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        401
    );
    let (status, _) = refresh(&app, &login["refresh"]).await;
    assert_eq!(status, 401);
}

/// Two instances on one database: a logout on one is honoured by the other within its
/// revocation sync interval, without a database lookup per request.
#[tokio::test]
async fn logout_on_one_instance_is_seen_by_another() {
    let first =
        TestApp::spawn_with(Engine::Postgres, |s| s.revocation_sync_interval_ms = 100).await;
    let database_url = match &first.state.db {
        backend::Db::Postgres(_) => first.state.config.database_url.clone(),
        backend::Db::Sqlite { .. } => unreachable!(),
    };
    let second = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.database_url = Some(database_url.clone());
        s.revocation_sync_interval_ms = 100;
    })
    .await;
    let login = first.register("yuri", "").await;
    let access = login["access"].as_str().unwrap();
    assert_eq!(
        second
            .get_with_token("/api/auth/user/", access)
            .await
            .status(),
        200
    );

    let res = first
        .post_json("/api/auth/logout/", &json!({"refresh": login["refresh"]}))
        .await;
    assert_eq!(res.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let status = second
            .get_with_token("/api/auth/user/", access)
            .await
            .status();
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "second instance still accepts the token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A new instance started after the logout knows it from the start.
    let third = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.database_url = Some(database_url.clone())
    })
    .await;
    assert_eq!(
        third
            .get_with_token("/api/auth/user/", access)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn login_is_rate_limited_per_ip_and_per_account() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.rate_limit_enabled = true;
        s.rate_limit_login_per_minute = 3;
        s.trusted_proxies = Some(vec!["127.0.0.1".into()]);
    })
    .await;
    let attempt = |ip: &'static str, user: &'static str| {
        app.client
            .post(app.url("/api/auth/login/"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": user, "password": "wrong-password-1"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt("198.51.100.1", "zed").await.unwrap().status(), 400);
    }
    let limited = attempt("198.51.100.1", "zed").await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .starts_with("Request was throttled."));

    // Another IP, same account: the account's own budget is spent.
    assert_eq!(attempt("198.51.100.2", "zed").await.unwrap().status(), 429);
    // Another IP, another account: fine.
    assert_eq!(attempt("198.51.100.3", "ada").await.unwrap().status(), 400);

    // Without a trusted proxy, X-Forwarded-For changes nothing.
    let direct = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.rate_limit_enabled = true;
        s.rate_limit_register_per_minute = 1;
    })
    .await;
    let register = |ip: &'static str, name: &'static str| {
        direct
            .client
            .post(direct.url("/api/auth/register/"))
            .header("x-forwarded-for", ip)
            .json(
                &json!({"username": name, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
            )
            .send()
    };
    assert_eq!(register("203.0.113.1", "one").await.unwrap().status(), 201);
    assert_eq!(register("203.0.113.2", "two").await.unwrap().status(), 429);
}

#[test]
fn test_settings_switch_rate_limits_off() {
    let dir = tempfile::tempdir().unwrap();
    assert!(!settings(dir.path(), None).rate_limit_enabled);
}

#[tokio::test]
async fn a_sign_in_ends_at_its_absolute_lifetime_however_often_it_refreshes() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.jwt_session_lifetime = 2).await;
    let login = app.register("abe", "").await;
    let refresh_exp = |token: &Value| {
        use base64::Engine as _;
        let part = token
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .to_owned();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap();
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap()
    };
    // The refresh token never outlives the sign-in.
    assert!(refresh_exp(&login["refresh"]) <= 2);
    let (status, refreshed) = refresh(&app, &login["refresh"]).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _) = refresh(&app, &refreshed["refresh"]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn refresh_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.rate_limit_enabled = true;
        s.rate_limit_refresh_per_minute = 2;
    })
    .await;
    let login = app.register("bea", "").await;
    let (status, first) = refresh(&app, &login["refresh"]).await;
    assert_eq!(status, 200);
    let (status, _) = refresh(&app, &first["refresh"]).await;
    assert_eq!(status, 200);
    let res = app
        .post_json(
            "/api/auth/token/refresh/",
            &json!({"refresh": first["refresh"]}),
        )
        .await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}
