//! The account lifecycle's forms: "Forgot password?" (`POST /password-reset`), the reset
//! link's new-password form (`POST /password-reset/confirm/{uid}/{token}`), the
//! verification link's confirm button (`POST /verify-email/{key}`), "send the link again"
//! (`POST /verify-email/resend`, signed out; `POST /profile/email/resend`, signed in) and
//! the address change (`POST /profile/email`). Every one calls the use case the REST API
//! calls.
//!
//! A link's GET only renders its page (a Leptos route); nothing is spent until its form is
//! posted, so a mail scanner that follows links changes nothing.

use axum::extract::{Path, State};
use axum::response::Response;
use tower_sessions::Session;

use super::feedback::{self, FormInput};
use super::next::encode;
use super::redirect::{see_other, see_other_with};
use crate::accounts;
use crate::browser::flash::Flash;
use crate::client::Client;
use crate::state::AppState;

/// Where the "Forgot password?" form lives.
const RESET_PAGE: &str = "/password-reset";

/// What every reset request hears, whether or not an account has the address.
fn reset_sent(state: &AppState) -> String {
    format!(
        "If an account uses this address, we sent it a link to choose a new password. The \
         link works for {}.",
        crate::mail::templates::in_words(state.config.password_reset_timeout)
    )
}

/// What every "send the link again" hears.
const LINK_SENT: &str =
    "If this address belongs to an account that still needs to confirm it, we sent it a new \
     link.";

/// `POST /password-reset`.
pub async fn request_reset(
    State(state): State<AppState>,
    client: Client,
    form: FormInput,
) -> Response {
    let kept = form.keep(&["email"]);
    let fields = match form.into_fields("reset", kept.clone()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, RESET_PAGE, &flash),
    };
    let outcome = accounts::request_password_reset(
        &state.db,
        &state.rate_limits,
        &state.mailer,
        client.ip,
        &fields,
        state.mail_context(),
    )
    .await;
    let flash = match outcome {
        Ok(()) => Flash {
            form: "reset".into(),
            notice: Some(reset_sent(&state)),
            ..Flash::default()
        },
        Err(error) => feedback::rejected("reset", error, kept),
    };
    see_other_with(&state, RESET_PAGE, &flash)
}

/// `GET /password-reset/confirm/{uid}/{token}/`, the mailed link's exact path (contract
/// section 11): sends the browser to the page without the final slash, which renders the
/// form. Spends nothing.
pub async fn reset_link(Path((uid, token)): Path<(String, String)>) -> Response {
    see_other(&format!(
        "/password-reset/confirm/{}/{}",
        encode(&uid),
        encode(&token)
    ))
}

/// `POST /password-reset/confirm/{uid}/{token}`: the new password, twice.
pub async fn confirm_reset(
    State(state): State<AppState>,
    client: Client,
    Path((uid, token)): Path<(String, String)>,
    form: FormInput,
) -> Response {
    let here = format!(
        "/password-reset/confirm/{}/{}",
        encode(&uid),
        encode(&token)
    );
    let fields = match form.into_fields("reset_confirm", Default::default()) {
        Ok(fields) => fields.with("uid", &uid).with("token", &token),
        Err(flash) => return see_other_with(&state, &here, &flash),
    };
    let outcome = accounts::reset_password(
        &state.db,
        &state.passwords,
        &state.tokens,
        &state.rate_limits,
        &state.user_cache,
        &client,
        &fields,
        state.mail_context(),
    )
    .await;
    match outcome {
        Ok(_) => {
            state.mailer.wake();
            see_other_with(
                &state,
                "/signin",
                &Flash::notice(
                    "Your password was changed and every device was signed out. Sign in \
                     with your new password.",
                ),
            )
        }
        Err(error) => see_other_with(
            &state,
            &here,
            &feedback::rejected("reset_confirm", error, Default::default()),
        ),
    }
}

/// `POST /verify-email/{key}`: the confirm button of a verification (or address change)
/// link.
pub async fn confirm_email(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    Path(key): Path<String>,
    form: FormInput,
) -> Response {
    let here = format!("/verify-email/{}", encode(&key));
    let fields = match form.into_fields("verify", Default::default()) {
        Ok(fields) => fields.with("key", &key),
        Err(flash) => return see_other_with(&state, &here, &flash),
    };
    let outcome = accounts::verify_email(
        &state.db,
        &state.rate_limits,
        &state.user_cache,
        &client,
        &fields,
        state.mail_context(),
    )
    .await;
    match outcome {
        Ok(verified) => {
            state.mailer.wake();
            let signed_in = matches!(state.browser.sessions.current(&session).await, Ok(Some(_)));
            let notice = if verified.changed {
                format!("Your account's address is now {}.", verified.email)
            } else {
                format!("Thank you: {} is confirmed.", verified.email)
            };
            let destination = if signed_in { "/profile" } else { "/signin" };
            see_other_with(&state, destination, &Flash::notice(notice))
        }
        Err(error) => see_other_with(
            &state,
            &here,
            &feedback::rejected("verify", error, Default::default()),
        ),
    }
}

/// `POST /verify-email/resend`: "send the link again" for a signed-out visitor (the
/// sign-in page offers it when sign-in waits for a verified address).
pub async fn resend_link(
    State(state): State<AppState>,
    client: Client,
    form: FormInput,
) -> Response {
    let kept = form.keep(&["email"]);
    let fields = match form.into_fields("resend", kept.clone()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/signin", &flash),
    };
    let outcome = accounts::resend_verification(
        &state.db,
        &state.rate_limits,
        &state.mailer,
        client.ip,
        &fields,
        state.mail_context(),
    )
    .await;
    let flash = match outcome {
        Ok(()) => Flash {
            form: "resend".into(),
            notice: Some(LINK_SENT.into()),
            ..Flash::default()
        },
        Err(error) => feedback::rejected("resend", error, kept),
    };
    see_other_with(&state, "/signin", &flash)
}

/// `POST /profile/email/resend`: a new link for the signed-in user's own address.
pub async fn resend_own_link(
    State(state): State<AppState>,
    client: Client,
    session: Session,
) -> Response {
    let current = match super::profile::signed_in_on_profile(&state, &session, "email").await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let outcome = accounts::resend_own_verification(
        &state.db,
        &state.rate_limits,
        &state.mailer,
        client.ip,
        &current.user,
        state.mail_context(),
    )
    .await;
    let flash = match outcome {
        Ok(sent) => {
            state.mailer.wake();
            Flash {
                form: "email".into(),
                notice: Some(if sent {
                    format!(
                        "We sent a new link to {}.",
                        current.user.email.as_deref().unwrap_or_default()
                    )
                } else {
                    "Your address is already confirmed.".into()
                }),
                ..Flash::default()
            }
        }
        Err(error) => feedback::rejected("email", error, Default::default()),
    };
    see_other_with(&state, "/profile", &flash)
}

/// `POST /profile/email`: move the account to a new address (with the password, when the
/// account has one); it changes when the new address follows its link.
pub async fn change_email(
    State(state): State<AppState>,
    client: Client,
    session: Session,
    form: FormInput,
) -> Response {
    let current = match super::profile::signed_in_on_profile(&state, &session, "email").await {
        Ok(current) => current,
        Err(redirect) => return redirect,
    };
    let kept = form.keep(&["email"]);
    let fields = match form.into_fields("email", kept.clone()) {
        Ok(fields) => fields,
        Err(flash) => return see_other_with(&state, "/profile", &flash),
    };
    let outcome = accounts::request_email_change(
        state.reauth().from(&client),
        &state.mailer,
        &client,
        &current.user,
        &current.signed_in.sid,
        &fields,
        state.mail_context(),
    )
    .await;
    let flash = match outcome {
        Ok(address) => {
            state.mailer.wake();
            Flash {
                form: "email".into(),
                notice: Some(format!(
                    "We sent a link to {address}. Your address changes when you follow it; \
                     until then it stays as it is."
                )),
                ..Flash::default()
            }
        }
        Err(error) => feedback::rejected("email", error, kept),
    };
    see_other_with(&state, "/profile", &flash)
}
