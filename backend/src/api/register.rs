//! `POST /api/auth/register/`: create an account and sign it in (or, under mandatory
//! verification, mail the link and sign nobody in).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::bodies::LoginBody;
use super::current_user::MaybeUser;
use super::error::ApiError;
use crate::accounts;
use crate::auth::sign_ins::Channel;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;

pub async fn register(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Response, ApiError> {
    let signed_up = accounts::sign_up(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        &state.mailer,
        &client,
        Channel::Api,
        &fields,
        state.config.email_verification,
        state.mail_context(),
    )
    .await?;
    Ok(match signed_up {
        accounts::SignedUp::SignedIn(user, pair) => {
            (StatusCode::CREATED, Json(LoginBody::new(pair, &user))).into_response()
        }
        accounts::SignedUp::VerificationSent => (
            StatusCode::CREATED,
            Json(json!({ "detail": "Verification e-mail sent." })),
        )
            .into_response(),
    })
}
