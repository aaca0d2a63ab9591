//! `/api/auth/user/`: the signed-in user's details (GET, HEAD), their update (PUT, PATCH) and
//! the account's deletion (DELETE, ours: not in dj-rest-auth); `/api/auth/user/export/`:
//! everything the server holds about the account.

use axum::extract::{FromRequest, Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::current_user::CurrentUser;
use super::error::ApiError;
use super::methods;
use crate::accounts;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;
use crate::users::UserDetails;

/// The methods `/api/auth/user/` serves.
pub const ALLOW: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";

/// One handler for every method, so that authentication comes first: an anonymous request
/// gets 401 whatever its method, as in DRF.
pub async fn user(
    State(state): State<AppState>,
    current: CurrentUser,
    client: Client,
    req: Request,
) -> Result<Response, ApiError> {
    let method = req.method().clone();
    match method {
        Method::GET | Method::HEAD => Ok(Json(UserDetails::from(&current.user)).into_response()),
        Method::PUT | Method::PATCH => {
            let fields = Fields::from_request(req, &state).await?;
            let partial = method == Method::PATCH;
            let updated = accounts::update_profile(
                &state.db,
                &state.user_cache,
                current.user.id,
                &fields,
                partial,
            )
            .await?;
            Ok(Json(UserDetails::from(&updated)).into_response())
        }
        Method::DELETE => {
            let fields = Fields::from_request(req, &state).await?;
            accounts::delete_account(
                state.reauth().from(&client),
                &state.tokens,
                &state.user_cache,
                &current.user,
                &current.claims.sid,
                &fields,
            )
            .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::OPTIONS => Ok(methods::options("User Details", ALLOW)),
        other => Err(ApiError::MethodNotAllowed(other, ALLOW)),
    }
}

/// `GET /api/auth/user/export/`: the account's data as one JSON document (profile,
/// identities, sign-ins, security activity; GDPR Art. 15 and 20).
pub async fn export(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let idle = state.tokens.settings().idle_timeout_secs;
    Ok(Json(
        accounts::export_account(&state.db, &current.user, idle).await?,
    ))
}
