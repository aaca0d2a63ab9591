//! The profile's account forms: `POST /profile/reauth` (confirm it is you before sensitive
//! actions), `POST /profile/delete` (delete the account), `GET /profile/export` (download
//! the account's data as JSON).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::sign_in_url;
use super::profile::signed_in_on_profile;
use super::redirect::{see_other, see_other_with};
use super::WebError;
use crate::accounts;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::state::AppState;

/// `POST /profile/reauth`: the password again; sensitive actions then need none for
/// `REAUTH_MAX_AGE`.
pub async fn reauthenticate(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    const FORM: &str = "reauth";
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let fields = match form.into_fields(FORM, Default::default()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/profile", &flash),
    };
    if current.user.password_hash.is_none() || !accounts::password_typed(&fields) {
        let error = accounts::AccountError::invalid("password", "This field is required.");
        let flash = feedback::rejected(FORM, error, Default::default());
        return see_other_with(&state, "/profile", &flash);
    }
    let outcome = state
        .reauth()
        .from(&client)
        .confirm(&current.user, &current.signed_in.sid, &fields)
        .await;
    let flash = match outcome {
        Ok(()) => Flash {
            form: FORM.into(),
            notice: Some(format!(
                "Thank you. For the next {} you can make sensitive changes without your \
                 password.",
                reauth_window(&state)
            )),
            ..Flash::default()
        },
        Err(error) => feedback::rejected(FORM, error, Default::default()),
    };
    see_other_with(&state, "/profile", &flash)
}

/// How long a proof of identity lasts, in words (`10 minutes`, `30 seconds`).
pub(super) fn reauth_window(state: &AppState) -> String {
    let window = state.config.reauth_max_age;
    match window.as_secs() {
        secs @ 0..=59 => format!("{secs} seconds"),
        _ => crate::mail::templates::in_words(window),
    }
}

/// `POST /profile/delete`: deletes the account (password required when it has one; an
/// account without one needs a sign-in within `REAUTH_MAX_AGE`), signs this browser out
/// and says so on the home page.
pub async fn delete(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    const FORM: &str = "delete";
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let fields = match form.into_fields(FORM, Default::default()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/profile", &flash),
    };
    let outcome = accounts::delete_account(
        state.reauth().from(&client),
        &state.tokens,
        &state.user_cache,
        &current.user,
        &current.signed_in.sid,
        &fields,
    )
    .await;
    match outcome {
        Ok(()) => {
            // The sign-in is gone with the account; the record goes too.
            if let Err(error) = state.browser.sessions.end(&session, &client).await {
                tracing::warn!(%error, "clearing a deleted account's session");
            }
            see_other_with(
                &state,
                "/",
                &Flash::notice("Your account and everything in it were deleted."),
            )
        }
        Err(error) => see_other_with(
            &state,
            "/profile",
            &feedback::rejected(FORM, error, Default::default()),
        ),
    }
}

/// `GET /profile/export`: the account's data as a JSON download.
pub async fn export(State(state): State<AppState>, session: Session) -> Response {
    let current = match state.browser.sessions.current(&session).await {
        Ok(Some(current)) => current,
        Ok(None) => return see_other(&sign_in_url("/profile")),
        Err(error) => return WebError::from(error).into_response(),
    };
    let idle = state.tokens.settings().idle_timeout_secs;
    match accounts::export_account(&state.db, &current.user, idle).await {
        Ok(data) => {
            let mut res = Json(data).into_response();
            let headers = res.headers_mut();
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"account-data.json\""),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(error) => WebError::from(error).into_response(),
    }
}
