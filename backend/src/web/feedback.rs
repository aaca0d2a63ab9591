//! Turning a refused form into words for the page it goes back to.

use std::collections::BTreeMap;
use std::convert::Infallible;

use axum::extract::{FromRequest, Request};

use super::WebError;
use crate::accounts::AccountError;
use crate::auth::rate_limit::RateLimited;
use crate::browser::flash::Flash;
use crate::input::{BodyError, FieldErrors, Fields, Text};

/// The message for a failure of ours (also used by the social sign-in flow).
pub(crate) const TRY_AGAIN: &str = "Something went wrong on our side. Please try again.";

/// What a mailed link that no longer works says.
pub(crate) const LINK_NOT_VALID: &str =
    "This link does not work: it may have expired, or been used already. Ask for a new one.";

/// A form body, read the way the API reads it; a body that cannot be read is kept as its
/// error, so the handler can still answer with the form and a message.
pub struct FormInput {
    fields: Result<Fields, BodyError>,
}

impl<S: Send + Sync> FromRequest<S> for FormInput {
    type Rejection = Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(FormInput {
            fields: Fields::from_request(req, state).await,
        })
    }
}

impl FormInput {
    /// One text field as sent (empty and absent are both `None`).
    pub fn value(&self, name: &str) -> Option<String> {
        let fields = self.fields.as_ref().ok()?;
        let mut ignored = FieldErrors::new();
        fields
            .text(name, Text::OPTIONAL, &mut ignored)
            .filter(|v| !v.is_empty())
    }

    /// The values worth showing again if the form is refused (never pass a password here).
    pub fn keep(&self, names: &[&str]) -> BTreeMap<String, String> {
        names
            .iter()
            .filter_map(|name| Some((name.to_string(), self.value(name)?)))
            .collect()
    }

    /// The form's fields, or feedback for `form` (with the `kept` values) saying the body
    /// could not be read.
    pub fn into_fields(self, form: &str, kept: BTreeMap<String, String>) -> Result<Fields, Flash> {
        self.fields.map_err(|error| {
            let mut flash = Flash {
                form: form.to_owned(),
                values: kept,
                ..Flash::default()
            };
            match error {
                BodyError::NotAnObject(errors) => flash.errors = errors.into_map(),
                BodyError::TooLarge => flash.notice = Some("The form was too large.".into()),
                BodyError::Malformed(_) | BodyError::UnsupportedMediaType(_) => {
                    flash.notice = Some("The form could not be read. Please try again.".into());
                }
            }
            flash
        })
    }
}

/// A use case's refusal, as feedback for the form `form`, showing `values` again.
pub fn rejected(form: &str, error: AccountError, values: BTreeMap<String, String>) -> Flash {
    let mut flash = Flash {
        form: form.to_owned(),
        values,
        ..Flash::default()
    };
    match error {
        AccountError::Invalid(errors) => flash.errors = errors.into_map(),
        AccountError::RateLimited(limited) => flash.notice = Some(wait_message(limited)),
        AccountError::LinkNotValid => flash.notice = Some(LINK_NOT_VALID.into()),
        AccountError::SignInEnded => {
            flash.notice = Some("This sign-in has ended. Please sign in again.".into());
        }
        AccountError::ReauthenticationRequired => {
            flash.notice = Some(
                "For your security, confirm it is you: enter your password (or sign in again \
                 with your provider) and try again."
                    .into(),
            );
        }
        AccountError::MailUnavailable => {
            flash.notice = Some("This server sends no e-mail, so this cannot be done here.".into());
        }
        other @ (AccountError::NotFound | AccountError::Internal(_)) => {
            tracing::error!(error = %other, form, "form failed");
            flash.notice = Some(TRY_AGAIN.into());
        }
    }
    flash
}

/// "Too many attempts", with the wait in seconds.
fn wait_message(RateLimited { retry_after_secs }: RateLimited) -> String {
    format!(
        "Too many attempts. Please wait {retry_after_secs} second{} and try again.",
        if retry_after_secs == 1 { "" } else { "s" }
    )
}

/// A failure of ours (session store, database) while handling `form`.
pub fn failure(form: &str, error: WebError) -> Flash {
    tracing::error!(%error, form, "form failed");
    Flash {
        form: form.to_owned(),
        notice: Some(TRY_AGAIN.into()),
        ..Flash::default()
    }
}
