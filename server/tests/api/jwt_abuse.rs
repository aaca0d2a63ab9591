//! Tokens crafted to get past validation: every one is a 401, never a 500.

use backend::auth::jwt::{new_token_id, Claims, TokenType};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::{status_and_json, TestApp};
use crate::on_both_databases;

on_both_databases!(crafted_tokens_are_rejected, expiry_has_zero_leeway);

const TEST_KEY: &[u8] = b"integration-test-signing-key-0123456789abcdef";

fn b64(json: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

async fn rejected_everywhere(app: &TestApp, token: &str, what: &str) {
    let (status, body) = status_and_json(app.get_with_token("/api/auth/user/", token).await).await;
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(body["code"], "token_not_valid", "{what}");
    let (status, body) = status_and_json(
        app.post_json("/api/auth/token/verify/", &json!({"token": token}))
            .await,
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (401, &json!("token_not_valid")),
        "{what}"
    );
    let (status, _) = status_and_json(
        app.post_json("/api/auth/token/refresh/", &json!({"refresh": token}))
            .await,
    )
    .await;
    assert_eq!(status, 401, "{what}");
}

async fn crafted_tokens_are_rejected(app: TestApp) {
    let login = app.register("mallory", "").await;
    let access = login["access"].as_str().unwrap();
    let payload_b64 = access.split('.').nth(1).unwrap();
    let claims: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload_b64)
                .unwrap(),
        )
        .unwrap()
    };

    let unsigned = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), payload_b64);
    rejected_everywhere(&app, &unsigned, "alg none").await;

    // Our own key, but the algorithm an attacker prefers.
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(TEST_KEY),
    )
    .unwrap();
    rejected_everywhere(&app, &hs256, "HS256 with our key").await;

    let mut forged = claims.clone();
    forged["user_id"] = json!(claims["user_id"].as_i64().unwrap() + 1000);
    let mut parts: Vec<&str> = access.split('.').collect();
    let forged_payload = b64(&forged.to_string());
    parts[1] = &forged_payload;
    rejected_everywhere(&app, &parts.join("."), "tampered payload").await;

    for (claim, value) in [
        ("user_id", json!("abc")),
        ("exp", json!("99999999999")),
        ("jti", json!(null)),
        ("token_type", json!(["access"])),
    ] {
        let mut odd = claims.clone();
        odd[claim] = value;
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &odd,
            &EncodingKey::from_secret(TEST_KEY),
        )
        .unwrap();
        rejected_everywhere(&app, &token, claim).await;
    }

    // A refresh token is not an access token, nor the reverse.
    let (status, body) = status_and_json(
        app.post_json("/api/auth/token/refresh/", &json!({"refresh": access}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "Token has wrong type", "code": "token_not_valid"})
        )
    );
}

async fn expiry_has_zero_leeway(app: TestApp) {
    let login = app.register("trent", "").await;
    let user_id = login["user"]["pk"].as_i64().unwrap();
    let sid = {
        use base64::Engine;
        let part = login["access"].as_str().unwrap().split('.').nth(1).unwrap();
        let v: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap();
        v["sid"].as_str().unwrap().to_owned()
    };
    let now = chrono::Utc::now().timestamp();
    let token_expiring_at = |exp: i64| {
        app.state.tokens.codec().encode(&Claims {
            token_type: TokenType::Access,
            exp,
            iat: exp - 3600,
            jti: new_token_id(),
            user_id,
            sid: sid.clone(),
            iss: None,
            aud: None,
        })
    };
    rejected_everywhere(&app, &token_expiring_at(now - 1), "expired a second ago").await;
    rejected_everywhere(&app, &token_expiring_at(now), "expiring this second").await;
    let fresh = token_expiring_at(now + 60);
    assert_eq!(
        app.get_with_token("/api/auth/user/", &fresh).await.status(),
        200
    );
}

#[tokio::test]
async fn eddsa_tokens_verify_with_the_published_jwks() {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backend/tests/fixtures/ed25519-test-key.pem"
    );
    let app = TestApp::spawn_with(crate::helpers::Engine::Sqlite, |s| {
        s.jwt_algorithm = backend::config::JwtAlgorithm::EdDsa;
        s.jwt_private_key_file = Some(key.into());
    })
    .await;
    let login = app.register("olga", "").await;
    let access = login["access"].as_str().unwrap();
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        200
    );

    let (status, jwks) = status_and_json(app.get("/.well-known/jwks.json").await).await;
    assert_eq!(status, 200);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    assert_eq!(set.keys.len(), 1);
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "private key leaked: {jwks}"
    );
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.validate_aud = false;
    let verified = jsonwebtoken::decode::<Value>(
        access,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap();
    assert_eq!(verified.claims["user_id"], login["user"]["pk"]);

    // The HMAC default publishes nothing: its key is a secret.
    let hmac = TestApp::spawn(crate::helpers::Engine::Sqlite).await;
    let (_, jwks) = status_and_json(hmac.get("/.well-known/jwks.json").await).await;
    assert_eq!(jwks, json!({"keys": []}));
}
