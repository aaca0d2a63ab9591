//! GitHub sign-in: OAuth2 apps have no ID token; the profile and the verified addresses come
//! from its REST API with the access token.

use serde::Deserialize;

use super::providers::ProviderConfig;
use super::{ExternalProfile, SocialError};

/// GitHub's authorization endpoint (override: `GITHUB_AUTH_URL`).
pub const AUTH_URL: &str = "https://github.com/login/oauth/authorize";
/// GitHub's token endpoint (override: `GITHUB_TOKEN_URL`).
pub const TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// GitHub's REST API root (override: `GITHUB_API_URL`).
pub const API_URL: &str = "https://api.github.com";

#[derive(Deserialize)]
struct GitHubUser {
    id: i64,
    login: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct GitHubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

/// The authorization endpoint: the configured override, else [`AUTH_URL`].
pub fn auth_url(config: &ProviderConfig) -> String {
    config
        .endpoints
        .authorization
        .clone()
        .unwrap_or_else(|| AUTH_URL.to_owned())
}

/// The token endpoint: the configured override, else [`TOKEN_URL`].
pub fn token_url(config: &ProviderConfig) -> String {
    config
        .endpoints
        .token
        .clone()
        .unwrap_or_else(|| TOKEN_URL.to_owned())
}

/// The person `access_token` belongs to, from `GET /user` and `GET /user/emails`: the
/// numeric user id as subject, the login as username hint, the name split at its last
/// space, and a verified address (the primary one if it is verified), or none.
///
/// Errors: [`SocialError::Unreachable`] for a failed request or any error status (a
/// refused token included); [`SocialError::Provider`] for a body that does not parse.
pub async fn profile(
    config: &ProviderConfig,
    http: &reqwest::Client,
    access_token: &str,
) -> Result<ExternalProfile, SocialError> {
    let api = config.endpoints.api.as_deref().unwrap_or(API_URL);
    let get = |path: &str| {
        http.get(format!("{api}{path}"))
            .bearer_auth(access_token)
            .header("accept", "application/vnd.github+json")
            .header("user-agent", "leptos-auth-starter")
            .send()
    };
    let fail = |e: reqwest::Error| SocialError::Unreachable(format!("GitHub API: {e}"));
    let user: GitHubUser = get("/user")
        .await
        .and_then(|r| r.error_for_status())
        .map_err(fail)?
        .json()
        .await
        .map_err(|e| SocialError::Provider(format!("GitHub /user: {e}")))?;
    let emails: Vec<GitHubEmail> = get("/user/emails")
        .await
        .and_then(|r| r.error_for_status())
        .map_err(fail)?
        .json()
        .await
        .map_err(|e| SocialError::Provider(format!("GitHub /user/emails: {e}")))?;
    // Only a verified address counts, the primary one first.
    let email = emails
        .iter()
        .filter(|e| e.verified)
        .max_by_key(|e| e.primary)
        .map(|e| e.email.clone());
    let (first_name, last_name) = super::split_name(user.name.as_deref());
    Ok(ExternalProfile {
        subject: user.id.to_string(),
        email_verified: email.is_some(),
        email,
        username_hint: Some(user.login),
        first_name,
        last_name,
        // GitHub's OAuth says nothing of how the person signed in.
        mfa_asserted: false,
    })
}
