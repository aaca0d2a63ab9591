//! Passkeys for API clients running in a browser on `PUBLIC_URL`'s origin (WebAuthn checks
//! the page's origin): adding one, signing in with one alone, and one as the second factor
//! of a sign-in. Each ceremony is two calls: `begin` answers the options for
//! `navigator.credentials.create()` / `.get()` and a `ceremony_token`; `finish` takes the
//! token and the browser's answer (`PublicKeyCredential.toJSON()`). The web UI's island
//! calls the same use cases (`docs/api.md`, Passkeys).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::bodies::LoginBody;
use super::current_user::{CurrentUser, MaybeUser};
use super::error::ApiError;
use super::mfa::MfaChangedBody;
use crate::accounts::passkeys;
use crate::auth::sign_ins::Channel;
use crate::client::Client;
use crate::input::Fields;
use crate::mfa::passkeys::CEREMONY_SECS;
use crate::state::AppState;

/// A ceremony begun.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CeremonyBody {
    /// WebAuthn's options in their JSON form, `{"publicKey": {...}}`: give `publicKey` to
    /// `PublicKeyCredential.parseCreationOptionsFromJSON()` (adding) or
    /// `parseRequestOptionsFromJSON()` (signing in).
    #[schema(value_type = Object)]
    pub options: Value,
    /// Send it back with the answer; single use.
    pub ceremony_token: String,
    /// Seconds the ceremony stays open (300).
    pub expires_in: i64,
}

fn begun((options, ceremony_token): (Value, String)) -> Json<CeremonyBody> {
    Json(CeremonyBody {
        options,
        ceremony_token,
        expires_in: CEREMONY_SECS,
    })
}

/// `POST /api/auth/mfa/passkeys/begin/`: starts adding a passkey. A sensitive action:
/// `password`, or a recent sign-in.
pub async fn begin_registration(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<CeremonyBody>, ApiError> {
    state
        .reauth()
        .from(&client)
        .confirm(&caller.user, &caller.claims.sid, &fields)
        .await?;
    Ok(begun(
        passkeys::begin_registration(&state.db, &state.passkeys, &caller.user).await?,
    ))
}

/// `POST /api/auth/mfa/passkeys/finish/`: `ceremony_token`, `name`, `credential`.
pub async fn finish_registration(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<MfaChangedBody>, ApiError> {
    let codes = passkeys::finish_registration(
        &state.db,
        &state.passkeys,
        &state.mfa_keys,
        &state.mail_context(),
        &caller.user,
        &client,
        &fields,
    )
    .await?;
    Ok(Json(MfaChangedBody {
        detail: "The passkey was added.".into(),
        recovery_codes: codes,
    }))
}

/// `POST /api/auth/passkey/login/begin/`: starts a sign-in with a passkey alone.
pub async fn begin_sign_in(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
) -> Result<Json<CeremonyBody>, ApiError> {
    Ok(begun(
        passkeys::begin_sign_in(&state.db, &state.passkeys, &state.rate_limits, &client).await?,
    ))
}

/// `POST /api/auth/passkey/login/finish/`: `ceremony_token`, `credential`; the login body.
pub async fn finish_sign_in(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<LoginBody>, ApiError> {
    let (user, pair) = state
        .passkey_sign_in()
        .finish(Channel::Api, &client, &fields)
        .await?;
    Ok(Json(LoginBody::new(pair, &user)))
}

/// `POST /api/auth/mfa/authenticate/passkey/begin/`: `mfa_token`; starts a passkey as the
/// second factor (finish with `mfa/authenticate/`).
pub async fn begin_second_factor(
    State(state): State<AppState>,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<CeremonyBody>, ApiError> {
    Ok(begun(
        state
            .second_step()
            .begin_passkey(Channel::Api, &fields)
            .await?,
    ))
}
