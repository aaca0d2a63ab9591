//! OpenID Connect relying-party checks: discovery, the provider's signing keys (cached,
//! refetched when a token names a key we have not seen: key rotation) and ID-token
//! verification (signature, algorithm allowlist, `iss`, `aud`, `azp`, `exp`, `iat`,
//! `nonce`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::providers::ProviderConfig;
use super::SocialError;

/// Asymmetric algorithms only: an ID token MACed with the client secret would let anyone
/// who knows the secret mint them, and `none` is never acceptable.
const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Clock skew tolerated between us and the provider.
const LEEWAY_SECS: u64 = 60;

/// A token naming an unknown key triggers at most one JWKS refetch per this interval, so
/// forged tokens cannot make us hammer the provider.
const REFETCH_INTERVAL: Duration = Duration::from_secs(2);

/// How long discovery and keys are trusted before they are fetched again.
const CACHE_TTL: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
}

/// Where the provider lives, after discovery and configured overrides.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// The configured issuer, without a trailing slash: what `iss` must equal.
    pub issuer: String,
    /// Where the browser is sent to sign in (override, else discovery).
    pub authorization: String,
    /// Where codes are exchanged for tokens (override, else discovery).
    pub token: String,
    /// The provider's signing keys (override, else discovery's `jwks_uri`).
    pub jwks: String,
    /// The UserInfo endpoint; `None` when neither configuration nor discovery names one.
    pub userinfo: Option<String>,
}

/// Who the person is, as an ID token or the UserInfo endpoint states it.
#[derive(Clone, Debug, Deserialize)]
struct Person {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    email_verified: bool,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

impl Person {
    fn into_profile(self) -> super::ExternalProfile {
        let (first_name, last_name) = match (self.given_name, self.family_name) {
            (None, None) => super::split_name(self.name.as_deref()),
            (given, family) => (given.unwrap_or_default(), family.unwrap_or_default()),
        };
        super::ExternalProfile {
            subject: self.sub,
            email: self.email,
            email_verified: self.email_verified,
            username_hint: self.preferred_username,
            first_name,
            last_name,
            mfa_asserted: false,
        }
    }
}

/// The claims we use from an ID token (after verification).
#[derive(Clone, Debug, Deserialize)]
pub struct IdClaims {
    #[serde(flatten)]
    person: Person,
    #[serde(default)]
    nonce: Option<String>,
    iat: i64,
    #[serde(default)]
    azp: Option<String>,
    /// A string or a list (jsonwebtoken has checked that it names us).
    aud: serde_json::Value,
    /// Authentication Method References (RFC 8176): how the person signed in at the
    /// provider. A list; a lone string is taken as a list of one.
    #[serde(default, deserialize_with = "one_or_many")]
    amr: Vec<String>,
}

impl IdClaims {
    /// The person the verified token describes.
    pub fn into_profile(self) -> super::ExternalProfile {
        let mfa_asserted = self.amr.iter().any(|m| m == "mfa");
        super::ExternalProfile {
            mfa_asserted,
            ..self.person.into_profile()
        }
    }
}

/// A list of strings, or one string (anything else: none).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum M {
        Many(Vec<String>),
        One(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<M>::deserialize(d)? {
        Some(M::Many(list)) => list,
        Some(M::One(one)) => vec![one],
        Some(M::Other(_)) | None => Vec::new(),
    })
}

/// Some providers send `"email_verified": "true"`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<B>::deserialize(d)? {
        Some(B::Bool(b)) => b,
        Some(B::Text(t)) => t.eq_ignore_ascii_case("true"),
        None => false,
    })
}

struct Cached<T> {
    value: T,
    fetched: Instant,
}

/// An OpenID Connect provider: its configuration, plus discovery and signing keys, each
/// cached for an hour.
pub struct OidcProvider {
    /// Its configuration; `issuer` is what discovery and the `iss` check use.
    pub config: ProviderConfig,
    http: reqwest::Client,
    endpoints: Mutex<Option<Cached<Arc<Endpoints>>>>,
    keys: Mutex<Option<Cached<Arc<JwkSet>>>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("id", &self.config.id)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// A provider that fetches with `http`; nothing is fetched before first use.
    pub fn new(config: ProviderConfig, http: reqwest::Client) -> OidcProvider {
        OidcProvider {
            config,
            http,
            endpoints: Mutex::new(None),
            keys: Mutex::new(None),
        }
    }

    fn issuer(&self) -> &str {
        self.config.issuer.as_deref().unwrap_or_default()
    }

    /// Discovery (cached), with configured overrides applied on top.
    pub async fn endpoints(&self) -> Result<Arc<Endpoints>, SocialError> {
        let mut cached = self.endpoints.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.fetched.elapsed() < CACHE_TTL) {
            return Ok(c.value.clone());
        }
        let o = &self.config.endpoints;
        let discovered = match (&o.authorization, &o.token, &o.jwks) {
            // Everything given: no need to ask.
            (Some(a), Some(t), Some(j)) => Discovery {
                issuer: self.issuer().to_owned(),
                authorization_endpoint: a.clone(),
                token_endpoint: t.clone(),
                jwks_uri: j.clone(),
                userinfo_endpoint: o.userinfo.clone(),
            },
            _ => {
                let url = format!("{}/.well-known/openid-configuration", self.issuer());
                let doc: Discovery = self.get_json(&url).await?;
                // OpenID Connect Discovery §4.3: the document must name the issuer we asked.
                if doc.issuer.trim_end_matches('/') != self.issuer() {
                    return Err(SocialError::Provider(format!(
                        "discovery document names issuer {:?}, expected {:?}",
                        doc.issuer,
                        self.issuer()
                    )));
                }
                doc
            }
        };
        let endpoints = Arc::new(Endpoints {
            issuer: self.issuer().to_owned(),
            authorization: o
                .authorization
                .clone()
                .unwrap_or(discovered.authorization_endpoint),
            token: o.token.clone().unwrap_or(discovered.token_endpoint),
            jwks: o.jwks.clone().unwrap_or(discovered.jwks_uri),
            userinfo: o.userinfo.clone().or(discovered.userinfo_endpoint),
        });
        *cached = Some(Cached {
            value: endpoints.clone(),
            fetched: Instant::now(),
        });
        Ok(endpoints)
    }

    /// A public document (discovery, keys): any failure means the provider is unreachable.
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, SocialError> {
        self.fetch_json(url, None, SocialError::Unreachable).await
    }

    /// GETs `url` as JSON, with `bearer` if given; a non-success status becomes
    /// `on_status`, a body that does not parse a provider error.
    async fn fetch_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        bearer: Option<&str>,
        on_status: fn(String) -> SocialError,
    ) -> Result<T, SocialError> {
        let mut request = self.http.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let res = request
            .send()
            .await
            .map_err(|e| SocialError::Unreachable(format!("{url}: {e}")))?;
        if !res.status().is_success() {
            return Err(on_status(format!("{url}: HTTP {}", res.status())));
        }
        res.json()
            .await
            .map_err(|e| SocialError::Provider(format!("{url}: {e}")))
    }

    /// The key `kid` names, refetching the key set once if it is not known (rotation).
    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, SocialError> {
        let jwks_url = self.endpoints().await?.jwks.clone();
        let mut cached = self.keys.lock().await;
        let fresh = |c: &Cached<Arc<JwkSet>>| c.fetched.elapsed() < CACHE_TTL;
        for attempt in 0..2 {
            let stale = cached.as_ref().is_none_or(|c| !fresh(c));
            let may_refetch = cached
                .as_ref()
                .is_none_or(|c| c.fetched.elapsed() >= REFETCH_INTERVAL);
            if stale || (attempt == 1 && may_refetch) {
                let set: JwkSet = self.get_json(&jwks_url).await?;
                *cached = Some(Cached {
                    value: Arc::new(set),
                    fetched: Instant::now(),
                });
            }
            let Some(set) = cached.as_ref().map(|c| c.value.clone()) else {
                continue;
            };
            let jwk = match kid {
                Some(kid) => set.find(kid),
                // No `kid`: acceptable only when the provider has a single key.
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            };
            if let Some(jwk) = jwk {
                // The key's family must fit the header's algorithm: jsonwebtoken checks
                // that when verifying, so an RSA key never verifies an ES256 token.
                return DecodingKey::from_jwk(jwk)
                    .map_err(|e| SocialError::Provider(format!("unusable key in JWKS: {e}")));
            }
        }
        Err(SocialError::InvalidToken(
            "signed with an unknown key".into(),
        ))
    }

    /// Completes `profile` from the UserInfo endpoint when the ID token carried no email
    /// (conformant providers put the `email` and `profile` claims there when an access
    /// token is issued). The answer counts only for the same `sub` (OIDC Core §5.3.2).
    pub async fn complete_from_userinfo(
        &self,
        profile: &mut super::ExternalProfile,
        access_token: &str,
    ) -> Result<(), SocialError> {
        if profile.email.is_some() {
            return Ok(());
        }
        let Some(url) = self.endpoints().await?.userinfo.clone() else {
            return Ok(());
        };
        // Here the provider answered but refused the token: not "unreachable".
        let info: Person = self
            .fetch_json(&url, Some(access_token), SocialError::Provider)
            .await?;
        let found = info.into_profile();
        if found.subject != profile.subject {
            return Err(SocialError::InvalidToken(
                "UserInfo is about someone else".into(),
            ));
        }
        profile.email = found.email;
        profile.email_verified = found.email_verified;
        profile.username_hint = profile.username_hint.take().or(found.username_hint);
        if profile.first_name.is_empty() && profile.last_name.is_empty() {
            (profile.first_name, profile.last_name) = (found.first_name, found.last_name);
        }
        Ok(())
    }

    /// Verifies an ID token issued to our client; `nonce` must match when given (the
    /// browser flow always gives one).
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<IdClaims, SocialError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| SocialError::InvalidToken(format!("malformed: {e}")))?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(SocialError::InvalidToken(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self.key(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.issuer()]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
            .map_err(|e| SocialError::InvalidToken(e.to_string()))?
            .claims;

        let now = chrono::Utc::now().timestamp();
        if claims.iat > now + LEEWAY_SECS as i64 {
            return Err(SocialError::InvalidToken("issued in the future".into()));
        }
        // Several audiences: the token must say it was meant for us (`azp`).
        if let Some(list) = claims.aud.as_array() {
            if list.len() > 1 && claims.azp.as_deref() != Some(self.config.client_id.as_str()) {
                return Err(SocialError::InvalidToken("azp is not this client".into()));
            }
        }
        if let Some(expected) = nonce {
            if claims.nonce.as_deref() != Some(expected) {
                return Err(SocialError::InvalidToken("nonce does not match".into()));
            }
        }
        Ok(claims)
    }
}
