//! `POST /signin`: the sign-in form (username or email, password, `next`).

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::flash::Flash;
use super::next::{safe_next, sign_in_url, AFTER_SIGN_IN};
use super::{feedback, see_other, see_other_with, session, FormInput};
use crate::api::client_ip::ClientIp;
use crate::api::login::sign_in_with_password;
use crate::social::flow::accept_link_offer;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    form: FormInput,
) -> Response {
    let next = form.value("next");
    let next = safe_next(next.as_deref());
    let destination = next.unwrap_or(AFTER_SIGN_IN).to_owned();
    let back = next.map_or_else(|| "/signin".to_owned(), sign_in_url);
    let kept = form.keep(&["username"]);
    let outcome = match form.into_fields() {
        Ok(fields) => sign_in_with_password(&state, ip, &fields).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok((user, pair)) => match session::start(&state, &session, user.id, pair).await {
            Ok(()) => match accept_link_offer(&state, &session, &user).await {
                Some(notice) => see_other_with(&state, &destination, &Flash::notice(notice)),
                None => see_other(&destination),
            },
            Err(error) => see_other_with(&state, &back, &feedback::failure("signin", error)),
        },
        Err(error) => {
            let flash = feedback::rejected("signin", error, kept);
            see_other_with(&state, &back, &flash)
        }
    }
}
