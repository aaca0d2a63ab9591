//! "Where you're signed in" on the profile page: `POST /profile/sign-ins/{id}/end` ends one
//! other sign-in, `POST /profile/sign-ins/end-others` every sign-in but this browser's.

use axum::extract::{Path, State};
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{FormInput, TRY_AGAIN};
use super::profile::{confirmed_fields, signed_in_on_profile};
use super::redirect::see_other_with;
use crate::auth::tokens::EndSignInError;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::state::AppState;

const FORM: &str = "sign-ins";

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

/// `POST /profile/sign-ins/{id}/end`: the sign-in's tokens stop working at once (on other
/// instances within the revocation sync interval) and a browser holding it is signed out
/// on its next page. This browser's own sign-in is ended by "Sign out".
pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match signed_in_on_profile(&state, &session, FORM).await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    if id == current.signed_in.sid {
        return back(&state, "That is this browser: use \"Sign out\" to end it.");
    }
    // As sensitive as ending all of them: the password, or a recent sign-in.
    if let Err(redirect) = confirmed_fields(&state, &client, &current, FORM, form).await {
        return redirect;
    }
    match state
        .tokens
        .end_sign_in(current.user.id, &id, &client, None)
        .await
    {
        Ok(()) => back(&state, "That sign-in was ended."),
        Err(EndSignInError::NotFound) => back(&state, "That sign-in had already ended."),
        Err(EndSignInError::Db(error)) => {
            tracing::error!(%error, "ending a sign-in");
            back(&state, TRY_AGAIN)
        }
    }
}

/// `POST /profile/sign-ins/end-others`: every sign-in of the account but this browser's,
/// once it is confirmed who is asking (`password`, or a recent sign-in).
pub async fn end_others(
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
    let ended = state
        .tokens
        .end_other_sign_ins(current.user.id, &current.signed_in.sid, &client)
        .await;
    match ended {
        Ok(0) => back(&state, "You were not signed in anywhere else."),
        Ok(1) => back(&state, "1 other sign-in was ended."),
        Ok(n) => back(&state, format!("{n} other sign-ins were ended.")),
        Err(error) => {
            tracing::error!(%error, "ending other sign-ins");
            back(&state, TRY_AGAIN)
        }
    }
}
