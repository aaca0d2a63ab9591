//! The second page of signing in, for accounts with a second factor: `GET
//! /signin/second-factor` (a Leptos page) asks for a code, `POST /signin/second-factor`
//! checks it, `POST /signin/second-factor/cancel` starts over.
//!
//! The half-finished sign-in is bound to this browser: its challenge token lives only in
//! the server-side session record (the cookie is HttpOnly and the id is replaced when the
//! first step passes), and the session holds no sign-in until the code checks out.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::feedback::{self, FormInput, TRY_AGAIN};
use super::next::AFTER_SIGN_IN;
use super::redirect::{see_other, see_other_with};
use super::social::accept_link_offer;
use crate::accounts::{AccountError, SIGN_IN_EXPIRED};
use crate::auth::sign_ins::Channel;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::input::{Fields, NON_FIELD_ERRORS};
use crate::mfa::challenge::{self, Challenge};
use crate::state::AppState;

/// The second page's address.
pub const PATH: &str = "/signin/second-factor";
const KEY: &str = "second_factor";
const FORM: &str = "second_factor";

/// What the session holds between the two steps.
#[derive(Clone, Serialize, Deserialize)]
struct Pending {
    /// The challenge's token (never shown to the page).
    token: String,
    /// Where to go once signed in.
    next: Option<String>,
    /// When the challenge expires, Unix seconds.
    expires_at: i64,
    /// The account's second factors (`totp`, `webauthn`, `recovery_codes`), for the page.
    #[serde(default)]
    methods: Vec<String>,
}

/// After a first step that needs a second factor: a new session id, the challenge in the
/// session, and the second page.
pub async fn ask(
    state: &AppState,
    session: &Session,
    challenge: Challenge,
    next: Option<String>,
) -> Response {
    let pending = Pending {
        token: challenge.token,
        next,
        expires_at: challenge.expires_at,
        methods: challenge.methods.iter().map(|m| (*m).to_owned()).collect(),
    };
    let stored = async {
        session.cycle_id().await?;
        session.insert(KEY, pending).await
    };
    if let Err(error) = stored.await {
        tracing::error!(%error, "second factor: session");
        return start_over(state, TRY_AGAIN);
    }
    see_other(PATH)
}

/// When this browser is between the two steps (the second page shows only then): the
/// account's second factors (`totp`, `webauthn`, `recovery_codes`).
pub async fn pending_methods(
    session: &Session,
) -> Result<Option<Vec<String>>, tower_sessions::session::Error> {
    let pending = session.get::<Pending>(KEY).await?;
    Ok(pending
        .filter(|p| p.expires_at > chrono::Utc::now().timestamp())
        .map(|p| p.methods))
}

/// The sign-in page again, saying why.
fn start_over(state: &AppState, message: &str) -> Response {
    let flash = Flash {
        form: "signin".into(),
        errors: [(NON_FIELD_ERRORS.to_owned(), vec![message.to_owned()])].into(),
        ..Flash::default()
    };
    see_other_with(state, "/signin", &flash)
}

/// `POST /signin/second-factor`: `code` (from the authenticator app, or a recovery code).
pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let pending = match session.get::<Pending>(KEY).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return start_over(&state, SIGN_IN_EXPIRED),
        Err(error) => {
            tracing::error!(%error, "second factor: session");
            return start_over(&state, TRY_AGAIN);
        }
    };
    let fields = match form.into_fields(FORM, Default::default()) {
        Ok(fields) => fields.with("mfa_token", &pending.token),
        Err(flash) => return see_other_with(&state, PATH, &flash),
    };
    let outcome = state
        .second_step()
        .complete_sign_in(Channel::Browser, &client, &fields)
        .await;
    let (user, pair) = match outcome {
        Ok(signed_in) => signed_in,
        Err(AccountError::Invalid(errors)) if errors.first("mfa_token").is_some() => {
            // Expired, spent, or one wrong code too many: the first step again.
            if let Err(error) = session.remove::<Pending>(KEY).await {
                tracing::warn!(%error, "second factor: session");
            }
            return start_over(&state, errors.first("mfa_token").unwrap_or(SIGN_IN_EXPIRED));
        }
        Err(error) => {
            return see_other_with(
                &state,
                PATH,
                &feedback::rejected(FORM, error, Default::default()),
            )
        }
    };
    if let Err(error) = session.remove::<Pending>(KEY).await {
        tracing::error!(%error, "second factor: session");
    }
    if let Err(error) = state
        .browser
        .sessions
        .start(&session, user.id, pair, &client)
        .await
    {
        return see_other_with(
            &state,
            "/signin",
            &feedback::failure("signin", error.into()),
        );
    }
    let destination = pending.next.unwrap_or_else(|| AFTER_SIGN_IN.to_owned());
    match accept_link_offer(&state, &session, &user, &client).await {
        Some(notice) => see_other_with(&state, &destination, &Flash::notice(notice)),
        None => see_other(&destination),
    }
}

/// `POST /signin/second-factor/cancel`: forgets the half-finished sign-in.
pub async fn cancel(State(state): State<AppState>, session: Session) -> Response {
    if let Ok(Some(pending)) = session.remove::<Pending>(KEY).await {
        if let Err(error) = challenge::cancel(&state.db, &pending.token).await {
            tracing::warn!(%error, "second factor: cancelling");
        }
    }
    see_other("/signin")
}

const PASSKEY_KEY: &str = "second_factor_passkey";

/// `POST /signin/second-factor/passkey/begin`: options for a passkey as the second factor
/// (the account's passkeys).
pub async fn begin_passkey(State(state): State<AppState>, session: Session) -> Response {
    let pending = match session.get::<Pending>(KEY).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return super::passkeys::refused(
                FORM,
                AccountError::invalid("mfa_token", SIGN_IN_EXPIRED),
            )
        }
        Err(error) => return super::passkeys::trouble(error),
    };
    let fields = Fields::default().with("mfa_token", &pending.token);
    match state
        .second_step()
        .begin_passkey(Channel::Browser, &fields)
        .await
    {
        Ok((options, token)) => match session.insert(PASSKEY_KEY, token).await {
            Ok(()) => axum::Json(options).into_response(),
            Err(error) => super::passkeys::trouble(error),
        },
        Err(error) => super::passkeys::refused(FORM, error),
    }
}

/// `POST /signin/second-factor/passkey/finish`: the browser's `credential`.
pub async fn finish_passkey(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    fields: Fields,
) -> Response {
    let (pending, ceremony) = match (
        session.get::<Pending>(KEY).await,
        session.remove::<String>(PASSKEY_KEY).await,
    ) {
        (Ok(Some(pending)), Ok(Some(ceremony))) => (pending, ceremony),
        (Ok(Some(_)), Ok(None)) => {
            return super::passkeys::refused(
                FORM,
                AccountError::invalid(
                    "ceremony_token",
                    crate::accounts::passkeys::CEREMONY_EXPIRED,
                ),
            )
        }
        (Ok(None), _) => {
            return super::passkeys::refused(
                FORM,
                AccountError::invalid("mfa_token", SIGN_IN_EXPIRED),
            )
        }
        (Err(error), _) | (_, Err(error)) => return super::passkeys::trouble(error),
    };
    let fields = fields
        .with("mfa_token", &pending.token)
        .with("ceremony_token", &ceremony);
    let (user, pair) = match state
        .second_step()
        .complete_with_passkey(Channel::Browser, &client, &fields)
        .await
    {
        Ok(signed_in) => signed_in,
        Err(AccountError::Invalid(errors)) if errors.first("mfa_token").is_some() => {
            let _ = session.remove::<Pending>(KEY).await;
            let message = errors
                .first("mfa_token")
                .unwrap_or(SIGN_IN_EXPIRED)
                .to_owned();
            let mut res = super::passkeys::go(&state, "/signin", None);
            let flash = Flash {
                form: "signin".into(),
                errors: [(NON_FIELD_ERRORS.to_owned(), vec![message])].into(),
                ..Flash::default()
            };
            let browser = &state.browser;
            res.headers_mut().append(
                axum::http::header::SET_COOKIE,
                browser.flash_key.set_cookie(&browser.cookies, &flash),
            );
            return res;
        }
        Err(error) => return super::passkeys::refused(FORM, error),
    };
    if let Err(error) = session.remove::<Pending>(KEY).await {
        tracing::error!(%error, "second factor: session");
    }
    if let Err(error) = state
        .browser
        .sessions
        .start(&session, user.id, pair, &client)
        .await
    {
        return super::passkeys::trouble(error);
    }
    let destination = pending.next.unwrap_or_else(|| AFTER_SIGN_IN.to_owned());
    let notice = accept_link_offer(&state, &session, &user, &client).await;
    super::passkeys::go(&state, &destination, notice)
}
