//! The caller's sign-ins ("Where you're signed in" for API clients): `GET
//! /api/auth/sessions/`, `DELETE /api/auth/sessions/{id}/`, `POST
//! /api/auth/sessions/revoke-others/`. Only the caller's own sign-ins are ever listed or
//! ended; any other id is a 404, never a 403 (`docs/api.md`, Sign-ins).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::current_user::CurrentUser;
use super::error::ApiError;
use crate::auth::sign_ins::{live_sign_ins, SignIn};
use crate::auth::tokens::EndSignInError;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;

/// One live sign-in of the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignInBody {
    /// The sign-in's id (the tokens' `sid` claim).
    pub id: String,
    /// When it started: ISO-8601, UTC, whole seconds (`2026-11-30T14:05:09Z`).
    pub created_at: String,
    /// When it was last used (to within a minute), same format.
    pub last_used_at: String,
    /// `password`, `registration`, a social provider's id, or `unknown`.
    pub method: String,
    /// `browser` (a web UI session) or `api` (a client holding tokens); `unknown` for
    /// sign-ins older than this record.
    pub channel: String,
    /// The client as people read it: `Firefox on Linux`, `API client`, ...
    pub user_agent: String,
    /// The client's IP address at last use.
    pub ip: Option<String>,
    /// The client's IP address at sign-in.
    pub created_ip: Option<String>,
    /// Whether this is the sign-in of the token making the request.
    pub current: bool,
}

fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl SignInBody {
    fn new(sign_in: SignIn, current_sid: &str) -> SignInBody {
        SignInBody {
            current: sign_in.id == current_sid,
            id: sign_in.id,
            created_at: iso(sign_in.created_at),
            last_used_at: iso(sign_in.last_used_at),
            method: sign_in.method,
            channel: sign_in.channel,
            user_agent: sign_in.user_agent,
            ip: sign_in.ip,
            created_ip: sign_in.created_ip,
        }
    }
}

/// `GET /api/auth/sessions/`: the caller's live sign-ins, most recently used first.
pub async fn list(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<Json<Vec<SignInBody>>, ApiError> {
    let idle = state.tokens.settings().idle_timeout_secs;
    let now = Utc::now().timestamp();
    let sign_ins = live_sign_ins(&state.db, caller.user.id, now, idle).await?;
    Ok(Json(
        sign_ins
            .into_iter()
            .map(|s| SignInBody::new(s, &caller.claims.sid))
            .collect(),
    ))
}

/// `DELETE /api/auth/sessions/{id}/`: ends one of the caller's sign-ins (204); its tokens
/// stop working at once here and on other instances within the revocation sync interval.
/// Ending another sign-in is a sensitive action, as ending all of them is: `password` in
/// the body, or a sign-in within `REAUTH_MAX_AGE`.
pub async fn end(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    Path(id): Path<String>,
    fields: Fields,
) -> Result<Response, ApiError> {
    if id != caller.claims.sid {
        state
            .reauth()
            .from(&client)
            .confirm(&caller.user, &caller.claims.sid, &fields)
            .await?;
    }
    match state
        .tokens
        .end_sign_in(caller.user.id, &id, &client, None)
        .await
    {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(EndSignInError::NotFound) => {
            Err(ApiError::Detail(StatusCode::NOT_FOUND, "Not found.".into()))
        }
        Err(EndSignInError::Db(error)) => Err(error.into()),
    }
}

/// `POST /api/auth/sessions/revoke-others/`: ends every sign-in of the caller but the one
/// making the request; says how many. A sensitive action: `password` in the body, or a
/// sign-in within `REAUTH_MAX_AGE` (else 403 `reauthentication_required`).
pub async fn revoke_others(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    state
        .reauth()
        .from(&client)
        .confirm(&caller.user, &caller.claims.sid, &fields)
        .await?;
    let ended = state
        .tokens
        .end_other_sign_ins(caller.user.id, &caller.claims.sid, &client)
        .await?;
    Ok(Json(json!({
        "detail": "Every other sign-in was ended.",
        "ended": ended,
    })))
}
