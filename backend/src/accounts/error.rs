//! [`AccountError`]: what a use case of `accounts` (or of social sign-in) can refuse with.

use crate::auth::password::PasswordError;
use crate::auth::rate_limit::RateLimited;
use crate::db::DbError;
use crate::input::FieldErrors;
use crate::users::UserError;

use super::rules::{EMAIL_TAKEN, USERNAME_TAKEN};

/// Transport-neutral refusal of an account use case.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The input breaks a rule; the messages are keyed by field (DRF's shape and words).
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// Too many attempts; try again later.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    /// The account was deleted while it was being changed.
    #[error("no such account")]
    NotFound,
    /// A mailed link (verification) that is unknown, expired, already used or for an
    /// address the account no longer has. (A reset link's problems are a field error.)
    #[error("the link is not valid")]
    LinkNotValid,
    /// A sensitive action whose sign-in has not proved who is behind it recently enough
    /// (`REAUTH_MAX_AGE`): send the password with it, or sign in again.
    #[error("re-authentication required")]
    ReauthenticationRequired,
    /// The sign-in making the request ended while it was being handled (signed out, ended
    /// from another sign-in, or the account deleted by a racing request).
    #[error("the sign-in has ended")]
    SignInEnded,
    /// The flow needs mail and this server sends none (`EMAIL_URL=none`).
    #[error("mail is switched off on this server")]
    MailUnavailable,
    /// A failure of ours (database, hashing); the cause is for the log only.
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl AccountError {
    /// A single message about `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> AccountError {
        AccountError::Invalid(FieldErrors::single(field, message))
    }
}

impl From<FieldErrors> for AccountError {
    fn from(errors: FieldErrors) -> Self {
        AccountError::Invalid(errors)
    }
}

impl From<DbError> for AccountError {
    fn from(e: DbError) -> Self {
        AccountError::Internal(e.into())
    }
}

impl From<PasswordError> for AccountError {
    fn from(e: PasswordError) -> Self {
        AccountError::Internal(e.into())
    }
}

/// A unique index refused the write: the same field message a sequential check gives
/// (concurrent sign-ups and renames).
impl From<UserError> for AccountError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::UsernameTaken => AccountError::invalid("username", USERNAME_TAKEN),
            UserError::EmailTaken => AccountError::invalid("email", EMAIL_TAKEN),
            UserError::Db(db) => db.into(),
        }
    }
}

impl From<super::CreateError> for AccountError {
    fn from(e: super::CreateError) -> Self {
        match e {
            super::CreateError::Password(e) => e.into(),
            super::CreateError::User(e) => e.into(),
        }
    }
}
