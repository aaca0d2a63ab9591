//! Social sign-in, the domain half: which providers exist ([`providers`]), their
//! protocols (OpenID Connect: [`oidc`]; GitHub's OAuth2 apps: [`github`]), the one
//! authorization-code exchange ([`Social::exchange_code`], RFC 6749 section 4.1.3 with
//! RFC 7636 PKCE) and what a verified profile means locally (`identities`). The browser's
//! redirect flow (state, nonce and verifier kept in the session) is `web::social`; the API's
//! `POST /api/auth/google/` is `api::social_login`.

pub mod github;
pub(crate) mod identities;
pub mod oidc;
pub mod providers;

use std::sync::Arc;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeVerifier, RedirectUrl, StandardRevocableToken, StandardTokenResponse,
    TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};

use oidc::OidcProvider;
use providers::{Protocol, ProviderConfig};

/// What went wrong, in words fit for the sign-in page (details go to the log).
#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    /// The provider could not be asked, or answered with an error status or an unreadable
    /// token response where a success was due (token endpoint, discovery, keys, GitHub's
    /// API). The detail is for the log.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider's answer is unusable: a document or key that does not parse, discovery
    /// naming another issuer, a bad endpoint URL, no `id_token`, UserInfo refusing the token.
    #[error("the provider answered unexpectedly: {0}")]
    Provider(String),
    /// The token endpoint's answer to a code held no ID token.
    #[error("no id_token in the token response")]
    NoIdToken,
    /// The token endpoint refused the authorization code (used, expired, foreign:
    /// `invalid_grant` and friends).
    #[error("the code was refused: {0}")]
    CodeRefused(String),
    /// The ID token failed verification (malformed, algorithm, unknown key, signature, `iss`,
    /// `aud`, `azp`, `exp`, `iat`, `nonce`), or UserInfo described another `sub`.
    #[error("the provider's token was refused: {0}")]
    InvalidToken(String),
    /// The callback does not belong to a flow this browser started (wrong or missing `state`,
    /// expired, another provider) or lacks its `code`.
    #[error("the sign-in attempt was not started here or has expired")]
    BadState,
    /// The provider sent the browser back with an `error` (the user cancelled, or the provider
    /// refused); the field is `error: error_description`, for the log.
    #[error("the provider refused: {0}")]
    Denied(String),
    /// No configured provider has the id in the URL.
    #[error("unknown provider")]
    UnknownProvider,
}

impl SocialError {
    /// The sentence shown to the user.
    pub fn message(&self, label: &str) -> String {
        match self {
            SocialError::Unreachable(_) => {
                format!("{label} could not be reached. Please try again in a moment.")
            }
            SocialError::Provider(_)
            | SocialError::NoIdToken
            | SocialError::CodeRefused(_)
            | SocialError::InvalidToken(_) => {
                format!("Signing in with {label} failed: its answer could not be verified.")
            }
            SocialError::BadState => {
                "That sign-in attempt expired or was not started here. Please try again.".into()
            }
            SocialError::Denied(_) => format!("Signing in with {label} was cancelled."),
            SocialError::UnknownProvider => "That sign-in provider is not available.".into(),
        }
    }
}

/// Where a provider sends the browser back to: `<PUBLIC_URL>/auth/<provider>/callback`,
/// the redirect URI to register with the provider (built from configuration only, never
/// from the request's `Host`).
pub fn redirect_uri(public_url: &str, provider: &str) -> String {
    format!("{public_url}/auth/{provider}/callback")
}

/// An authorization code to exchange at a provider's token endpoint.
#[derive(Clone, Copy, Debug)]
pub struct CodeGrant<'a> {
    /// The `code` the provider issued, as received.
    pub code: &'a str,
    /// The `redirect_uri` the code was issued for ([`redirect_uri`]).
    pub redirect_uri: &'a str,
    /// The PKCE verifier of the flow that obtained the code (RFC 7636 section 4.5); `None`
    /// for a code a client obtained on its own (`POST /api/auth/google/`).
    pub pkce_verifier: Option<&'a str>,
    /// The nonce the ID token must carry (OpenID Connect Core 3.1.3.7, step 11); `None`
    /// when the authorization request was not ours.
    pub nonce: Option<&'a str>,
}

/// The person as the provider describes them, after verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalProfile {
    /// The provider's stable id for the person (OpenID Connect `sub`, GitHub's numeric user
    /// id); with the provider id, it is what an identity is looked up by.
    pub subject: String,
    /// The address the provider gives; `None` when it gives none. Stored or matched against
    /// accounts only when `email_verified`.
    pub email: Option<String>,
    /// Whether the provider vouches for `email` (`email_verified`, also as the string
    /// `"true"`; GitHub: only verified addresses are taken at all).
    pub email_verified: bool,
    /// A username to start from for a new account (`preferred_username`, GitHub's login);
    /// `None` when the provider has none.
    pub username_hint: Option<String>,
    /// Given name (`given_name`, or `name` up to its last space); empty when unknown.
    pub first_name: String,
    /// Family name (`family_name`, or `name` after its last space); empty when unknown.
    pub last_name: String,
    /// The provider says the person passed a second factor with this sign-in (an ID token
    /// whose `amr` claim holds `mfa`, RFC 8176 §2): no second factor is asked here then.
    pub mfa_asserted: bool,
}

/// The longest provider subject accepted (OpenID Connect Core 2: at most 255 ASCII
/// characters).
const MAX_SUBJECT_CHARS: usize = 255;

impl ExternalProfile {
    /// The profile as this application can store and show it: control characters (U+0000
    /// above all, which PostgreSQL cannot store) removed from names and the username hint,
    /// names cut to the profile's length limit, and an address that is not a valid one
    /// dropped (and so never verified). A subject that is empty, too long or not printable
    /// is refused: it identifies nobody reliably.
    pub fn checked(mut self) -> Result<ExternalProfile, SocialError> {
        let printable = |s: &str| !s.is_empty() && !s.chars().any(char::is_control);
        if !printable(&self.subject) || self.subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(SocialError::InvalidToken("unusable subject".into()));
        }
        let tidy = |s: &str| -> String {
            s.chars()
                .filter(|c| !crate::users::is_hidden_character(*c))
                .collect::<String>()
                .trim()
                .chars()
                .take(crate::users::NAME_MAX_CHARS)
                .collect()
        };
        self.first_name = tidy(&self.first_name);
        self.last_name = tidy(&self.last_name);
        self.username_hint = self.username_hint.as_deref().map(tidy);
        if !self
            .email
            .as_deref()
            .is_some_and(crate::users::email_is_valid)
        {
            self.email = None;
            self.email_verified = false;
        }
        Ok(self)
    }
}

pub(crate) fn split_name(name: Option<&str>) -> (String, String) {
    let name = name.unwrap_or_default().trim();
    match name.rsplit_once(' ') {
        Some((first, last)) => (first.trim().to_owned(), last.to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// The `id_token` field of an OpenID Connect token response.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IdTokenField {
    /// The ID token; `None` when the response has none (refused for OpenID Connect).
    #[serde(default)]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

/// A token endpoint's answer: the standard OAuth2 fields plus `id_token`.
pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// An `oauth2` client with the authorization and token endpoints set, the only two we
/// call.
pub type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A configured provider, by protocol.
#[derive(Debug)]
pub enum Provider {
    /// OpenID Connect (Google, or an `OIDC_PROVIDERS` entry), with cached discovery and keys.
    Oidc(OidcProvider),
    /// GitHub's OAuth2 app: no ID token; the profile comes from its REST API.
    GitHub(ProviderConfig),
}

impl Provider {
    /// The provider's configuration (id, label, client credentials, endpoint overrides).
    pub fn config(&self) -> &ProviderConfig {
        match self {
            Provider::Oidc(p) => &p.config,
            Provider::GitHub(c) => c,
        }
    }

    /// The oauth2 client for this provider, redirecting back to `redirect`.
    pub async fn client(&self, redirect: &str) -> Result<OAuthClient, SocialError> {
        let config = self.config();
        let (auth, token) = match self {
            Provider::Oidc(p) => {
                let e = p.endpoints().await?;
                (e.authorization.clone(), e.token.clone())
            }
            Provider::GitHub(c) => (github::auth_url(c), github::token_url(c)),
        };
        let bad = |what: &str, e: oauth2::url::ParseError| {
            SocialError::Provider(format!("{what} endpoint: {e}"))
        };
        Ok(oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                String::from_utf8_lossy(config.client_secret.expose()).into_owned(),
            ))
            .set_auth_uri(AuthUrl::new(auth).map_err(|e| bad("authorization", e))?)
            .set_token_uri(TokenUrl::new(token).map_err(|e| bad("token", e))?)
            .set_redirect_uri(
                RedirectUrl::new(redirect.to_owned()).map_err(|e| bad("redirect", e))?,
            ))
    }

    /// The scopes to request: `openid email profile` for OpenID Connect, `read:user
    /// user:email` for GitHub (the second is what lists verified addresses).
    pub fn scopes(&self) -> &'static [&'static str] {
        match self {
            Provider::Oidc(_) => &["openid", "email", "profile"],
            Provider::GitHub(_) => &["read:user", "user:email"],
        }
    }
}

/// The configured providers, in configuration order.
#[derive(Debug, Default)]
pub struct Social {
    providers: Vec<Arc<Provider>>,
    http: reqwest::Client,
}

impl Social {
    /// The providers of `configs`, sharing one HTTP client that never follows redirects and
    /// gives up after 10 seconds. Should that client fail to build, reqwest's default client
    /// is used instead, which follows redirects and has no timeout.
    pub fn new(configs: &[ProviderConfig]) -> Social {
        // Never follow redirects on back-channel calls (token endpoint, keys, APIs): a
        // redirect there is a misconfiguration or an attack, not something to obey.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .user_agent("leptos-auth-starter")
            .build()
            .unwrap_or_default();
        let providers = configs
            .iter()
            .cloned()
            .map(|config| {
                Arc::new(match config.protocol {
                    Protocol::Oidc => Provider::Oidc(OidcProvider::new(config, http.clone())),
                    Protocol::GitHub => Provider::GitHub(config),
                })
            })
            .collect();
        Social { providers, http }
    }

    /// The provider with this id (`google`, `github` or an `OIDC_PROVIDERS` name); `None` when
    /// it is not configured.
    pub fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.providers.iter().find(|p| p.config().id == id).cloned()
    }

    /// `(id, label)` of every configured provider, for the buttons.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.providers
            .iter()
            .map(|p| (p.config().id.clone(), p.config().label.clone()))
            .collect()
    }

    /// Exchanges an authorization code for tokens and turns them into a verified profile:
    /// for OpenID Connect the ID token (signature, `iss`, `aud`, `exp`, `nonce`), completed
    /// from UserInfo when it has no email; for GitHub its user and verified-emails API.
    ///
    /// Errors: [`SocialError::CodeRefused`] when the token endpoint refuses the code,
    /// [`SocialError::Unreachable`] when it cannot be asked, and the verification errors.
    pub async fn exchange_code(
        &self,
        provider: &Provider,
        grant: CodeGrant<'_>,
    ) -> Result<ExternalProfile, SocialError> {
        let client = provider.client(grant.redirect_uri).await?;
        let mut request = client.exchange_code(AuthorizationCode::new(grant.code.to_owned()));
        if let Some(verifier) = grant.pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        }
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    SocialError::CodeRefused(format!("token endpoint: {r}"))
                }
                other => SocialError::Unreachable(format!("token endpoint: {other}")),
            })?;
        let profile = match provider {
            Provider::Oidc(oidc) => {
                let id_token = tokens
                    .extra_fields()
                    .id_token
                    .as_deref()
                    .ok_or(SocialError::NoIdToken)?;
                let claims = oidc.verify_id_token(id_token, grant.nonce).await?;
                let mut profile = claims.into_profile();
                oidc.complete_from_userinfo(&mut profile, tokens.access_token().secret())
                    .await?;
                Ok(profile)
            }
            Provider::GitHub(config) => {
                github::profile(config, &self.http, tokens.access_token().secret()).await
            }
        };
        profile.and_then(ExternalProfile::checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_made_storable_or_refused() {
        let profile = |subject: &str, email: &str| ExternalProfile {
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: true,
            username_hint: Some("ad\u{0}a".into()),
            first_name: format!(" Ada\u{0}\u{7}{} ", "x".repeat(200)),
            last_name: "Love\u{0}lace".into(),
            mfa_asserted: false,
        };
        let tidy = profile("sub-1", "ada@example.com").checked().unwrap();
        assert_eq!(tidy.username_hint.as_deref(), Some("ada"));
        assert!(tidy.first_name.starts_with("Adax") && tidy.first_name.chars().count() == 150);
        assert_eq!(tidy.last_name, "Lovelace");
        assert_eq!(tidy.email.as_deref(), Some("ada@example.com"));
        // An address that is no address is dropped, and so never counts as verified.
        let odd = profile("sub-1", "ada\u{0}@example.com").checked().unwrap();
        assert_eq!((odd.email, odd.email_verified), (None, false));
        for subject in ["", "a\u{0}b", &"s".repeat(256)] {
            assert!(
                profile(subject, "a@example.com").checked().is_err(),
                "{subject:?}"
            );
        }
    }

    #[test]
    fn names_split_at_the_last_space() {
        assert_eq!(
            split_name(Some("Ada King Lovelace")),
            ("Ada King".into(), "Lovelace".into())
        );
        assert_eq!(split_name(Some("Plato")), ("Plato".into(), String::new()));
        assert_eq!(split_name(None), (String::new(), String::new()));
    }
}
