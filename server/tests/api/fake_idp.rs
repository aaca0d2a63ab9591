//! A minimal OpenID Connect provider for the callback's refusal tests: discovery, JWKS and a
//! token endpoint that checks PKCE and spends codes, minting for each code the ID token its
//! test asked for (good, or broken in one precise way). The end-to-end tests use a real,
//! certified provider (`oidc-provider`) instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use backend::auth::jwt::JwtCodec;

pub const CLIENT_ID: &str = "las-test-client";
pub const CLIENT_SECRET: &str = "las-test-secret";

const RSA_PEM: &[u8] = include_bytes!("../../../backend/tests/fixtures/rsa-test-key.pem");
const ED_PEM: &[u8] = include_bytes!("../../../backend/tests/fixtures/ed25519-test-key.pem");

/// How to mint the ID token for one code.
#[derive(Clone, Debug)]
pub enum Mint {
    Good,
    WrongNonce,
    WrongAudience,
    WrongIssuer,
    Expired,
    AlgNone,
    BadSignature,
    UnknownKid,
    /// Signed with the second key (EdDSA), published only after `rotate`.
    RotatedKey,
    /// A good token whose email the provider has not verified.
    UnverifiedEmail,
    /// A good token saying the person passed a second factor at the provider (`amr`).
    WithMfa,
}

#[derive(Clone)]
struct Grant {
    challenge: String,
    nonce: String,
    subject: String,
    email: String,
    mint: Mint,
}

#[derive(Default)]
struct Inner {
    grants: HashMap<String, Grant>,
    rotated: bool,
}

#[derive(Clone)]
pub struct FakeIdp {
    pub issuer: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeIdp {
    pub async fn start() -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let idp = FakeIdp {
            issuer,
            inner: Arc::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/token", post(token))
            .route("/login/oauth/access_token", post(github_token))
            .route("/user", get(github_user))
            .route("/user/emails", get(github_emails))
            .with_state(idp.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        idp
    }

    /// Registers `code` for an authorization request with this PKCE challenge and nonce.
    pub fn grant(
        &self,
        code: &str,
        challenge: &str,
        nonce: &str,
        subject: &str,
        email: &str,
        mint: Mint,
    ) {
        self.inner.lock().unwrap().grants.insert(
            code.to_owned(),
            Grant {
                challenge: challenge.to_owned(),
                nonce: nonce.to_owned(),
                subject: subject.to_owned(),
                email: email.to_owned(),
                mint,
            },
        );
    }

    /// The grant for the form's `code`. Codes are single-use: taken out whatever happens.
    fn take_grant(&self, form: &HashMap<String, String>) -> Option<Grant> {
        let code = form.get("code").map(String::as_str).unwrap_or_default();
        self.inner.lock().unwrap().grants.remove(code)
    }

    /// Publishes the second signing key (key rotation).
    pub fn rotate(&self) {
        self.inner.lock().unwrap().rotated = true;
    }

    /// An ID token as the provider would mint it for our client (for `/api/auth/google/`).
    pub fn id_token(&self, subject: &str, email: &str, mint: Mint) -> String {
        mint_token(&self.issuer, subject, email, None, &mint)
    }

    /// This server as GitHub (OAuth2 token endpoint and the REST API it needs).
    pub fn github_config(&self) -> backend::social::providers::ProviderConfig {
        use backend::social::providers::{EndpointOverrides, Protocol};
        let mut config = self.provider_config("github");
        config.label = "GitHub".into();
        config.protocol = Protocol::GitHub;
        config.issuer = None;
        config.endpoints = EndpointOverrides {
            authorization: Some(format!("{}/login/oauth/authorize", self.issuer)),
            token: Some(format!("{}/login/oauth/access_token", self.issuer)),
            api: Some(self.issuer.clone()),
            ..EndpointOverrides::default()
        };
        config
    }

    pub fn provider_config(&self, id: &str) -> backend::social::providers::ProviderConfig {
        use backend::social::providers::{EndpointOverrides, Protocol, ProviderConfig};
        ProviderConfig {
            id: id.to_owned(),
            label: "Test IdP".into(),
            protocol: Protocol::Oidc,
            client_id: CLIENT_ID.into(),
            client_secret: backend::secret::Secret::new(CLIENT_SECRET.as_bytes().to_vec()),
            issuer: Some(self.issuer.clone()),
            endpoints: EndpointOverrides {
                authorization: Some(format!("{}/authorize", self.issuer)),
                ..EndpointOverrides::default()
            },
        }
    }
}

fn kid(alg: Algorithm, pem: &[u8]) -> String {
    codec(alg, pem).jwks().keys[0]
        .common
        .key_id
        .clone()
        .unwrap()
}

fn rsa_kid() -> String {
    kid(Algorithm::RS256, RSA_PEM)
}

fn ed_kid() -> String {
    kid(Algorithm::EdDSA, ED_PEM)
}

fn codec(alg: Algorithm, pem: &[u8]) -> JwtCodec {
    JwtCodec::asymmetric(alg, pem, None, None).unwrap()
}

fn mint_token(
    issuer: &str,
    subject: &str,
    email: &str,
    nonce: Option<&str>,
    mint: &Mint,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": issuer,
        "aud": CLIENT_ID,
        "sub": subject,
        "email": email,
        "email_verified": true,
        "name": "Test Person",
        "iat": now,
        "exp": now + 300,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    match mint {
        Mint::WrongNonce => claims["nonce"] = json!("not-the-nonce"),
        Mint::UnverifiedEmail => claims["email_verified"] = json!(false),
        Mint::WithMfa => claims["amr"] = json!(["pwd", "mfa"]),
        Mint::WrongAudience => claims["aud"] = json!("someone-else"),
        Mint::WrongIssuer => claims["iss"] = json!("https://evil.example"),
        Mint::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        _ => {}
    }
    let rsa = |kid: String| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_pem(RSA_PEM).unwrap(),
        )
        .unwrap()
    };
    match mint {
        Mint::AlgNone => {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let body = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{header}.{body}.")
        }
        Mint::BadSignature => {
            let token = rsa(rsa_kid());
            let (rest, signature) = token.rsplit_once('.').unwrap();
            let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
            bytes[10] ^= 0x55;
            format!("{rest}.{}", URL_SAFE_NO_PAD.encode(bytes))
        }
        Mint::UnknownKid => rsa("no-such-key".into()),
        Mint::RotatedKey => {
            let mut header = Header::new(Algorithm::EdDSA);
            header.kid = Some(ed_kid());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_pem(ED_PEM).unwrap())
                .unwrap()
        }
        _ => rsa(rsa_kid()),
    }
}

async fn discovery(State(idp): State<FakeIdp>) -> Json<Value> {
    let base = &idp.issuer;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
    }))
}

async fn jwks(State(idp): State<FakeIdp>) -> Json<Value> {
    let mut keys = codec(Algorithm::RS256, RSA_PEM).jwks().keys;
    if idp.inner.lock().unwrap().rotated {
        keys.extend(codec(Algorithm::EdDSA, ED_PEM).jwks().keys);
    }
    Json(json!({ "keys": keys }))
}

async fn token(
    State(idp): State<FakeIdp>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Json<Value>, (axum::http::StatusCode, Json<Value>)> {
    let invalid = |what: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": what})),
        )
    };
    let grant = idp
        .take_grant(&form)
        .ok_or_else(|| invalid("unknown or used code"))?;
    // A code granted without a challenge (a client-side flow, as for /api/auth/google/)
    // needs no verifier.
    if !grant.challenge.is_empty() {
        let verifier = form
            .get("code_verifier")
            .ok_or_else(|| invalid("no code_verifier"))?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        if challenge != grant.challenge {
            return Err(invalid("PKCE verification failed"));
        }
    }
    let id_token = mint_token(
        &idp.issuer,
        &grant.subject,
        &grant.email,
        Some(&grant.nonce),
        &grant.mint,
    );
    Ok(Json(json!({
        "access_token": "opaque-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    })))
}

/// GitHub's token endpoint: an opaque token standing for the grant's subject.
async fn github_token(
    State(idp): State<FakeIdp>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Json<Value>, (axum::http::StatusCode, Json<Value>)> {
    let grant = idp.take_grant(&form).ok_or((
        axum::http::StatusCode::BAD_REQUEST,
        Json(json!({"error": "bad_verification_code"})),
    ))?;
    Ok(Json(json!({
        "access_token": format!("gho_{}", grant.subject),
        "token_type": "bearer",
        "scope": "read:user,user:email",
    })))
}

fn github_subject(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer gho_")
        .map(str::to_owned)
}

async fn github_user(
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, axum::http::StatusCode> {
    let subject = github_subject(&headers).ok_or(axum::http::StatusCode::UNAUTHORIZED)?;
    Ok(Json(
        json!({ "id": 4242, "login": subject, "name": "Octo Cat" }),
    ))
}

async fn github_emails(
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, axum::http::StatusCode> {
    let subject = github_subject(&headers).ok_or(axum::http::StatusCode::UNAUTHORIZED)?;
    Ok(Json(json!([
        { "email": format!("{subject}-unverified@example.com"), "primary": true, "verified": false },
        { "email": format!("{subject}@example.com"), "primary": false, "verified": true },
    ])))
}
