//! `POST /signup`: the sign-up form, with the API's fields (`username`, `email`,
//! `password1`, `password2`) and so the API's messages.

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::AFTER_SIGN_IN;
use super::redirect::{see_other, see_other_with};
use crate::accounts;
use crate::client_ip::ClientIp;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    form: FormInput,
) -> Response {
    let kept = form.keep(&["username", "email"]);
    let fields = match form.into_fields("signup", kept.clone()) {
        // An empty email input means "no address" (the API's "" is a blank-field error).
        Ok(mut fields) => {
            fields.drop_blank("email");
            fields
        }
        Err(flash) => return see_other_with(&state, "/signup", &flash),
    };
    let outcome = accounts::sign_up(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        ip,
        &fields,
    )
    .await;
    let (user, pair) = match outcome {
        Ok(created) => created,
        Err(error) => {
            return see_other_with(
                &state,
                "/signup",
                &feedback::rejected("signup", error, kept),
            )
        }
    };
    match state.browser.sessions.start(&session, user.id, pair).await {
        Ok(()) => see_other(AFTER_SIGN_IN),
        Err(error) => see_other_with(
            &state,
            "/signin",
            &feedback::failure("signin", error.into()),
        ),
    }
}
