//! `POST /signin`: the sign-in form (username or email, password, `next`).

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::{safe_next, sign_in_url, AFTER_SIGN_IN};
use super::redirect::{see_other, see_other_with};
use super::second_factor;
use super::social::accept_link_offer;
use crate::accounts::{self, SignInStep};
use crate::auth::sign_ins::Channel;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let next = form.value("next");
    let next = safe_next(next.as_deref());
    let destination = next.unwrap_or(AFTER_SIGN_IN).to_owned();
    let back = next.map_or_else(|| "/signin".to_owned(), sign_in_url);
    let kept = form.keep(&["username"]);
    let fields = match form.into_fields("signin", kept.clone()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, &back, &flash),
    };
    let outcome = accounts::sign_in_with_password(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        &client,
        Channel::Browser,
        &fields,
        state.config.email_verification,
    )
    .await;
    let (user, pair) = match outcome {
        Ok((_, SignInStep::SecondFactor(challenge))) => {
            return second_factor::ask(&state, &session, challenge, next.map(str::to_owned)).await
        }
        Ok((user, SignInStep::Complete(pair))) => (user, pair),
        Err(error) => {
            return see_other_with(&state, &back, &feedback::rejected("signin", error, kept))
        }
    };
    if let Err(error) = state
        .browser
        .sessions
        .start(&session, user.id, pair, &client)
        .await
    {
        return see_other_with(&state, &back, &feedback::failure("signin", error.into()));
    }
    match accept_link_offer(&state, &session, &user, &client).await {
        Some(notice) => see_other_with(&state, &destination, &Flash::notice(notice)),
        None => see_other(&destination),
    }
}
