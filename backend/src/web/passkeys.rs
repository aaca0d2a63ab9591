//! Passkeys in the browser. The page's passkey island calls these with `fetch` (JSON in,
//! JSON out; the same CSRF check as every form): `POST /profile/passkeys/begin` and
//! `.../finish` add a passkey, `POST /signin/passkey/begin` and `.../finish` sign in with a
//! passkey alone. Removing one is a plain form (`POST /profile/passkeys/{id}/remove`).
//!
//! A `begin` answers the options for `navigator.credentials.create()` or `.get()` (WebAuthn's
//! JSON form) and keeps the ceremony's token in this browser's server-side session; the
//! matching `finish` takes it back, so a ceremony is bound to the browser that began it.
//! Answers: `200 {"redirect": "/profile"}` (where to go; a notice waits there), or
//! `4xx {"errors": {field: [message]}, "notice": "..."}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::mfa::show_codes;
use super::next::{safe_next, AFTER_SIGN_IN};
use super::profile::{confirmed_fields, signed_in_on_profile};
use super::redirect::see_other_with;
use crate::accounts::{passkeys, second_factor, AccountError};
use crate::auth::sign_ins::Channel;
use crate::browser::flash::Flash;
use crate::browser::sessions::{Current, SessionError};
use crate::client::Client;
use crate::input::{FieldErrors, Fields, Text};
use crate::state::AppState;

/// The profile card the feedback belongs to (two-factor sign-in).
const FORM: &str = "mfa";
const REGISTER_KEY: &str = "passkey_registration";
const SIGN_IN_KEY: &str = "passkey_sign_in";

/// A refusal as JSON: the flash's errors and notice (the same words a form would show).
pub(super) fn refused(form: &str, error: AccountError) -> Response {
    let status = match &error {
        AccountError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        AccountError::ReauthenticationRequired => StatusCode::FORBIDDEN,
        AccountError::SignInEnded => StatusCode::UNAUTHORIZED,
        AccountError::Internal(_) | AccountError::NotFound => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let flash = feedback::rejected(form, error, Default::default());
    (
        status,
        Json(json!({"errors": flash.errors, "notice": flash.notice})),
    )
        .into_response()
}

pub(super) fn trouble(error: impl Into<SessionError>) -> Response {
    let error = error.into();
    tracing::error!(%error, "passkeys: session");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"errors": {}, "notice": feedback::TRY_AGAIN})),
    )
        .into_response()
}

/// Where the island goes next, with a notice waiting there.
pub(super) fn go(state: &AppState, to: &str, notice: Option<String>) -> Response {
    let mut res = Json(json!({ "redirect": to })).into_response();
    if let Some(notice) = notice {
        let flash = Flash {
            form: FORM.into(),
            notice: Some(notice),
            ..Flash::default()
        };
        let browser = &state.browser;
        res.headers_mut().append(
            axum::http::header::SET_COOKIE,
            browser.flash_key.set_cookie(&browser.cookies, &flash),
        );
    }
    res
}

/// No ceremony in this browser's session (never begun here, or already finished).
fn expired() -> AccountError {
    AccountError::invalid("ceremony_token", passkeys::CEREMONY_EXPIRED)
}

async fn signed_in(state: &AppState, session: &Session) -> Result<Current, Response> {
    match state.browser.sessions.current(session).await {
        Ok(Some(current)) => Ok(current),
        Ok(None) => Err(refused(FORM, AccountError::SignInEnded)),
        Err(error) => Err(trouble(error)),
    }
}

/// `POST /profile/passkeys/begin`: a sensitive action (`password`, or a recent sign-in).
pub async fn begin_registration(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    fields: Fields,
) -> Response {
    let current = match signed_in(&state, &session).await {
        Ok(current) => current,
        Err(res) => return res,
    };
    let confirmed = state
        .reauth()
        .from(&client)
        .confirm(&current.user, &current.signed_in.sid, &fields)
        .await;
    if let Err(error) = confirmed {
        return refused(FORM, error);
    }
    match passkeys::begin_registration(&state.db, &state.passkeys, &current.user).await {
        Ok((options, token)) => match session.insert(REGISTER_KEY, token).await {
            Ok(()) => Json(options).into_response(),
            Err(error) => trouble(error),
        },
        Err(error) => refused(FORM, error),
    }
}

/// `POST /profile/passkeys/finish`: `name` and the browser's `credential`.
pub async fn finish_registration(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    fields: Fields,
) -> Response {
    let current = match signed_in(&state, &session).await {
        Ok(current) => current,
        Err(res) => return res,
    };
    let token = match session.remove::<String>(REGISTER_KEY).await {
        Ok(Some(token)) => token,
        Ok(None) => return refused(FORM, expired()),
        Err(error) => return trouble(error),
    };
    let finished = passkeys::finish_registration(
        &state.db,
        &state.passkeys,
        &state.mfa_keys,
        &state.mail_context(),
        &current.user,
        &client,
        &fields.with("ceremony_token", &token),
    )
    .await;
    match finished {
        Ok(Some(codes)) => match show_codes(&session, codes).await {
            Ok(to) => go(&state, to, None),
            Err(error) => trouble(error),
        },
        Ok(None) => go(&state, "/profile", Some("The passkey was added.".into())),
        Err(error) => refused(FORM, error),
    }
}

/// `POST /profile/passkeys/{id}/remove`: a sensitive action; `confirm` when it is the last
/// second factor.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
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
            passkeys::remove(
                &state.db,
                &state.mail_context(),
                &current.user,
                &client,
                id,
                confirmed,
            )
            .await
        }
        Err(error) => Err(error),
    };
    let flash = match removed {
        Ok(()) => Flash {
            form: FORM.into(),
            notice: Some("The passkey was removed.".into()),
            ..Flash::default()
        },
        Err(error) => feedback::rejected(FORM, error, Default::default()),
    };
    see_other_with(&state, "/profile", &flash)
}

/// `POST /signin/passkey/begin`: options for a passkey sign-in (any of this site's passkeys
/// the browser has).
pub async fn begin_sign_in(
    State(state): State<AppState>,
    client: Client,
    session: Session,
) -> Response {
    let begun =
        passkeys::begin_sign_in(&state.db, &state.passkeys, &state.rate_limits, &client).await;
    match begun {
        Ok((options, token)) => match session.insert(SIGN_IN_KEY, token).await {
            Ok(()) => Json(options).into_response(),
            Err(error) => trouble(error),
        },
        Err(error) => refused("signin", error),
    }
}

/// `POST /signin/passkey/finish`: the browser's `credential`, and `next`.
pub async fn finish_sign_in(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    fields: Fields,
) -> Response {
    let token = match session.remove::<String>(SIGN_IN_KEY).await {
        Ok(Some(token)) => token,
        Ok(None) => return refused("signin", expired()),
        Err(error) => return trouble(error),
    };
    let next = fields.text("next", Text::OPTIONAL, &mut FieldErrors::new());
    let next = safe_next(next.as_deref())
        .unwrap_or(AFTER_SIGN_IN)
        .to_owned();
    let fields = fields.with("ceremony_token", &token);
    let (user, pair) = match state
        .passkey_sign_in()
        .finish(Channel::Browser, &client, &fields)
        .await
    {
        Ok(signed_in) => signed_in,
        Err(error) => return refused("signin", error),
    };
    if let Err(error) = state
        .browser
        .sessions
        .start(&session, user.id, pair, &client)
        .await
    {
        return trouble(error);
    }
    go(&state, &next, None)
}
