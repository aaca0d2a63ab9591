//! What every server-rendered page needs to know about its request, worked out once in a
//! middleware: who is signed in (with the session's tokens refreshed if due) and the form
//! feedback of the previous POST. Protected pages redirect to sign-in here, before any
//! rendering, and the pages read the result from the request's extensions.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::admin::{admin_view, is_admin_path, AdminView};
use super::next::{safe_next, sign_in_url, AFTER_SIGN_IN};
use super::redirect::see_other;
use super::WebError;
use super::{mfa, second_factor};
use crate::accounts;
use crate::accounts::second_factor as second_factor_use_cases;
use crate::audit::{self, Recorded};
use crate::auth::sign_ins::{self, SignIn};
use crate::browser::flash::{self, Flash};
use crate::client_ip::ClientIp;
use crate::config::EmailVerification;
use crate::social::identities;
use crate::state::AppState;
use crate::users::User;

/// Pages (and everything below them) that need a signed-in user.
pub const PROTECTED: &[&str] = &["/profile"];

/// How many security events the profile page shows.
const RECENT_ACTIVITY: u32 = 10;

/// Pages for signed-out visitors; a signed-in one goes on to `next` (or the profile).
const SIGNED_OUT_ONLY: &[&str] = &["/signin", "/signup", second_factor::PATH];

/// What a page knows of its request (in the request's extensions, for the Leptos views).
#[derive(Clone, Debug, Default)]
pub struct PageContext {
    /// The signed-in user, always active; `None` for a signed-out visitor.
    pub user: Option<Arc<User>>,
    /// The previous POST's feedback; `None` when there is none or its cookie does not open.
    pub flash: Option<Flash>,
    /// `(id, label)` of the configured social sign-in providers.
    pub providers: Vec<(String, String)>,
    /// The providers linked to the signed-in user (on the profile page only).
    pub linked: Vec<String>,
    /// The signed-in user's live sign-ins, most recently used first (on the profile page
    /// only), and which of them is this browser's.
    pub sign_ins: Vec<SignIn>,
    /// This browser's sign-in (the token family's id), when signed in.
    pub current_sign_in: Option<String>,
    /// The signed-in user's latest security events, newest first (on the profile page
    /// only).
    pub activity: Vec<Recorded>,
    /// Whether this browser's sign-in proved who is behind it within `REAUTH_MAX_AGE` (on
    /// the profile page only: sensitive forms ask for the password when it did not).
    pub reauth_recent: bool,
    /// On a mailed link's page (`/password-reset/confirm/{uid}/{token}`,
    /// `/verify-email/{key}`): whether the link still works (looked at, never spent).
    pub link_live: Option<bool>,
    /// Whether sign-up requires an address (`ACCOUNT_EMAIL_VERIFICATION=mandatory`).
    pub email_required: bool,
    /// On a staff page (`/admin...`, for staff only): what it shows; `None` on an address
    /// that is no page.
    pub admin: Option<Arc<AdminView>>,
    /// The signed-in user's second factors (on the profile page only).
    pub mfa: Option<second_factor_use_cases::Overview>,
    /// The authenticator-app set-up this browser started (on its page only).
    pub totp_setup: Option<second_factor_use_cases::TotpSetup>,
    /// Recovery codes just made, shown this once (on their page only).
    pub fresh_recovery_codes: Option<Vec<String>>,
    /// Whether passkeys work here (`PUBLIC_URL` is a domain name).
    pub passkeys_enabled: bool,
    /// On the second sign-in page: the account's second factors (`totp`, `webauthn`,
    /// `recovery_codes`).
    pub second_factor_methods: Vec<String>,
}

/// Whether the mailed link `path` names still works; `None` for any other page.
async fn link_state(state: &AppState, path: &str) -> Result<Option<bool>, WebError> {
    if let Some(rest) = path.strip_prefix("/password-reset/confirm/") {
        let mut parts = rest.trim_end_matches('/').splitn(2, '/');
        let (Some(uid), Some(token)) = (parts.next(), parts.next()) else {
            return Ok(Some(false));
        };
        return Ok(Some(
            accounts::reset_link_is_live(&state.db, uid, token).await?,
        ));
    }
    if let Some(key) = path.strip_prefix("/verify-email/") {
        return Ok(Some(
            accounts::verification_link_is_live(&state.db, key).await?,
        ));
    }
    Ok(None)
}

fn is_protected(path: &str) -> bool {
    PROTECTED.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The middleware in front of every page (GET and HEAD only; form POSTs pass through).
pub async fn page_context(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    mut req: Request,
    next: Next,
) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let current = match state.browser.sessions.current(&session).await {
        Ok(current) => current,
        Err(error) => return WebError::from(error).into_response(),
    };
    if let Some(current) = &current {
        state.tokens.record_use(&current.signed_in.sid, ip).await;
    }
    let path = req.uri().path();
    let mut second_factor_methods = Vec::new();
    match &current {
        None if is_protected(path) => {
            let here = req.uri().path_and_query().map_or(path, |pq| pq.as_str());
            return see_other(&sign_in_url(here));
        }
        Some(_) if SIGNED_OUT_ONLY.contains(&path) => {
            let query: Option<NextQuery> = req
                .uri()
                .query()
                .and_then(|q| serde_urlencoded::from_str(q).ok());
            let wanted = query.and_then(|q| q.next);
            return see_other(safe_next(wanted.as_deref()).unwrap_or(AFTER_SIGN_IN));
        }
        None if path == second_factor::PATH => {
            // Only between the two steps of a sign-in.
            match second_factor::pending_methods(&session).await {
                Ok(Some(methods)) => second_factor_methods = methods,
                Ok(None) => return see_other("/signin"),
                Err(error) => {
                    let error = crate::browser::sessions::SessionError::from(error);
                    return WebError::from(error).into_response();
                }
            }
        }
        _ => {}
    }

    let cookies = state.browser.cookies;
    // A flash cookie is cleared once seen, even one that does not open (stale key, tampered).
    let raw_flash = flash::cookie_value(&cookies, req.headers());
    let had_flash = raw_flash.is_some();
    let flash = raw_flash.and_then(|v| state.browser.flash_key.open(v));
    let providers = state.social.buttons();
    let linked = match (&current, req.uri().path()) {
        (Some(current), "/profile") if !providers.is_empty() => {
            match identities::linked_providers(&state.db, current.user.id).await {
                Ok(linked) => linked,
                Err(error) => return WebError::from(error).into_response(),
            }
        }
        _ => Vec::new(),
    };
    let (sign_ins, activity, reauth_recent) = match (&current, req.uri().path()) {
        (Some(current), path) if is_admin_path(path) => {
            // The staff forms ask for the password when the sign-in's proof is old.
            match state
                .reauth()
                .is_recent(&current.user, &current.signed_in.sid)
                .await
            {
                Ok(recent) => (Vec::new(), Vec::new(), recent),
                Err(error) => return WebError::from(error).into_response(),
            }
        }
        (Some(current), "/profile") => {
            let idle = state.tokens.settings().idle_timeout_secs;
            let now = chrono::Utc::now().timestamp();
            let reauth = state.reauth();
            let listed = tokio::try_join!(
                sign_ins::live_sign_ins(&state.db, current.user.id, now, idle),
                audit::events_of(&state.db, current.user.id, None, RECENT_ACTIVITY),
                reauth.is_recent(&current.user, &current.signed_in.sid),
            );
            match listed {
                Ok(listed) => listed,
                Err(error) => return WebError::from(error).into_response(),
            }
        }
        _ => (Vec::new(), Vec::new(), false),
    };
    let link_live = match link_state(&state, req.uri().path()).await {
        Ok(live) => live,
        Err(error) => return error.into_response(),
    };
    // The server's gate lets only active staff reach a staff page.
    let admin = match &current {
        Some(current) if current.user.is_staff && is_admin_path(req.uri().path()) => {
            match admin_view(&state, &current.user, req.uri().path(), req.uri().query()).await {
                Ok(view) => view,
                Err(error) => return error.into_response(),
            }
        }
        _ => None,
    };
    let (mut mfa_overview, mut totp_setup, mut fresh_recovery_codes) = (None, None, None);
    if let Some(current) = &current {
        match req.uri().path() {
            "/profile" => match second_factor_use_cases::overview(&state.db, current.user.id).await
            {
                Ok(overview) => mfa_overview = Some(overview),
                Err(error) => return WebError::from(error).into_response(),
            },
            mfa::SETUP_PAGE => {
                totp_setup = mfa::setup_in_progress(&state, &session, &current.user).await;
            }
            mfa::CODES_PAGE => fresh_recovery_codes = mfa::take_fresh_codes(&session).await,
            _ => {}
        }
    }
    let current_sign_in = current.as_ref().map(|c| c.signed_in.sid.clone());
    req.extensions_mut().insert(PageContext {
        user: current.map(|c| c.user),
        flash,
        providers,
        linked,
        sign_ins,
        current_sign_in,
        activity,
        reauth_recent,
        link_live,
        email_required: state.config.email_verification == EmailVerification::Mandatory,
        admin,
        mfa: mfa_overview,
        totp_setup,
        fresh_recovery_codes,
        passkeys_enabled: state.passkeys.enabled(),
        second_factor_methods,
    });

    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if had_flash {
        headers.append(header::SET_COOKIE, flash::clear_cookie(&cookies));
    }
    // Pages show who is signed in: never from a shared cache, nor from the back button
    // after signing out.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_covers_the_page_and_below_only() {
        assert!(is_protected("/profile"));
        assert!(is_protected("/profile/"));
        assert!(is_protected("/profile/security"));
        assert!(!is_protected("/profiles"));
        assert!(!is_protected("/"));
        assert!(!is_protected("/signin"));
    }
}
