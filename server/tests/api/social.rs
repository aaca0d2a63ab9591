//! Social sign-in against a local OpenID Connect provider: the happy path, the callback's
//! refusals (after the OpenID relying-party conformance cases), linking, and
//! `POST /api/auth/google/` with forged tokens.

use std::collections::HashMap;

use crate::fake_idp::{FakeIdp, Mint};
use crate::helpers::{Engine, TestApp};
use crate::web::{location, see_other, Browser};

async fn app_with_idp() -> (TestApp, FakeIdp) {
    app_with_idp_and(|_| {}).await
}

async fn app_with_idp_and(
    customise: impl FnOnce(&mut backend::config::Settings),
) -> (TestApp, FakeIdp) {
    let idp = FakeIdp::start().await;
    let mut google = idp.provider_config("google");
    google.label = "Google".into();
    let providers = vec![idp.provider_config("idp"), google];
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.social_providers = Some(providers);
        customise(s);
    })
    .await;
    (app, idp)
}

/// The authorization request our server sent the browser to.
struct Started {
    params: HashMap<String, String>,
}

impl Started {
    fn get(&self, key: &str) -> &str {
        self.params.get(key).map(String::as_str).unwrap_or_default()
    }
}

async fn start(browser: &Browser<'_>, path: &str) -> Started {
    let res = browser.get(path).await;
    assert_eq!(res.status(), 303, "{path}");
    let url = reqwest::Url::parse(location(&res)).unwrap();
    Started {
        params: url.query_pairs().into_owned().collect(),
    }
}

/// Runs the provider's side for `started` and returns the callback response.
async fn finish(
    browser: &Browser<'_>,
    idp: &FakeIdp,
    started: &Started,
    code: &str,
    subject: &str,
    email: &str,
    mint: Mint,
) -> reqwest::Response {
    idp.grant(
        code,
        started.get("code_challenge"),
        started.get("nonce"),
        subject,
        email,
        mint,
    );
    browser
        .get(&format!(
            "/auth/idp/callback?code={code}&state={}",
            started.get("state")
        ))
        .await
}

async fn signed_in_as(browser: &Browser<'_>) -> Option<String> {
    let res = browser.get("/profile").await;
    if res.status() != 200 {
        return None;
    }
    let html = res.text().await.unwrap();
    let start = html.find(r#"data-testid="profile-username">"#)? + 31;
    Some(html[start..start + html[start..].find('<')?].to_owned())
}

#[tokio::test]
async fn sign_in_creates_an_account_and_finds_it_again() {
    let (app, idp) = app_with_idp().await;
    let browser = Browser::new(&app);
    let signin = browser.page("/signin").await;
    assert!(signin.contains("Continue with Test IdP") && signin.contains("/auth/idp/start"));

    let started = start(&browser, "/auth/idp/start?next=/profile?tab=1").await;
    assert_eq!(started.get("code_challenge_method"), "S256");
    assert_eq!(started.get("response_type"), "code");
    assert_eq!(started.get("client_id"), crate::fake_idp::CLIENT_ID);
    assert!(started.get("scope").contains("openid"));
    assert_eq!(
        started.get("redirect_uri"),
        format!("{}/auth/idp/callback", app.address)
    );
    assert!(started.get("nonce").len() >= 16 && started.get("state").len() >= 16);

    let res = finish(
        &browser,
        &idp,
        &started,
        "c1",
        "sub-1",
        "ann@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile?tab=1");
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("ann"));

    browser.post_form("/signout", &[]).await;
    let again = start(&browser, "/auth/idp/start").await;
    let res = finish(
        &browser,
        &idp,
        &again,
        "c2",
        "sub-1",
        "ann@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("ann"));
}

#[tokio::test]
async fn the_callback_refuses_every_broken_id_token() {
    let (app, idp) = app_with_idp().await;
    for (n, mint) in [
        Mint::WrongNonce,
        Mint::WrongAudience,
        Mint::WrongIssuer,
        Mint::Expired,
        Mint::AlgNone,
        Mint::BadSignature,
        Mint::UnknownKid,
    ]
    .into_iter()
    .enumerate()
    {
        let browser = Browser::new(&app);
        let started = start(&browser, "/auth/idp/start").await;
        let what = format!("{mint:?}");
        let res = finish(
            &browser,
            &idp,
            &started,
            &format!("bad{n}"),
            "sub-x",
            "x@example.com",
            mint,
        )
        .await;
        see_other(&res, "/signin");
        let page = browser.page("/signin").await;
        assert!(page.contains("could not be verified"), "{what}: {page}");
        assert_eq!(signed_in_as(&browser).await, None, "{what}");
    }
}

#[tokio::test]
async fn wrong_missing_foreign_or_reused_state_is_refused() {
    let (app, idp) = app_with_idp().await;
    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/idp/start").await;
    idp.grant(
        "s1",
        started.get("code_challenge"),
        started.get("nonce"),
        "sub-s",
        "s@example.com",
        Mint::Good,
    );

    // Missing, then wrong: refused, and the attempt is spent either way.
    for query in ["code=s1", "code=s1&state=wrong"] {
        let res = browser.get(&format!("/auth/idp/callback?{query}")).await;
        see_other(&res, "/signin");
        assert!(browser
            .page("/signin")
            .await
            .contains("expired or was not started here"));
    }
    let res = browser
        .get(&format!(
            "/auth/idp/callback?code=s1&state={}",
            started.get("state")
        ))
        .await;
    see_other(&res, "/signin");
    assert_eq!(signed_in_as(&browser).await, None);

    // Another browser's state (login CSRF): refused.
    let victim = Browser::new(&app);
    let attacker = start(&Browser::new(&app), "/auth/idp/start").await;
    idp.grant(
        "s2",
        attacker.get("code_challenge"),
        attacker.get("nonce"),
        "sub-a",
        "a@example.com",
        Mint::Good,
    );
    let res = victim
        .get(&format!(
            "/auth/idp/callback?code=s2&state={}",
            attacker.get("state")
        ))
        .await;
    see_other(&res, "/signin");
    assert_eq!(signed_in_as(&victim).await, None);
}

#[tokio::test]
async fn a_code_works_once() {
    let (app, idp) = app_with_idp().await;
    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/idp/start").await;
    let res = finish(
        &browser,
        &idp,
        &started,
        "once",
        "sub-o",
        "o@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    browser.post_form("/signout", &[]).await;

    // Replaying the callback: its state is spent.
    let replay = browser
        .get(&format!(
            "/auth/idp/callback?code=once&state={}",
            started.get("state")
        ))
        .await;
    see_other(&replay, "/signin");
    // A fresh attempt with the used code: the provider refuses it.
    let fresh = start(&browser, "/auth/idp/start").await;
    let res = browser
        .get(&format!(
            "/auth/idp/callback?code=once&state={}",
            fresh.get("state")
        ))
        .await;
    see_other(&res, "/signin");
    assert!(browser
        .page("/signin")
        .await
        .contains("could not be verified"));
    assert_eq!(signed_in_as(&browser).await, None);
}

#[tokio::test]
async fn denied_consent_and_a_provider_that_is_down_read_as_words() {
    let (app, _idp) = app_with_idp().await;
    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/idp/start").await;
    let res = browser
        .get(&format!(
            "/auth/idp/callback?error=access_denied&state={}",
            started.get("state")
        ))
        .await;
    see_other(&res, "/signin");
    assert!(browser
        .page("/signin")
        .await
        .contains("Signing in with Test IdP was cancelled."));

    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut config = crate::fake_idp::FakeIdp::start()
        .await
        .provider_config("down");
    config.issuer = Some(dead);
    config.endpoints.authorization = None;
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.social_providers = Some(vec![config]);
    })
    .await;
    let browser = Browser::new(&app);
    let res = browser.get("/auth/down/start").await;
    see_other(&res, "/signin");
    assert!(browser
        .page("/signin")
        .await
        .contains("could not be reached"));
}

#[tokio::test]
async fn rotated_signing_keys_are_fetched_when_first_seen() {
    let (app, idp) = app_with_idp().await;
    let browser = Browser::new(&app);
    let first = start(&browser, "/auth/idp/start").await;
    see_other(
        &finish(
            &browser,
            &idp,
            &first,
            "r1",
            "sub-r",
            "r@example.com",
            Mint::Good,
        )
        .await,
        "/profile",
    );
    browser.post_form("/signout", &[]).await;

    idp.rotate();
    // The cache refetches at most every 2 s for unknown keys.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let second = start(&browser, "/auth/idp/start").await;
    let res = finish(
        &browser,
        &idp,
        &second,
        "r2",
        "sub-r",
        "r@example.com",
        Mint::RotatedKey,
    )
    .await;
    see_other(&res, "/profile");
}

#[tokio::test]
async fn a_matching_email_links_only_after_the_password() {
    let (app, idp) = app_with_idp().await;
    let owner = Browser::new(&app);
    see_other(
        &owner.sign_up_with_email("olga", "olga@example.com").await,
        "/profile",
    );
    owner.post_form("/signout", &[]).await;

    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/idp/start").await;
    let res = finish(
        &browser,
        &idp,
        &started,
        "l1",
        "sub-olga",
        "olga@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/signin");
    let page = browser.page("/signin").await;
    assert!(
        page.contains("Sign in with its password to link Test IdP"),
        "{page}"
    );
    assert_eq!(signed_in_as(&browser).await, None, "no automatic linking");

    let res = browser.sign_in("olga", None).await;
    see_other(&res, "/profile");
    assert!(browser
        .page("/profile")
        .await
        .contains("Test IdP is now linked to your account."));
    browser.post_form("/signout", &[]).await;

    let again = start(&browser, "/auth/idp/start").await;
    see_other(
        &finish(
            &browser,
            &idp,
            &again,
            "l2",
            "sub-olga",
            "olga@example.com",
            Mint::Good,
        )
        .await,
        "/profile",
    );
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("olga"));
}

/// Once the local address is verified (here by its link), a provider's verified email
/// that equals it links on its own: both sides vouch for the address.
#[tokio::test]
async fn a_verified_local_address_links_on_its_own() {
    // Mail to a closed port: the verification mail stays readable in the outbox.
    let port = crate::smtp::free_port();
    let (app, idp) =
        app_with_idp_and(move |s| s.email_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let owner = Browser::new(&app);
    see_other(
        &owner.sign_up_with_email("vic", "vic@example.com").await,
        "/profile",
    );
    owner.post_form("/signout", &[]).await;
    // The verification mail's link, spent as the page's Confirm button spends it.
    let sql = "SELECT text_body FROM mail_outbox WHERE recipient = 'vic@example.com'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let key = loop {
        let rows: Vec<(String,)> = match &app.state.db {
            backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_all(pool).await,
            backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        }
        .unwrap();
        let found = rows.iter().find_map(|(text,)| {
            let start = text.find("/verify-email/")? + "/verify-email/".len();
            Some(text[start..].split_whitespace().next()?.to_owned())
        });
        if let Some(key) = found {
            break key;
        }
        assert!(std::time::Instant::now() < deadline, "no verification mail");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let res = app
        .post_json(
            "/api/auth/register/verify-email/",
            &serde_json::json!({ "key": key }),
        )
        .await;
    assert_eq!(res.status(), 200);

    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/idp/start").await;
    let res = finish(
        &browser,
        &idp,
        &started,
        "v1",
        "sub-vic",
        "VIC@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    assert_eq!(signed_in_as(&browser).await.as_deref(), Some("vic"));
}

#[tokio::test]
async fn an_unverified_email_neither_links_nor_is_kept() {
    let (app, idp) = app_with_idp().await;
    let owner = Browser::new(&app);
    see_other(
        &owner.sign_up_with_email("uma", "uma@example.com").await,
        "/profile",
    );

    let stranger = Browser::new(&app);
    let started = start(&stranger, "/auth/idp/start").await;
    let res = finish(
        &stranger,
        &idp,
        &started,
        "u1",
        "sub-uma?",
        "uma@example.com",
        Mint::UnverifiedEmail,
    )
    .await;
    see_other(&res, "/profile");
    let page = stranger.page("/profile").await;
    assert_ne!(signed_in_as(&stranger).await.as_deref(), Some("uma"));
    assert!(
        page.contains("Not provided"),
        "the unverified address is not kept: {page}"
    );
}

#[tokio::test]
async fn linking_and_unlinking_from_the_profile() {
    let (app, idp) = app_with_idp().await;
    let browser = Browser::new(&app);
    browser.sign_up("pia").await;
    let started = start(&browser, "/auth/idp/start?link=1").await;
    let res = finish(
        &browser,
        &idp,
        &started,
        "k1",
        "sub-pia",
        "other@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    let page = browser.page("/profile").await;
    assert!(
        page.contains("Test IdP is now linked to your account."),
        "{page}"
    );
    assert!(page.contains("/profile/identities/idp/unlink"));

    // Social-only account: its one provider cannot be unlinked.
    let social_only = Browser::new(&app);
    let s = start(&social_only, "/auth/idp/start").await;
    finish(
        &social_only,
        &idp,
        &s,
        "k2",
        "sub-solo",
        "solo@example.com",
        Mint::Good,
    )
    .await;
    social_only
        .post_form("/profile/identities/idp/unlink", &[])
        .await;
    assert!(social_only
        .page("/profile")
        .await
        .contains("is the only way to sign in"));

    // A social-only account whose sign-in is no longer recent confirms it is them with
    // its provider (the linked identity only), then sensitive actions go ahead.
    // (Its username comes from the provider: find its id on its profile page.)
    let page = social_only.page("/profile").await;
    let marker = "data-testid=\"profile-pk\">";
    let at = page.find(marker).unwrap() + marker.len();
    let solo: i64 = page[at..].split('<').next().unwrap().parse().unwrap();
    app.execute(
        "UPDATE token_families SET authenticated_at = authenticated_at - 3600 WHERE user_id = $1",
        solo,
    )
    .await;
    let page = social_only.page("/profile").await;
    assert!(page.contains("/auth/idp/start?reauth=1"), "{page}");
    let wrong = start(&social_only, "/auth/idp/start?reauth=1").await;
    let res = finish(
        &social_only,
        &idp,
        &wrong,
        "k4",
        "sub-somebody-else",
        "else@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    assert!(social_only
        .page("/profile")
        .await
        .contains("That Test IdP account is not the one linked to this account."));
    let right = start(&social_only, "/auth/idp/start?reauth=1").await;
    let res = finish(
        &social_only,
        &idp,
        &right,
        "k5",
        "sub-solo",
        "solo@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    let page = social_only.page("/profile").await;
    assert!(
        page.contains("Thank you. For the next 10 minutes"),
        "{page}"
    );
    assert!(!page.contains("/auth/idp/start?reauth=1"));

    // Pia has a password: unlinking is a sensitive change. With an old sign-in it waits for
    // the password; then it works, and the identity no longer signs her in.
    let pia = backend::users::find_by_username(&app.state.db, "pia")
        .await
        .unwrap()
        .unwrap()
        .id;
    app.execute(
        "UPDATE token_families SET authenticated_at = authenticated_at - 3600 WHERE user_id = $1",
        pia,
    )
    .await;
    browser
        .post_form("/profile/identities/idp/unlink", &[])
        .await;
    assert!(browser
        .page("/profile")
        .await
        .contains("For your security, confirm it is you"));
    see_other(
        &browser
            .post_form(
                "/profile/identities/idp/unlink",
                &[("password", crate::helpers::GOOD_PASSWORD)],
            )
            .await,
        "/profile",
    );
    assert!(browser
        .page("/profile")
        .await
        .contains("Test IdP is no longer linked."));
    let kinds = app.event_kinds(Some(pia)).await;
    assert_eq!(
        kinds[..2],
        ["identity_unlinked", "identity_linked"],
        "{kinds:?}"
    );
    assert_eq!(
        app.events(Some(pia)).await[0].1.as_deref(),
        Some("idp"),
        "the provider is named"
    );
    assert!(browser.page("/profile").await.contains("Unlinked Test IdP"));
    browser.post_form("/signout", &[]).await;
    let again = start(&browser, "/auth/idp/start").await;
    finish(
        &browser,
        &idp,
        &again,
        "k3",
        "sub-pia",
        "other@example.com",
        Mint::Good,
    )
    .await;
    assert_ne!(signed_in_as(&browser).await.as_deref(), Some("pia"));
}

#[tokio::test]
async fn api_google_verifies_the_id_token() {
    let (app, idp) = app_with_idp().await;
    let good = idp.id_token("g-1", "gina@example.com", Mint::Good);
    for field in ["id_token", "access_token"] {
        let res = app
            .post_json("/api/auth/google/", &serde_json::json!({ field: good }))
            .await;
        assert_eq!(res.status(), 200, "{field}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["user"]["username"], "gina");
        assert_eq!(body["user"]["email"], "gina@example.com");
        let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["access", "refresh", "user"]);
    }

    for mint in [
        Mint::AlgNone,
        Mint::BadSignature,
        Mint::WrongAudience,
        Mint::WrongIssuer,
        Mint::Expired,
        Mint::UnknownKid,
    ] {
        let what = format!("{mint:?}");
        let forged = idp.id_token("g-evil", "evil@example.com", mint);
        let res = app
            .post_json(
                "/api/auth/google/",
                &serde_json::json!({ "access_token": forged }),
            )
            .await;
        assert_eq!(res.status(), 400, "{what}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(
            body["non_field_errors"][0]
                .as_str()
                .unwrap()
                .contains("Invalid Google token"),
            "{what}: {body}"
        );
    }
    for body in [
        serde_json::json!({ "access_token": "ya29.opaque" }),
        serde_json::json!({ "id_token": "not.a.jwt" }),
        serde_json::json!({}),
    ] {
        let res = app.post_json("/api/auth/google/", &body).await;
        assert_eq!(res.status(), 400, "{body}");
        assert!(res.json::<serde_json::Value>().await.unwrap()["non_field_errors"].is_array());
    }

    let plain = TestApp::spawn(Engine::Sqlite).await;
    let res = plain
        .post_json(
            "/api/auth/google/",
            &serde_json::json!({ "id_token": good }),
        )
        .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn github_signs_in_with_its_verified_email() {
    let idp = FakeIdp::start().await;
    let github = idp.github_config();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.social_providers = Some(vec![github]);
    })
    .await;
    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/github/start").await;
    assert_eq!(started.get("code_challenge_method"), "S256");
    assert!(started.get("scope").contains("user:email"));
    idp.grant("gh1", "", "", "octocat", "", Mint::Good);
    let res = browser
        .get(&format!(
            "/auth/github/callback?code=gh1&state={}",
            started.get("state")
        ))
        .await;
    see_other(&res, "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains(">octocat<"), "{page}");
    // The verified address, not the unverified primary one.
    assert!(page.contains("octocat@example.com") && !page.contains("unverified"));
    assert!(page.contains(">Octo<") && page.contains(">Cat<"));
}

#[tokio::test]
async fn api_google_accepts_an_authorization_code() {
    let (app, idp) = app_with_idp().await;
    idp.grant("api-code", "", "", "g-code", "cody@example.com", Mint::Good);
    let res = app
        .post_json(
            "/api/auth/google/",
            &serde_json::json!({ "code": "api-code" }),
        )
        .await;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], "cody@example.com");
    // Codes are single-use.
    let res = app
        .post_json(
            "/api/auth/google/",
            &serde_json::json!({ "code": "api-code" }),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_second_factor_is_asked_after_social_sign_in_unless_the_linked_provider_vouches() {
    let (app, idp) = app_with_idp().await;
    // An account made by the provider, with an authenticator app switched on.
    let browser = Browser::new(&app);
    let started = start(&browser, "/auth/idp/start").await;
    let res = finish(
        &browser,
        &idp,
        &started,
        "m1",
        "sub-mo",
        "mo@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/profile");
    see_other(
        &browser.post_form("/profile/mfa/totp/setup", &[]).await,
        "/profile/mfa/totp",
    );
    let page = browser.page("/profile/mfa/totp").await;
    let at = page.find("data-testid=\"totp-secret\"").unwrap();
    let at = at + page[at..].find('>').unwrap() + 1;
    let secret =
        backend::mfa::totp::secret_from_text(&page[at..at + page[at..].find('<').unwrap()])
            .unwrap();
    let code = backend::mfa::totp::code_at(&secret, crate::mfa::now());
    see_other(
        &browser
            .post_form("/profile/mfa/totp/activate", &[("code", &code)])
            .await,
        "/profile/mfa/recovery-codes",
    );

    // The provider alone is not enough now...
    let again = Browser::new(&app);
    let started = start(&again, "/auth/idp/start").await;
    let res = finish(
        &again,
        &idp,
        &started,
        "m2",
        "sub-mo",
        "mo@example.com",
        Mint::Good,
    )
    .await;
    see_other(&res, "/signin/second-factor");
    assert_eq!(signed_in_as(&again).await, None);
    // ...unless it says the person passed a second factor there (`amr`).
    let vouched = Browser::new(&app);
    let started = start(&vouched, "/auth/idp/start").await;
    let res = finish(
        &vouched,
        &idp,
        &started,
        "m3",
        "sub-mo",
        "mo@example.com",
        Mint::WithMfa,
    )
    .await;
    see_other(&res, "/profile");
    assert!(signed_in_as(&vouched).await.is_some());

    // A provider account that merely shares a verified address with an account that has a
    // second factor is not linked to it, whatever it vouches for.
    let (_, _, _) = crate::mfa::enrolled(&app, "nan", "nan@example.com").await;
    app.execute(
        "UPDATE users SET email_verified = TRUE WHERE username = 'nan' AND id > $1",
        0,
    )
    .await;
    let stranger = Browser::new(&app);
    let started = start(&stranger, "/auth/idp/start").await;
    let res = finish(
        &stranger,
        &idp,
        &started,
        "m4",
        "sub-evil",
        "nan@example.com",
        Mint::WithMfa,
    )
    .await;
    // The sign-in page, asking for the account's password: no link, no second step.
    see_other(&res, "/signin");
    assert_eq!(signed_in_as(&stranger).await, None);
    let sql = "SELECT COUNT(*) FROM identities WHERE subject = 'sub-evil'";
    let (linked,): (i64,) = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_one(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await,
    }
    .unwrap();
    assert_eq!(linked, 0);
}
