//! The browser's cookies: their names and attributes.

use crate::config::{AppEnv, Config};

/// Cookie attributes: `Secure` (and the `__Host-` prefix, which pins a cookie to this exact
/// origin) whenever the site is served over HTTPS or runs in production.
#[derive(Clone, Copy, Debug)]
pub struct CookieSettings {
    /// `Secure` cookies with `__Host-` names; `false` only for plain-HTTP development.
    pub secure: bool,
}

impl CookieSettings {
    /// Settings with `Secure` on or off as given (tests use it; the server uses
    /// [`from_config`](Self::from_config)).
    pub fn new(secure: bool) -> CookieSettings {
        CookieSettings { secure }
    }

    /// `Secure` when `PUBLIC_URL` starts with `https://` or `APP_ENV=production`. Browsers keep
    /// `Secure` and `__Host-` cookies only from HTTPS pages, so production must be served over
    /// HTTPS.
    pub fn from_config(config: &Config) -> CookieSettings {
        CookieSettings::new(
            config.public_url.starts_with("https://") || config.app_env == AppEnv::Production,
        )
    }

    /// The session cookie's name: `__Host-las_session` when secure, else `las_session`
    /// (browsers refuse a `__Host-` cookie without `Secure`).
    pub fn session_name(&self) -> &'static str {
        if self.secure {
            "__Host-las_session"
        } else {
            "las_session"
        }
    }

    /// The flash cookie's name: `__Host-las_flash` when secure, else `las_flash`.
    pub fn flash_name(&self) -> &'static str {
        if self.secure {
            "__Host-las_flash"
        } else {
            "las_flash"
        }
    }
}
