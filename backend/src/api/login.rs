//! `POST /api/auth/login/`: username (or email address) and password.

use std::net::IpAddr;

use axum::extract::State;
use axum::Json;

use super::bodies::LoginBody;
use super::client_ip::ClientIp;
use super::current_user::MaybeUser;
use super::error::{ApiError, FieldErrors, NON_FIELD_ERRORS};
use super::fields::{Fields, Text};
use crate::auth::password::{Verification, MAX_PASSWORD_BYTES};
use crate::auth::tokens::TokenPair;
use crate::state::AppState;
use crate::users::{self, User};

pub const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<LoginBody>, ApiError> {
    let (user, pair) = sign_in_with_password(&state, ip, &fields).await?;
    Ok(Json(LoginBody::new(pair, &user)))
}

/// Checks `username` (or `email`) and `password` and starts a token family: the API's login
/// and the web sign-in form both come through here, with the same rules and messages.
pub async fn sign_in_with_password(
    state: &AppState,
    ip: IpAddr,
    fields: &Fields,
) -> Result<(User, TokenPair), ApiError> {
    if let Some(limits) = &state.rate_limits {
        limits.login_ip(ip)?;
    }
    let mut errors = FieldErrors::new();
    let username = fields.text("username", Text::OPTIONAL, &mut errors);
    let email = fields.text("email", Text::OPTIONAL, &mut errors);
    let password = fields.text("password", Text::PASSWORD, &mut errors);
    errors.into_result()?;
    let password = password.unwrap_or_default();

    let identifier = [username, email]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::Validation(FieldErrors::single(
                NON_FIELD_ERRORS,
                "Must include \"username\" and \"password\".",
            ))
        })?;
    if let Some(limits) = &state.rate_limits {
        limits.login_account(&identifier)?;
    }
    let bad_credentials =
        || ApiError::Validation(FieldErrors::single(NON_FIELD_ERRORS, BAD_CREDENTIALS));
    // Refused before hashing: nobody gets to make the server hash megabytes.
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(bad_credentials());
    }

    let user = users::find_by_login(&state.db, &identifier).await?;
    // Unknown users, users without a password and inactive users all pay for a full
    // verification, so that response times do not tell them apart.
    let stored = user
        .as_ref()
        .filter(|u| u.is_active)
        .and_then(|u| u.password_hash.as_deref());
    let verification = state.passwords.verify(&password, stored).await?;
    let (Some(user), Verification::Valid { rehash }) = (user, verification) else {
        return Err(bad_credentials());
    };

    users::record_login(&state.db, user.id, rehash.as_deref()).await?;
    let pair = state.tokens.sign_in(user.id).await?;
    tracing::info!(user_id = user.id, "user signed in");
    Ok((user, pair))
}
