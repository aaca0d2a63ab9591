//! Cross-site request forgery protection for the web app's own state-changing requests
//! (forms and server functions, which will ride on the session cookie).
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (all current browsers) or at
//! least `Origin` (on every POST). A request that a browser marks as coming from another
//! site is refused with 403; so is one whose `Origin` is not our public origin. Requests
//! with neither header do not come from a browser, so they cannot carry a victim's cookies
//! against their will, and pass. The REST API under `/api/auth/` authenticates with bearer
//! tokens, never cookies, and is governed by CORS instead.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Clone, Debug)]
pub struct PublicOrigin(pub std::sync::Arc<str>);

/// Whether a request with these headers may change state.
pub fn allowed(
    method: &Method,
    path: &str,
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    public_origin: &str,
) -> bool {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) || path.starts_with("/api/auth/")
        || path == "/.well-known/jwks.json"
    {
        return true;
    }
    if let Some(site) = sec_fetch_site {
        // `none`: typed into the address bar or a bookmark, i.e. the user's own doing.
        return matches!(site, "same-origin" | "none");
    }
    match origin {
        Some(origin) => origin.eq_ignore_ascii_case(public_origin),
        None => true,
    }
}

pub async fn protect(State(public): State<PublicOrigin>, req: Request, next: Next) -> Response {
    let ok = {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        allowed(
            req.method(),
            req.uri().path(),
            header(header::HeaderName::from_static("sec-fetch-site")),
            header(header::ORIGIN),
            &public.0,
        )
    };
    if ok {
        return next.run(req).await;
    }
    tracing::warn!(
        path = %crate::telemetry::loggable_path(req.uri().path()),
        "cross-site request refused"
    );
    (
        StatusCode::FORBIDDEN,
        "Cross-site request refused: this form can only be submitted from this site.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: &str = "https://auth.example.com";

    #[test]
    fn decisions() {
        let post = Method::POST;
        assert!(allowed(
            &Method::GET,
            "/profile",
            Some("cross-site"),
            None,
            US
        ));
        assert!(allowed(
            &post,
            "/api/auth/login/",
            Some("cross-site"),
            Some("https://evil.example"),
            US
        ));
        assert!(allowed(
            &post,
            "/api/update",
            Some("same-origin"),
            Some(US),
            US
        ));
        assert!(allowed(&post, "/api/update", Some("none"), None, US));
        assert!(!allowed(
            &post,
            "/api/update",
            Some("cross-site"),
            Some(US),
            US
        ));
        assert!(!allowed(&post, "/api/update", Some("same-site"), None, US));
        assert!(allowed(
            &post,
            "/api/update",
            None,
            Some("HTTPS://AUTH.EXAMPLE.COM"),
            US
        ));
        assert!(!allowed(
            &post,
            "/api/update",
            None,
            Some("https://evil.example"),
            US
        ));
        assert!(!allowed(&post, "/api/update", None, Some("null"), US));
        assert!(allowed(&post, "/api/update", None, None, US));
    }
}
