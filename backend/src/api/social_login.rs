//! `POST /api/auth/google/` (dj-rest-auth's `SocialLoginView`): the client obtained a
//! Google ID token and posts it as `id_token` (or, as the seeds' frontends do, as
//! `access_token`), or posts an authorization `code`. Unlike the Django stack, the ID
//! token is verified against Google's keys (signature, `iss`, `aud`, `exp`, `iat`) before
//! anyone is signed in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::bodies::LoginOutcome;
use super::current_user::MaybeUser;
use super::error::ApiError;
use crate::accounts;
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::client::Client;
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::social::identities::{self, Resolution};
use crate::social::{redirect_uri, CodeGrant, ExternalProfile, Provider, SocialError};
use crate::state::AppState;

const PROVIDER: &str = "google";

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::Validation(FieldErrors::single(NON_FIELD_ERRORS, message))
}

fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

pub async fn google(
    State(state): State<AppState>,
    client: Client,
    // Like every endpoint but verify and refresh, a bad Bearer header is a 401 here.
    _caller: MaybeUser,
    fields: Fields,
) -> Result<Json<LoginOutcome>, ApiError> {
    let result = google_sign_in(state, client, fields).await;
    if result.is_err() {
        crate::metrics::sign_in_refused(PROVIDER, "failed");
    }
    result
}

async fn google_sign_in(
    state: AppState,
    client: Client,
    fields: Fields,
) -> Result<Json<LoginOutcome>, ApiError> {
    // Each attempt costs a signature check or a round trip to Google: count it as a login.
    state.rate_limits.login_ip(client.ip).await?;
    let provider = state.social.get(PROVIDER).ok_or_else(|| {
        ApiError::Detail(
            StatusCode::NOT_FOUND,
            "Google sign-in is not configured on this server.".into(),
        )
    })?;
    let Provider::Oidc(google) = &*provider else {
        return Err(ApiError::Internal(anyhow::anyhow!("google is not OIDC")));
    };

    let mut errors = FieldErrors::new();
    let access_token = fields.text("access_token", Text::OPTIONAL, &mut errors);
    let id_token = fields.text("id_token", Text::OPTIONAL, &mut errors);
    let code = fields.text("code", Text::OPTIONAL, &mut errors);
    errors.into_result()?;
    let non_empty = |v: Option<String>| v.filter(|v| !v.is_empty());
    let (access_token, id_token, code) = (
        non_empty(access_token),
        non_empty(id_token),
        non_empty(code),
    );

    let token = match (id_token, access_token, code) {
        (Some(token), _, _) => token,
        (None, Some(token), _) if looks_like_jwt(&token) => token,
        (None, _, Some(code)) => {
            let grant = CodeGrant {
                code: &code,
                redirect_uri: &redirect_uri(&state.config.public_url, PROVIDER),
                pkce_verifier: None,
                nonce: None,
            };
            let profile = state
                .social
                .exchange_code(&provider, grant)
                .await
                .map_err(social_error)?;
            return sign_in(&state, &client, &profile).await;
        }
        (None, Some(_), None) => {
            // An opaque access token could have been issued to any other app: accepting it
            // would let that app sign its users in here as themselves (token substitution).
            return Err(refused(
                "Send the Google ID token (as id_token or access_token), not an OAuth access token.",
            ));
        }
        (None, None, None) => {
            return Err(refused(
                "Incorrect input. access_token, id_token or code is required.",
            ))
        }
    };

    let claims = google
        .verify_id_token(&token, None)
        .await
        .map_err(social_error)?;
    let profile = claims.into_profile().checked().map_err(social_error)?;
    sign_in(&state, &client, &profile).await
}

/// Signs in (or up) the person a verified Google profile describes.
async fn sign_in(
    state: &AppState,
    client: &Client,
    profile: &ExternalProfile,
) -> Result<Json<LoginOutcome>, ApiError> {
    // The provider's word on a second factor counts only for an identity linked before
    // this sign-in (by the account's owner), never for one linked by it.
    let already_linked = identities::owner(&state.db, PROVIDER, &profile.subject)
        .await?
        .is_some();
    let user =
        match identities::resolve(&state.db, PROVIDER, "Google", profile, None, client).await? {
            Resolution::SignIn(user) | Resolution::Linked(user) => user,
            // dj-rest-auth's answer; linking needs the password, which only the web flow asks.
            Resolution::ConfirmWithPassword { .. } => {
                return Err(refused(
                    "User is already registered with this e-mail address.",
                ))
            }
            Resolution::Refused(message) => return Err(refused(message)),
        };
    let origin = SignInOrigin::new(PROVIDER, Channel::Api, client)
        .with_provider_mfa(profile.mfa_asserted && already_linked);
    let step = accounts::begin_sign_in(&state.db, &state.tokens, &user, &origin, None).await?;
    Ok(Json(super::mfa::login_outcome(step, &user)))
}

fn social_error(error: SocialError) -> ApiError {
    match error {
        SocialError::Unreachable(detail) => {
            tracing::warn!(%detail, "Google unreachable");
            ApiError::Detail(
                StatusCode::SERVICE_UNAVAILABLE,
                "Google could not be reached. Try again later.".into(),
            )
        }
        SocialError::CodeRefused(detail) => {
            // The provider's words go to the log only: they are not ours to repeat.
            tracing::info!(%detail, "Google refused the authorization code");
            refused("The code was refused by Google.")
        }
        SocialError::NoIdToken => refused("Google returned no ID token for this code."),
        // Discovery, keys, UserInfo: what the provider said stays in the log.
        SocialError::Provider(detail) => {
            tracing::warn!(%detail, "Google answered unexpectedly");
            refused("Google's answer could not be used. Try again later.")
        }
        other => {
            tracing::info!(error = %other, "Google ID token refused");
            refused(format!("Invalid Google token: {other}."))
        }
    }
}
