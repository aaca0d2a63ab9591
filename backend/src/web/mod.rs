//! The browser-facing transport: the HTML forms' POST handlers (post/redirect/get, so every
//! form works without JavaScript), the social sign-in redirect flow, and the per-request
//! page context the server-rendered pages read.
//!
//! The forms call the same use cases as the REST API (`accounts`), so rules, messages and
//! rate limits are the API's, field by field; `feedback` turns their errors into words
//! on the page.

pub mod admin;
mod error;
mod feedback;
pub mod next;
mod page_context;
mod redirect;

mod account;
mod lifecycle;
mod mfa;
mod passkeys;
mod profile;
pub mod second_factor;
mod sign_ins;
mod signin;
mod signout;
mod signup;
mod social;

use axum::routing::{get, post};
use axum::Router;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::browser::store::DbSessionStore;
use crate::state::AppState;

pub use error::WebError;
pub use page_context::{page_context, PageContext};

/// The tower-sessions layer: HttpOnly, SameSite=Lax, expiring after the refresh token's
/// lifetime of inactivity (each refresh saves the record and so extends it).
pub fn session_layer(state: &AppState) -> SessionManagerLayer<DbSessionStore> {
    let idle = time::Duration::try_from(state.config.jwt_refresh_token_lifetime)
        .unwrap_or(time::Duration::MAX);
    let cookies = state.browser.cookies;
    SessionManagerLayer::new(state.browser.store.clone())
        .with_name(cookies.session_name())
        .with_secure(cookies.secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// The forms' POST endpoints and the social sign-in redirects. The forms' GET pages are the
/// Leptos routes of the same paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", post(signin::submit))
        .route(second_factor::PATH, post(second_factor::submit))
        .route("/signin/second-factor/cancel", post(second_factor::cancel))
        .route(
            "/signin/second-factor/passkey/begin",
            post(second_factor::begin_passkey),
        )
        .route(
            "/signin/second-factor/passkey/finish",
            post(second_factor::finish_passkey),
        )
        .route("/signin/passkey/begin", post(passkeys::begin_sign_in))
        .route("/signin/passkey/finish", post(passkeys::finish_sign_in))
        .route("/signup", post(signup::submit))
        .route("/signout", post(signout::submit))
        .route("/profile", post(profile::submit))
        .route("/profile/password", post(profile::change_password))
        .route("/profile/email", post(lifecycle::change_email))
        .route("/profile/email/resend", post(lifecycle::resend_own_link))
        .route("/profile/sign-ins/end-others", post(sign_ins::end_others))
        .route("/profile/reauth", post(account::reauthenticate))
        .route("/profile/mfa/totp/setup", post(mfa::begin_totp))
        .route("/profile/mfa/totp/activate", post(mfa::activate_totp))
        .route("/profile/mfa/totp/remove", post(mfa::remove_totp))
        .route(
            "/profile/passkeys/begin",
            post(passkeys::begin_registration),
        )
        .route(
            "/profile/passkeys/finish",
            post(passkeys::finish_registration),
        )
        .route("/profile/passkeys/{id}/remove", post(passkeys::remove))
        .route(
            "/profile/mfa/recovery-codes",
            post(mfa::regenerate_recovery_codes),
        )
        .route("/profile/delete", post(account::delete))
        .route("/profile/export", get(account::export))
        .route("/profile/sign-ins/{id}/end", post(sign_ins::end))
        .route("/password-reset", post(lifecycle::request_reset))
        .route(
            "/password-reset/confirm/{uid}/{token}/",
            get(lifecycle::reset_link),
        )
        .route(
            "/password-reset/confirm/{uid}/{token}",
            post(lifecycle::confirm_reset),
        )
        .route("/verify-email/resend", post(lifecycle::resend_link))
        .route("/verify-email/{key}", post(lifecycle::confirm_email))
        .route("/auth/{provider}/start", get(social::start))
        .route("/auth/{provider}/callback", get(social::callback))
        .route(
            "/profile/identities/{provider}/unlink",
            post(social::unlink),
        )
        .merge(admin::router())
}
