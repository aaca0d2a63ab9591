//! `/api/auth/user/`: the signed-in user's details (GET, HEAD) and their update (PUT, PATCH).

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::current_user::CurrentUser;
use super::error::ApiError;
use super::methods;
use crate::accounts;
use crate::input::Fields;
use crate::state::AppState;
use crate::users::UserDetails;

/// The methods `/api/auth/user/` serves.
pub const ALLOW: &str = "GET, PUT, PATCH, HEAD, OPTIONS";

/// One handler for every method, so that authentication comes first: an anonymous request
/// gets 401 whatever its method, as in DRF.
pub async fn user(
    State(state): State<AppState>,
    current: CurrentUser,
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
        Method::OPTIONS => Ok(methods::options("User Details", ALLOW)),
        other => Err(ApiError::MethodNotAllowed(other, ALLOW)),
    }
}
