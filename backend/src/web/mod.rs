//! The browser-facing half: cookie sessions, the HTML forms' POST handlers
//! (post/redirect/get, so every form works without JavaScript) and the per-request page
//! context the server-rendered pages read.
//!
//! The forms call the same functions as the REST API (`api::login`, `api::register`,
//! `api::user`), so rules, messages and rate limits are the API's, field by field.

pub mod flash;
pub mod next;
pub mod pages;
pub mod session;
pub mod store;

pub(crate) mod feedback;
mod profile;
mod signin;
mod signout;
mod signup;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::{AppEnv, Config};
use crate::db::{Db, DbError};
use crate::social;
use crate::state::AppState;
use feedback::FormInput;
use flash::{Flash, FlashKey};
use session::Refreshes;
use store::DbSessionStore;

pub use pages::{page_context, PageContext};

/// Cookie attributes: `Secure` (and the `__Host-` prefix, which pins a cookie to this exact
/// origin) whenever the site is served over HTTPS or runs in production.
#[derive(Clone, Copy, Debug)]
pub struct CookieSettings {
    pub secure: bool,
}

impl CookieSettings {
    pub fn new(secure: bool) -> CookieSettings {
        CookieSettings { secure }
    }

    pub fn from_config(config: &Config) -> CookieSettings {
        CookieSettings::new(
            config.public_url.starts_with("https://") || config.app_env == AppEnv::Production,
        )
    }

    pub fn session_name(&self) -> &'static str {
        if self.secure {
            "__Host-las_session"
        } else {
            "las_session"
        }
    }

    pub fn flash_name(&self) -> &'static str {
        if self.secure {
            "__Host-las_flash"
        } else {
            "las_flash"
        }
    }
}

/// The web side's share of [`AppState`].
#[derive(Debug)]
pub struct WebState {
    pub cookies: CookieSettings,
    pub flash_key: FlashKey,
    pub refreshes: Refreshes,
    pub store: DbSessionStore,
}

impl WebState {
    pub fn new(config: &Config, db: Db) -> WebState {
        WebState {
            cookies: CookieSettings::from_config(config),
            flash_key: FlashKey::derive(config.session_secret.expose()),
            refreshes: Refreshes::default(),
            store: DbSessionStore::new(db),
        }
    }
}

/// The tower-sessions layer: HttpOnly, SameSite=Lax, expiring after the refresh token's
/// lifetime of inactivity (each refresh saves the record and so extends it).
pub fn session_layer(state: &AppState) -> SessionManagerLayer<DbSessionStore> {
    let idle = time::Duration::seconds(state.config.jwt_refresh_token_lifetime);
    SessionManagerLayer::new(state.web.store.clone())
        .with_name(state.web.cookies.session_name())
        .with_secure(state.web.cookies.secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// The forms' POST endpoints. Their GET pages are the Leptos routes of the same paths.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", post(signin::submit))
        .route("/signup", post(signup::submit))
        .route("/signout", post(signout::submit))
        .route("/profile", post(profile::submit))
        .route("/auth/{provider}/start", get(social::flow::start))
        .route("/auth/{provider}/callback", get(social::flow::callback))
        .route(
            "/profile/identities/{provider}/unlink",
            post(social::flow::unlink),
        )
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("session store: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "web request failed");
        let mut res = (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is having trouble right now. Please try again in a moment.",
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        res
    }
}

/// 303 See Other: after a POST, the browser follows with a GET.
pub(crate) fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    let mut res = StatusCode::SEE_OTHER.into_response();
    res.headers_mut().insert(header::LOCATION, location);
    res
}

/// A redirect that carries `flash` to the page it lands on.
pub(crate) fn see_other_with(state: &AppState, location: &str, flash: &Flash) -> Response {
    let mut res = see_other(location);
    res.headers_mut().append(
        header::SET_COOKIE,
        state.web.flash_key.set_cookie(&state.web.cookies, flash),
    );
    res
}
