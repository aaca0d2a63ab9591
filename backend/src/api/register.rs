//! `POST /api/auth/register/`: create an account and sign it in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::bodies::LoginBody;
use super::current_user::MaybeUser;
use super::error::ApiError;
use crate::accounts;
use crate::client_ip::ClientIp;
use crate::input::Fields;
use crate::state::AppState;

pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<(StatusCode, Json<LoginBody>), ApiError> {
    let (user, pair) = accounts::sign_up(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        ip,
        &fields,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(LoginBody::new(pair, &user))))
}
