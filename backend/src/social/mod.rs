//! Social sign-in: Google, GitHub and any OpenID Connect provider, with the whole flow on
//! the server (authorization code + PKCE S256, `state` bound to the browser session and
//! single-use, `nonce` checked in the verified ID token).

pub mod accounts;
pub mod flow;
pub mod github;
pub mod oidc;
pub mod providers;

use std::sync::Arc;

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use oidc::OidcProvider;
use providers::{Protocol, ProviderConfig};

/// What went wrong, in words fit for the sign-in page (details go to the log).
#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider answered unexpectedly: {0}")]
    Provider(String),
    #[error("the provider's token was refused: {0}")]
    InvalidToken(String),
    #[error("the sign-in attempt was not started here or has expired")]
    BadState,
    #[error("the provider refused: {0}")]
    Denied(String),
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
            SocialError::Provider(_) | SocialError::InvalidToken(_) => {
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

/// The person as the provider describes them, after verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalProfile {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub username_hint: Option<String>,
    pub first_name: String,
    pub last_name: String,
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
    #[serde(default)]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

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

#[derive(Debug)]
pub enum Provider {
    Oidc(OidcProvider),
    GitHub(ProviderConfig),
}

impl Provider {
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

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
