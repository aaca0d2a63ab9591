//! Second factors on the profile: setting up an authenticator app (`POST
//! /profile/mfa/totp/setup`, then the page `/profile/mfa/totp` with the QR code and `POST
//! /profile/mfa/totp/activate`), removing it (`POST /profile/mfa/totp/remove`), and new
//! recovery codes (`POST /profile/mfa/recovery-codes`, shown once on
//! `/profile/mfa/recovery-codes`).
//!
//! What must survive the redirect stays in the server-side session, never in a cookie or
//! an address: the set-up token between the two set-up steps, fresh recovery codes until
//! their page has shown them once.

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::profile::{confirmed_fields, signed_in_on_profile};
use super::redirect::{see_other, see_other_with};
use crate::accounts::second_factor;
use crate::browser::flash::Flash;
use crate::browser::sessions::SessionError;
use crate::client::Client;
use crate::state::AppState;
use crate::users::User;

/// The set-up page.
pub const SETUP_PAGE: &str = "/profile/mfa/totp";
/// The page that shows fresh recovery codes once.
pub const CODES_PAGE: &str = "/profile/mfa/recovery-codes";
const SETUP_KEY: &str = "totp_setup";
const CODES_KEY: &str = "fresh_recovery_codes";
const FORM: &str = "mfa";

fn back(state: &AppState, notice: impl Into<String>) -> Response {
    see_other_with(
        state,
        "/profile",
        &Flash {
            form: FORM.into(),
            notice: Some(notice.into()),
            ..Flash::default()
        },
    )
}

/// `POST /profile/mfa/totp/setup`: a sensitive action (the password, or a recent
/// sign-in); then the set-up page.
pub async fn begin_totp(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    if let Err(redirect) = confirmed_fields(&state, &client, &current, FORM, form).await {
        return redirect;
    }
    let setup = second_factor::begin_totp(
        &state.db,
        &state.mfa_keys,
        &state.config.site_name,
        &current.user,
    )
    .await;
    let setup = match setup {
        Ok(setup) => setup,
        Err(error) => {
            let flash = feedback::rejected(FORM, error, Default::default());
            return see_other_with(&state, "/profile", &flash);
        }
    };
    if let Err(error) = session.insert(SETUP_KEY, &setup.setup_token).await {
        return see_other_with(
            &state,
            "/profile",
            &feedback::failure(FORM, SessionError::from(error).into()),
        );
    }
    see_other(SETUP_PAGE)
}

/// The set-up this browser started, for the set-up page (`None`: none, or expired).
pub async fn setup_in_progress(
    state: &AppState,
    session: &Session,
    user: &User,
) -> Option<second_factor::TotpSetup> {
    let token = session.get::<String>(SETUP_KEY).await.ok()??;
    second_factor::show_setup(&state.mfa_keys, &state.config.site_name, user, &token)
}

/// Fresh recovery codes, once: the page that shows them takes them out of the session.
pub async fn take_fresh_codes(session: &Session) -> Option<Vec<String>> {
    session.remove::<Vec<String>>(CODES_KEY).await.ok()?
}

/// `POST /profile/mfa/totp/activate`: the app's first `code`. The first second factor
/// brings recovery codes, shown next.
pub async fn activate_totp(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let Ok(Some(token)) = session.get::<String>(SETUP_KEY).await else {
        return back(&state, second_factor::SETUP_EXPIRED);
    };
    let fields = match form.into_fields(FORM, Default::default()) {
        Ok(fields) => fields.with("setup_token", &token),
        Err(flash) => return see_other_with(&state, SETUP_PAGE, &flash),
    };
    let activated = second_factor::activate_totp(
        &state.db,
        &state.mfa_keys,
        &state.mail_context(),
        &current.user,
        &client,
        &fields,
    )
    .await;
    let codes = match activated {
        Ok(codes) => codes,
        Err(crate::accounts::AccountError::Invalid(errors)) if errors.first("code").is_some() => {
            let error = crate::accounts::AccountError::Invalid(errors);
            return see_other_with(
                &state,
                SETUP_PAGE,
                &feedback::rejected(FORM, error, Default::default()),
            );
        }
        Err(error) => {
            let _ = session.remove::<String>(SETUP_KEY).await;
            let flash = feedback::rejected(FORM, error, Default::default());
            return see_other_with(&state, "/profile", &flash);
        }
    };
    if let Err(error) = session.remove::<String>(SETUP_KEY).await {
        tracing::warn!(%error, "authenticator set-up: session");
    }
    match codes {
        Some(codes) => to_codes_page(&state, &session, codes).await,
        None => back(&state, "The authenticator app is set up."),
    }
}

/// Keeps fresh recovery codes for their page (shown there once); that page's address.
pub(super) async fn show_codes(
    session: &Session,
    codes: Vec<String>,
) -> Result<&'static str, tower_sessions::session::Error> {
    session.insert(CODES_KEY, codes).await?;
    Ok(CODES_PAGE)
}

async fn to_codes_page(state: &AppState, session: &Session, codes: Vec<String>) -> Response {
    match show_codes(session, codes).await {
        Ok(page) => see_other(page),
        Err(error) => see_other_with(
            state,
            "/profile",
            &feedback::failure(FORM, SessionError::from(error).into()),
        ),
    }
}

/// `POST /profile/mfa/totp/remove`: a sensitive action; `confirm` when it is the last
/// second factor.
pub async fn remove_totp(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let fields = match confirmed_fields(&state, &client, &current, FORM, form).await {
        Ok(fields) => fields,
        Err(redirect) => return redirect,
    };
    let removed = match second_factor::confirmed(&fields) {
        Ok(confirmed) => {
            second_factor::remove_totp(
                &state.db,
                &state.mail_context(),
                &current.user,
                &client,
                confirmed,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match removed {
        Ok(()) => back(&state, "The authenticator app was removed."),
        Err(error) => see_other_with(
            &state,
            "/profile",
            &feedback::rejected(FORM, error, Default::default()),
        ),
    }
}

/// `POST /profile/mfa/recovery-codes`: a sensitive action; the new codes are shown once.
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    if let Err(redirect) = confirmed_fields(&state, &client, &current, FORM, form).await {
        return redirect;
    }
    let regenerated = second_factor::regenerate_recovery_codes(
        &state.db,
        &state.mfa_keys,
        &state.mail_context(),
        &current.user,
        &client,
    )
    .await;
    match regenerated {
        Ok(codes) => to_codes_page(&state, &session, codes).await,
        Err(error) => see_other_with(
            &state,
            "/profile",
            &feedback::rejected(FORM, error, Default::default()),
        ),
    }
}
