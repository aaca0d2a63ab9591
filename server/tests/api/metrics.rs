//! `GET /metrics`: off without `METRICS_TOKEN`, only with it as the bearer token, and the
//! counters, histograms and gauges the README documents move as the server works.
//!
//! The recorder is one per process (shared by every test app here), so values are checked
//! to have moved, never to equal a number.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Engine, TestApp, GOOD_PASSWORD};

const TOKEN: &str = "metrics-test-token-0123456789";

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of the sample `series` (name with its labels, as rendered), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn off_without_a_token() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let (status, _) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn only_with_the_token_and_counting_what_happens() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let app = TestApp::spawn_with(engine, |s| {
            s.metrics_token = Some(TOKEN.into());
            s.jwt_refresh_reuse_grace = 0;
            s.rate_limit_enabled = true;
            s.rate_limit_login_per_minute = 2;
        })
        .await;
        assert_eq!(scrape(&app, None).await.0, 401, "{engine:?}");
        assert_eq!(scrape(&app, Some("wrong-token-0123456789")).await.0, 401);
        let (status, before) = scrape(&app, Some(TOKEN)).await;
        assert_eq!(status, 200);

        let login = app.register("metered", "").await;
        assert_eq!(app.login("metered", "not it").await.status(), 400);
        assert_eq!(app.login("metered", GOOD_PASSWORD).await.status(), 200);
        // The budget of 2 a minute (per client IP, checked first) is spent now.
        assert_eq!(app.login("metered", GOOD_PASSWORD).await.status(), 429);
        let refresh = login["refresh"].as_str().unwrap();
        let res = app
            .post_json("/api/auth/token/refresh/", &json!({ "refresh": refresh }))
            .await;
        assert_eq!(res.status(), 200);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let res = app
            .post_json("/api/auth/token/refresh/", &json!({ "refresh": refresh }))
            .await;
        assert_eq!(res.status(), 401, "a replay after the grace window");

        let (_, after) = scrape(&app, Some(TOKEN)).await;
        for series in [
            r#"auth_sign_ins_total{method="registration",outcome="success"}"#,
            r#"auth_sign_ins_total{method="password",outcome="success"}"#,
            r#"auth_sign_ins_total{method="password",outcome="bad_credentials"}"#,
            r#"auth_token_refreshes_total{outcome="success"}"#,
            r#"auth_token_refreshes_total{outcome="refused"}"#,
            "auth_refresh_token_reuse_total",
            r#"rate_limit_hits_total{limit="login-ip"}"#,
            r#"security_events_total{kind="signed_in"}"#,
            r#"http_requests_total{method="POST",route="/api/auth/login/",status="200"}"#,
            r#"http_requests_total{method="POST",route="/api/auth/login/",status="429"}"#,
            r#"http_request_duration_seconds_count{method="POST",route="/api/auth/register/"}"#,
        ] {
            let now = value(&after, series).unwrap_or_else(|| panic!("{series} in\n{after}"));
            let then = value(&before, series).unwrap_or(0.0);
            assert!(now > then, "{series}: {then} -> {now}");
        }
        for series in [
            "password_hash_queue_length",
            match engine {
                Engine::Sqlite => r#"db_pool_connections{pool="write",state="idle"}"#,
                Engine::Postgres => r#"db_pool_connections{pool="main",state="idle"}"#,
            },
            match engine {
                Engine::Sqlite => r#"db_pool_connections{pool="read",state="in_use"}"#,
                Engine::Postgres => r#"db_pool_connections{pool="main",state="in_use"}"#,
            },
            r#"mail_outbox_messages{status="pending"}"#,
            r#"mail_outbox_messages{status="dead"}"#,
        ] {
            assert!(value(&after, series).is_some(), "{series} in\n{after}");
        }
        // Any method name a client makes up is `other`, not a series of its own.
        let res = app
            .client
            .request(
                reqwest::Method::from_bytes(b"FOO123").unwrap(),
                app.url("/api/auth/login/"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405);
        let (_, after) = scrape(&app, Some(TOKEN)).await;
        assert!(!after.contains("FOO123"), "{after}");
        assert!(after.contains(r#"method="other""#), "{after}");
        assert!(after.contains("# TYPE http_request_duration_seconds histogram"));
        assert!(after.contains(r#"http_request_duration_seconds_bucket{method="POST",route="/api/auth/login/",le="0.001"}"#));
        // Paths stay out of the labels: a user's id never becomes a series.
        assert!(!after.contains("route=\"/api/auth/sessions/0"), "{after}");
        // Nothing secret in it.
        assert!(!after.contains(GOOD_PASSWORD) && !after.contains(refresh));
    }
}
