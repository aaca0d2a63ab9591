//! `POST /api/auth/login/`: username (or email address) and password; for an account with
//! a second factor, an `mfa_token` instead of tokens (`mfa/authenticate/` completes it).

use axum::extract::State;
use axum::Json;

use super::bodies::LoginOutcome;
use super::current_user::MaybeUser;
use super::error::ApiError;
use crate::accounts;
use crate::auth::sign_ins::Channel;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;

pub async fn login(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<LoginOutcome>, ApiError> {
    let (user, step) = accounts::sign_in_with_password(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        &client,
        Channel::Api,
        &fields,
        state.config.email_verification,
    )
    .await?;
    Ok(Json(super::mfa::login_outcome(step, &user)))
}
