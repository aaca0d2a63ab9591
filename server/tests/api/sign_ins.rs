//! "Where you're signed in": listing and ending sign-ins over the API and from the profile
//! page, only ever the caller's own; revocations seen by a second instance; last use and
//! the idle timeout.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{status_and_json, Engine, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;
use crate::web::{location, Browser};

on_both_databases!(
    lists_only_the_callers_own_sign_ins,
    ending_a_sign_in_stops_its_tokens_at_once,
    other_users_sign_ins_are_not_found,
    revoke_others_keeps_the_callers_own,
    the_profile_page_lists_and_ends_other_sign_ins,
);

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn sessions(app: &TestApp, access: &Value) -> (u16, Value) {
    status_and_json(
        app.get_with_token("/api/auth/sessions/", access.as_str().unwrap())
            .await,
    )
    .await
}

async fn delete(app: &TestApp, access: &Value, id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/auth/sessions/{id}/")))
        .bearer_auth(access.as_str().unwrap())
        .send()
        .await
        .unwrap()
}

async fn revoke_others(app: &TestApp, access: &Value) -> (u16, Value) {
    status_and_json(
        app.client
            .post(app.url("/api/auth/sessions/revoke-others/"))
            .bearer_auth(access.as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Signs `username` in again through the API, as Firefox; returns the login body.
async fn login_as_firefox(app: &TestApp, username: &str) -> Value {
    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .header("user-agent", FIREFOX)
        .json(&json!({"username": username, "password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh_status(app: &TestApp, login: &Value) -> u16 {
    app.post_json(
        "/api/auth/token/refresh/",
        &json!({"refresh": login["refresh"]}),
    )
    .await
    .status()
    .as_u16()
}

async fn user_status(app: &TestApp, login: &Value) -> u16 {
    app.get_with_token("/api/auth/user/", login["access"].as_str().unwrap())
        .await
        .status()
        .as_u16()
}

fn iso_utc(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text).is_ok() && text.ends_with('Z')
}

async fn lists_only_the_callers_own_sign_ins(app: TestApp) {
    let first = app.register("ada", "").await;
    let second = login_as_firefox(&app, "ada").await;
    let other = app.register("bob", "").await;

    let (status, list) = sessions(&app, &second["access"]).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    // Both used just now (same second at best): the caller's own is marked, whatever the order.
    let mine = list.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(mine["method"], "password");
    assert_eq!(mine["channel"], "api");
    assert_eq!(mine["user_agent"], "Firefox on Linux");
    assert_eq!(mine["ip"], "127.0.0.1");
    assert_eq!(mine["created_ip"], "127.0.0.1");
    assert!(iso_utc(&mine["created_at"]) && iso_utc(&mine["last_used_at"]));
    let older = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(older["method"], "registration");
    assert_eq!(older["user_agent"], "API client");
    let ids: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();

    // bob sees his one sign-in, none of ada's.
    let (_, theirs) = sessions(&app, &other["access"]).await;
    let theirs = theirs.as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    assert!(!ids.contains(&theirs[0]["id"].as_str().unwrap()));

    // Newest use first: the first sign-in, used again a minute later, comes first.
    app.execute(
        "UPDATE token_families SET last_used_at = last_used_at - 120 WHERE user_id = $1",
        first["user"]["pk"].as_i64().unwrap(),
    )
    .await;
    let older_id = older["id"].as_str().unwrap();
    app.execute(
        &format!("UPDATE token_families SET last_used_at = last_used_at + 60 WHERE id = '{older_id}' AND user_id = $1"),
        first["user"]["pk"].as_i64().unwrap(),
    )
    .await;
    let (_, list) = sessions(&app, &second["access"]).await;
    assert_eq!(list[0]["id"], older["id"], "{list}");

    // Without a token: the contract's 401.
    let (status, body) = status_and_json(app.get("/api/auth/sessions/").await).await;
    assert_eq!(status, 401, "{body}");
}

async fn ending_a_sign_in_stops_its_tokens_at_once(app: TestApp) {
    let phone = app.register("cleo", "").await;
    let laptop = login_as_firefox(&app, "cleo").await;
    let (_, list) = sessions(&app, &laptop["access"]).await;
    let phone_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = delete(&app, &laptop["access"], &phone_id).await;
    assert_eq!(res.status(), 204);
    assert_eq!(res.text().await.unwrap(), "");
    assert_eq!(user_status(&app, &phone).await, 401, "access token");
    assert_eq!(refresh_status(&app, &phone).await, 401, "refresh token");
    assert_eq!(user_status(&app, &laptop).await, 200, "the caller's own");
    let (_, list) = sessions(&app, &laptop["access"]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Ended once: a second time is a 404, as is an id nobody has.
    let (status, body) = status_and_json(delete(&app, &laptop["access"], &phone_id).await).await;
    assert_eq!((status, body), (404, json!({"detail": "Not found."})));
    let res = delete(&app, &laptop["access"], "no-such-sign-in").await;
    assert_eq!(res.status(), 404);
    // Deleting one's own sign-in ends it, like a logout.
    let own = sessions(&app, &laptop["access"]).await.1[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(delete(&app, &laptop["access"], &own).await.status(), 204);
    assert_eq!(user_status(&app, &laptop).await, 401);
}

async fn other_users_sign_ins_are_not_found(app: TestApp) {
    let eve = app.register("eve", "").await;
    let dan = app.register("dan", "").await;
    let (_, list) = sessions(&app, &dan["access"]).await;
    let dans = list[0]["id"].as_str().unwrap().to_owned();

    let (status, body) = status_and_json(delete(&app, &eve["access"], &dans).await).await;
    assert_eq!((status, body), (404, json!({"detail": "Not found."})));
    assert_eq!(user_status(&app, &dan).await, 200, "dan is still signed in");
    assert_eq!(refresh_status(&app, &dan).await, 200);
    // revoke-others ends none of dan's either.
    let (status, body) = revoke_others(&app, &eve["access"]).await;
    assert_eq!((status, body["ended"].clone()), (200, json!(0)));
    let (_, list) = sessions(&app, &dan["access"]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

async fn revoke_others_keeps_the_callers_own(app: TestApp) {
    let first = app.register("fay", "").await;
    let second = login_as_firefox(&app, "fay").await;
    let third = app
        .login("fay", GOOD_PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();

    let (status, body) = revoke_others(&app, &second["access"]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], 2);
    assert_eq!(body["detail"], "Every other sign-in was ended.");
    assert_eq!(user_status(&app, &second).await, 200);
    assert_eq!(refresh_status(&app, &second).await, 200);
    for ended in [&first, &third] {
        assert_eq!(user_status(&app, ended).await, 401);
        assert_eq!(refresh_status(&app, ended).await, 401);
    }
    let (_, list) = sessions(&app, &second["access"]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["current"], true);
}

/// Two browsers signed in as one user: the first sees both, ends the second, and the
/// second is signed out on its next page load.
async fn the_profile_page_lists_and_ends_other_sign_ins(app: TestApp) {
    let laptop = Browser::new(&app);
    let phone = Browser::new(&app);
    laptop.sign_up("gus").await;
    phone.sign_in("gus", None).await;

    let page = laptop.page("/profile").await;
    assert_eq!(page.matches("data-testid=\"sign-in\"").count(), 2, "{page}");
    assert!(
        page.contains("Where you&#x27;re signed in") || page.contains("Where you're signed in")
    );
    assert!(page.contains("This browser"));
    // One "Sign out" form per other sign-in.
    let forms: Vec<&str> = page
        .match_indices("/profile/sign-ins/")
        .map(|(at, _)| &page[at..])
        .filter_map(|rest| rest.split('"').next())
        .filter(|action| action.ends_with("/end"))
        .collect();
    assert_eq!(forms.len(), 1, "{forms:?}");

    let res = laptop.post_form(forms[0], &[]).await;
    assert_eq!(location(&res), "/profile");
    let page = laptop.page("/profile").await;
    assert!(page.contains("That sign-in was ended."), "{page}");
    assert_eq!(page.matches("data-testid=\"sign-in\"").count(), 1);

    // The phone's next page load finds it signed out.
    let res = phone.get("/profile").await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/signin"), "{}", location(&res));

    // "Sign out everywhere else" with two more sign-ins.
    let tablet = Browser::new(&app);
    tablet.sign_in("gus", None).await;
    app.login("gus", GOOD_PASSWORD).await;
    let res = laptop.post_form("/profile/sign-ins/end-others", &[]).await;
    assert_eq!(location(&res), "/profile");
    let page = laptop.page("/profile").await;
    assert!(page.contains("2 other sign-ins were ended."), "{page}");
    assert_eq!(tablet.get("/profile").await.status(), 303);

    // Another user's sign-in id from a form: "already ended", nothing of theirs ends.
    let stranger = app.register("hal", "").await;
    let (_, list) = sessions(&app, &stranger["access"]).await;
    let theirs = list[0]["id"].as_str().unwrap();
    let res = laptop
        .post_form(&format!("/profile/sign-ins/{theirs}/end"), &[])
        .await;
    assert_eq!(location(&res), "/profile");
    assert!(laptop
        .page("/profile")
        .await
        .contains("That sign-in had already ended."));
    assert_eq!(user_status(&app, &stranger).await, 200);

    // Signed out, the forms send the browser to sign in.
    let res = phone.post_form("/profile/sign-ins/end-others", &[]).await;
    assert!(location(&res).starts_with("/signin"));
}

/// A sign-in ended on one instance stops working on another within the sync interval.
#[tokio::test]
async fn an_ended_sign_in_is_seen_by_another_instance() {
    let first =
        TestApp::spawn_with(Engine::Postgres, |s| s.revocation_sync_interval_ms = 100).await;
    let second = TestApp::spawn_beside(&first, |s| s.revocation_sync_interval_ms = 100).await;
    let phone = first.register("ivy", "").await;
    let laptop = login_as_firefox(&first, "ivy").await;
    // A use through an instance that has not written this sign-in's last use for a minute
    // (here: never) records it, with the client's address.
    first
        .execute(
            "UPDATE token_families SET last_used_at = last_used_at - 90 WHERE user_id = $1",
            phone["user"]["pk"].as_i64().unwrap(),
        )
        .await;
    assert_eq!(user_status(&second, &phone).await, 200);
    // Listed on either instance alike.
    let (_, list) = sessions(&second, &laptop["access"]).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let phone_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let phone_row = &list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == phone_id.as_str())
        .unwrap()
        .clone();
    let last_used =
        chrono::DateTime::parse_from_rfc3339(phone_row["last_used_at"].as_str().unwrap()).unwrap();
    assert!(
        (chrono::Utc::now().timestamp() - last_used.timestamp()).abs() <= 5,
        "the use through the second instance was recorded: {phone_row}"
    );
    assert_eq!(phone_row["ip"], "127.0.0.1");

    assert_eq!(
        delete(&first, &laptop["access"], &phone_id).await.status(),
        204
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while user_status(&second, &phone).await != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second instance still accepts the ended sign-in's token"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(user_status(&second, &laptop).await, 200);
}

/// `SESSION_IDLE_TIMEOUT`: a sign-in unused for longer can no longer refresh, and is no
/// longer listed; one in use refreshes as usual.
#[tokio::test]
async fn an_idle_sign_in_can_no_longer_refresh() {
    let app = TestApp::spawn_with(Engine::Sqlite, |s| {
        s.jwt_access_token_lifetime = 300;
        s.session_idle_timeout = 600;
    })
    .await;
    let idle = app.register("jon", "").await;
    let busy = login_as_firefox(&app, "jon").await;
    let user_id = idle["user"]["pk"].as_i64().unwrap();
    let (_, list) = sessions(&app, &busy["access"]).await;
    let idle_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.execute(
        &format!(
            "UPDATE token_families SET last_used_at = last_used_at - 601 \
             WHERE id = '{idle_id}' AND user_id = $1"
        ),
        user_id,
    )
    .await;
    assert_eq!(refresh_status(&app, &idle).await, 401);
    assert_eq!(refresh_status(&app, &busy).await, 200);
    let (_, list) = sessions(&app, &busy["access"]).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["current"], true);
}

/// Last use moves at most once a minute per instance: using the tokens right after signing
/// in writes nothing, even when the row says the last use is older.
#[tokio::test]
async fn last_use_is_not_written_on_every_request() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let login = app.register("kim", "").await;
    let (_, before) = sessions(&app, &login["access"]).await;
    app.execute(
        "UPDATE token_families SET last_used_at = last_used_at - 90 WHERE user_id = $1",
        login["user"]["pk"].as_i64().unwrap(),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(user_status(&app, &login).await, 200);
    }
    let (_, after) = sessions(&app, &login["access"]).await;
    assert_ne!(
        before[0]["last_used_at"], after[0]["last_used_at"],
        "the row moved back 90 s, and no request wrote it again: this instance wrote it \
         at sign-in, under a minute ago"
    );
}

/// An idle limit no longer than an access token lives is refused at start: a client that
/// refreshes only when its access token expires would always be idle.
#[test]
fn an_idle_timeout_shorter_than_an_access_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::helpers::settings(dir.path(), None);
    s.jwt_access_token_lifetime = 600;
    s.session_idle_timeout = 660;
    let error = backend::config::Config::from_settings(s.clone()).unwrap_err();
    assert!(
        error.to_string().contains("SESSION_IDLE_TIMEOUT"),
        "{error}"
    );
    s.session_idle_timeout = 661;
    assert!(backend::config::Config::from_settings(s).is_ok());
}
