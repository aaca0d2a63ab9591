//! `POST /api/auth/logout/`: ends the sign-in session server-side.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::current_user::MaybeUser;
use super::error::ApiError;
use crate::auth::tokens::Revocation;
use crate::client::Client;
use crate::input::{FieldErrors, Fields, Text};
use crate::state::AppState;

pub async fn logout(
    State(state): State<AppState>,
    MaybeUser(caller): MaybeUser,
    client: Client,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::new();
    let refresh = fields.text("refresh", Text::OPTIONAL, &mut errors);
    errors.into_result()?;

    match (refresh.filter(|r| !r.is_empty()), caller) {
        // The refresh token names the session; revoking it retires its access tokens too.
        (Some(refresh), _) => {
            state
                .tokens
                .revoke_by_refresh(&refresh, Some(&client))
                .await?
        }
        // A simplejwt access token from before a move from Django: no session of ours.
        (None, Some(caller)) if caller.claims.sid.is_empty() => {
            state
                .tokens
                .sign_out_simplejwt_access(caller.user.id)
                .await?
        }
        (None, Some(caller)) => {
            state
                .tokens
                .revoke(&caller.claims.sid, Revocation::SignedOut, Some(&client))
                .await?
        }
        // Nothing identifies a session: there is nothing to end.
        (None, None) => {}
    }
    Ok(Json(json!({ "detail": "Successfully logged out." })))
}
