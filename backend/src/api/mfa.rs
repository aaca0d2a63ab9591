//! Two-factor sign-in for API clients (`docs/api.md`, Two-factor sign-in): completing a
//! sign-in that `login/` (or `google/`) answered with an `mfa_token`, and managing the
//! caller's second factors. The browser's forms call the same use cases.

use axum::extract::State;
use axum::Json;
use chrono::{TimeZone, Utc};
use serde::Serialize;

use super::bodies::{LoginBody, LoginOutcome};
use super::current_user::{CurrentUser, MaybeUser};
use super::error::ApiError;
use crate::accounts::second_factor::{self, Overview};
use crate::accounts::SignInStep;
use crate::auth::sign_ins::Channel;
use crate::client::Client;
use crate::input::Fields;
use crate::mfa::challenge::Challenge;
use crate::mfa::recovery_codes;
use crate::state::AppState;
use crate::users::User;

/// `login/`'s answer for an account with a second factor: no tokens yet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaRequiredBody {
    /// `A second factor is required.`
    pub detail: String,
    /// Always `true`: tell this body from the usual one by this key.
    pub mfa_required: bool,
    /// Send it to `mfa/authenticate/` with a `code`; single use, short-lived.
    pub mfa_token: String,
    /// Seconds the token stays valid (300).
    pub expires_in: i64,
    /// The account's second factors: `totp` (six digits from the authenticator app as
    /// `code`), `webauthn` (a passkey: `mfa/authenticate/passkey/begin/`, then its
    /// `credential`) and `recovery_codes` (one of the account's recovery codes as `code`).
    pub methods: Vec<String>,
}

impl MfaRequiredBody {
    /// The body for `challenge`.
    pub fn new(challenge: &Challenge) -> MfaRequiredBody {
        MfaRequiredBody {
            detail: "A second factor is required.".into(),
            mfa_required: true,
            mfa_token: challenge.token.clone(),
            expires_in: challenge.expires_at - Utc::now().timestamp(),
            methods: challenge.methods.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

/// The usual login body, or [`MfaRequiredBody`] when a second factor is required.
pub fn login_outcome(step: SignInStep, user: &User) -> LoginOutcome {
    match step {
        SignInStep::Complete(pair) => LoginOutcome::SignedIn(LoginBody::new(pair, user)),
        SignInStep::SecondFactor(challenge) => {
            LoginOutcome::SecondFactor(MfaRequiredBody::new(&challenge))
        }
    }
}

/// `POST /api/auth/mfa/authenticate/`: `mfa_token` and `code` (an app code or a recovery
/// code), or `mfa_token`, `ceremony_token` and a passkey's `credential`; the usual login
/// body.
pub async fn authenticate(
    State(state): State<AppState>,
    client: Client,
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<LoginBody>, ApiError> {
    // A passkey's answer, or a code.
    let second_step = state.second_step();
    let (user, pair) = if fields.json("credential").is_some() {
        second_step
            .complete_with_passkey(Channel::Api, &client, &fields)
            .await?
    } else {
        second_step
            .complete_sign_in(Channel::Api, &client, &fields)
            .await?
    };
    Ok(Json(LoginBody::new(pair, &user)))
}

/// An ISO-8601 UTC time, whole seconds.
fn iso(secs: i64) -> String {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The authenticator app, in [`MfaBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpBody {
    /// When it was set up: ISO-8601, UTC.
    pub created_at: String,
    /// When a code from it last completed a sign-in; `null`: never.
    pub last_used_at: Option<String>,
}

/// The recovery codes, in [`MfaBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodesBody {
    /// Unused codes left.
    pub remaining: usize,
    /// Codes in a set (10).
    pub total: usize,
}

/// `GET /api/auth/mfa/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaBody {
    /// Whether sign-in asks for a second factor.
    pub enabled: bool,
    /// The authenticator app; `null`: none.
    pub totp: Option<TotpBody>,
    /// The recovery codes; `null`: none (they come with the first second factor).
    pub recovery_codes: Option<RecoveryCodesBody>,
    /// The passkeys, oldest first.
    pub passkeys: Vec<PasskeyBody>,
}

/// One passkey, in [`MfaBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasskeyBody {
    /// Its id (what removing it names).
    pub id: i64,
    /// Its owner's name for it.
    pub name: String,
    /// When it was added: ISO-8601, UTC.
    pub created_at: String,
    /// When it last signed in; `null`: never.
    pub last_used_at: Option<String>,
}

impl From<Overview> for MfaBody {
    fn from(overview: Overview) -> MfaBody {
        MfaBody {
            enabled: overview.enabled(),
            totp: overview.totp.map(|(created, used)| TotpBody {
                created_at: iso(created),
                last_used_at: used.map(iso),
            }),
            recovery_codes: overview
                .recovery_codes_left
                .map(|remaining| RecoveryCodesBody {
                    remaining,
                    total: recovery_codes::COUNT,
                }),
            passkeys: overview
                .passkeys
                .into_iter()
                .map(|p| PasskeyBody {
                    id: p.id,
                    name: p.name,
                    created_at: iso(p.created_at),
                    last_used_at: p.last_used_at.map(iso),
                })
                .collect(),
        }
    }
}

/// `GET /api/auth/mfa/`: the caller's second factors.
pub async fn overview(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<Json<MfaBody>, ApiError> {
    let overview = second_factor::overview(&state.db, caller.user.id).await?;
    Ok(Json(overview.into()))
}

/// `POST /api/auth/mfa/totp/setup/`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpSetupBody {
    /// The secret in base32 (groups of four), for typing into an app.
    pub secret: String,
    /// The `otpauth://totp/...` URI (what the QR code holds).
    pub otpauth_uri: String,
    /// The QR code, an SVG document.
    pub qr_svg: String,
    /// Send it back to `mfa/totp/activate/` with the first code.
    pub setup_token: String,
    /// Seconds the set-up stays valid (600).
    pub expires_in: i64,
}

/// `POST /api/auth/mfa/totp/setup/`: a new secret for an authenticator app (nothing is
/// switched on until `activate/`). A sensitive action: `password`, or a recent sign-in.
pub async fn totp_setup(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<TotpSetupBody>, ApiError> {
    state
        .reauth()
        .from(&client)
        .confirm(&caller.user, &caller.claims.sid, &fields)
        .await?;
    let setup = second_factor::begin_totp(
        &state.db,
        &state.mfa_keys,
        &state.config.site_name,
        &caller.user,
    )
    .await?;
    Ok(Json(TotpSetupBody {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_svg: setup.qr_svg,
        setup_token: setup.setup_token,
        expires_in: setup.expires_at - Utc::now().timestamp(),
    }))
}

/// A change to the second factors, with new recovery codes when it made some.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaChangedBody {
    /// What happened, in words.
    pub detail: String,
    /// New recovery codes, shown this once (only their hashes are kept); `null` when none
    /// were made.
    pub recovery_codes: Option<Vec<String>>,
}

/// `POST /api/auth/mfa/totp/activate/`: `setup_token` and the app's first `code`.
pub async fn totp_activate(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<MfaChangedBody>, ApiError> {
    let codes = second_factor::activate_totp(
        &state.db,
        &state.mfa_keys,
        &state.mail_context(),
        &caller.user,
        &client,
        &fields,
    )
    .await?;
    Ok(Json(MfaChangedBody {
        detail: "The authenticator app is set up.".into(),
        recovery_codes: codes,
    }))
}

/// `POST /api/auth/mfa/totp/deactivate/`: removes the authenticator app (`confirm: true`
/// when it is the last second factor). A sensitive action: `password`, or a recent sign-in.
pub async fn totp_deactivate(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<MfaChangedBody>, ApiError> {
    let confirmed = second_factor::confirmed(&fields)?;
    state
        .reauth()
        .from(&client)
        .confirm(&caller.user, &caller.claims.sid, &fields)
        .await?;
    second_factor::remove_totp(
        &state.db,
        &state.mail_context(),
        &caller.user,
        &client,
        confirmed,
    )
    .await?;
    Ok(Json(MfaChangedBody {
        detail: "The authenticator app was removed.".into(),
        recovery_codes: None,
    }))
}

/// `POST /api/auth/mfa/recovery-codes/`: a new set of recovery codes (the old ones stop
/// working). A sensitive action: `password`, or a recent sign-in.
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<MfaChangedBody>, ApiError> {
    state
        .reauth()
        .from(&client)
        .confirm(&caller.user, &caller.claims.sid, &fields)
        .await?;
    let codes = second_factor::regenerate_recovery_codes(
        &state.db,
        &state.mfa_keys,
        &state.mail_context(),
        &caller.user,
        &client,
    )
    .await?;
    Ok(Json(MfaChangedBody {
        detail: "New recovery codes were made; the old ones no longer work.".into(),
        recovery_codes: Some(codes),
    }))
}

/// `POST /api/auth/mfa/passkeys/remove/`: removes passkey `id` (`confirm: true` when it is
/// the last second factor). A sensitive action: `password`, or a recent sign-in.
pub async fn remove_passkey(
    State(state): State<AppState>,
    caller: CurrentUser,
    client: Client,
    fields: Fields,
) -> Result<Json<MfaChangedBody>, ApiError> {
    let mut errors = crate::input::FieldErrors::new();
    let id = fields.text("id", crate::input::Text::REQUIRED, &mut errors);
    errors
        .into_result()
        .map_err(crate::accounts::AccountError::from)?;
    let id: i64 = id.and_then(|id| id.parse().ok()).ok_or_else(|| {
        crate::accounts::AccountError::invalid("id", "A valid integer is required.")
    })?;
    let confirmed = second_factor::confirmed(&fields)?;
    state
        .reauth()
        .from(&client)
        .confirm(&caller.user, &caller.claims.sid, &fields)
        .await?;
    crate::accounts::passkeys::remove(
        &state.db,
        &state.mail_context(),
        &caller.user,
        &client,
        id,
        confirmed,
    )
    .await?;
    Ok(Json(MfaChangedBody {
        detail: "The passkey was removed.".into(),
        recovery_codes: None,
    }))
}
