//! The stack itself: probes, pages, headers, the binary's command line and lifecycle.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(
    healthz_answers_ok,
    readyz_checks_the_database,
    home_page_is_server_rendered,
    unknown_page_is_a_404_page,
    every_response_has_security_headers_and_a_request_id,
);

async fn healthz_answers_ok(app: TestApp) {
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/json",
        "JSON for load balancers"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}

async fn readyz_checks_the_database(app: TestApp) {
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");

    // With the database gone, the instance is alive but not ready.
    app.state.db.close().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    assert_eq!(app.get("/healthz").await.status(), 200);
}

async fn home_page_is_server_rendered(app: TestApp) {
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("You are not authenticated."), "{html}");
    assert!(
        html.contains("/pkg/leptos-auth-starter.js"),
        "hydration script: {html}"
    );
    assert!(html.contains("/pkg/leptos-auth-starter.css"));
}

async fn unknown_page_is_a_404_page(app: TestApp) {
    let res = app.get("/definitely/not/here").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
}

async fn every_response_has_security_headers_and_a_request_id(app: TestApp) {
    for path in ["/", "/healthz", "/nope"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["cross-origin-opener-policy"], "same-origin", "{path}");
        assert!(!h["x-request-id"].is_empty(), "{path}");
    }
    // A request id set by a proxy in front is kept, so logs can be joined across hops.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "from-the-load-balancer")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "from-the-load-balancer");
}

fn server_binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    // Only what each test sets: a developer's own .env or DATABASE_URL must not leak in.
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

#[test]
fn help_lists_every_setting_with_its_default_and_no_secret() {
    let out = server_binary()
        .arg("--help")
        .env(
            "JWT_SIGNING_KEY",
            "do-not-print-this-signing-key-0123456789",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for name in [
        "LEPTOS_SITE_ADDR",
        "DATABASE_URL",
        "DATABASE_MAX_CONNECTIONS",
        "APP_ENV",
        "PUBLIC_URL",
        "DATA_DIR",
        "JWT_SIGNING_KEY",
        "SESSION_SECRET",
        "MFA_ENCRYPTION_KEY",
        "LOG_FORMAT",
        "LEPTOS_SITE_ROOT",
    ] {
        assert!(help.contains(name), "--help lacks {name}:\n{help}");
    }
    assert!(help.contains("[default: 127.0.0.1:3000]"));
    assert!(help.contains("[default: development]"));
    assert!(!help.contains("do-not-print-this-signing-key"), "{help}");
}

#[test]
fn production_refuses_to_start_without_real_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = server_binary()
        .env("APP_ENV", "production")
        .env("DATA_DIR", dir.path())
        .env("PUBLIC_URL", "https://auth.example.com")
        .env("SESSION_SECRET", "s".repeat(48))
        .env("JWT_SIGNING_KEY", "too-short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JWT_SIGNING_KEY"), "{stderr}");
    assert!(
        !stderr.contains("too-short"),
        "never echo a secret: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn starts_with_a_one_line_summary_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "summary-test-signing-key-that-must-stay-hidden";
    let mut child = server_binary()
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("DATA_DIR", dir.path().join("data"))
        .env("JWT_SIGNING_KEY", secret)
        .env("GITHUB_CLIENT_ID", "gh-client")
        .env("GITHUB_CLIENT_SECRET", secret)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let summary = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|line| line.contains("listening on"))
        .expect("a start-up summary line");
    assert!(summary.contains("database sqlite:"), "{summary}");
    assert!(summary.contains("mode development"), "{summary}");
    assert!(summary.contains("social sign-in github"), "{summary}");
    assert!(!summary.contains(secret));
    // The embedded default: created and migrated on first start.
    assert!(dir.path().join("data/app.db").exists());
    assert!(!dir.path().join("data/jwt_signing_key").exists());
    assert!(dir.path().join("data/session_secret").exists());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().all(|l| !l.contains(secret)));
}

#[tokio::test]
async fn database_credentials_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    // The test server trusts local connections and ignores the password, which is the
    // point: it is in the URL, and must not be in the output.
    let url = crate::helpers::fresh_postgres_database().await;
    let (scheme, rest) = url.split_once("://").unwrap();
    let host_and_db = rest.split_once('@').map_or(rest, |(_, r)| r);
    let url = format!("{scheme}://postgres:hunter2-secret@{host_and_db}");
    let out = server_binary()
        .env("DATA_DIR", dir.path())
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "info")
        .arg("migrate")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("is up to date"), "{all}");
    assert!(!all.contains("hunter2-secret"), "{all}");
}

#[tokio::test]
async fn cross_site_posts_to_the_web_app_are_refused() {
    let app = TestApp::spawn(crate::helpers::Engine::Sqlite).await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains(r#"action="/signout""#) || html.contains(r#"href="/signin""#));
    let action = "/signout";
    let post = |headers: &[(&'static str, String)]| {
        let mut req = app
            .client
            .post(app.url(action))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body("");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        req.send()
    };
    let evil = "https://evil.example".to_owned();
    let res = post(&[("origin", evil.clone())]).await.unwrap();
    assert_eq!(res.status(), 403);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Cross-site request refused"));
    let res = post(&[
        ("sec-fetch-site", "cross-site".into()),
        ("origin", app.address.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 403);

    let res = post(&[
        ("sec-fetch-site", "same-origin".into()),
        ("origin", app.address.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    let res = post(&[("origin", app.address.clone())]).await.unwrap();
    assert_eq!(res.status(), 303);
    // Not a browser (no Origin, no Sec-Fetch-Site): no ambient cookies to abuse, allowed.
    assert_eq!(post(&[]).await.unwrap().status(), 303);
    // The bearer-token API is governed by CORS instead.
    let res = app
        .client
        .post(app.url("/api/auth/token/verify/"))
        .header("origin", evil)
        .json(&serde_json::json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn server_functions_see_the_caller_through_the_same_extractors() {
    let app = TestApp::spawn(crate::helpers::Engine::Sqlite).await;
    let login = app.register("sfuser", "").await;
    let call = |token: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/api/whoami"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    let res = call(Some(login["access"].as_str().unwrap())).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), "sfuser");
    let res = call(None).await.unwrap();
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        serde_json::Value::Null
    );
    let res = call(Some("garbage")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap(),
        serde_json::Value::Null
    );
}
