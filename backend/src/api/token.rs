//! `POST /api/auth/token/verify/` and `POST /api/auth/token/refresh/`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use crate::auth::jwt::JwtError;
use crate::auth::tokens::{format_expiration, TokenError};
use crate::client::Client;
use crate::input::{FieldErrors, Fields, Text};
use crate::state::AppState;

pub async fn verify(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let mut errors = FieldErrors::new();
    let token = fields.text("token", Text::REQUIRED, &mut errors);
    errors.into_result()?;
    // Whatever the reason a token would be refused on use, verify says "not valid".
    match state.tokens.check(&token.unwrap_or_default()).await {
        Ok(_) => Ok(Json(json!({}))),
        Err(TokenError::Jwt(reason)) => Err(ApiError::TokenNotValid(reason)),
        Err(TokenError::Db(error)) => Err(error.into()),
        Err(_) => Err(ApiError::TokenNotValid(JwtError::Invalid)),
    }
}

/// dj-rest-auth's refresh body: simplejwt's fields, then the expirations.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefreshBody {
    pub access: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    pub access_expiration: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expiration: Option<String>,
}

pub async fn refresh(
    State(state): State<AppState>,
    client: Client,
    fields: Fields,
) -> Result<Json<RefreshBody>, ApiError> {
    state.rate_limits.refresh(client.ip).await?;
    let mut errors = FieldErrors::new();
    // dj-rest-auth also looks in a cookie, so the field is optional there: without it, the
    // answer is its 401 (clients sign out on a 401 from refresh); "" and null are 400s.
    let token = fields.text("refresh", Text::OPTIONAL_NOT_BLANK, &mut errors);
    errors.into_result()?;
    let token = token.ok_or(ApiError::NoRefreshToken)?;
    let refreshed = state.tokens.refresh(&token, Some(&client)).await?;
    state.tokens.record_use(&refreshed.sid, client.ip).await;
    Ok(Json(RefreshBody {
        access: refreshed.access.token,
        access_expiration: format_expiration(refreshed.access.expires_at),
        refresh_expiration: refreshed
            .refresh
            .as_ref()
            .map(|r| format_expiration(r.expires_at)),
        refresh: refreshed.refresh.map(|r| r.token),
    }))
}
