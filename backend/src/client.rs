//! Who is at the other end of a request, as the security center shows it: the client's IP
//! address (see [`crate::client_ip`]) and its user agent summarised for people ("Firefox on
//! Linux", "Safari on iPhone"). The raw `User-Agent` header is never stored: a summary is
//! all a person needs to recognise a device, and it holds less about them.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::client_ip::{ClientIp, TrustedProxies};

/// Longer `User-Agent` headers are not parsed (no browser sends one this long; the parser's
/// cost grows with the input).
const MAX_USER_AGENT_BYTES: usize = 512;

/// The client of a request: its IP address and what its user agent says it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client's address (`X-Forwarded-For` only from `TRUSTED_PROXIES`).
    pub ip: IpAddr,
    /// The recognised browser or program, e.g. `Firefox on Linux`; `None` when the header
    /// is missing or names nothing a person would recognise (scripts, libraries).
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id` (set by the server when the client sent none), to find
    /// the log lines of an audit event; `None` when it is not a plain token.
    pub request_id: Option<String>,
}

impl Client {
    /// A client known only by its address (tests, in-process callers).
    pub fn at(ip: IpAddr) -> Client {
        Client {
            ip,
            user_agent: None,
            request_id: None,
        }
    }
}

/// A request id worth keeping: 1 to 64 characters of `[A-Za-z0-9._-]` (a UUID, or what a
/// proxy in front set); anything else from a client is dropped rather than stored.
fn plain_request_id(value: &str) -> Option<String> {
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    plain.then(|| value.to_owned())
}

impl<S> FromRequestParts<S> for Client
where
    TrustedProxies: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(summarise_user_agent);
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(plain_request_id);
        Ok(Client {
            ip,
            user_agent,
            request_id,
        })
    }
}

/// `Firefox on Linux`, `Safari on iPhone`, `Chrome on Android`: the browser's name and its
/// operating system, as woothee recognises them; `None` for an empty, overlong or
/// unrecognised header, and for crawlers and HTTP libraries (a person would not recognise
/// "curl" as their device; the sign-in's channel says "API client" instead).
pub fn summarise_user_agent(header: &str) -> Option<String> {
    if header.is_empty() || header.len() > MAX_USER_AGENT_BYTES {
        return None;
    }
    let parsed = woothee::parser::Parser::new().parse(header)?;
    let known = |v: &str| !v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN;
    if !matches!(
        parsed.category,
        "pc" | "smartphone" | "mobilephone" | "appliance"
    ) || !known(parsed.name)
    {
        return None;
    }
    Some(if known(parsed.os) && parsed.os != parsed.name {
        format!("{} on {}", parsed.name, parsed.os)
    } else {
        parsed.name.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_browsers_as_people_know_them() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(
            summarise_user_agent(firefox).as_deref(),
            Some("Firefox on Linux")
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) \
                      AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 \
                      Safari/604.1";
        assert_eq!(
            summarise_user_agent(iphone).as_deref(),
            Some("Safari on iPhone")
        );
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
                      (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(
            summarise_user_agent(chrome).as_deref(),
            Some("Chrome on Windows 10")
        );
    }

    #[test]
    fn request_ids_are_kept_only_when_plain() {
        let uuid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        assert_eq!(plain_request_id(uuid).as_deref(), Some(uuid));
        assert_eq!(plain_request_id(""), None);
        assert_eq!(plain_request_id("a b"), None);
        assert_eq!(plain_request_id("id}=x"), None);
        assert_eq!(plain_request_id(&"a".repeat(65)), None);
    }

    #[test]
    fn scripts_and_junk_name_nothing() {
        assert_eq!(summarise_user_agent("curl/8.5.0"), None);
        assert_eq!(summarise_user_agent("python-requests/2.32.3"), None);
        assert_eq!(summarise_user_agent(""), None);
        assert_eq!(summarise_user_agent("\u{0}\u{1}garbage"), None);
        let overlong = format!("Mozilla/5.0 Firefox/1 {}", "x".repeat(600));
        assert_eq!(summarise_user_agent(&overlong), None);
    }
}
