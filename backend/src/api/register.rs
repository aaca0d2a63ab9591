//! `POST /api/auth/register/`: create an account and sign it in.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::bodies::LoginBody;
use super::client_ip::ClientIp;
use super::current_user::MaybeUser;
use super::error::{ApiError, FieldErrors, NON_FIELD_ERRORS};
use super::fields::{Fields, Text};
use crate::accounts;
use crate::auth::tokens::TokenPair;
use crate::state::AppState;
use crate::users::{self, User, USERNAME_MAX_CHARS};

pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<(StatusCode, Json<LoginBody>), ApiError> {
    let (user, pair) = create_account(&state, ip, &fields).await?;
    Ok((StatusCode::CREATED, Json(LoginBody::new(pair, &user))))
}

/// Validates a sign-up (`username`, optional `email`, `password1`, `password2`), creates the
/// account and signs it in. Shared by the API and the web sign-up form.
pub async fn create_account(
    state: &AppState,
    ip: IpAddr,
    fields: &Fields,
) -> Result<(User, TokenPair), ApiError> {
    if let Some(limits) = &state.rate_limits {
        limits.register(ip)?;
    }
    let mut errors = FieldErrors::new();
    let username = fields.text(
        "username",
        Text::REQUIRED.max(USERNAME_MAX_CHARS),
        &mut errors,
    );
    // Optional: absent and "" both mean "no email".
    let email = fields
        .text("email", Text::OPTIONAL, &mut errors)
        .filter(|e| !e.is_empty());
    let password1 = fields.text("password1", Text::PASSWORD, &mut errors);
    let password2 = fields.text("password2", Text::PASSWORD, &mut errors);

    if let Some(name) = &username {
        if let Some(problem) = accounts::username_problem(&state.db, name, None).await? {
            errors.add("username", problem);
        }
    }
    if let Some(address) = &email {
        if let Some(problem) = accounts::email_problem(&state.db, address).await? {
            errors.add("email", problem);
        }
    }
    if let Some(password) = &password1 {
        for problem in accounts::password_problems_of(password) {
            errors.add("password1", problem);
        }
    }
    errors.into_result()?;
    let (Some(username), Some(password1), Some(password2)) = (username, password1, password2)
    else {
        unreachable!("required fields are present when there are no errors");
    };

    if password1 != password2 {
        return Err(ApiError::Validation(FieldErrors::single(
            NON_FIELD_ERRORS,
            accounts::PASSWORD_MISMATCH,
        )));
    }
    if let Some(problem) = accounts::similarity(&password1, &username, email.as_deref()) {
        return Err(ApiError::Validation(FieldErrors::single(
            NON_FIELD_ERRORS,
            problem,
        )));
    }

    let user = accounts::create(
        state,
        &username,
        email.as_deref(),
        &password1,
        accounts::Role::Member,
    )
    .await?;
    users::record_login(&state.db, user.id, None).await?;
    let pair = state.tokens.sign_in(user.id).await?;
    tracing::info!(user_id = user.id, "user registered");
    Ok((user, pair))
}
