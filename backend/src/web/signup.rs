//! `POST /signup`: the sign-up form, with the API's fields (`username`, `email`,
//! `password1`, `password2`) and so the API's messages.

use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::AFTER_SIGN_IN;
use super::redirect::{see_other, see_other_with};
use crate::accounts;
use crate::auth::sign_ins::Channel;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::config::EmailVerification;
use crate::state::AppState;

pub async fn submit(
    State(state): State<AppState>,
    client: Client,
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
        &state.mailer,
        &client,
        Channel::Browser,
        &fields,
        state.config.email_verification,
        state.mail_context(),
    )
    .await;
    let (user, pair) = match outcome {
        Ok(accounts::SignedUp::SignedIn(user, pair)) => (user, pair),
        Ok(accounts::SignedUp::VerificationSent) => {
            return see_other_with(
                &state,
                "/signin",
                &Flash::notice(
                    "Almost there: we sent a link to your e-mail address. Follow it to \
                     confirm the address, then sign in.",
                ),
            )
        }
        Err(error) => {
            return see_other_with(
                &state,
                "/signup",
                &feedback::rejected("signup", error, kept),
            )
        }
    };
    let verifying = user.email.is_some()
        && state.config.email_verification != EmailVerification::None
        && state.mailer.is_enabled();
    match state
        .browser
        .sessions
        .start(&session, user.id, pair, &client)
        .await
    {
        Ok(()) if verifying => see_other_with(
            &state,
            AFTER_SIGN_IN,
            &Flash::notice(
                "Welcome! We sent a link to your e-mail address: follow it to confirm the \
                 address.",
            ),
        ),
        Ok(()) => see_other(AFTER_SIGN_IN),
        Err(error) => see_other_with(
            &state,
            "/signin",
            &feedback::failure("signin", error.into()),
        ),
    }
}
