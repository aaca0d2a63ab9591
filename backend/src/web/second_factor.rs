//! The second page of signing in, for accounts with a second factor: `GET
//! /signin/second-factor` (a Leptos page) asks for a code, `POST /signin/second-factor`
//! checks it, `POST /signin/second-factor/cancel` starts over.
//!
//! The half-finished sign-in is bound to this browser: its challenge token lives only in
//! the server-side session record (the cookie is HttpOnly and the id is replaced when the
//! first step passes), and the session holds no sign-in until the code checks out.

use axum::extract::State;
use axum::response::Response;
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
use crate::input::NON_FIELD_ERRORS;
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

/// Whether this browser is between the two steps (the second page shows only then).
pub async fn is_pending(session: &Session) -> Result<bool, tower_sessions::session::Error> {
    let pending = session.get::<Pending>(KEY).await?;
    Ok(pending.is_some_and(|p| p.expires_at > chrono::Utc::now().timestamp()))
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
