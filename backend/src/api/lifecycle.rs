//! The account lifecycle by mail (contract section 10, with section 11's differences):
//! `password/reset/`, `password/reset/confirm/`, `register/verify-email/` and
//! `register/resend-email/`. None of them needs or gives tokens; a bad `Bearer` header still
//! gets its 401 (contract section 5).

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::current_user::MaybeUser;
use super::error::ApiError;
use super::methods;
use crate::accounts;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;

/// The methods `register/verify-email/` names in `Allow` (DRF lists HEAD there, yet
/// answers it with 405 like GET; captured so).
pub const VERIFY_ALLOW: &str = "POST, OPTIONS, HEAD";

/// `POST password/reset/`: the same 200 for every address; the mail, if any, follows.
pub async fn password_reset(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts::request_password_reset(
        &state.db,
        &state.rate_limits,
        &state.mailer,
        client.ip,
        &fields,
        state.mail_context(),
    )
    .await?;
    Ok(Json(
        json!({ "detail": "Password reset e-mail has been sent." }),
    ))
}

/// `POST password/reset/confirm/`: a new password with the link's `uid` and `token`.
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts::reset_password(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        &state.user_cache,
        &client,
        &fields,
        state.mail_context(),
    )
    .await?;
    Ok(Json(
        json!({ "detail": "Password has been reset with the new password." }),
    ))
}

/// `POST register/verify-email/`: spends a verification `key`; 404 `Not found.` for any
/// key that does not work. Signs nobody in.
pub async fn verify_email(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    req: Request,
) -> Result<Response, ApiError> {
    match req.method().clone() {
        Method::POST => {
            let fields = Fields::from_request(req, &state).await?;
            accounts::verify_email(
                &state.db,
                &state.rate_limits,
                &state.user_cache,
                &client,
                &fields,
                state.mail_context(),
            )
            .await?;
            state.mailer.wake();
            Ok(Json(json!({ "detail": "ok" })).into_response())
        }
        Method::OPTIONS => Ok(methods::options("Verify Email", VERIFY_ALLOW)),
        other => Err(ApiError::MethodNotAllowed(other, VERIFY_ALLOW)),
    }
}

/// `POST register/resend-email/`: always 200 `ok`; an unverified account's address gets a
/// new link.
pub async fn resend_email(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<serde_json::Value>, ApiError> {
    accounts::resend_verification(
        &state.db,
        &state.rate_limits,
        &state.mailer,
        client.ip,
        &fields,
        state.mail_context(),
    )
    .await?;
    Ok(Json(json!({ "detail": "ok" })))
}
