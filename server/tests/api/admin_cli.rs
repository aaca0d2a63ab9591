//! The binary's admin commands, run as an operator would, against the database a running
//! server uses.

use std::process::Command;

use serde_json::json;

use crate::helpers::{Engine, TestApp, GOOD_PASSWORD};

pub(crate) fn server(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.state.config.database_url)
        .env("DATA_DIR", &app.state.config.data_dir)
        .env("RUST_LOG", "warn");
    cmd
}

#[tokio::test]
async fn createsuperuser_noinput_then_sign_in() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let app = TestApp::spawn(engine).await;
        let out = server(&app)
            .args(["createsuperuser", "--noinput", "--username", "root"])
            .env("SUPERUSER_EMAIL", "root@example.com")
            .env("SUPERUSER_PASSWORD", GOOD_PASSWORD)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains(GOOD_PASSWORD));

        let res = app.login("root@example.com", GOOD_PASSWORD).await;
        assert_eq!(res.status(), 200, "{engine:?}");
        let user = backend::users::find_by_username(&app.state.db, "root")
            .await
            .unwrap()
            .unwrap();
        assert!(user.is_staff && user.is_superuser && user.is_active);

        // The same rules as sign-up.
        let out = server(&app)
            .args(["createsuperuser", "--noinput", "--username", "ROOT"])
            .env("SUPERUSER_PASSWORD", GOOD_PASSWORD)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
        let out = server(&app)
            .args(["createsuperuser", "--noinput", "--username", "admin2"])
            .env("SUPERUSER_PASSWORD", "password")
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("This password is too common."), "{stderr}");
        let out = server(&app)
            .args(["createsuperuser", "--noinput", "--username", "admin3"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("SUPERUSER_PASSWORD"));
    }
}

#[tokio::test]
async fn deactivate_user_signs_them_out_everywhere() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| s.revocation_sync_interval_ms = 100).await;
    let login = app.register("zoe", "").await;
    let access = login["access"].as_str().unwrap();

    let out = server(&app)
        .args(["deactivate-user", "ZOE"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The running server learns of the revocation through the database.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while app.get_with_token("/api/auth/user/", access).await.status() != 401 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.login("zoe", GOOD_PASSWORD).await.status(), 400);
    let res = app
        .post_json(
            "/api/auth/token/refresh/",
            &json!({"refresh": login["refresh"]}),
        )
        .await;
    assert_eq!(res.status(), 401);

    let out = server(&app)
        .args(["activate-user", "zoe"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(app.login("zoe", GOOD_PASSWORD).await.status(), 200);

    let out = server(&app)
        .args(["deactivate-user", "nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named"));
}
