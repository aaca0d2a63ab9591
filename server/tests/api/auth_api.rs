//! The dj-rest-auth + simplejwt contract, row by row: register, login, user, verify, the
//! shapes of errors, methods, media types, CORS.

use serde_json::{json, Value};

use crate::helpers::{status_and_json, TestApp, GOOD_PASSWORD};
use crate::on_both_databases;

on_both_databases!(
    register_returns_the_login_body_in_order,
    register_validation_messages,
    register_password_rules_and_their_order,
    register_is_case_insensitive_about_duplicates,
    json_form_and_multipart_bodies_are_equivalent,
    login_by_username_or_email,
    login_failures_all_look_the_same,
    login_required_fields,
    huge_password_is_refused_quickly,
    user_endpoint_reads_and_updates,
    user_update_validation,
    unauthenticated_requests_get_401_with_www_authenticate,
    deleted_and_inactive_users,
    verify_endpoint,
    methods_media_types_and_slashes,
    cors_for_configured_origins_only,
    example_protected_endpoint,
    concurrent_signups_of_one_username,
);

fn b64_json(part: &str) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

async fn register_returns_the_login_body_in_order(app: TestApp) {
    let res = app
        .post_json(
            "/api/auth/register/",
            &json!({"username": "alice", "email": "Alice@Example.com",
                    "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-type"], "application/json");
    let text = res.text().await.unwrap();
    assert!(text.starts_with(r#"{"access":""#), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["access", "refresh", "user"]);
    assert_eq!(
        body["user"],
        json!({"pk": body["user"]["pk"], "username": "alice", "email": "Alice@Example.com",
               "first_name": "", "last_name": ""})
    );
    assert!(body["user"]["pk"].is_i64());

    let access = body["access"].as_str().unwrap();
    let refresh = body["refresh"].as_str().unwrap();
    let header: Value = serde_json::from_str(&b64_json(access.split('.').next().unwrap())).unwrap();
    assert_eq!(header, json!({"alg": "HS512", "typ": "JWT"}));
    let access_claims = b64_json(access.split('.').nth(1).unwrap());
    assert!(
        access_claims.starts_with(r#"{"token_type":"access","exp":"#),
        "{access_claims}"
    );
    let a: Value = serde_json::from_str(&access_claims).unwrap();
    let r: Value = serde_json::from_str(&b64_json(refresh.split('.').nth(1).unwrap())).unwrap();
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id", "sid"]);
    assert_eq!(r["token_type"], "refresh");
    assert_eq!(a["iat"], r["iat"], "one sign-in, one iat");
    assert_eq!(a["sid"], r["sid"]);
    assert_eq!(a["user_id"], body["user"]["pk"]);
    assert_eq!(
        a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(
        r["exp"].as_i64().unwrap() - r["iat"].as_i64().unwrap(),
        604_800
    );
    let jti = a["jti"].as_str().unwrap();
    assert!(
        jti.len() == 32
            && jti
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    // The new account can use its token at once.
    let res = app.get_with_token("/api/auth/user/", access).await;
    assert_eq!(res.status(), 200);
}

async fn register_validation_messages(app: TestApp) {
    let (status, body) =
        status_and_json(app.post_json("/api/auth/register/", &json!({})).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"username": ["This field is required."],
               "password1": ["This field is required."],
               "password2": ["This field is required."]})
    );

    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "  ", "email": "not-an-email", "password1": null,
                    "password2": ["x"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"username": ["This field may not be blank."],
               "password1": ["This field may not be null."],
               "password2": ["Not a valid string."],
               "email": ["Enter a valid email address."]})
    );

    let (_, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "semi;colon", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        body,
        json!({"username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]})
    );

    let long = "u".repeat(151);
    let (_, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": long, "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(
        body,
        json!({"username": ["Ensure this field has no more than 150 characters."]})
    );

    // Mismatch is reported only once every field is otherwise valid.
    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "bob", "password1": GOOD_PASSWORD, "password2": "different-one-9"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"non_field_errors": ["The two password fields didn't match."]})
    );

    // Unicode usernames are allowed; without an email there is none ("" is a blank field:
    // see faults.rs).
    let res = app
        .post_json(
            "/api/auth/register/",
            &json!({"username": "zoë", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
        )
        .await;
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], "");
}

async fn register_password_rules_and_their_order(app: TestApp) {
    let attempt = |password: &'static str, username: &'static str, email: &'static str| {
        let app = &app;
        async move {
            let mut body = json!({"username": username, "password1": password,
                                  "password2": password});
            // "" means "no email" here (the API refuses a blank one).
            if !email.is_empty() {
                body["email"] = email.into();
            }
            status_and_json(app.post_json("/api/auth/register/", &body).await).await
        }
    };
    let (status, body) = attempt("1234567", "carol", "").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"password1": [
            "This password is too short. It must contain at least 8 characters.",
            "This password is too common.",
            "This password is entirely numeric."
        ]})
    );
    let (_, body) = attempt("password", "carol", "").await;
    assert_eq!(body, json!({"password1": ["This password is too common."]}));
    let (_, body) = attempt("carol.danvers1", "carol.danvers", "").await;
    assert_eq!(
        body,
        json!({"non_field_errors": ["The password is too similar to the username."]})
    );
    let (_, body) = attempt("marvel-hq.org", "carol", "carol@marvel-hq.org").await;
    assert_eq!(
        body,
        json!({"non_field_errors": ["The password is too similar to the email address."]})
    );
    // Whitespace is part of the password, never trimmed.
    let (status, _) = attempt("  violet tambourine  ", "carol", "").await;
    assert_eq!(status, 201);
    assert_eq!(app.login("carol", "violet tambourine").await.status(), 400);
    assert_eq!(
        app.login("carol", "  violet tambourine  ").await.status(),
        200
    );
}

async fn register_is_case_insensitive_about_duplicates(app: TestApp) {
    app.register("Dave", "dave@example.com").await;
    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "dAVE", "email": "DAVE@example.COM",
                    "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"username": ["A user with that username already exists."],
               "email": ["A user is already registered with this e-mail address."]})
    );
}

async fn json_form_and_multipart_bodies_are_equivalent(app: TestApp) {
    let form = app
        .client
        .post(app.url("/api/auth/register/"))
        .form(&[
            ("username", "formuser"),
            ("password1", GOOD_PASSWORD),
            ("password2", GOOD_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 201);
    let multipart = reqwest::multipart::Form::new()
        .text("username", "formuser")
        .text("password", GOOD_PASSWORD);
    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bad_form = app
        .client
        .post(app.url("/api/auth/login/"))
        .form(&[("username", "formuser")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(bad_form).await;
    assert_eq!(
        (status, body),
        (400, json!({"password": ["This field is required."]}))
    );
}

async fn login_by_username_or_email(app: TestApp) {
    let registered = app.register("erin", "Erin@Example.com").await;
    for identifier in ["erin", "ERIN", "erin@example.com", "ERIN@EXAMPLE.COM"] {
        let (status, body) = status_and_json(app.login(identifier, GOOD_PASSWORD).await).await;
        assert_eq!(status, 200, "{identifier}: {body}");
        assert_eq!(body["user"], registered["user"]);
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["access", "refresh", "user"]);
    }
    // dj-rest-auth's separate `email` field works too.
    let res = app
        .post_json(
            "/api/auth/login/",
            &json!({"email": "erin@example.com", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 200);
}

async fn login_failures_all_look_the_same(app: TestApp) {
    let frank = app.register("frank", "frank@example.com").await;
    let grace = app.register("grace", "").await;
    let grace_id = grace["user"]["pk"].as_i64().unwrap();
    app.execute("UPDATE users SET is_active = FALSE WHERE id = $1", grace_id)
        .await;
    let expected = json!({"non_field_errors": ["Unable to log in with provided credentials."]});
    for (who, password) in [
        ("frank", "wrong-password-1"),
        ("nobody", GOOD_PASSWORD),
        ("grace", GOOD_PASSWORD),
        ("frank", &GOOD_PASSWORD.to_uppercase()),
    ] {
        let (status, body) = status_and_json(app.login(who, password).await).await;
        assert_eq!((status, &body), (400, &expected), "{who}");
    }
    assert!(frank["user"]["pk"].is_i64());
}

async fn login_required_fields(app: TestApp) {
    let (status, body) = status_and_json(
        app.post_json("/api/auth/login/", &json!({"password": "x"}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"non_field_errors": ["Must include \"username\" and \"password\"."]})
    );
    let (_, body) = status_and_json(
        app.post_json(
            "/api/auth/login/",
            &json!({"username": "", "password": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        body,
        json!({"non_field_errors": ["Must include \"username\" and \"password\"."]})
    );
    let (_, body) = status_and_json(
        app.post_json("/api/auth/login/", &json!({"username": "x"}))
            .await,
    )
    .await;
    assert_eq!(body, json!({"password": ["This field is required."]}));
    let (_, body) = status_and_json(
        app.post_json(
            "/api/auth/login/",
            &json!({"username": "x", "password": ""}),
        )
        .await,
    )
    .await;
    assert_eq!(body, json!({"password": ["This field may not be blank."]}));
}

async fn huge_password_is_refused_quickly(app: TestApp) {
    app.register("henry", "").await;
    let huge = "p".repeat(1024 * 1024);
    let started = std::time::Instant::now();
    let (status, body) = status_and_json(app.login("henry", &huge).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"non_field_errors": ["Unable to log in with provided credentials."]})
    );
    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/register/",
            &json!({"username": "ivy", "password1": huge, "password2": huge}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"password1": ["Ensure this field has no more than 4096 characters."]})
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Bigger than the body limit: a JSON error, not a bare 413.
    let enormous = "p".repeat(3 * 1024 * 1024);
    let res = app.login("henry", &enormous).await;
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].is_string());
}

async fn user_endpoint_reads_and_updates(app: TestApp) {
    let login = app.register("jack", "jack@example.com").await;
    let token = login["access"].as_str().unwrap();
    let pk = login["user"]["pk"].clone();

    let (status, body) = status_and_json(app.get_with_token("/api/auth/user/", token).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        format!(
            r#"{{"pk":{pk},"username":"jack","email":"jack@example.com","first_name":"","last_name":""}}"#
        )
    );
    let head = app
        .client
        .head(app.url("/api/auth/user/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);

    // PATCH changes what it names; pk and email are read-only and ignored.
    let res = app
        .client
        .patch(app.url("/api/auth/user/"))
        .bearer_auth(token)
        .json(&json!({"first_name": " Jack ", "pk": 999, "email": "evil@example.com"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 200);
    assert_eq!(body["first_name"], "Jack");
    assert_eq!(body["pk"], pk);
    assert_eq!(body["email"], "jack@example.com");

    let res = app
        .client
        .put(app.url("/api/auth/user/"))
        .bearer_auth(token)
        .form(&[("username", "jack2"), ("last_name", "Sparrow")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"pk": pk, "username": "jack2", "email": "jack@example.com",
               "first_name": "Jack", "last_name": "Sparrow"})
    );
    // Persisted, and the old username is free again while the new one signs in.
    let (_, body) = status_and_json(app.get_with_token("/api/auth/user/", token).await).await;
    assert_eq!(body["username"], "jack2");
    assert_eq!(app.login("jack2", GOOD_PASSWORD).await.status(), 200);
}

async fn user_update_validation(app: TestApp) {
    app.register("kate", "").await;
    let login = app.register("leo", "").await;
    let token = login["access"].as_str().unwrap();
    let put = |body: Value| {
        let app = &app;
        async move {
            status_and_json(
                app.client
                    .put(app.url("/api/auth/user/"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(
        put(json!({"first_name": "Leo"})).await,
        (400, json!({"username": ["This field is required."]}))
    );
    assert_eq!(
        put(json!({"username": "KATE"})).await,
        (
            400,
            json!({"username": ["A user with that username already exists."]})
        )
    );
    // Renaming to your own name in another case is fine.
    assert_eq!(put(json!({"username": "LEO"})).await.0, 200);
    assert_eq!(
        put(json!({"username": "leo", "last_name": "x".repeat(151)})).await,
        (
            400,
            json!({"last_name": ["Ensure this field has no more than 150 characters."]})
        )
    );
}

async fn unauthenticated_requests_get_401_with_www_authenticate(app: TestApp) {
    let login = app.register("mia", "").await;
    let refresh = login["refresh"].as_str().unwrap();
    let cases: Vec<(Option<String>, Value)> = vec![
        (
            None,
            json!({"detail": "Authentication credentials were not provided."}),
        ),
        (
            Some("Token abc".into()),
            json!({"detail": "Authentication credentials were not provided."}),
        ),
        (
            Some("Bearer".into()),
            json!({"detail": "Authorization header must contain two space-delimited values",
                   "code": "bad_authorization_header"}),
        ),
        (
            Some("Bearer a b".into()),
            json!({"detail": "Authorization header must contain two space-delimited values",
                   "code": "bad_authorization_header"}),
        ),
        (
            Some("Bearer not.a.jwt".into()),
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
                   "messages": [{"token_class": "AccessToken", "token_type": "access",
                                 "message": "Token is invalid or expired"}]}),
        ),
        (
            Some(format!("Bearer {refresh}")),
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
                   "messages": [{"token_class": "AccessToken", "token_type": "access",
                                 "message": "Token has wrong type"}]}),
        ),
    ];
    for (header, expected) in cases {
        let mut req = app.client.get(app.url("/api/auth/user/"));
        if let Some(h) = &header {
            req = req.header("authorization", h);
        }
        let res = req.send().await.unwrap();
        // RFC 6750: `error="invalid_token"` only when a token was presented and refused.
        let challenge = if expected["code"] == "token_not_valid" {
            "Bearer realm=\"api\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"api\""
        };
        assert_eq!(res.headers()["www-authenticate"], challenge, "{header:?}");
        let (status, body) = status_and_json(res).await;
        assert_eq!((status, body), (401, expected), "{header:?}");
    }
    // A bad bearer token is refused even where authentication is optional.
    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .header("authorization", "Bearer garbage")
        .json(&json!({"username": "mia", "password": GOOD_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // On user/, 401 comes before 405.
    let res = app
        .client
        .delete(app.url("/api/auth/user/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn deleted_and_inactive_users(app: TestApp) {
    let a = app.register("nina", "").await;
    let b = app.register("omar", "").await;
    let a_id = a["user"]["pk"].as_i64().unwrap();
    let b_id = b["user"]["pk"].as_i64().unwrap();
    app.execute("UPDATE users SET is_active = FALSE WHERE id = $1", a_id)
        .await;
    let (status, body) = status_and_json(
        app.get_with_token("/api/auth/user/", a["access"].as_str().unwrap())
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "User is inactive", "code": "user_inactive"})
        )
    );
    let (status, body) = status_and_json(
        app.post_json(
            "/api/auth/token/refresh/",
            &json!({"refresh": a["refresh"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "no_active_account");

    app.execute("DELETE FROM users WHERE id = $1", b_id).await;
    let (status, body) = status_and_json(
        app.get_with_token("/api/auth/user/", b["access"].as_str().unwrap())
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "User not found", "code": "user_not_found"})
        )
    );
    let (status, _) = status_and_json(
        app.post_json(
            "/api/auth/token/refresh/",
            &json!({"refresh": b["refresh"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401);
}

async fn verify_endpoint(app: TestApp) {
    let login = app.register("pia", "").await;
    for token in [&login["access"], &login["refresh"]] {
        let (status, body) = status_and_json(
            app.post_json("/api/auth/token/verify/", &json!({"token": token}))
                .await,
        )
        .await;
        assert_eq!((status, body), (200, json!({})));
    }
    let (status, body) = status_and_json(
        app.post_json("/api/auth/token/verify/", &json!({"token": "nope"}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "Token is invalid or expired", "code": "token_not_valid"})
        )
    );
    let (status, body) =
        status_and_json(app.post_json("/api/auth/token/verify/", &json!({})).await).await;
    assert_eq!(
        (status, body),
        (400, json!({"token": ["This field is required."]}))
    );
    // verify does not authenticate: a bad Authorization header does not matter there.
    let res = app
        .client
        .post(app.url("/api/auth/token/verify/"))
        .header("authorization", "Bearer garbage")
        .json(&json!({"token": login["access"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn methods_media_types_and_slashes(app: TestApp) {
    let res = app.get("/api/auth/login/").await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS");
    let (_, body) = status_and_json(res).await;
    assert_eq!(body, json!({"detail": "Method \"GET\" not allowed."}));

    let login = app.register("quinn", "").await;
    // DELETE deletes the account here (docs/api.md): a method no route of user/ serves.
    let res = app
        .client
        .post(app.url("/api/auth/user/"))
        .bearer_auth(login["access"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.headers()["allow"],
        "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
    );
    let (_, body) = status_and_json(res).await;
    assert_eq!(body, json!({"detail": "Method \"POST\" not allowed."}));

    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .header("content-type", "text/plain")
        .body("username=quinn")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(
        (status, body),
        (
            415,
            json!({"detail": "Unsupported media type \"text/plain\" in request."})
        )
    );

    let res = app
        .client
        .post(app.url("/api/auth/login/"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{body}"
    );

    let (status, body) =
        status_and_json(app.post_json("/api/auth/login/", &json!(["a"])).await).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        )
    );

    let res = app
        .client
        .post(app.url("/api/auth/login?next=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 301);
    assert_eq!(res.headers()["location"], "/api/auth/login/?next=1");

    let (status, body) = status_and_json(app.get("/api/auth/nothing-here/").await).await;
    assert_eq!((status, body), (404, json!({"detail": "Not found."})));

    let res = app.get("/api/auth/login/").await;
    assert_eq!(res.headers()["x-frame-options"], "DENY");
}

async fn cors_for_configured_origins_only(app: TestApp) {
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/auth/login/"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let res = preflight("http://localhost:3000").await.unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], "http://localhost:3000");
    assert_eq!(
        h["access-control-allow-methods"],
        "DELETE, GET, OPTIONS, PATCH, POST, PUT"
    );
    assert_eq!(
        h["access-control-allow-headers"],
        "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with"
    );
    assert_eq!(h["access-control-max-age"], "86400");
    assert_eq!(res.text().await.unwrap(), "");

    let res = preflight("https://evil.example").await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{:?}",
        res.headers()
    );

    let res = app
        .client
        .post(app.url("/api/auth/token/verify/"))
        .header("origin", "http://127.0.0.1:3000")
        .json(&json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_ne!(res.headers()["access-control-allow-origin"], "*");
}

async fn example_protected_endpoint(app: TestApp) {
    assert_eq!(app.get("/api/example/protected/").await.status(), 401);
    let login = app.register("rosa", "").await;
    let (status, body) = status_and_json(
        app.get_with_token("/api/example/protected/", login["access"].as_str().unwrap())
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Hello, rosa!");
}

async fn concurrent_signups_of_one_username(app: TestApp) {
    let attempts = (0..8).map(|i| {
        let app = &app;
        async move {
            status_and_json(
                app.post_json(
                    "/api/auth/register/",
                    &json!({"username": if i % 2 == 0 { "Sam" } else { "sam" },
                            "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}),
                )
                .await,
            )
            .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 400);
        assert_eq!(
            body,
            &json!({"username": ["A user with that username already exists."]})
        );
    }
}
