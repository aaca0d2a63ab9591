//! The profile page's forms: `POST /profile` edits username, first and last name (the
//! API's PATCH rules); `POST /profile/password` changes the password.

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::sign_in_url;
use super::redirect::{see_other, see_other_with};
use crate::accounts;
use crate::browser::flash::Flash;
use crate::browser::sessions::Current;
use crate::client::Client;
use crate::input::Fields;
use crate::state::AppState;

/// The signed-in user of a profile form, or where to send the browser instead: the
/// sign-in page when nobody is signed in, the profile with a "try again" for `form` when
/// the session could not be read.
pub(super) async fn signed_in_on_profile(
    state: &AppState,
    session: &Session,
    form: &str,
) -> Result<Current, Response> {
    match state.browser.sessions.current(session).await {
        Ok(Some(current)) => Ok(current),
        Ok(None) => Err(see_other(&sign_in_url("/profile"))),
        Err(error) => Err(see_other_with(
            state,
            "/profile",
            &feedback::failure(form, error.into()),
        )),
    }
}

/// The fields of `current`'s sensitive profile form `form` once it is confirmed who sends
/// them (the `password` with it, or a recent sign-in: `Reauth::confirm`), or the profile
/// with `form`'s feedback (an unreadable body, a wrong password, "confirm it is you").
pub(super) async fn confirmed_fields(
    state: &AppState,
    client: &Client,
    current: &Current,
    form: &str,
    input: FormInput,
) -> Result<Fields, Response> {
    let fields = input
        .into_fields(form, Default::default())
        .map_err(|flash| see_other_with(state, "/profile", &flash))?;
    let confirmed = state
        .reauth()
        .from(client)
        .confirm(&current.user, &current.signed_in.sid, &fields)
        .await;
    match confirmed {
        Ok(()) => Ok(fields),
        Err(error) => Err(see_other_with(
            state,
            "/profile",
            &feedback::rejected(form, error, Default::default()),
        )),
    }
}

/// `POST /profile`.
pub async fn submit(State(state): State<AppState>, session: Session, form: FormInput) -> Response {
    let current = match signed_in_on_profile(&state, &session, "profile").await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let kept = form.keep(&["username", "first_name", "last_name"]);
    let fields = match form.into_fields("profile", kept.clone()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/profile", &flash),
    };
    let outcome =
        accounts::update_profile(&state.db, &state.user_cache, current.user.id, &fields, true)
            .await;
    let flash = match outcome {
        Ok(_) => Flash {
            form: "profile".into(),
            notice: Some("Your profile was saved.".into()),
            ..Flash::default()
        },
        Err(error) => feedback::rejected("profile", error, kept),
    };
    see_other_with(&state, "/profile", &flash)
}

/// `POST /profile/password`: change the password (current one required); this browser
/// stays signed in, every other sign-in ends, and the account's address is told.
pub async fn change_password(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match signed_in_on_profile(&state, &session, "password").await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    // Nothing typed here is ever shown again.
    let fields = match form.into_fields("password", Default::default()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/profile", &flash),
    };
    let outcome = accounts::change_password(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        &state.user_cache,
        &current.user,
        &current.signed_in.sid,
        &client,
        &fields,
        state.mail_context(),
    )
    .await;
    let flash = match outcome {
        Ok(()) => {
            state.mailer.wake();
            Flash {
                form: "password".into(),
                notice: Some(
                    "Your password was changed. You are still signed in here; every other \
                     sign-in was ended."
                        .into(),
                ),
                ..Flash::default()
            }
        }
        Err(error) => feedback::rejected("password", error, Default::default()),
    };
    see_other_with(&state, "/profile", &flash)
}
