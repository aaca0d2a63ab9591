//! The web app's forms and browser session, driven like a browser would: a cookie jar, no
//! automatic redirects, `Origin` and `Sec-Fetch-Site` on every POST.

use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::{Engine, TestApp, GOOD_PASSWORD};

pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    origin: String,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Browser<'a> {
        Browser::with_origin(app, app.address.clone())
    }

    /// A browser that believes the site is at `origin` (for an HTTPS `PUBLIC_URL`).
    pub(crate) fn with_origin(app: &'a TestApp, origin: String) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            origin,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.app.url(path)).send().await.unwrap()
    }

    /// A request with any method (no body), as a browser's cookie jar sends it.
    pub(crate) async fn request(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.client
            .request(method, self.app.url(path))
            .header("origin", &self.origin)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "GET {path}");
        res.text().await.unwrap()
    }

    /// A `fetch()` from the page: JSON, same origin.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.app.url(path))
            .header("origin", &self.origin)
            .header("sec-fetch-site", "same-origin")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_from(path, form, "same-origin").await
    }

    async fn post_from(&self, path: &str, form: &[(&str, &str)], site: &str) -> reqwest::Response {
        let origin = if site == "same-origin" {
            self.origin.clone()
        } else {
            "https://evil.example".to_owned()
        };
        self.client
            .post(self.app.url(path))
            .header("origin", origin)
            .header("sec-fetch-site", site)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn sign_up(&self, username: &str) -> reqwest::Response {
        self.sign_up_with_email(username, "").await
    }

    pub(crate) async fn sign_up_with_email(
        &self,
        username: &str,
        email: &str,
    ) -> reqwest::Response {
        self.post_form(
            "/signup",
            &[
                ("username", username),
                ("email", email),
                ("password1", GOOD_PASSWORD),
                ("password2", GOOD_PASSWORD),
            ],
        )
        .await
    }

    pub(crate) async fn sign_in(&self, username: &str, next: Option<&str>) -> reqwest::Response {
        let mut form = vec![("username", username), ("password", GOOD_PASSWORD)];
        if let Some(next) = next {
            form.push(("next", next));
        }
        self.post_form("/signin", &form).await
    }

    /// The server function the profile page's "with token" button calls.
    async fn access_token(&self) -> serde_json::Value {
        let res = self
            .client
            .post(self.app.url("/api/session/access-token"))
            .header("origin", &self.origin)
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}

pub(crate) fn location(res: &reqwest::Response) -> &str {
    res.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

pub(crate) fn see_other(res: &reqwest::Response, to: &str) {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "redirect to {to}");
    assert_eq!(location(res), to);
}

fn token_of(grant: &serde_json::Value) -> String {
    grant["Fresh"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("a fresh token, got {grant}"))
        .to_owned()
}

async fn sign_up_sign_out_and_sign_in_again(app: TestApp) {
    let browser = Browser::new(&app);
    see_other(&browser.get("/profile").await, "/signin?next=/profile");

    let res = browser.sign_up("webuser").await;
    see_other(&res, "/profile");
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("las_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP development: {cookie}"
    );

    let profile = browser.page("/profile").await;
    assert!(profile.contains("webuser") && profile.contains("Not provided"));
    let res = browser.get("/profile").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    // Signed in, the sign-in page sends you on.
    see_other(&browser.get("/signin").await, "/profile");

    see_other(&browser.post_form("/signout", &[]).await, "/");
    let home = browser.page("/").await;
    assert!(home.contains("You have signed out."), "{home}");
    assert!(home.contains("You are not authenticated."));
    // Shown once.
    assert!(!browser.page("/").await.contains("You have signed out."));
    see_other(&browser.get("/profile").await, "/signin?next=/profile");

    see_other(
        &browser.sign_in("webuser", Some("/profile")).await,
        "/profile",
    );
    assert!(browser.page("/profile").await.contains("webuser"));
}

async fn wrong_credentials_come_back_in_words_with_the_username_kept(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("keeper").await;
    browser.post_form("/signout", &[]).await;

    let res = browser
        .post_form(
            "/signin",
            &[
                ("username", "keeper"),
                ("password", "not-the-password"),
                ("next", "/profile?tab=2"),
            ],
        )
        .await;
    see_other(&res, "/signin?next=/profile%3Ftab%3D2");
    let page = browser.page(location(&res)).await;
    assert!(
        page.contains("Unable to log in with provided credentials."),
        "{page}"
    );
    assert!(page.contains(r#"value="keeper""#), "username kept");
    assert!(!page.contains("not-the-password"), "password never echoed");
    assert!(
        page.contains(r#"name="next" value="/profile?tab=2""#),
        "next kept"
    );
    // The feedback is one-shot.
    assert!(!browser.page("/signin").await.contains("Unable to log in"));

    let res = browser
        .post_form("/signin", &[("username", ""), ("password", "")])
        .await;
    let page = browser.page(location(&res)).await;
    assert!(page.contains("This field may not be blank."), "{page}");
}

async fn sign_up_shows_the_apis_messages_field_by_field(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("taken").await;
    let other = Browser::new(&app);
    let res = other
        .post_form(
            "/signup",
            &[
                ("username", "taken"),
                ("email", "not-an-email"),
                ("password1", "123"),
                ("password2", "123"),
            ],
        )
        .await;
    see_other(&res, "/signup");
    let page = other.page("/signup").await;
    for message in [
        "A user with that username already exists.",
        "Enter a valid email address.",
        "This password is too short. It must contain at least 8 characters.",
        "This password is entirely numeric.",
    ] {
        assert!(page.contains(message), "{message}\n{page}");
    }
    assert!(page.contains(r#"value="not-an-email""#));
    assert!(page.contains(r#"aria-invalid="true""#));

    let res = other
        .post_form(
            "/signup",
            &[
                ("username", "fresh"),
                ("password1", GOOD_PASSWORD),
                ("password2", "something-else-entirely-9"),
            ],
        )
        .await;
    let page = other.page(location(&res)).await;
    assert!(page.contains("The two password fields didn"), "{page}");
}

async fn next_only_leads_to_this_site(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("nexter").await;
    browser.post_form("/signout", &[]).await;
    for (next, expected) in [
        ("/profile?x=1", "/profile?x=1"),
        ("//evil.com", "/profile"),
        ("https://evil.com", "/profile"),
        ("/\\evil.com", "/profile"),
        ("/\t/evil.com", "/profile"),
    ] {
        see_other(&browser.sign_in("nexter", Some(next)).await, expected);
        browser.post_form("/signout", &[]).await;
    }
    see_other(
        &browser.get("/profile?y=1&z=2").await,
        "/signin?next=/profile%3Fy%3D1%26z%3D2",
    );
    browser.sign_in("nexter", None).await;
    see_other(&browser.get("/signin?next=//evil.com").await, "/profile");
    see_other(&browser.get("/signin?next=/profile?z").await, "/profile?z");
}

async fn sign_in_replaces_the_session_id(app: TestApp) {
    let browser = Browser::new(&app);
    let first = browser.sign_up("fixed").await;
    let old = first.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let earlier_token = token_of(&browser.access_token().await);
    let second = browser.sign_in("fixed", None).await;
    // Signing in again ends the earlier sign-in rather than orphaning its tokens.
    assert_eq!(
        app.get_with_token("/api/auth/user/", &earlier_token)
            .await
            .status(),
        401
    );
    assert!(browser.page("/profile").await.contains("fixed"));
    let new = second.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&old), id(&new));

    // The old id is worth nothing now.
    let res = app
        .client
        .get(app.url("/profile"))
        .header("cookie", id(&old))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

async fn sign_out_revokes_the_tokens_the_page_held(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("holder").await;
    let token = token_of(&browser.access_token().await);
    assert_eq!(
        app.get_with_token("/api/auth/user/", &token).await.status(),
        200
    );

    browser.post_form("/signout", &[]).await;
    assert_eq!(
        app.get_with_token("/api/auth/user/", &token).await.status(),
        401
    );
    assert_eq!(browser.access_token().await, serde_json::json!("SignedOut"));
}

async fn cross_site_form_posts_are_refused(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("victim").await;
    for (path, form) in [
        ("/signout", vec![]),
        ("/profile", vec![("first_name", "Pwned")]),
    ] {
        for site in ["cross-site", "same-site"] {
            let res = browser.post_from(path, &form, site).await;
            assert_eq!(res.status(), 403, "{site} POST {path}");
        }
    }
    let page = browser.page("/profile").await;
    assert!(page.contains("victim") && !page.contains("Pwned"));
}

async fn profile_edits_persist_and_are_validated(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("editor").await;
    let res = browser
        .post_form(
            "/profile",
            &[
                ("username", "editor2"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
            ],
        )
        .await;
    see_other(&res, "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains("Your profile was saved."), "{page}");
    assert!(page.contains("Ada") && page.contains("Lovelace") && page.contains("editor2"));

    let token = token_of(&browser.access_token().await);
    let body: serde_json::Value = app
        .get_with_token("/api/auth/user/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["username"], "editor2");
    assert_eq!(body["first_name"], "Ada");

    browser
        .post_form(
            "/profile",
            &[("username", "bad name!"), ("first_name", "Bob")],
        )
        .await;
    let page = browser.page("/profile").await;
    assert!(page.contains("Enter a valid username."), "{page}");
    assert!(
        page.contains(r#"value="bad name!""#),
        "the typed value is kept"
    );
    assert!(
        !browser.page("/profile").await.contains("Bob"),
        "nothing saved"
    );
}

async fn deactivation_ends_the_browser_session(app: TestApp) {
    let browser = Browser::new(&app);
    browser.sign_up("leaver").await;
    let user = backend::users::find_by_username(&app.state.db, "leaver")
        .await
        .unwrap()
        .unwrap();
    app.state
        .tokens
        .revoke_all_for_user(user.id, "deactivated")
        .await
        .unwrap();
    see_other(&browser.get("/profile").await, "/signin?next=/profile");
}

crate::on_both_databases!(
    sign_up_sign_out_and_sign_in_again,
    wrong_credentials_come_back_in_words_with_the_username_kept,
    sign_up_shows_the_apis_messages_field_by_field,
    next_only_leads_to_this_site,
    sign_in_replaces_the_session_id,
    sign_out_revokes_the_tokens_the_page_held,
    cross_site_form_posts_are_refused,
    profile_edits_persist_and_are_validated,
    deactivation_ends_the_browser_session,
);

/// Racing tabs after the access token expired: one refresh, everyone gets its result, and
/// the session survives (a second refresh with the same token would look like theft).
async fn concurrent_refreshes_are_single_flight(engine: Engine) {
    let app = TestApp::spawn_with(engine, |s| {
        // Refreshed when a third (1 s) is left; JWT times are whole seconds, so a new token
        // stays fresh for 1 to 2 s, and 2.1 s later every request finds it due.
        s.jwt_access_token_lifetime = 3;
        s.jwt_refresh_reuse_grace = 0;
    })
    .await;
    let browser = Browser::new(&app);
    browser.sign_up("racer").await;
    let first = token_of(&browser.access_token().await);

    for round in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let grants = futures_util::future::join_all((0..8).map(|_| browser.access_token())).await;
        let tokens: Vec<String> = grants.iter().map(token_of).collect();
        assert!(
            tokens.iter().all(|t| t == &tokens[0]),
            "round {round}: one refresh"
        );
        assert_ne!(tokens[0], first);
        let res = app.get_with_token("/api/auth/user/", &tokens[0]).await;
        assert_eq!(res.status(), 200, "round {round}");
    }
    assert!(browser.page("/profile").await.contains("racer"));

    let sql = "SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL";
    let rotations: (i64,) = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_one(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await,
    }
    .unwrap();
    assert_eq!(
        rotations.0, 3,
        "one rotation per expiry, not one per request"
    );
}

#[tokio::test]
async fn concurrent_refreshes_are_single_flight_sqlite() {
    concurrent_refreshes_are_single_flight(Engine::Sqlite).await;
}

#[tokio::test]
async fn concurrent_refreshes_are_single_flight_postgres() {
    concurrent_refreshes_are_single_flight(Engine::Postgres).await;
}

#[tokio::test]
async fn https_deployments_get_secure_host_only_cookies() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.public_url = Some("https://auth.example.com".into());
    })
    .await;
    let browser = Browser::with_origin(&app, "https://auth.example.com".into());
    let res = browser.sign_up("secure").await;
    see_other(&res, "/profile");
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-las_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn pages_carry_a_strict_csp_with_the_inline_scripts_nonce() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let res = app.get("/signin").await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(html.contains(&format!(r#"<script type="module" nonce="{nonce}">"#)));
    for directive in [
        "default-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    // A fresh nonce per response.
    let again = app.get("/signin").await.headers()["content-security-policy"].clone();
    assert_ne!(again.to_str().unwrap(), csp);
}

#[tokio::test]
async fn the_404_page_still_knows_who_is_signed_in() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let browser = Browser::new(&app);
    browser.sign_up("lost").await;
    let res = browser.get("/no/such/page").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"class="nav-user">lost</span>"#), "{html}");
}
