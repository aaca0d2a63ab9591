//! Two-factor sign-in: setting up an authenticator app, signing in with its codes and with
//! recovery codes (API and browser), replay, expiry, attempts, rate limits, and removal.

use backend::mfa::totp;
use serde_json::{json, Value};

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;
use crate::web::{location, see_other, Browser};

on_both_databases!(
    api_set_up_sign_in_replay_and_recovery_codes,
    a_challenge_ends_after_five_wrong_codes_and_is_single_use,
    an_expired_challenge_is_refused,
    the_last_factor_goes_only_when_confirmed,
    browser_sign_in_with_a_second_factor,
    browser_set_up_from_the_profile,
);

pub(crate) fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

async fn post_bearer(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    status_and_json(res).await
}

/// Registers `username` and switches an authenticator app on through the API; returns the
/// secret, the recovery codes and the access token.
pub(crate) async fn enrolled(
    app: &TestApp,
    username: &str,
    email: &str,
) -> (Vec<u8>, Vec<String>, String) {
    let login = app.register(username, email).await;
    let access = login["access"].as_str().unwrap().to_owned();
    // Just signed in: no password needed for this sensitive action.
    let (status, setup) = post_bearer(app, "/api/auth/mfa/totp/setup/", &access, &json!({})).await;
    assert_eq!(status, 200, "{setup}");
    assert!(setup["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(setup["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert!(
        (590..=600).contains(&setup["expires_in"].as_i64().unwrap()),
        "{setup}"
    );
    let secret = totp::secret_from_text(setup["secret"].as_str().unwrap()).unwrap();
    let token = setup["setup_token"].as_str().unwrap();

    let wrong = json!({"setup_token": token, "code": "000000"});
    let (status, body) = post_bearer(app, "/api/auth/mfa/totp/activate/", &access, &wrong).await;
    assert_eq!(
        (status, &body),
        (400, &json!({"code": ["Incorrect code."]}))
    );

    let right = json!({"setup_token": token, "code": totp::code_at(&secret, now())});
    let (status, body) = post_bearer(app, "/api/auth/mfa/totp/activate/", &access, &right).await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, codes, access)
}

/// Logs in with the password: the `mfa_token` (and checks that no tokens came with it).
async fn first_step(app: &TestApp, username: &str) -> String {
    let (status, body) = status_and_json(app.login(username, GOOD_PASSWORD).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(
        body.get("access").is_none() && body.get("refresh").is_none(),
        "{body}"
    );
    assert_eq!(body["methods"], json!(["totp", "recovery_codes"]));
    assert!(
        (295..=300).contains(&body["expires_in"].as_i64().unwrap()),
        "{body}"
    );
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, mfa_token: &str, code: &str) -> (u16, Value) {
    status_and_json(
        app.post_json(
            "/api/auth/mfa/authenticate/",
            &json!({"mfa_token": mfa_token, "code": code}),
        )
        .await,
    )
    .await
}

async fn outbox_subjects(app: &TestApp) -> Vec<String> {
    let sql = "SELECT subject FROM mail_outbox ORDER BY id";
    let rows: Vec<(String,)> = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .unwrap();
    rows.into_iter().map(|(s,)| s).collect()
}

async fn api_set_up_sign_in_replay_and_recovery_codes(app: TestApp) {
    let (secret, codes, access) = enrolled(&app, "ann", "ann@example.com").await;
    let (status, overview) =
        status_and_json(app.get_with_token("/api/auth/mfa/", &access).await).await;
    assert_eq!(status, 200);
    assert_eq!(overview["enabled"], true);
    assert_eq!(
        overview["recovery_codes"],
        json!({"remaining": 10, "total": 10})
    );
    assert!(overview["totp"]["created_at"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    // A second app is refused.
    let (status, body) = post_bearer(&app, "/api/auth/mfa/totp/setup/", &access, &json!({})).await;
    assert_eq!(
        (status, &body),
        (
            400,
            &json!({"non_field_errors": ["An authenticator app is already set up."]})
        )
    );

    // The code that switched the app on cannot sign in: its time step is used.
    let mfa_token = first_step(&app, "ann").await;
    let used = totp::code_at(&secret, now());
    let (status, body) = second_step(&app, &mfa_token, &used).await;
    assert_eq!(
        (status, &body),
        (400, &json!({"code": ["Incorrect code."]}))
    );
    // The next step's code (the app a little ahead) signs in.
    let (status, body) = second_step(&app, &mfa_token, &totp::code_at(&secret, now() + 30)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "ann");
    let access2 = body["access"].as_str().unwrap();
    assert_eq!(
        app.get_with_token("/api/auth/user/", access2)
            .await
            .status(),
        200
    );
    // The challenge is spent.
    let (status, body) = second_step(&app, &mfa_token, &codes[0]).await;
    assert_eq!(status, 400);
    assert!(body["mfa_token"][0]
        .as_str()
        .unwrap()
        .contains("expired or was already completed"));

    // A recovery code, typed loosely, once.
    let mfa_token = first_step(&app, "ann").await;
    let loose = format!("  {} ", codes[3].to_uppercase().replace('-', " "));
    let (status, body) = second_step(&app, &mfa_token, &loose).await;
    assert_eq!(status, 200, "{body}");
    let mfa_token = first_step(&app, "ann").await;
    let (status, _) = second_step(&app, &mfa_token, &codes[3]).await;
    assert_eq!(status, 400, "a recovery code works once");
    let (status, overview) =
        status_and_json(app.get_with_token("/api/auth/mfa/", &access).await).await;
    assert_eq!(status, 200);
    assert_eq!(overview["recovery_codes"]["remaining"], 9);

    // New codes replace the old ones.
    let (status, body) =
        post_bearer(&app, "/api/auth/mfa/recovery-codes/", &access, &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let fresh: Vec<String> = serde_json::from_value(body["recovery_codes"].clone()).unwrap();
    assert_eq!(fresh.len(), 10);
    let mfa_token = first_step(&app, "ann").await;
    let (status, _) = second_step(&app, &mfa_token, &codes[5]).await;
    assert_eq!(status, 400, "old codes stop working");
    let (status, _) = second_step(&app, &mfa_token, &fresh[0]).await;
    assert_eq!(status, 200);

    let user_id = app.register("bea", "").await["user"]["pk"]
        .as_i64()
        .unwrap();
    assert_eq!(
        first_step_or_tokens(&app, "bea").await,
        "tokens",
        "no MFA: no change"
    );
    let (_, me) = status_and_json(app.get_with_token("/api/auth/user/", &access).await).await;
    let ann = me["pk"].as_i64().unwrap();
    let kinds = app.event_kinds(Some(ann)).await;
    for kind in [
        "second_factor_added",
        "sign_in_failed",
        "recovery_code_used",
        "recovery_codes_regenerated",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    assert!(app
        .events(Some(ann))
        .await
        .contains(&("sign_in_failed".into(), Some("second_factor".into()))));
    assert!(app
        .event_kinds(Some(user_id))
        .await
        .iter()
        .all(|k| !k.contains("factor")));
    let subjects = outbox_subjects(&app).await;
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.ends_with("Two-factor sign-in changed"))
            .count(),
        4,
        "added, two recovery codes used, new codes: {subjects:?}"
    );
}

async fn first_step_or_tokens(app: &TestApp, username: &str) -> &'static str {
    let (status, body) = status_and_json(app.login(username, GOOD_PASSWORD).await).await;
    assert_eq!(status, 200, "{body}");
    if body.get("access").is_some() {
        assert!(body.get("mfa_required").is_none());
        "tokens"
    } else {
        "mfa"
    }
}

async fn a_challenge_ends_after_five_wrong_codes_and_is_single_use(app: TestApp) {
    let (secret, _, _) = enrolled(&app, "cy", "").await;
    let mfa_token = first_step(&app, "cy").await;
    for _ in 0..4 {
        let (status, body) = second_step(&app, &mfa_token, "123456").await;
        assert_eq!(
            (status, &body),
            (400, &json!({"code": ["Incorrect code."]}))
        );
    }
    let (status, body) = second_step(&app, &mfa_token, "654321").await;
    assert_eq!(
        (status, &body),
        (
            400,
            &json!({"mfa_token": ["Too many incorrect codes. Sign in again."]})
        )
    );
    // Over: even the right code does not bring it back.
    let (status, body) = second_step(&app, &mfa_token, &totp::code_at(&secret, now() + 30)).await;
    assert_eq!(status, 400);
    assert!(body.get("mfa_token").is_some(), "{body}");
    // Garbage tokens and codes: field errors, never a 500.
    for body in [
        json!({}),
        json!({"mfa_token": "x".repeat(10_000), "code": "123456"}),
        json!({"mfa_token": mfa_token, "code": "1".repeat(65)}),
        json!({"mfa_token": null, "code": ["123456"]}),
    ] {
        let (status, answer) =
            status_and_json(app.post_json("/api/auth/mfa/authenticate/", &body).await).await;
        assert_eq!(status, 400, "{body} -> {answer}");
    }
}

async fn an_expired_challenge_is_refused(app: TestApp) {
    let (secret, _, _) = enrolled(&app, "dee", "").await;
    let mfa_token = first_step(&app, "dee").await;
    app.execute("UPDATE mfa_challenges SET expires_at = $1", 0)
        .await;
    let (status, body) = second_step(&app, &mfa_token, &totp::code_at(&secret, now() + 30)).await;
    assert_eq!(
        (status, &body),
        (
            400,
            &json!({"mfa_token": ["This sign-in has expired or was already completed. Sign in again."]})
        )
    );
}

async fn the_last_factor_goes_only_when_confirmed(app: TestApp) {
    let (_, _, access) = enrolled(&app, "eve", "eve@example.com").await;
    let path = "/api/auth/mfa/totp/deactivate/";
    let (status, body) = post_bearer(&app, path, &access, &json!({})).await;
    assert_eq!(status, 400);
    assert!(body["confirm"][0]
        .as_str()
        .unwrap()
        .starts_with("This is your last second factor"));
    let (status, body) = post_bearer(&app, path, &access, &json!({"confirm": "maybe"})).await;
    assert_eq!(
        (status, &body),
        (400, &json!({"confirm": ["Must be a valid boolean."]}))
    );
    let (status, body) = post_bearer(&app, path, &access, &json!({"confirm": true})).await;
    assert_eq!(status, 200, "{body}");
    let (_, overview) = status_and_json(app.get_with_token("/api/auth/mfa/", &access).await).await;
    assert_eq!(
        overview,
        json!({"enabled": false, "totp": null, "recovery_codes": null, "passkeys": []})
    );
    // Off: the password alone signs in again, and there are no codes to renew.
    assert_eq!(first_step_or_tokens(&app, "eve").await, "tokens");
    let (status, body) =
        post_bearer(&app, "/api/auth/mfa/recovery-codes/", &access, &json!({})).await;
    assert_eq!(
        (status, &body),
        (
            400,
            &json!({"non_field_errors": ["Set up a second factor first."]})
        )
    );
    let (status, _) = post_bearer(&app, path, &access, &json!({"confirm": true})).await;
    assert_eq!(status, 400, "nothing left to remove");
    // Removing is sensitive: an old sign-in needs the password.
    app.execute("UPDATE token_families SET authenticated_at = $1", 0)
        .await;
    let (status, body) = post_bearer(&app, "/api/auth/mfa/totp/setup/", &access, &json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("reauthentication_required"))
    );
    let with_password = json!({"password": GOOD_PASSWORD});
    let (status, _) = post_bearer(&app, "/api/auth/mfa/totp/setup/", &access, &with_password).await;
    assert_eq!(status, 200);
}

async fn browser_sign_in_with_a_second_factor(app: TestApp) {
    let (secret, codes, _) = enrolled(&app, "fay", "").await;
    let browser = Browser::new(&app);
    let res = browser.sign_in("fay", Some("/profile")).await;
    see_other(&res, "/signin/second-factor");
    let page = browser.page("/signin/second-factor").await;
    assert!(
        page.contains("data-testid=\"second-factor-form\""),
        "{page}"
    );
    // Half signed in grants nothing.
    let res = browser.get("/profile").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/signin"), "{}", location(&res));
    let res = browser.get("/api/auth/user/").await;
    assert_eq!(res.status(), 401);

    let res = browser
        .post_form("/signin/second-factor", &[("code", "000000")])
        .await;
    see_other(&res, "/signin/second-factor");
    let page = browser.page("/signin/second-factor").await;
    assert!(page.contains("Incorrect code."), "{page}");

    let res = browser
        .post_form("/signin/second-factor", &[("code", &codes[0])])
        .await;
    see_other(&res, "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains("data-testid=\"mfa-on\""), "{page}");
    assert!(page.contains("9 unused recovery codes left."), "{page}");
    // Signed in: the second page is over.
    let res = browser.get("/signin/second-factor").await;
    assert_eq!(res.status(), 303);

    // Another browser: nothing pending, no second page; and starting over works.
    let other = Browser::new(&app);
    see_other(&other.get("/signin/second-factor").await, "/signin");
    see_other(&other.sign_in("fay", None).await, "/signin/second-factor");
    see_other(
        &other.post_form("/signin/second-factor/cancel", &[]).await,
        "/signin",
    );
    see_other(
        &other
            .post_form(
                "/signin/second-factor",
                &[("code", &totp::code_at(&secret, now() + 30))],
            )
            .await,
        "/signin",
    );
    let page = other.page("/signin").await;
    assert!(page.contains("expired or was already completed"), "{page}");
}

async fn browser_set_up_from_the_profile(app: TestApp) {
    let browser = Browser::new(&app);
    see_other(&browser.sign_up("gus").await, "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains("data-testid=\"mfa-off\""), "{page}");
    let res = browser.post_form("/profile/mfa/totp/setup", &[]).await;
    see_other(&res, "/profile/mfa/totp");
    let page = browser.page("/profile/mfa/totp").await;
    assert!(page.contains("<svg"), "the QR code is drawn on the server");
    let start = page.find("data-testid=\"totp-secret\"").unwrap();
    let start = start + page[start..].find('>').unwrap() + 1;
    let secret_text = &page[start..start + page[start..].find('<').unwrap()];
    let secret = totp::secret_from_text(secret_text).unwrap_or_else(|| panic!("{secret_text:?}"));

    let res = browser
        .post_form("/profile/mfa/totp/activate", &[("code", "000000")])
        .await;
    see_other(&res, "/profile/mfa/totp");
    assert!(browser
        .page("/profile/mfa/totp")
        .await
        .contains("Incorrect code."));
    let res = browser
        .post_form(
            "/profile/mfa/totp/activate",
            &[("code", &totp::code_at(&secret, now()))],
        )
        .await;
    see_other(&res, "/profile/mfa/recovery-codes");
    let page = browser.page("/profile/mfa/recovery-codes").await;
    assert_eq!(
        page.matches("data-testid=\"recovery-code\"").count(),
        10,
        "{page}"
    );
    // Shown once.
    let page = browser.page("/profile/mfa/recovery-codes").await;
    assert!(
        page.contains("data-testid=\"recovery-codes-gone\""),
        "{page}"
    );
    let page = browser.page("/profile/mfa/totp").await;
    assert!(
        page.contains("data-testid=\"totp-setup-expired\""),
        "{page}"
    );

    // Removing without the checkbox is refused; with it, MFA is off.
    let res = browser.post_form("/profile/mfa/totp/remove", &[]).await;
    see_other(&res, "/profile");
    assert!(browser
        .page("/profile")
        .await
        .contains("This is your last second factor"));
    let res = browser
        .post_form("/profile/mfa/totp/remove", &[("confirm", "true")])
        .await;
    see_other(&res, "/profile");
    let page = browser.page("/profile").await;
    assert!(
        page.contains("The authenticator app was removed."),
        "{page}"
    );
    assert!(page.contains("data-testid=\"mfa-off\""), "{page}");
}

#[tokio::test]
async fn codes_spend_the_accounts_sign_in_budget() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.rate_limit_enabled = true;
        s.rate_limit_login_per_minute = 4;
    })
    .await;
    enrolled(&app, "hal", "").await;
    // The password (1) and three wrong codes (2-4) spend the budget; the fifth is refused.
    let mfa_token = first_step(&app, "hal").await;
    for _ in 0..3 {
        let (status, _) = second_step(&app, &mfa_token, "123456").await;
        assert_eq!(status, 400);
    }
    let (status, body) = second_step(&app, &mfa_token, "123456").await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn the_reset_mfa_command_lets_the_owner_in_with_the_password() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    enrolled(&app, "ida", "").await;
    assert_eq!(first_step_or_tokens(&app, "ida").await, "mfa");
    let out = crate::admin_cli::server(&app)
        .args(["reset-mfa", "IDA"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Removed 2 second-factor record(s) of ida"),
        "{stdout}"
    );
    assert_eq!(first_step_or_tokens(&app, "ida").await, "tokens");
    let events = app.events(Some(1)).await;
    assert!(
        events.contains(&("mfa_reset".into(), Some("2".into()))),
        "{events:?}"
    );
    let out = crate::admin_cli::server(&app)
        .args(["reset-mfa", "ida"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing changed"));
    let out = crate::admin_cli::server(&app)
        .args(["reset-mfa", "nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn racing_codes_cannot_test_more_than_five() {
    let app = TestApp::spawn(Engine::Postgres).await;
    enrolled(&app, "jo", "").await;
    let mfa_token = first_step(&app, "jo").await;
    let guesses = (0..12).map(|i| {
        let code = format!("{:06}", 100_000 + i);
        let token = mfa_token.clone();
        let app = &app;
        async move { second_step(app, &token, &code).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|(status, body)| {
            *status == 400
                && (body.get("code").is_some()
                    || body["mfa_token"][0] == "Too many incorrect codes. Sign in again.")
        })
        .count();
    assert!(
        answers.iter().all(|(status, _)| *status == 400),
        "{answers:?}"
    );
    assert!(
        (1..=5).contains(&checked),
        "{checked} codes were checked: {answers:?}"
    );
}
