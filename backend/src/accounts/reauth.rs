//! Re-authentication for sensitive actions (ASVS 3.7.1): ending every other sign-in,
//! unlinking a provider, changing the address of an account without a password, deleting
//! the account. The sign-in making the request must have proved who is behind it within
//! `REAUTH_MAX_AGE`: at sign-in, by typing the password again with the action, or (accounts
//! without a password) by signing in afresh with a provider.

use std::time::Duration;

use chrono::Utc;

use crate::audit::{self, Event, Kind};
use crate::auth::password::{Passwords, Verification, MAX_PASSWORD_BYTES};
use crate::auth::rate_limit::{LoginKey, RateLimits};
use crate::client::Client;
use crate::db::{with_db, with_db_write, Db, DbError};
use crate::input::{FieldErrors, Fields, Text};
use crate::users::User;

use super::AccountError;

/// Django's message for a wrong password given to confirm an action.
pub const WRONG_PASSWORD: &str = "Your password was entered incorrectly. Please enter it again.";

/// What a sensitive action asks of its caller to prove who they are.
#[derive(Clone, Copy, Debug)]
pub struct Reauth<'a> {
    /// The database holding the sign-ins.
    pub db: &'a Db,
    /// The hasher that checks a typed password.
    pub passwords: &'a Passwords,
    /// Password guesses spend the account's sign-in budget.
    pub limits: &'a RateLimits,
    /// `REAUTH_MAX_AGE`.
    pub max_age: Duration,
    /// Who is asking, for the event a wrong password records.
    pub client: Option<&'a Client>,
}

/// A password field that may be absent and is never trimmed (a password that starts or ends
/// with a space is still that password).
const OPTIONAL_PASSWORD: Text = Text {
    required: false,
    allow_blank: true,
    trim: false,
    max_chars: None,
};

impl<'a> Reauth<'a> {
    /// The same, asked by `client`.
    pub fn from(self, client: &'a Client) -> Reauth<'a> {
        Reauth {
            client: Some(client),
            ..self
        }
    }

    /// Lets a sensitive action by `user`'s sign-in `sid` go ahead: with a correct `password`
    /// in `fields` (which also renews the sign-in's proof, so the next action within
    /// `REAUTH_MAX_AGE` needs none), or without one when the sign-in proved itself within
    /// `REAUTH_MAX_AGE`.
    ///
    /// Errors: [`AccountError::Invalid`] (`password`: [`WRONG_PASSWORD`]),
    /// [`AccountError::ReauthenticationRequired`] (no password and the proof is older),
    /// [`AccountError::SignInEnded`] (the sign-in ended meanwhile),
    /// [`AccountError::RateLimited`], [`AccountError::Internal`].
    pub async fn confirm(
        &self,
        user: &User,
        sid: &str,
        fields: &Fields,
    ) -> Result<(), AccountError> {
        let mut errors = FieldErrors::new();
        let password = fields.text("password", OPTIONAL_PASSWORD, &mut errors);
        errors.into_result()?;
        let now = Utc::now().timestamp();
        match password.filter(|p| !p.is_empty()) {
            Some(password) if user.password_hash.is_some() => {
                self.check_password(user, &password).await?;
                if !mark_authenticated(self.db, sid, user.id, now).await? {
                    return Err(AccountError::SignInEnded);
                }
                Ok(())
            }
            // A password for an account without one proves nothing: the same refusal as
            // an old proof.
            _ => {
                let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
                match authenticated_at(self.db, sid, user.id).await? {
                    Some(at) if now - at <= max_age => Ok(()),
                    Some(_) => Err(AccountError::ReauthenticationRequired),
                    None => Err(AccountError::SignInEnded),
                }
            }
        }
    }

    async fn check_password(&self, user: &User, password: &str) -> Result<(), AccountError> {
        self.limits
            .login_account(&LoginKey::Account(user.id))
            .await?;
        let verification = if password.len() > MAX_PASSWORD_BYTES {
            Verification::Invalid
        } else {
            self.passwords
                .verify(password, user.password_hash.as_deref())
                .await?
        };
        match verification {
            Verification::Valid { .. } => Ok(()),
            _ => {
                // The owner sees guesses made with one of their sign-ins.
                let event = Event::new(Kind::SignInFailed, Some(user.id), self.client)
                    .detail("reauthentication");
                audit::record(self.db, &event).await?;
                Err(AccountError::invalid("password", WRONG_PASSWORD))
            }
        }
    }

    /// Whether `user`'s sign-in `sid` proved itself within `REAUTH_MAX_AGE` (the profile
    /// page asks for the password on sensitive forms when it did not).
    pub async fn is_recent(&self, user: &User, sid: &str) -> Result<bool, DbError> {
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        let now = Utc::now().timestamp();
        Ok(authenticated_at(self.db, sid, user.id)
            .await?
            .is_some_and(|at| now - at <= max_age))
    }
}

/// Whether `fields` hold a non-empty `password`.
pub fn password_typed(fields: &Fields) -> bool {
    let mut ignored = FieldErrors::new();
    fields
        .text("password", OPTIONAL_PASSWORD, &mut ignored)
        .is_some_and(|p| !p.is_empty())
}

/// When `user_id`'s live sign-in `sid` last proved who is behind it (Unix seconds).
async fn authenticated_at(db: &Db, sid: &str, user_id: i64) -> Result<Option<i64>, DbError> {
    let row: Option<(i64,)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT authenticated_at FROM token_families \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(sid)
        .bind(user_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|(at,)| at))
}

/// Records that `user_id`'s live sign-in `sid` proved itself at `now`; `false` when the
/// sign-in has ended.
pub async fn mark_authenticated(
    db: &Db,
    sid: &str,
    user_id: i64,
    now: i64,
) -> Result<bool, DbError> {
    let done = with_db_write!(db, pool => {
        sqlx::query(
            "UPDATE token_families SET authenticated_at = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(sid)
        .bind(user_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}
