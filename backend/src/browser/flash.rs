//! One-shot form feedback across the redirect after a POST (post/redirect/get): the field
//! errors, the values worth keeping (never a password) and a notice, in a short-lived
//! signed cookie. A cookie rather than the session so that a failed form does not create
//! or rewrite a session record (and so cannot race the session's token refresh).

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::cookies::CookieSettings;

/// Long enough to survive the redirect, short enough that a stale message never shows up
/// on a later visit.
const MAX_AGE_SECS: u32 = 60;

/// Beyond this the cookie could be refused by the browser (4 KiB per cookie); the values
/// are dropped first, then the whole flash becomes a generic notice.
const MAX_COOKIE_BYTES: usize = 3800;

/// Feedback for the page after a form POST, as the flash cookie carries it (signed JSON).
/// A missing field reads as empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// Which form the feedback belongs to (`signin`, `signup`, `profile`, ...).
    #[serde(default)]
    pub form: String,
    /// Field → messages, in DRF's words as the use case reported them; empty when none.
    #[serde(default)]
    pub errors: BTreeMap<String, Vec<String>>,
    /// Field → value to show again in the form; never a password.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// A message for the whole page (signed out, rate limited, a failure of ours); `None` when
    /// there is none.
    #[serde(default)]
    pub notice: Option<String>,
}

impl Flash {
    /// Feedback that is only a message, for no particular form (for example after signing
    /// out).
    pub fn notice(message: impl Into<String>) -> Flash {
        Flash {
            notice: Some(message.into()),
            ..Flash::default()
        }
    }
}

/// The HMAC-SHA-256 key that signs flash cookies, so a page shows only feedback this
/// deployment wrote. Its `Debug` output hides the key.
#[derive(Clone)]
pub struct FlashKey(Hmac<Sha256>);

impl std::fmt::Debug for FlashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlashKey(..)")
    }
}

impl FlashKey {
    /// Derived from the session secret, with a label so the key is used for nothing else.
    pub fn derive(session_secret: &[u8]) -> FlashKey {
        let mut mac = Hmac::<Sha256>::new_from_slice(session_secret).expect("HMAC takes any key");
        mac.update(b"leptos-auth-starter flash cookie v1");
        let key = mac.finalize().into_bytes();
        FlashKey(Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key"))
    }

    fn sign(&self, payload: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(payload.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn seal(&self, flash: &Flash) -> String {
        let json = serde_json::to_vec(flash).unwrap_or_default();
        let payload = URL_SAFE_NO_PAD.encode(json);
        let signature = self.sign(&payload);
        format!("{payload}.{signature}")
    }

    /// The flash sealed in `sealed` (`<base64url JSON>.<base64url MAC>`). `None` when the MAC
    /// does not match (tampered, or signed with another key) or the JSON does not parse. The
    /// MAC is checked, in constant time, before the payload is decoded.
    pub fn open(&self, sealed: &str) -> Option<Flash> {
        let (payload, signature) = sealed.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.0.clone();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }

    /// The `Set-Cookie` value that carries `flash` to the next page.
    pub fn set_cookie(&self, cookies: &CookieSettings, flash: &Flash) -> HeaderValue {
        let mut sealed = self.seal(flash);
        if sealed.len() > MAX_COOKIE_BYTES {
            let lean = Flash {
                values: BTreeMap::new(),
                ..flash.clone()
            };
            sealed = self.seal(&lean);
            if sealed.len() > MAX_COOKIE_BYTES {
                sealed = self.seal(&Flash {
                    form: flash.form.clone(),
                    notice: Some("Please check the form and try again.".to_owned()),
                    ..Flash::default()
                });
            }
        }
        cookie_header(cookies, &sealed, MAX_AGE_SECS)
    }

    /// The flash this request carries, if any and if it is ours.
    pub fn read(&self, cookies: &CookieSettings, headers: &HeaderMap) -> Option<Flash> {
        cookie_value(cookies, headers).and_then(|v| self.open(v))
    }
}

/// The flash cookie's raw value, whether or not it opens.
pub fn cookie_value<'a>(cookies: &CookieSettings, headers: &'a HeaderMap) -> Option<&'a str> {
    let name = cookies.flash_name();
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Removes the flash cookie (after it has been shown once).
pub fn clear_cookie(cookies: &CookieSettings) -> HeaderValue {
    cookie_header(cookies, "", 0)
}

fn cookie_header(cookies: &CookieSettings, value: &str, max_age: u32) -> HeaderValue {
    let secure = if cookies.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        cookies.flash_name()
    );
    HeaderValue::from_str(&cookie).expect("base64url and fixed attributes are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_with(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    fn sample() -> Flash {
        let mut flash = Flash {
            form: "signin".into(),
            notice: Some("Hello".into()),
            ..Flash::default()
        };
        flash
            .errors
            .insert("password".into(), vec!["This field is required.".into()]);
        flash.values.insert("username".into(), "ada".into());
        flash
    }

    fn value_of(set_cookie: &HeaderValue) -> String {
        let s = set_cookie.to_str().unwrap();
        s.split(';').next().unwrap().to_owned()
    }

    #[test]
    fn round_trip_through_the_cookie() {
        let key = FlashKey::derive(b"0123456789abcdef0123456789abcdef");
        let cookies = CookieSettings::new(false);
        let set = key.set_cookie(&cookies, &sample());
        assert!(set.to_str().unwrap().contains("HttpOnly"));
        let read = key.read(&cookies, &headers_with(&format!("a=b; {}", value_of(&set))));
        assert_eq!(read, Some(sample()));
    }

    #[test]
    fn tampered_or_foreign_cookies_are_ignored() {
        let key = FlashKey::derive(b"0123456789abcdef0123456789abcdef");
        let other = FlashKey::derive(b"another secret, another deployment");
        let cookies = CookieSettings::new(false);
        let set = value_of(&other.set_cookie(&cookies, &sample()));
        assert_eq!(key.read(&cookies, &headers_with(&set)), None);

        let mine = value_of(&key.set_cookie(&cookies, &sample()));
        let (name, sealed) = mine.split_once('=').unwrap();
        let (_, signature) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"notice":"Call this number"}"#);
        let forged = format!("{name}={forged}.{signature}");
        assert_eq!(key.read(&cookies, &headers_with(&forged)), None);
        assert_eq!(key.read(&cookies, &headers_with("las_flash=garbage")), None);
    }

    #[test]
    fn oversized_feedback_is_trimmed_to_fit_a_cookie() {
        let key = FlashKey::derive(b"0123456789abcdef0123456789abcdef");
        let cookies = CookieSettings::new(true);
        let mut flash = sample();
        flash.values.insert("username".into(), "x".repeat(5000));
        let set = key.set_cookie(&cookies, &flash);
        assert!(set.len() < 4096);
        assert!(set.to_str().unwrap().starts_with("__Host-las_flash="));
        let read = key.read(&cookies, &headers_with(&value_of(&set))).unwrap();
        assert!(read.values.is_empty());
        assert_eq!(read.errors, sample().errors);
    }
}
