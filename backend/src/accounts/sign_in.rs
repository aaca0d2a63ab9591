//! Signing in: with a username (or email address) and password, and the one way every
//! sign-in (password, sign-up, social) ends: a new token family.

use crate::audit::{self, Event, Kind};
use crate::auth::password::{Passwords, Verification, MAX_PASSWORD_BYTES};
use crate::auth::rate_limit::{LoginKey, RateLimits};
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::auth::tokens::{TokenPair, Tokens};
use crate::client::Client;
use crate::config::EmailVerification;
use crate::db::{Db, DbError};
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::users::{self, User, EMAIL_MAX_CHARS, USERNAME_MAX_CHARS};

use super::email_address::NOT_VERIFIED;
use super::second_step::{begin_sign_in, SignInStep};
use super::AccountError;

/// dj-rest-auth's answer to wrong credentials, whatever was wrong (unknown user, wrong
/// password, no password, inactive account), so the answer reveals nothing.
pub const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

/// The longest name an account can have: a username or an address.
const MAX_IDENTIFIER_CHARS: usize = if EMAIL_MAX_CHARS > USERNAME_MAX_CHARS {
    EMAIL_MAX_CHARS
} else {
    USERNAME_MAX_CHARS
};

/// Checks `username` (or `email`) and `password` from `fields` and starts a token family
/// for `client` through `channel`, or, for an account with a second factor, a challenge
/// for it ([`begin_sign_in`]).
///
/// Rate limits: per client IP first, then per account (whichever of its names was typed;
/// an unknown name has a budget of its own), both before any hashing. Unknown users, users
/// without a password and inactive users all pay for a full verification, so response
/// times do not tell them apart (ASVS V2.2; `docs/api.md`, login).
///
/// Under `ACCOUNT_EMAIL_VERIFICATION=mandatory`, an account whose address is not verified
/// is refused with [`NOT_VERIFIED`], only after the password checks out (allauth's rule;
/// an account with no address at all, such as one made by `createsuperuser`, may sign in).
///
/// Errors: [`AccountError::Invalid`] with DRF's field messages or [`BAD_CREDENTIALS`] under
/// `non_field_errors`; [`AccountError::RateLimited`]; [`AccountError::Internal`].
#[allow(clippy::too_many_arguments)] // Each is a different service the use case needs.
pub async fn sign_in_with_password(
    db: &Db,
    passwords: &Passwords,
    tokens: &Tokens,
    limits: &RateLimits,
    client: &Client,
    channel: Channel,
    fields: &Fields,
    verification: EmailVerification,
) -> Result<(User, SignInStep), AccountError> {
    limits.login_ip(client.ip).await?;
    let mut errors = FieldErrors::new();
    let username = fields.text("username", Text::OPTIONAL, &mut errors);
    let email = fields.text("email", Text::OPTIONAL, &mut errors);
    let password = fields.text("password", Text::PASSWORD, &mut errors);
    errors.into_result()?;
    let password = password.unwrap_or_default();

    let identifier = [username, email]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .ok_or_else(|| {
            AccountError::invalid(
                NON_FIELD_ERRORS,
                "Must include \"username\" and \"password\".",
            )
        })?;
    let bad_credentials = || AccountError::invalid(NON_FIELD_ERRORS, BAD_CREDENTIALS);
    // No account has a name this long: no lookup, and no rate-limit key of megabytes.
    if identifier.chars().count() > MAX_IDENTIFIER_CHARS {
        crate::metrics::sign_in_refused("password", "bad_credentials");
        return Err(bad_credentials());
    }
    let user = users::find_by_login(db, &identifier).await?;
    // The account's budget whichever of its names was typed; unknown names are limited
    // the same way, by their identity key, so the limit reveals nothing.
    let limited = limits
        .login_account(&match &user {
            Some(user) => LoginKey::Account(user.id),
            None => LoginKey::Name(users::identity_key(&identifier)),
        })
        .await;
    if limited.is_err() {
        // A flood of refusals would be a flood of rows: one event a minute per account (or
        // unknown name, kept without it, so that known and unknown names take as long).
        let key = match &user {
            Some(user) => format!("login:{}", user.id),
            None => format!("login:name:{}", users::identity_key(&identifier)),
        };
        if limits.first_refusal_in_a_minute(&key) {
            let event = Event::new(Kind::RateLimited, user.as_ref().map(|u| u.id), Some(client))
                .detail("login");
            // The refusal stands whether or not it could be recorded.
            if let Err(error) = audit::record(db, &event).await {
                tracing::warn!(%error, "recording a refused sign-in");
            }
        }
    }
    if limited.is_err() {
        crate::metrics::sign_in_refused("password", "rate_limited");
    }
    limited?;
    // Refused before hashing: nobody gets to make the server hash megabytes.
    if password.len() > MAX_PASSWORD_BYTES {
        crate::metrics::sign_in_refused("password", "bad_credentials");
        return Err(bad_credentials());
    }

    let stored = user
        .as_ref()
        .filter(|u| u.is_active)
        .and_then(|u| u.password_hash.as_deref());
    let verification_result = passwords.verify(&password, stored).await?;
    let (Some(user), Verification::Valid { rehash }) = (&user, verification_result) else {
        // The account's owner sees the attempt; one on no account is kept without a name.
        let reason = match &user {
            Some(user) if !user.is_active => "inactive",
            _ => "bad_credentials",
        };
        let event = Event::new(
            Kind::SignInFailed,
            user.as_ref().map(|u| u.id),
            Some(client),
        )
        .detail(reason);
        audit::record(db, &event).await?;
        return Err(bad_credentials());
    };
    let user = user.clone();
    if verification == EmailVerification::Mandatory && user.email.is_some() && !user.email_verified
    {
        let event =
            Event::new(Kind::SignInFailed, Some(user.id), Some(client)).detail("not_verified");
        audit::record(db, &event).await?;
        return Err(AccountError::invalid(NON_FIELD_ERRORS, NOT_VERIFIED));
    }
    let origin = SignInOrigin::new("password", channel, client);
    let step = begin_sign_in(db, tokens, &user, &origin, rehash.as_deref()).await?;
    Ok((user, step))
}

/// Ends every successful sign-in, whatever proved who the user is (`origin.method`:
/// `password`, `registration`, a social provider's id): records the time of the login (and
/// `rehash`, a password hash upgraded to the current parameters) and starts a new token
/// family (a sign-in session; see [`Tokens::sign_in`]) recorded with its origin.
pub async fn start_sign_in(
    db: &Db,
    tokens: &Tokens,
    user: &User,
    origin: &SignInOrigin,
    rehash: Option<&str>,
) -> Result<TokenPair, AccountError> {
    users::record_login(db, user.id, rehash).await?;
    let pair = match tokens.sign_in(user.id, origin).await {
        Ok(pair) => pair,
        // The account was deleted between the password check and now: no account, the
        // answer any other sign-in without one gets.
        Err(DbError::Query(sqlx::Error::Database(e))) if e.is_foreign_key_violation() => {
            return Err(AccountError::invalid(NON_FIELD_ERRORS, BAD_CREDENTIALS));
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(
        user_id = user.id,
        method = %origin.method,
        channel = origin.channel.as_str(),
        "user signed in"
    );
    Ok(pair)
}
