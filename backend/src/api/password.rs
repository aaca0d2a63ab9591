//! `POST /api/auth/password/change/` (dj-rest-auth's `PasswordChangeView`, with the old
//! password required).

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::current_user::CurrentUser;
use super::error::ApiError;
use super::methods;
use crate::accounts;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;

/// The methods `password/change/` serves.
pub const ALLOW: &str = "POST, OPTIONS";

/// Authentication comes first, whatever the method (an anonymous GET gets 401, as in DRF).
pub async fn change(
    State(state): State<AppState>,
    current: CurrentUser,
    client: Client,
    req: Request,
) -> Result<Response, ApiError> {
    match req.method().clone() {
        Method::POST => {
            let fields = Fields::from_request(req, &state).await?;
            accounts::change_password(
                &state.db,
                &state.passwords,
                &state.tokens,
                &state.rate_limits,
                &state.user_cache,
                &current.user,
                &current.claims.sid,
                &client,
                &fields,
                state.mail_context(),
            )
            .await?;
            state.mailer.wake();
            Ok(Json(json!({ "detail": "New password has been saved." })).into_response())
        }
        Method::OPTIONS => Ok(methods::options("Password Change", ALLOW)),
        other => Err(ApiError::MethodNotAllowed(other, ALLOW)),
    }
}
