//! Which social sign-in providers are configured, read from the environment under fixed
//! names so the README, the tests and deployments agree:
//!
//! - Google: `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET`, `GOOGLE_ISSUER`
//!   (default `https://accounts.google.com`);
//! - GitHub: `GITHUB_CLIENT_ID`, `GITHUB_CLIENT_SECRET` (OAuth2, not OpenID Connect);
//! - any OpenID Connect provider: `OIDC_PROVIDERS=name1,name2`, then for each
//!   `OIDC_<NAME>_ISSUER`, `OIDC_<NAME>_CLIENT_ID`, `OIDC_<NAME>_CLIENT_SECRET` and an
//!   optional `OIDC_<NAME>_LABEL` for the button.
//!
//! Every provider's endpoints can be overridden (`<PREFIX>_AUTH_URL`, `_TOKEN_URL`,
//! `_JWKS_URL`, `_USERINFO_URL`, and `GITHUB_API_URL`), which is also how tests point them
//! at a local provider. A provider without its client id and secret does not exist.

use crate::secret::Secret;

/// Google's issuer: the default for `GOOGLE_ISSUER`, and what its ID tokens' `iss` says.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// How a provider proves who the person is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OpenID Connect: discovery, ID token, nonce.
    Oidc,
    /// GitHub's OAuth2 apps: profile and verified emails from its REST API.
    GitHub,
}

/// One configured provider, as read from the environment. The secret is never printed.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// The name in URLs and in the identities table: `google`, `github`, or an
    /// `OIDC_PROVIDERS` name (lowercase).
    pub id: String,
    /// The button's text: `Google`, `GitHub`, or `OIDC_<NAME>_LABEL` (default: the name).
    pub label: String,
    /// OpenID Connect or GitHub's OAuth2.
    pub protocol: Protocol,
    /// Our client id at the provider (`<PREFIX>_CLIENT_ID`); also the `aud` an ID token must
    /// name.
    pub client_id: String,
    /// Our client secret (`<PREFIX>_CLIENT_SECRET`), sent to the token endpoint.
    pub client_secret: Secret,
    /// OpenID Connect issuer (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: Option<String>,
    /// Endpoints that replace discovery's (or GitHub's defaults).
    pub endpoints: EndpointOverrides,
}

/// Endpoint URLs given in the environment; each is `None` unless configured, and is an
/// http(s) URL without a trailing slash when it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// `<PREFIX>_AUTH_URL`: where the browser is sent to sign in.
    pub authorization: Option<String>,
    /// `<PREFIX>_TOKEN_URL`: where codes are exchanged for tokens.
    pub token: Option<String>,
    /// `<PREFIX>_JWKS_URL`: the ID-token signing keys (OpenID Connect only).
    pub jwks: Option<String>,
    /// `<PREFIX>_USERINFO_URL`: the UserInfo endpoint (OpenID Connect only).
    pub userinfo: Option<String>,
    /// GitHub's REST API root (`https://api.github.com`).
    pub api: Option<String>,
}

/// Provider variables that cannot be used; the server refuses to start with them.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProviderConfigError {
    /// The first variable is set but the second, which it needs, is missing.
    #[error("{0} is set but {1} is missing")]
    Incomplete(String, String),
    /// An `OIDC_PROVIDERS` name with characters other than lowercase letters, digits, `-`
    /// and `_`.
    #[error("OIDC_PROVIDERS entry {0:?} must be lowercase letters, digits, '-' or '_'")]
    BadName(String),
    /// A provider id that is configured twice (an `OIDC_PROVIDERS` name repeated, or `google`
    /// or `github` while those are configured).
    #[error("OIDC_PROVIDERS lists {0:?} twice (or it clashes with google/github)")]
    Duplicate(String),
    /// The variable and its value: not an `http://` or `https://` URL.
    #[error("{0} must be an http(s) URL (got {1:?})")]
    BadUrl(String, String),
}

/// Reads the providers through `var` (the process environment in production, a map in
/// tests).
pub fn from_env(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Vec<ProviderConfig>, ProviderConfigError> {
    let get = |name: &str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut providers = Vec::new();
    let mut add = |id: &str,
                   label: String,
                   protocol: Protocol,
                   prefix: &str,
                   issuer: Option<String>|
     -> Result<bool, ProviderConfigError> {
        let id_var = format!("{prefix}_CLIENT_ID");
        let secret_var = format!("{prefix}_CLIENT_SECRET");
        let (client_id, client_secret) = match (get(&id_var), get(&secret_var)) {
            (None, None) => return Ok(false),
            (Some(_), None) => return Err(ProviderConfigError::Incomplete(id_var, secret_var)),
            (None, Some(_)) => return Err(ProviderConfigError::Incomplete(secret_var, id_var)),
            (Some(id), Some(secret)) => (id, secret),
        };
        let url = |suffix: &str| -> Result<Option<String>, ProviderConfigError> {
            let name = format!("{prefix}_{suffix}");
            match get(&name) {
                None => Ok(None),
                Some(v) if v.starts_with("https://") || v.starts_with("http://") => {
                    Ok(Some(v.trim_end_matches('/').to_owned()))
                }
                Some(v) => Err(ProviderConfigError::BadUrl(name, v)),
            }
        };
        let issuer = match issuer {
            Some(issuer) if !(issuer.starts_with("https://") || issuer.starts_with("http://")) => {
                return Err(ProviderConfigError::BadUrl(
                    format!("{prefix}_ISSUER"),
                    issuer,
                ));
            }
            other => other.map(|i| i.trim_end_matches('/').to_owned()),
        };
        if providers.iter().any(|p: &ProviderConfig| p.id == id) {
            return Err(ProviderConfigError::Duplicate(id.to_owned()));
        }
        providers.push(ProviderConfig {
            id: id.to_owned(),
            label,
            protocol,
            client_id,
            client_secret: Secret::new(client_secret.into_bytes()),
            issuer,
            endpoints: EndpointOverrides {
                authorization: url("AUTH_URL")?,
                token: url("TOKEN_URL")?,
                jwks: url("JWKS_URL")?,
                userinfo: url("USERINFO_URL")?,
                api: url("API_URL")?,
            },
        });
        Ok(true)
    };

    add(
        "google",
        "Google".into(),
        Protocol::Oidc,
        "GOOGLE",
        Some(get("GOOGLE_ISSUER").unwrap_or_else(|| GOOGLE_ISSUER.to_owned())),
    )?;
    add("github", "GitHub".into(), Protocol::GitHub, "GITHUB", None)?;
    for name in get("OIDC_PROVIDERS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let ok = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !ok {
            return Err(ProviderConfigError::BadName(name.to_owned()));
        }
        let prefix = format!("OIDC_{}", name.to_ascii_uppercase().replace('-', "_"));
        let issuer_var = format!("{prefix}_ISSUER");
        let issuer = get(&issuer_var).ok_or_else(|| {
            ProviderConfigError::Incomplete("OIDC_PROVIDERS".into(), issuer_var.clone())
        })?;
        let label = get(&format!("{prefix}_LABEL")).unwrap_or_else(|| name.to_owned());
        if !add(name, label, Protocol::Oidc, &prefix, Some(issuer))? {
            return Err(ProviderConfigError::Incomplete(
                "OIDC_PROVIDERS".into(),
                format!("{prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET"),
            ));
        }
    }
    Ok(providers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn nothing_configured_means_no_providers() {
        assert!(from_env(env(&[])).unwrap().is_empty());
    }

    #[test]
    fn google_github_and_generic_providers() {
        let providers = from_env(env(&[
            ("GOOGLE_CLIENT_ID", "g-id"),
            ("GOOGLE_CLIENT_SECRET", "g-secret"),
            ("GITHUB_CLIENT_ID", "gh-id"),
            ("GITHUB_CLIENT_SECRET", "gh-secret"),
            ("GITHUB_API_URL", "http://127.0.0.1:9/api/"),
            ("OIDC_PROVIDERS", "corp, test-idp"),
            ("OIDC_CORP_ISSUER", "https://sso.corp.example/"),
            ("OIDC_CORP_CLIENT_ID", "c-id"),
            ("OIDC_CORP_CLIENT_SECRET", "c-secret"),
            ("OIDC_CORP_LABEL", "Corp SSO"),
            ("OIDC_TEST_IDP_ISSUER", "http://127.0.0.1:4000"),
            ("OIDC_TEST_IDP_CLIENT_ID", "t-id"),
            ("OIDC_TEST_IDP_CLIENT_SECRET", "t-secret"),
        ]))
        .unwrap();
        let ids: Vec<_> = providers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["google", "github", "corp", "test-idp"]);
        assert_eq!(providers[0].issuer.as_deref(), Some(GOOGLE_ISSUER));
        assert_eq!(providers[1].protocol, Protocol::GitHub);
        assert_eq!(
            providers[1].endpoints.api.as_deref(),
            Some("http://127.0.0.1:9/api")
        );
        assert_eq!(providers[2].label, "Corp SSO");
        assert_eq!(
            providers[2].issuer.as_deref(),
            Some("https://sso.corp.example")
        );
        assert_eq!(providers[3].label, "test-idp");
        assert!(!format!("{:?}", providers).contains("secret\""));
    }

    #[test]
    fn half_configured_providers_are_errors() {
        assert_eq!(
            from_env(env(&[("GOOGLE_CLIENT_ID", "x")])).unwrap_err(),
            ProviderConfigError::Incomplete(
                "GOOGLE_CLIENT_ID".into(),
                "GOOGLE_CLIENT_SECRET".into()
            )
        );
        assert!(from_env(env(&[("OIDC_PROVIDERS", "corp")])).is_err());
        assert!(from_env(env(&[
            ("OIDC_PROVIDERS", "corp"),
            ("OIDC_CORP_ISSUER", "https://x")
        ]))
        .is_err());
        assert!(from_env(env(&[("OIDC_PROVIDERS", "Bad Name")])).is_err());
        assert!(from_env(env(&[
            ("OIDC_PROVIDERS", "google"),
            ("OIDC_GOOGLE_ISSUER", "https://x"),
            ("OIDC_GOOGLE_CLIENT_ID", "a"),
            ("OIDC_GOOGLE_CLIENT_SECRET", "b"),
            ("GOOGLE_CLIENT_ID", "a"),
            ("GOOGLE_CLIENT_SECRET", "b"),
        ]))
        .is_err());
        assert!(from_env(env(&[
            ("GITHUB_CLIENT_ID", "a"),
            ("GITHUB_CLIENT_SECRET", "b"),
            ("GITHUB_TOKEN_URL", "ftp://x"),
        ]))
        .is_err());
    }
}
