//! `/api/auth/user/`: the signed-in user's details (GET, HEAD) and their update (PUT, PATCH).

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::current_user::CurrentUser;
use super::error::{ApiError, FieldErrors};
use super::fields::{Fields, Text};
use super::methods;
use crate::accounts;
use crate::state::AppState;
use crate::users::{self, ProfileChange, UserDetails, NAME_MAX_CHARS, USERNAME_MAX_CHARS};

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
            update(&state, current, fields, method == Method::PATCH).await
        }
        Method::OPTIONS => Ok(methods::options("User Details", ALLOW)),
        other => Err(ApiError::MethodNotAllowed(other, ALLOW)),
    }
}

async fn update(
    state: &AppState,
    current: CurrentUser,
    fields: Fields,
    partial: bool,
) -> Result<Response, ApiError> {
    let mut errors = FieldErrors::new();
    let username_rules = Text {
        required: !partial,
        ..Text::REQUIRED
    }
    .max(USERNAME_MAX_CHARS);
    let username = fields.text("username", username_rules, &mut errors);
    let first_name = fields.text(
        "first_name",
        Text::OPTIONAL.max(NAME_MAX_CHARS),
        &mut errors,
    );
    let last_name = fields.text("last_name", Text::OPTIONAL.max(NAME_MAX_CHARS), &mut errors);
    if let Some(name) = &username {
        if let Some(problem) =
            accounts::username_problem(&state.db, name, Some(current.user.id)).await?
        {
            errors.add("username", problem);
        }
    }
    errors.into_result()?;

    let updated = users::update_profile(
        &state.db,
        current.user.id,
        ProfileChange {
            username: username.as_deref(),
            first_name: first_name.as_deref(),
            last_name: last_name.as_deref(),
        },
    )
    .await?
    .ok_or(ApiError::UserNotFound)?;
    state.user_cache.invalidate(updated.id);
    Ok(Json(UserDetails::from(&updated)).into_response())
}
