//! `POST /signout`: revoke the token family and delete the session. Only POST: a link or an
//! image on another page must not be able to sign anyone out.

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback;
use super::redirect::see_other_with;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::state::AppState;

pub async fn submit(State(state): State<AppState>, client: Client, session: Session) -> Response {
    match state.browser.sessions.end(&session, &client).await {
        Ok(()) => see_other_with(&state, "/", &Flash::notice("You have signed out.")),
        Err(error) => see_other_with(
            &state,
            "/profile",
            &feedback::failure("signout", error.into()),
        ),
    }
}
