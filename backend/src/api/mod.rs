//! The REST transport: the API under `/api/auth/`, compatible with dj-rest-auth +
//! simplejwt clients (every route, body and message is in `docs/api.md`), plus an example of
//! a protected endpoint of your own. Handlers are thin: they read the request, call a use
//! case (`accounts`, `social`, `auth::tokens`) and map its error to [`ApiError`].

mod bodies;
mod cors;
mod current_user;
mod error;
mod events;
mod example;
mod lifecycle;
mod login;
mod logout;
mod methods;
mod mfa;
mod openapi;
mod passkeys;
mod password;
mod register;
mod sessions;
mod social_login;
mod token;
mod user;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, MethodRouter};
use axum::{Json, Router};
use serde_json::json;

pub use current_user::{CurrentUser, MaybeUser};
pub use error::ApiError;

use crate::state::AppState;

/// Django's default `DATA_UPLOAD_MAX_MEMORY_SIZE`: room for a registration with two 1 MiB
/// passwords (refused by validation, with a field error), and no more.
pub const MAX_BODY_BYTES: usize = 2_621_440;

/// One route of the API: its path (ending in a slash, as in Django), the methods it
/// answers (its `Allow` header, which the OpenAPI description must match) and its router.
struct Endpoint {
    path: &'static str,
    // Read by the test that holds the OpenAPI description to the router.
    #[cfg_attr(not(test), allow(dead_code))]
    allow: &'static str,
    router: MethodRouter<AppState>,
}

const POST: &str = "POST, OPTIONS";
const GET: &str = "GET, HEAD, OPTIONS";
const DELETE: &str = "DELETE, OPTIONS";

fn endpoints() -> Vec<Endpoint> {
    // Methods a route does not serve get DRF's 405 (and OPTIONS its metadata).
    let only = |path, name, allow, handler: MethodRouter<AppState>| Endpoint {
        path,
        allow,
        router: handler.fallback(methods::fallback(name, allow)),
    };
    vec![
        only(
            "/api/auth/register/",
            "Register",
            POST,
            post(register::register),
        ),
        only("/api/auth/login/", "Login", POST, post(login::login)),
        only(
            "/api/auth/google/",
            "Google Login",
            POST,
            post(social_login::google),
        ),
        only("/api/auth/logout/", "Logout", POST, post(logout::logout)),
        Endpoint {
            path: "/api/auth/user/",
            allow: user::ALLOW,
            router: any(user::user),
        },
        only(
            "/api/auth/user/export/",
            "User Data Export",
            GET,
            get(user::export),
        ),
        only(
            "/api/auth/password/reset/",
            "Password Reset",
            POST,
            post(lifecycle::password_reset),
        ),
        only(
            "/api/auth/password/reset/confirm/",
            "Password Reset Confirm",
            POST,
            post(lifecycle::password_reset_confirm),
        ),
        Endpoint {
            path: "/api/auth/register/verify-email/",
            allow: lifecycle::VERIFY_ALLOW,
            router: any(lifecycle::verify_email),
        },
        only(
            "/api/auth/register/resend-email/",
            "Resend Email Verification",
            POST,
            post(lifecycle::resend_email),
        ),
        Endpoint {
            path: "/api/auth/password/change/",
            allow: password::ALLOW,
            router: any(password::change),
        },
        only("/api/auth/sessions/", "Sign-ins", GET, get(sessions::list)),
        only(
            "/api/auth/events/",
            "Security Events",
            GET,
            get(events::list),
        ),
        only(
            "/api/auth/sessions/revoke-others/",
            "Revoke Other Sign-ins",
            POST,
            post(sessions::revoke_others),
        ),
        only(
            "/api/auth/sessions/{id}/",
            "Sign-in",
            DELETE,
            delete(sessions::end),
        ),
        only(
            "/api/auth/token/verify/",
            "Token Verify",
            POST,
            post(token::verify),
        ),
        only(
            "/api/auth/token/refresh/",
            "Token Refresh",
            POST,
            post(token::refresh),
        ),
        only("/api/auth/mfa/", "Second Factors", GET, get(mfa::overview)),
        only(
            "/api/auth/mfa/authenticate/",
            "Second Factor Sign-in",
            POST,
            post(mfa::authenticate),
        ),
        only(
            "/api/auth/mfa/authenticate/passkey/begin/",
            "Second Factor Passkey",
            POST,
            post(passkeys::begin_second_factor),
        ),
        only(
            "/api/auth/mfa/passkeys/begin/",
            "Passkey Registration",
            POST,
            post(passkeys::begin_registration),
        ),
        only(
            "/api/auth/mfa/passkeys/finish/",
            "Passkey Registration Finish",
            POST,
            post(passkeys::finish_registration),
        ),
        only(
            "/api/auth/passkey/login/begin/",
            "Passkey Login",
            POST,
            post(passkeys::begin_sign_in),
        ),
        only(
            "/api/auth/passkey/login/finish/",
            "Passkey Login Finish",
            POST,
            post(passkeys::finish_sign_in),
        ),
        only(
            "/api/auth/mfa/totp/setup/",
            "Authenticator App Set-up",
            POST,
            post(mfa::totp_setup),
        ),
        only(
            "/api/auth/mfa/totp/activate/",
            "Authenticator App Activation",
            POST,
            post(mfa::totp_activate),
        ),
        only(
            "/api/auth/mfa/totp/deactivate/",
            "Authenticator App Removal",
            POST,
            post(mfa::totp_deactivate),
        ),
        only(
            "/api/auth/mfa/passkeys/remove/",
            "Passkey Removal",
            POST,
            post(mfa::remove_passkey),
        ),
        only(
            "/api/auth/mfa/recovery-codes/",
            "Recovery Codes",
            POST,
            post(mfa::regenerate_recovery_codes),
        ),
        only("/.well-known/jwks.json", "JWKS", GET, get(jwks)),
        only(
            "/api/example/protected/",
            "Protected",
            GET,
            get(example::protected),
        ),
        only("/api/openapi.json", "OpenAPI", GET, get(openapi::serve)),
    ]
}

/// The API routes, with CORS for the configured origins. Merge into the app's router.
pub fn router(state: AppState) -> Router {
    let origins = cors::AllowedOrigins(Arc::new(state.config.cors_allowed_origins.clone()));
    let mut router = Router::new();
    for Endpoint {
        path,
        router: endpoint,
        ..
    } in endpoints()
    {
        router = router.route(path, endpoint);
        if let Some(without_slash) = path.strip_suffix('/') {
            router = router.route(without_slash, any(append_slash));
        }
    }
    router
        // Unknown API paths get JSON, not the web app's 404 page. Server functions under
        // /api/ have their own, more specific routes, which win.
        .route("/api/{*rest}", any(not_found))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(origins, cors::cors))
        .with_state(state)
}

/// Django's `APPEND_SLASH`: a permanent redirect to the same URL with the slash.
async fn append_slash(req: Request) -> Response {
    let uri = req.uri();
    let location = match uri.query() {
        Some(query) => format!("{}/?{query}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// The public keys that verify our tokens (empty with an HMAC algorithm).
async fn jwks(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let mut res = Json(state.tokens.codec().jwks()).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    res
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "detail": "Not found." })),
    )
        .into_response()
}
