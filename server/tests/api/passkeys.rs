//! Passkeys, end to end through the server's WebAuthn ceremonies, answered by a software
//! authenticator: adding one, using it as the second factor, signing in with it alone,
//! replay, and removal. (Chromium's virtual authenticator covers the browser's side in the
//! end-to-end tests.)

use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;
use crate::web::{location, see_other, Browser};

/// Passkeys need a domain name: the app believes it is served at `http://localhost`.
const ORIGIN: &str = "http://localhost";

mod sqlite_on_localhost {
    #[tokio::test]
    async fn passkeys_from_registration_to_removal() {
        super::passkeys_from_registration_to_removal(super::spawn(super::Engine::Sqlite).await)
            .await
    }
}

mod postgres_on_localhost {
    #[tokio::test]
    async fn passkeys_from_registration_to_removal() {
        super::passkeys_from_registration_to_removal(super::spawn(super::Engine::Postgres).await)
            .await
    }
}

on_both_databases!(passkeys_are_off_on_an_ip_address);

async fn spawn(engine: Engine) -> TestApp {
    TestApp::spawn_with(engine, |s| s.public_url = Some(ORIGIN.into())).await
}

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    status_and_json(res).await
}

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

async fn passkeys_from_registration_to_removal(app: TestApp) {
    let mut authenticator = SoftPasskey::new(true);
    let browser = Browser::with_origin(&app, ORIGIN.into());
    see_other(&browser.sign_up("pat").await, "/profile");

    // Adding a passkey: the options ask for a discoverable credential.
    let (status, options) = json_of(
        browser
            .post_json("/profile/passkeys/begin", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{options}");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    let handle = options["publicKey"]["user"]["id"].clone();
    let mut creation: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    // The software authenticator keeps no resident keys; the server does not insist.
    if let Some(selection) = creation.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = false;
        selection.resident_key = None;
    }
    let credential = authenticator.do_registration(origin(), creation).unwrap();
    let credential_id = serde_json::to_value(&credential).unwrap()["rawId"].clone();
    let (status, body) = json_of(
        browser
            .post_json(
                "/profile/passkeys/finish",
                &json!({"name": "Laptop", "credential": credential}),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, &body),
        (200, &json!({"redirect": "/profile/mfa/recovery-codes"}))
    );
    let page = browser.page("/profile/mfa/recovery-codes").await;
    assert_eq!(page.matches("data-testid=\"recovery-code\"").count(), 10);
    let page = browser.page("/profile").await;
    assert!(
        page.contains("data-testid=\"passkey-name-shown\">Laptop<"),
        "{page}"
    );
    // The same ceremony cannot finish twice.
    let (status, body) = json_of(
        browser
            .post_json(
                "/profile/passkeys/finish",
                &json!({"name": "Again", "credential": credential}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"]["ceremony_token"][0]
        .as_str()
        .unwrap()
        .contains("expired"));

    // The password now leads to the second step, which offers the passkey.
    let (status, body) = json_of(app.login("pat", GOOD_PASSWORD).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["methods"], json!(["webauthn", "recovery_codes"]));
    let second = Browser::with_origin(&app, ORIGIN.into());
    see_other(&second.sign_in("pat", None).await, "/signin/second-factor");
    let (status, options) = json_of(
        second
            .post_json("/signin/second-factor/passkey/begin", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{options}");
    let request: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let assertion = authenticator.do_authentication(origin(), request).unwrap();
    let (status, body) = json_of(
        second
            .post_json(
                "/signin/second-factor/passkey/finish",
                &json!({"credential": assertion}),
            )
            .await,
    )
    .await;
    assert_eq!((status, &body), (200, &json!({"redirect": "/profile"})));
    let page = second.page("/profile").await;
    assert!(
        page.contains("data-testid=\"passkeys\""),
        "signed in as pat: {page}"
    );

    // A passkey alone: the browser picks the passkey, which says whose it is.
    let third = Browser::with_origin(&app, ORIGIN.into());
    let (status, options) =
        json_of(third.post_json("/signin/passkey/begin", &json!({})).await).await;
    assert_eq!(status, 200, "{options}");
    assert!(
        options.get("mediation").is_none(),
        "the page decides: {options}"
    );
    assert_eq!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .map_or(0, Vec::len),
        0,
        "discoverable: no credentials named"
    );
    // The software authenticator cannot discover; name its credential for it, and give
    // the user handle a discoverable credential returns (not covered by the signature).
    let mut options = options;
    options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let request: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let assertion = authenticator.do_authentication(origin(), request).unwrap();
    let mut assertion = serde_json::to_value(&assertion).unwrap();
    assertion["response"]["userHandle"] = handle.clone();
    let answer = json!({"credential": assertion, "next": "/profile?tab=1"});
    let (status, body) = json_of(third.post_json("/signin/passkey/finish", &answer).await).await;
    assert_eq!(
        (status, &body),
        (200, &json!({"redirect": "/profile?tab=1"}))
    );
    assert_eq!(third.get("/profile").await.status(), 200);
    // Replayed: the ceremony is spent.
    let fourth = Browser::with_origin(&app, ORIGIN.into());
    let (status, _) = json_of(fourth.post_json("/signin/passkey/begin", &json!({})).await).await;
    assert_eq!(status, 200);
    let (status, body) = json_of(fourth.post_json("/signin/passkey/finish", &answer).await).await;
    assert_eq!(status, 400, "a stale assertion: {body}");
    let res = fourth.get("/profile").await;
    assert!(location(&res).starts_with("/signin"), "not signed in");
    let (status, body) = json_of(fourth.post_json("/signin/passkey/finish", &answer).await).await;
    assert_eq!(status, 400, "no ceremony at all: {body}");

    // The API lists it; removing the last factor needs the confirmation.
    let (_, login) = json_of(
        app.post_json(
            "/api/auth/login/",
            &json!({"username": "pat", "password": GOOD_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(login["mfa_required"], true);
    let page = browser.page("/profile").await;
    let id_at = page.find("/profile/passkeys/").unwrap() + "/profile/passkeys/".len();
    let id: String = page[id_at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let remove = format!("/profile/passkeys/{id}/remove");
    see_other(&browser.post_form(&remove, &[]).await, "/profile");
    assert!(browser
        .page("/profile")
        .await
        .contains("This is your last second factor"));
    see_other(
        &browser.post_form(&remove, &[("confirm", "on")]).await,
        "/profile",
    );
    let page = browser.page("/profile").await;
    assert!(page.contains("The passkey was removed."), "{page}");
    assert!(page.contains("data-testid=\"no-passkeys\""), "{page}");
    let (status, body) = json_of(app.login("pat", GOOD_PASSWORD).await).await;
    assert_eq!(status, 200);
    assert!(body.get("access").is_some(), "MFA is off: {body}");
    let kinds = app.event_kinds(Some(1)).await;
    for kind in ["second_factor_added", "second_factor_removed", "signed_in"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

async fn passkeys_are_off_on_an_ip_address(app: TestApp) {
    let browser = Browser::new(&app);
    see_other(&browser.sign_up("quin").await, "/profile");
    let page = browser.page("/profile").await;
    assert!(page.contains("data-testid=\"passkeys-off\""), "{page}");
    let (status, body) =
        json_of(browser.post_json("/signin/passkey/begin", &json!({})).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"]["non_field_errors"][0],
        "Passkeys are not available on this server."
    );
}

async fn post_bearer(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    json_of(
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

mod api_on_localhost {
    #[tokio::test]
    async fn api_clients_add_a_passkey_and_sign_in_with_it() {
        super::api_clients_add_a_passkey_and_sign_in_with_it(
            super::spawn(super::Engine::Sqlite).await,
        )
        .await
    }
}

async fn api_clients_add_a_passkey_and_sign_in_with_it(app: TestApp) {
    let mut authenticator = SoftPasskey::new(true);
    let login = app.register("rae", "").await;
    let access = login["access"].as_str().unwrap();
    let (status, begun) =
        post_bearer(&app, "/api/auth/mfa/passkeys/begin/", access, &json!({})).await;
    assert_eq!(status, 200, "{begun}");
    assert_eq!(begun["expires_in"], 300);
    let handle = begun["options"]["publicKey"]["user"]["id"].clone();
    let mut creation: CreationChallengeResponse =
        serde_json::from_value(begun["options"].clone()).unwrap();
    if let Some(selection) = creation.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = false;
        selection.resident_key = None;
    }
    let credential = authenticator.do_registration(origin(), creation).unwrap();
    let credential_id = serde_json::to_value(&credential).unwrap()["rawId"].clone();
    let finish = json!({"ceremony_token": begun["ceremony_token"], "name": "Phone", "credential": credential});
    let (status, body) = post_bearer(&app, "/api/auth/mfa/passkeys/finish/", access, &finish).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recovery_codes"].as_array().map(Vec::len), Some(10));
    let (status, again) =
        post_bearer(&app, "/api/auth/mfa/passkeys/finish/", access, &finish).await;
    assert_eq!(status, 400, "single use: {again}");
    let (_, overview) = json_of(app.get_with_token("/api/auth/mfa/", access).await).await;
    assert_eq!(overview["passkeys"][0]["name"], "Phone");

    // The password now needs a second factor: the passkey, through the API.
    let (_, first) = json_of(app.login("rae", GOOD_PASSWORD).await).await;
    assert_eq!(first["methods"], json!(["webauthn", "recovery_codes"]));
    let mfa_token = first["mfa_token"].clone();
    let (status, begun) = json_of(
        app.post_json(
            "/api/auth/mfa/authenticate/passkey/begin/",
            &json!({"mfa_token": mfa_token}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{begun}");
    let request: RequestChallengeResponse =
        serde_json::from_value(begun["options"].clone()).unwrap();
    let assertion = authenticator.do_authentication(origin(), request).unwrap();
    let (status, body) = json_of(
        app.post_json(
            "/api/auth/mfa/authenticate/",
            &json!({"mfa_token": mfa_token, "ceremony_token": begun["ceremony_token"], "credential": assertion}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "rae");

    // A passkey alone.
    let (status, begun) = json_of(
        app.post_json("/api/auth/passkey/login/begin/", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{begun}");
    let mut options = begun["options"].clone();
    options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let request: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let mut assertion =
        serde_json::to_value(authenticator.do_authentication(origin(), request).unwrap()).unwrap();
    assertion["response"]["userHandle"] = handle;
    let answer = json!({"ceremony_token": begun["ceremony_token"], "credential": assertion});
    let (status, body) = json_of(
        app.post_json("/api/auth/passkey/login/finish/", &answer)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["username"], "rae");
    let (status, _) = json_of(
        app.post_json("/api/auth/passkey/login/finish/", &answer)
            .await,
    )
    .await;
    assert_eq!(status, 400, "the ceremony is spent");
    // Garbage answers are field errors, never a 500.
    for body in [
        json!({"ceremony_token": "x", "credential": {"id": 1}}),
        json!({"ceremony_token": "x", "credential": "not json"}),
        json!({}),
    ] {
        let (status, _) = json_of(
            app.post_json("/api/auth/passkey/login/finish/", &body)
                .await,
        )
        .await;
        assert_eq!(status, 400, "{body}");
    }
}
