//! `POST /signup`: the sign-up form, with the API's fields (`username`, `email`,
//! `password1`, `password2`) and so the API's messages.

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::next::AFTER_SIGN_IN;
use super::{feedback, see_other, see_other_with, session, FormInput};
use crate::api::client_ip::ClientIp;
use crate::api::register::create_account;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    form: FormInput,
) -> Response {
    let kept = form.keep(&["username", "email"]);
    let outcome = match form.into_fields() {
        Ok(fields) => create_account(&state, ip, &fields).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok((user, pair)) => match session::start(&state, &session, user.id, pair).await {
            Ok(()) => see_other(AFTER_SIGN_IN),
            Err(error) => see_other_with(&state, "/signin", &feedback::failure("signin", error)),
        },
        Err(error) => {
            let flash = feedback::rejected("signup", error, kept);
            see_other_with(&state, "/signup", &flash)
        }
    }
}
