//! JSON Web Tokens in simplejwt's format, validated strictly.
//!
//! Every claim we issue is required on the way back in, with its exact type; the algorithm
//! is pinned by configuration (so `none`, or HS256 signed with our HS512 key, is refused);
//! expiry has zero leeway (`exp == now` is expired).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The `token_type` claim, as simplejwt writes it (`"access"` or `"refresh"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Sent as `Authorization: Bearer`; lives `JWT_ACCESS_TOKEN_LIFETIME` seconds.
    Access,
    /// Exchanged at `token/refresh/` for new tokens; never accepted as a bearer token.
    Refresh,
}

/// Claims, in simplejwt's order, plus `sid` (the refresh-token family, i.e. the sign-in
/// session) and, when configured, `iss` and `aud`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Which kind of token this is; checked on every use ([`JwtError::WrongType`]).
    pub token_type: TokenType,
    /// Expiry, Unix seconds; the token is dead from this second on (`exp == now` is expired).
    pub exp: i64,
    /// Issue time, Unix seconds; the access and refresh tokens of one sign-in share it.
    pub iat: i64,
    /// Token id: 32 lowercase hex digits. Refresh tokens are stored as its SHA-256.
    pub jti: String,
    /// The user's primary key (`pk`).
    pub user_id: i64,
    /// The sign-in session (token family): 32 lowercase hex digits, shared by every token of
    /// one sign-in, and what revocation names.
    pub sid: String,
    /// `JWT_ISSUER`; `None` when not configured (then the claim is neither sent nor checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `JWT_AUDIENCE`; `None` when not configured (then the claim is neither sent nor checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// Why a token was refused. The `Display` text is simplejwt's, and clients see it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JwtError {
    /// Bad signature, wrong algorithm, malformed, expired, odd claim types: all the same to
    /// a client, which must get a fresh token.
    #[error("Token is invalid or expired")]
    Invalid,
    /// Valid, but of the other type (a refresh token as bearer, an access token to refresh).
    #[error("Token has wrong type")]
    WrongType,
}

/// Signing and verification keys plus the validation rules. Cheap to clone.
#[derive(Clone)]
pub struct JwtCodec {
    header: Header,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
    /// The public key, for asymmetric algorithms: what `/.well-known/jwks.json` publishes.
    public_jwk: Option<Jwk>,
    verified: Arc<VerifiedTokens>,
}

/// Access tokens whose signature and claims already checked out, by their exact text. A client
/// sends the same access token on every request for up to an hour; remembering that it
/// verified skips the signature check and the claim parsing on all but the first. Expiry is
/// still checked on every use (and revocation by the caller), and only exact byte-for-byte
/// matches hit, so a token that differs in any way is verified from scratch.
#[derive(Default)]
struct VerifiedTokens {
    entries: RwLock<HashMap<Box<str>, Claims>>,
}

/// About 7 MiB at most (token text plus claims).
const VERIFIED_CAPACITY: usize = 16_384;

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Claims> {
        self.entries
            .read()
            .expect("token cache lock poisoned")
            .get(token)
            .cloned()
    }

    fn insert(&self, token: &str, claims: &Claims) {
        let mut entries = self.entries.write().expect("token cache lock poisoned");
        // Bounded: when full, start over (entries are cheap to recompute).
        if entries.len() >= VERIFIED_CAPACITY {
            entries.clear();
        }
        entries.insert(token.into(), claims.clone());
    }
}

/// A private key we cannot sign with; [`AppState::new`](crate::AppState::new) fails with it.
#[derive(Debug, Error)]
pub enum JwtKeyError {
    /// The PEM could not be read as a private key for `algorithm`, or no public JWK could be
    /// derived from it.
    #[error("the private key is not a valid {algorithm:?} PEM (PKCS#8) key: {source}")]
    InvalidKey {
        /// The algorithm the key was read for.
        algorithm: Algorithm,
        /// What `jsonwebtoken` said about the key.
        source: jsonwebtoken::errors::Error,
    },
    /// Not EdDSA or RS256, the asymmetric algorithms we sign with.
    #[error("{0:?} is not an algorithm we sign with")]
    Unsupported(Algorithm),
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &self.header.alg)
            .finish_non_exhaustive()
    }
}

impl JwtCodec {
    /// An HMAC codec (HS256, HS384 or HS512) keyed with `secret`.
    pub fn hmac(
        algorithm: Algorithm,
        secret: &[u8],
        issuer: Option<String>,
        audience: Option<String>,
    ) -> JwtCodec {
        assert!(
            matches!(
                algorithm,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            ),
            "hmac codec needs an HS* algorithm"
        );
        Self::build(
            Header::new(algorithm),
            EncodingKey::from_secret(secret),
            DecodingKey::from_secret(secret),
            None,
            issuer,
            audience,
        )
    }

    /// An EdDSA (Ed25519) or RS256 codec from a PKCS#8 PEM private key. Tokens carry a
    /// `kid`, and [`jwks`](Self::jwks) publishes the public key so other services can
    /// verify them without sharing a secret.
    pub fn asymmetric(
        algorithm: Algorithm,
        private_pem: &[u8],
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<JwtCodec, JwtKeyError> {
        let invalid = |source| JwtKeyError::InvalidKey { algorithm, source };
        let encoding = match algorithm {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(private_pem).map_err(invalid)?,
            Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem).map_err(invalid)?,
            other => return Err(JwtKeyError::Unsupported(other)),
        };
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).map_err(invalid)?;
        let public = serde_json::to_vec(&jwk.algorithm).expect("a JWK serialises");
        let kid = hex::encode(&Sha256::digest(&public)[..8]);
        jwk.common.key_id = Some(kid.clone());
        let decoding = DecodingKey::from_jwk(&jwk).map_err(invalid)?;
        let mut header = Header::new(algorithm);
        header.kid = Some(kid);
        Ok(Self::build(
            header,
            encoding,
            decoding,
            Some(jwk),
            issuer,
            audience,
        ))
    }

    fn build(
        header: Header,
        encoding: EncodingKey,
        decoding: DecodingKey,
        public_jwk: Option<Jwk>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> JwtCodec {
        let mut validation = Validation::new(header.alg);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = false;
        let mut required = vec!["exp"];
        match &audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        JwtCodec {
            header,
            encoding,
            decoding,
            validation,
            issuer,
            audience,
            public_jwk,
            verified: Arc::default(),
        }
    }

    /// The public keys other services verify our tokens with: empty for HMAC algorithms,
    /// whose key is a shared secret and never published.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.public_jwk.iter().cloned().collect(),
        }
    }

    /// The `iss` written into and required of every token; `None` when not configured.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The `aud` written into and required of every token; `None` when not configured.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// Signs `claims` as a compact JWT (with `kid` in the header for asymmetric keys).
    ///
    /// Panics only if signing fails, which it does not with a key the constructor accepted.
    pub fn encode(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&self.header, claims, &self.encoding)
            .expect("signing serialisable claims with a validated key cannot fail")
    }

    /// Verifies signature, algorithm and expiry and returns the claims, whatever their type.
    pub fn decode(&self, token: &str, now: i64) -> Result<Claims, JwtError> {
        if let Some(claims) = self.verified.get(token) {
            // jsonwebtoken accepts `exp == now`; simplejwt (and we) do not.
            return if claims.exp <= now {
                Err(JwtError::Invalid)
            } else {
                Ok(claims)
            };
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| JwtError::Invalid)?;
        let claims = data.claims;
        if claims.exp <= now || !is_token_id(&claims.jti) || !is_token_id(&claims.sid) {
            return Err(JwtError::Invalid);
        }
        // Refresh tokens are used once (rotation), so only access tokens are worth keeping.
        if claims.token_type == TokenType::Access {
            self.verified.insert(token, &claims);
        }
        Ok(claims)
    }

    /// [`decode`](Self::decode), then checks the token type.
    pub fn decode_typed(
        &self,
        token: &str,
        expected: TokenType,
        now: i64,
    ) -> Result<Claims, JwtError> {
        let claims = self.decode(token, now)?;
        if claims.token_type != expected {
            return Err(JwtError::WrongType);
        }
        Ok(claims)
    }
}

/// The claims of a token simplejwt issued (the Django stack, before the switch): ours
/// without `sid`, since simplejwt keeps no sign-in sessions.
#[derive(Clone, Debug, Deserialize)]
pub struct SimplejwtClaims {
    /// `access` or `refresh`.
    pub token_type: TokenType,
    /// Expiry, Unix seconds (zero leeway, as for ours).
    pub exp: i64,
    /// Issue time, Unix seconds.
    pub iat: i64,
    /// 32 lowercase hex digits (`uuid4().hex`).
    pub jti: String,
    /// The Django user's primary key, which the import keeps: a number, or a string of
    /// digits (simplejwt 5.5 and later write it as a string).
    #[serde(deserialize_with = "number_or_digits")]
    pub user_id: i64,
    /// Present only in our tokens: a token with it is never read as simplejwt's.
    #[serde(default)]
    sid: Option<serde::de::IgnoredAny>,
}

fn number_or_digits<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(i64),
        Text(String),
    }
    match Id::deserialize(deserializer)? {
        Id::Number(id) => Ok(id),
        Id::Text(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text
            .parse()
            .map_err(|_| serde::de::Error::custom("user_id out of range")),
        Id::Text(_) => Err(serde::de::Error::custom("user_id is not a number")),
    }
}

impl JwtCodec {
    /// Verifies a token that simplejwt signed with the same key and algorithm
    /// (`JWT_SIGNING_KEY`, `JWT_ALGORITHM` set to the Django stack's `SIMPLE_JWT` values):
    /// signature, algorithm, expiry with zero leeway, `iss`/`aud` when configured, and
    /// simplejwt's claims with their exact types. A token carrying `sid` is ours, and is
    /// refused here whatever else it holds.
    pub fn decode_simplejwt(&self, token: &str, now: i64) -> Result<SimplejwtClaims, JwtError> {
        let claims =
            jsonwebtoken::decode::<SimplejwtClaims>(token, &self.decoding, &self.validation)
                .map_err(|_| JwtError::Invalid)?
                .claims;
        if claims.sid.is_some() || claims.exp <= now || !is_token_id(&claims.jti) {
            return Err(JwtError::Invalid);
        }
        Ok(claims)
    }
}

/// 32 lowercase hex digits, like simplejwt's `uuid4().hex`.
pub fn new_token_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn is_token_id(value: &str) -> bool {
    value.len() == 32
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"unit-test-signing-key-of-sufficient-length-0123456789";
    /// The real clock: `jsonwebtoken` checks `exp` against it too, so a fixed instant in the
    /// future would make these tests fail once that instant passes.
    static NOW: std::sync::LazyLock<i64> =
        std::sync::LazyLock::new(|| chrono::Utc::now().timestamp());

    fn codec() -> JwtCodec {
        JwtCodec::hmac(Algorithm::HS512, KEY, None, None)
    }

    fn claims(token_type: TokenType) -> Claims {
        Claims {
            token_type,
            exp: *NOW + 60,
            iat: *NOW,
            jti: new_token_id(),
            user_id: 7,
            sid: new_token_id(),
            iss: None,
            aud: None,
        }
    }

    fn b64(json: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    fn sign_raw(alg: Algorithm, payload: &serde_json::Value, key: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), payload, &EncodingKey::from_secret(key)).unwrap()
    }

    #[test]
    fn round_trip_in_simplejwt_layout() {
        let c = claims(TokenType::Access);
        let token = codec().encode(&c);
        let header: serde_json::Value = {
            use base64::Engine;
            let part = token.split('.').next().unwrap();
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(header["alg"], "HS512");
        assert_eq!(header["typ"], "JWT");
        let payload = {
            use base64::Engine;
            let part = token.split('.').nth(1).unwrap();
            String::from_utf8(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(part)
                    .unwrap(),
            )
            .unwrap()
        };
        assert!(
            payload.starts_with("{\"token_type\":\"access\",\"exp\":"),
            "{payload}"
        );
        assert_eq!(codec().decode(&token, *NOW).unwrap(), c);
    }

    #[test]
    fn a_remembered_token_still_expires() {
        let codec = codec();
        let mut c = claims(TokenType::Access);
        c.exp = *NOW + 10;
        let token = codec.encode(&c);
        assert!(codec.decode(&token, *NOW).is_ok());
        assert!(codec.decode(&token, *NOW + 5).is_ok());
        assert_eq!(codec.decode(&token, *NOW + 10), Err(JwtError::Invalid));
        // A token that differs in one byte is checked from scratch, and fails.
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(codec.decode(&tampered, *NOW), Err(JwtError::Invalid));
    }

    #[test]
    fn zero_leeway() {
        let mut c = claims(TokenType::Access);
        c.exp = *NOW;
        assert_eq!(
            codec().decode(&codec().encode(&c), *NOW),
            Err(JwtError::Invalid)
        );
        c.exp = *NOW + 1;
        assert!(codec().decode(&codec().encode(&c), *NOW).is_ok());
    }

    #[test]
    fn refuses_other_algorithms_and_none() {
        let payload = serde_json::to_value(claims(TokenType::Access)).unwrap();
        let hs256 = sign_raw(Algorithm::HS256, &payload, KEY);
        assert_eq!(codec().decode(&hs256, *NOW), Err(JwtError::Invalid));

        let unsigned = format!(
            "{}.{}.",
            b64(r#"{"alg":"none","typ":"JWT"}"#),
            b64(&payload.to_string())
        );
        assert_eq!(codec().decode(&unsigned, *NOW), Err(JwtError::Invalid));

        let other_key = sign_raw(
            Algorithm::HS512,
            &payload,
            b"another-key-entirely-0123456789abcdef",
        );
        assert_eq!(codec().decode(&other_key, *NOW), Err(JwtError::Invalid));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let token = codec().encode(&claims(TokenType::Access));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut forged = claims(TokenType::Access);
        forged.user_id = 1;
        parts[1] = b64(&serde_json::to_string(&forged).unwrap());
        assert_eq!(
            codec().decode(&parts.join("."), *NOW),
            Err(JwtError::Invalid)
        );
    }

    #[test]
    fn odd_claim_types_and_missing_claims_are_invalid() {
        let base = serde_json::to_value(claims(TokenType::Access)).unwrap();
        let cases: Vec<(&str, serde_json::Value)> = vec![
            ("user_id", serde_json::json!("abc")),
            ("exp", serde_json::json!("123")),
            ("iat", serde_json::json!(1.5)),
            ("jti", serde_json::json!(12)),
            ("token_type", serde_json::json!("id")),
            ("sid", serde_json::json!("not-hex")),
        ];
        for (claim, value) in cases {
            let mut payload = base.clone();
            payload[claim] = value;
            let token = sign_raw(Algorithm::HS512, &payload, KEY);
            assert_eq!(
                codec().decode(&token, *NOW),
                Err(JwtError::Invalid),
                "{claim}"
            );
        }
        for claim in ["token_type", "exp", "iat", "jti", "user_id", "sid"] {
            let mut payload = base.clone();
            payload.as_object_mut().unwrap().remove(claim);
            let token = sign_raw(Algorithm::HS512, &payload, KEY);
            assert_eq!(
                codec().decode(&token, *NOW),
                Err(JwtError::Invalid),
                "{claim}"
            );
        }
    }

    #[test]
    fn simplejwt_tokens_are_read_only_as_such() {
        let c = claims(TokenType::Refresh);
        let mut payload = serde_json::to_value(&c).unwrap();
        payload.as_object_mut().unwrap().remove("sid");
        let django = sign_raw(Algorithm::HS512, &payload, KEY);
        // Not ours: no sid.
        assert_eq!(codec().decode(&django, *NOW), Err(JwtError::Invalid));
        let read = codec().decode_simplejwt(&django, *NOW).unwrap();
        assert_eq!((read.user_id, read.jti.as_str()), (7, c.jti.as_str()));
        assert_eq!(read.token_type, TokenType::Refresh);
        // Ours is never read as simplejwt's; expiry, key and claim types still count.
        assert!(codec().decode_simplejwt(&codec().encode(&c), *NOW).is_err());
        assert!(codec().decode_simplejwt(&django, c.exp).is_err());
        let other = sign_raw(
            Algorithm::HS512,
            &payload,
            b"another-key-entirely-0123456789abcdef",
        );
        assert!(codec().decode_simplejwt(&other, *NOW).is_err());
        // simplejwt 5.5+ writes the id as a string of digits; nothing else odd is read.
        let mut odd = payload.clone();
        odd["user_id"] = serde_json::json!("7");
        let read = codec().decode_simplejwt(&sign_raw(Algorithm::HS512, &odd, KEY), *NOW);
        assert_eq!(read.unwrap().user_id, 7);
        for bad in [
            serde_json::json!("7a"),
            serde_json::json!(""),
            serde_json::json!(7.5),
        ] {
            odd["user_id"] = bad;
            let token = sign_raw(Algorithm::HS512, &odd, KEY);
            assert!(codec().decode_simplejwt(&token, *NOW).is_err());
        }
    }

    #[test]
    fn token_type_is_checked() {
        let token = codec().encode(&claims(TokenType::Refresh));
        assert_eq!(
            codec().decode_typed(&token, TokenType::Access, *NOW),
            Err(JwtError::WrongType)
        );
    }

    #[test]
    fn eddsa_with_a_published_key() {
        let pem = include_bytes!("../../tests/fixtures/ed25519-test-key.pem");
        let codec = JwtCodec::asymmetric(Algorithm::EdDSA, pem, None, None).unwrap();
        let c = claims(TokenType::Access);
        let token = codec.encode(&c);
        assert_eq!(codec.decode(&token, *NOW).unwrap(), c);
        let jwks = serde_json::to_value(codec.jwks()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert!(key.get("d").is_none(), "never the private part: {key}");
        // Another service verifies with the published key alone.
        let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        let public = DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_aud = false;
        assert!(jsonwebtoken::decode::<Claims>(&token, &public, &validation).is_ok());
        // An HMAC token signed with the public key's bytes is refused (algorithm confusion).
        assert_eq!(
            codec.decode(
                &sign_raw(Algorithm::HS256, &serde_json::to_value(&c).unwrap(), b"x"),
                *NOW
            ),
            Err(JwtError::Invalid)
        );
        assert!(codec_hmac_has_no_public_keys());
    }

    fn codec_hmac_has_no_public_keys() -> bool {
        codec().jwks().keys.is_empty()
    }

    #[test]
    fn rs256_with_a_published_key() {
        let pem = include_bytes!("../../tests/fixtures/rsa-test-key.pem");
        let codec = JwtCodec::asymmetric(Algorithm::RS256, pem, None, None).unwrap();
        let c = claims(TokenType::Refresh);
        assert_eq!(codec.decode(&codec.encode(&c), *NOW).unwrap(), c);
        let jwks = serde_json::to_value(codec.jwks()).unwrap();
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert!(jwks["keys"][0]["kid"].is_string());
        assert!(JwtCodec::asymmetric(Algorithm::RS256, b"not a key", None, None).is_err());
    }

    #[test]
    fn issuer_and_audience_are_required_when_configured() {
        let strict = JwtCodec::hmac(
            Algorithm::HS512,
            KEY,
            Some("https://auth.example.com".into()),
            Some("api".into()),
        );
        let mut c = claims(TokenType::Access);
        // Without iss/aud, signed with the right key: refused.
        assert_eq!(
            strict.decode(&codec().encode(&c), *NOW),
            Err(JwtError::Invalid)
        );
        c.iss = Some("https://auth.example.com".into());
        c.aud = Some("api".into());
        assert!(strict.decode(&strict.encode(&c), *NOW).is_ok());
        c.aud = Some("other".into());
        assert_eq!(
            strict.decode(&strict.encode(&c), *NOW),
            Err(JwtError::Invalid)
        );
    }
}
