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
use crate::users::{self, ProfileChange, User, UserDetails, NAME_MAX_CHARS, USERNAME_MAX_CHARS};

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
            let updated =
                update_profile(&state, current.user.id, &fields, method == Method::PATCH).await?;
            Ok(Json(UserDetails::from(&updated)).into_response())
        }
        Method::OPTIONS => Ok(methods::options("User Details", ALLOW)),
        other => Err(ApiError::MethodNotAllowed(other, ALLOW)),
    }
}

/// Applies `username`, `first_name` and `last_name` (all optional when `partial`) to the
/// user's profile. Shared by the API and the web profile form.
pub async fn update_profile(
    state: &AppState,
    user_id: i64,
    fields: &Fields,
    partial: bool,
) -> Result<User, ApiError> {
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
        if let Some(problem) = accounts::username_problem(&state.db, name, Some(user_id)).await? {
            errors.add("username", problem);
        }
    }
    errors.into_result()?;

    let updated = users::update_profile(
        &state.db,
        user_id,
        ProfileChange {
            username: username.as_deref(),
            first_name: first_name.as_deref(),
            last_name: last_name.as_deref(),
        },
    )
    .await?
    .ok_or(ApiError::UserNotFound)?;
    state.user_cache.invalidate(updated.id);
    Ok(updated)
}
