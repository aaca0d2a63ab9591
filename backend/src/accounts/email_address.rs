//! Proving and changing an account's address: the verification link sent at sign-up and
//! on request (`POST /api/auth/register/verify-email/` and `/register/resend-email/`,
//! contract section 10, and the `/verify-email/{key}` page), and the address change from
//! the profile, which takes effect only when the new address follows its link.
//!
//! Keys are random, stored hashed, single-use and expire
//! (`ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`); the page a link opens only shows a button,
//! so a mail scanner that follows links verifies nothing (section 11).

use std::net::IpAddr;
use std::sync::Arc;

use crate::audit::{insert_event, Event, Kind};
use crate::auth::password::{Verification, MAX_PASSWORD_BYTES};
use crate::auth::rate_limit::{LoginKey, MailBudget, RateLimits};
use crate::client::Client;
use crate::db::{with_db_write, Db, DbError};
use crate::input::{FieldErrors, Fields, Text};
use crate::mail::outbox::enqueue_in;
use crate::mail::templates::{
    in_words, AddressInUse, EmailChangeRequested, EmailChanged, VerifyEmail,
};
use crate::mail::worker::Mailer;
use crate::mail::Message;
use crate::user_cache::UserCache;
use crate::users::{self, User};

use super::links::{self, Purpose};
use super::password_reset::{accept_mail_request, address_field};
use super::{AccountError, MailContext, Reauth};

/// allauth's refusal of a password sign-in to an unverified address under
/// `ACCOUNT_EMAIL_VERIFICATION=mandatory` (given only after the password checks out).
pub const NOT_VERIFIED: &str = "E-mail is not verified.";
/// An address change to the address the account already has.
pub const SAME_ADDRESS: &str = "This is already your address.";
/// A wrong password with an address change.
pub const WRONG_PASSWORD: &str = "Your password was entered incorrectly. Please enter it again.";
/// The new address was taken by another account between the request and its link.
pub const ADDRESS_NOW_TAKEN: &str =
    "This address now belongs to another account, so it cannot become yours.";

/// What a followed link did.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The account, as it is now.
    pub user_id: i64,
    /// The address now verified (and, after a change, the account's address).
    pub email: String,
    /// Whether the account moved to this address (rather than verifying the one it had).
    pub changed: bool,
}

/// The mail carrying a new link for `address` (`change`: an address the account moves to)
/// and the token it carries.
fn link_message(
    user: &User,
    address: &str,
    change: bool,
    mail: &MailContext<'_>,
) -> Result<(links::NewToken, Message), AccountError> {
    let link = links::new_token();
    let confirm_url = mail.url(&format!("/verify-email/{}", link.token));
    let message = VerifyEmail {
        site_name: mail.site_name,
        username: &user.username,
        confirm_url: &confirm_url,
        valid_for: &in_words(mail.email_confirmation_timeout),
        change,
    }
    .message(address)
    .map_err(|e| AccountError::Internal(e.into()))?;
    Ok((link, message))
}

/// Stores a new link for `address` and queues its mail, in one transaction. A change
/// request ends the account's earlier change requests (only the latest address counts);
/// verification links of one address all stay good until one is followed.
async fn queue_link(
    db: &Db,
    user: &User,
    address: &str,
    purpose: Purpose,
    mail: &MailContext<'_>,
) -> Result<(), AccountError> {
    let (link, message) = link_message(user, address, purpose == Purpose::ChangeEmail, mail)?;
    let now = chrono::Utc::now().timestamp();
    let expires = now + i64::try_from(mail.email_confirmation_timeout.as_secs()).unwrap_or(0);
    with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        if purpose == Purpose::ChangeEmail {
            sqlx::query(links::FORGET)
                .bind(user.id)
                .bind(purpose.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(links::INSERT)
            .bind(&link.hash)
            .bind(user.id)
            .bind(purpose.as_str())
            .bind(address)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        enqueue_in!(&mut *tx, &message).await?;
        tx.commit().await
    }
    .await)
    .map_err(DbError::Query)?;
    tracing::info!(
        user_id = user.id,
        purpose = purpose.as_str(),
        "address link queued"
    );
    Ok(())
}

/// Mails a verification link for the account's current address (after sign-up); nothing
/// when it has none or it is verified already.
pub(crate) async fn send_verification(
    db: &Db,
    user: &User,
    mail: &MailContext<'_>,
) -> Result<bool, AccountError> {
    match user.email.as_deref() {
        Some(address) if !user.email_verified => {
            queue_link(db, user, address, Purpose::VerifyEmail, mail).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Tells the owner of `address` that someone tried to sign up with it (`change: false`)
/// or move another account to it (`change: true`): the answer those people get is the
/// same as for a free address, so this mail is how the owner learns of it.
pub(crate) async fn tell_owner(
    db: &Db,
    address: &str,
    change: bool,
    mail: &MailContext<'_>,
) -> Result<bool, AccountError> {
    let Some(owner) = users::find_by_email(db, address).await? else {
        // The address is another account's username, or went away meanwhile: nobody to tell.
        return Ok(false);
    };
    let Some(to) = owner.email.as_deref() else {
        return Ok(false);
    };
    let message = AddressInUse {
        site_name: mail.site_name,
        username: &owner.username,
        sign_in_url: &mail.url("/signin"),
        reset_url: &mail.url("/password-reset"),
        change,
    }
    .message(to)
    .map_err(|e| AccountError::Internal(e.into()))?;
    crate::mail::outbox::enqueue(db, &message).await?;
    Ok(true)
}

/// Takes a request for a new verification link for `email` (from `fields`; always
/// required, contract section 11) and answers at once, the same way for every address;
/// afterwards, an active account whose address it is and is not yet verified gets a link.
///
/// Errors: [`AccountError::Invalid`], [`AccountError::RateLimited`] (per client IP and per
/// address), [`AccountError::MailUnavailable`].
pub async fn resend_verification(
    db: &Db,
    limits: &RateLimits,
    mailer: &Arc<Mailer>,
    ip: IpAddr,
    fields: &Fields,
    mail: MailContext<'_>,
) -> Result<(), AccountError> {
    let Some(email) = accept_mail_request(limits, mailer, ip, fields, "verification link").await?
    else {
        return Ok(());
    };
    let (db, mailer, mail) = (db.clone(), Arc::clone(mailer), mail.to_owned());
    tokio::spawn(async move {
        let sent = match users::find_by_email(&db, &email).await {
            Ok(Some(user)) if user.is_active => send_verification(&db, &user, &mail.borrow()).await,
            Ok(_) => Ok(false),
            Err(error) => Err(error.into()),
        };
        match sent {
            Ok(true) => mailer.wake(),
            Ok(false) => {}
            Err(error) => tracing::error!(%error, "verification link: could not queue it"),
        }
    });
    Ok(())
}

/// A new verification link for the signed-in `user`'s own address (the profile's "send
/// the link again"), rate-limited like [`resend_verification`]. `Ok(false)` when there
/// is nothing to verify.
pub async fn resend_own_verification(
    db: &Db,
    limits: &RateLimits,
    mailer: &Mailer,
    ip: IpAddr,
    user: &User,
    mail: MailContext<'_>,
) -> Result<bool, AccountError> {
    let Some(address) = user.email.as_deref().filter(|_| !user.email_verified) else {
        return Ok(false);
    };
    if !mailer.is_enabled() {
        return Err(AccountError::MailUnavailable);
    }
    // The owner asking for their own address: no reason to hide a spent budget.
    if let MailBudget::AddressSpent(limited) = limits.email(ip, address).await? {
        return Err(limited.into());
    }
    send_verification(db, user, &mail).await
}

/// Whether `key` is a live verification (or address change) link; its page asks this and
/// spends nothing.
pub async fn verification_link_is_live(db: &Db, key: &str) -> Result<bool, DbError> {
    Ok(
        links::peek(db, key, &[Purpose::VerifyEmail, Purpose::ChangeEmail])
            .await?
            .is_some(),
    )
}

/// Follows a link: spends the `key` (from `fields`) and either marks the address it was
/// sent to verified, or moves the account to that address (an address change; the
/// previous address is told, and the account's reset links end, since they went to it).
///
/// Errors: [`AccountError::Invalid`] (no key; or the new address was taken meanwhile),
/// [`AccountError::LinkNotValid`] (unknown, expired, used, or for an address the account
/// no longer has), [`AccountError::RateLimited`] (per client IP, the sign-in budget).
pub async fn verify_email(
    db: &Db,
    limits: &RateLimits,
    user_cache: &UserCache,
    client: &Client,
    fields: &Fields,
    mail: MailContext<'_>,
) -> Result<Verified, AccountError> {
    let ip = client.ip;
    let mut errors = FieldErrors::new();
    let key = fields.text("key", Text::REQUIRED, &mut errors);
    errors.into_result()?;
    let key = key.expect("present when there are no errors");
    limits.login_ip(ip).await?;
    let Some(link) = links::peek(db, &key, &[Purpose::VerifyEmail, Purpose::ChangeEmail]).await?
    else {
        return Err(AccountError::LinkNotValid);
    };
    let Some(user) = users::find_by_id(db, link.user_id)
        .await?
        .filter(|u| u.is_active)
    else {
        return Err(AccountError::LinkNotValid);
    };
    let address = link.email.clone().unwrap_or_default();
    let verified = match link.purpose {
        Purpose::ChangeEmail => move_to(db, &user, &key, &address, client, &mail).await?,
        _ => confirm(db, &user, &key, &address, client).await?,
    };
    user_cache.invalidate(user.id);
    Ok(verified)
}

/// Spends a verification key of `user` for `address`, if that is still the account's
/// address, and marks it verified.
async fn confirm(
    db: &Db,
    user: &User,
    key: &str,
    address: &str,
    client: &Client,
) -> Result<Verified, AccountError> {
    let now = chrono::Utc::now().timestamp();
    let verified = Event::new(Kind::EmailVerified, Some(user.id), Some(client));
    let address_key = users::identity_key(address);
    let done: bool = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let spent: Option<(i64, Option<String>)> = sqlx::query_as(links::SPEND)
            .bind(links::hash_token(key))
            .bind(Purpose::VerifyEmail.as_str())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if spent.is_none_or(|(owner, _)| owner != user.id) {
            return Ok(false);
        }
        let marked = sqlx::query(
            "UPDATE users SET email_verified = TRUE WHERE id = $1 AND email_key = $2",
        )
        .bind(user.id)
        .bind(&address_key)
        .execute(&mut *tx)
        .await?;
        // The other links for this address have nothing left to do.
        sqlx::query(links::FORGET)
            .bind(user.id)
            .bind(Purpose::VerifyEmail.as_str())
            .execute(&mut *tx)
            .await?;
        let marked = marked.rows_affected() == 1;
        if marked {
            insert_event!(&mut *tx, &verified)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(marked)
    }
    .await)
    .map_err(DbError::Query)?;
    if !done {
        return Err(AccountError::LinkNotValid);
    }
    verified.log();
    Ok(Verified {
        user_id: user.id,
        email: address.to_owned(),
        changed: false,
    })
}

/// Spends a change key of `user` and makes `address` the account's verified address, if
/// no other account took it meanwhile.
async fn move_to(
    db: &Db,
    user: &User,
    key: &str,
    address: &str,
    client: &Client,
    mail: &MailContext<'_>,
) -> Result<Verified, AccountError> {
    let now = chrono::Utc::now().timestamp();
    let changed = Event::new(Kind::EmailChanged, Some(user.id), Some(client));
    let new_key = users::identity_key(address);
    let notice = match user.email.as_deref() {
        Some(old) => Some(
            EmailChanged {
                site_name: mail.site_name,
                username: &user.username,
                new_email: address,
                sign_in_url: &mail.url("/signin"),
            }
            .message(old)
            .map_err(|e| AccountError::Internal(e.into()))?,
        ),
        None => None,
    };
    #[derive(PartialEq)]
    enum Outcome {
        Moved,
        LinkGone,
        Taken,
    }
    let outcome = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let spent: Option<(i64, Option<String>)> = sqlx::query_as(links::SPEND)
            .bind(links::hash_token(key))
            .bind(Purpose::ChangeEmail.as_str())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if spent.is_none_or(|(owner, _)| owner != user.id) {
            return Ok(Outcome::LinkGone);
        }
        // Locks the row (PostgreSQL) so that a rename cannot interleave with the move.
        let Some((username_key, old_key)): Option<(String, Option<String>)> = sqlx::query_as(
            "UPDATE users SET username_key = username_key WHERE id = $1 \
             RETURNING username_key, email_key",
        )
        .bind(user.id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(Outcome::LinkGone);
        };
        // The old address's name is released unless the username still holds it.
        if let Some(old_key) = old_key.as_deref().filter(|k| *k != username_key) {
            sqlx::query("DELETE FROM login_names WHERE name_key = $1 AND user_id = $2")
                .bind(old_key)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        if new_key != username_key {
            let claimed = sqlx::query(
                "INSERT INTO login_names (name_key, user_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&new_key)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                return Ok(Outcome::Taken);
            }
        }
        let moved = sqlx::query(
            "UPDATE users SET email = $1, email_key = $2, email_verified = TRUE WHERE id = $3",
        )
        .bind(address)
        .bind(&new_key)
        .bind(user.id)
        .execute(&mut *tx)
        .await;
        match moved {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(Outcome::Taken),
            other => other?,
        };
        // Links mailed to the old address, or for another new one, are void now.
        sqlx::query(
            "DELETE FROM account_tokens WHERE user_id = $1 AND purpose IN ($2, $3, $4)",
        )
        .bind(user.id)
        .bind(Purpose::PasswordReset.as_str())
        .bind(Purpose::VerifyEmail.as_str())
        .bind(Purpose::ChangeEmail.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(notice) = &notice {
            enqueue_in!(&mut *tx, notice).await?;
        }
        insert_event!(&mut *tx, &changed)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Outcome::Moved)
    }
    .await)
    .map_err(DbError::Query)?;
    match outcome {
        Outcome::Moved => {
            changed.log();
            Ok(Verified {
                user_id: user.id,
                email: address.to_owned(),
                changed: true,
            })
        }
        Outcome::LinkGone => Err(AccountError::LinkNotValid),
        Outcome::Taken => Err(AccountError::invalid("key", ADDRESS_NOW_TAKEN)),
    }
}

/// Asks to move the signed-in `user` to a new address (`email` in `fields`, with the
/// account's `password` when it has one; an account without one needs its sign-in `sid`
/// to be within `REAUTH_MAX_AGE`; ASVS 3.7.1): the new address gets a link and becomes the
/// account's only when it is followed. The answer is the same
/// whether or not another account has the address; if one has, its owner is told instead.
///
/// Errors: [`AccountError::Invalid`] (address missing, malformed or already the account's;
/// wrong password), [`AccountError::RateLimited`] (per client IP and per address; password
/// guesses count against the account's sign-in budget), [`AccountError::MailUnavailable`],
/// [`AccountError::ReauthenticationRequired`].
#[allow(clippy::too_many_arguments)] // Each is a different service the use case needs.
pub async fn request_email_change(
    reauth: Reauth<'_>,
    mailer: &Mailer,
    client: &Client,
    user: &User,
    sid: &str,
    fields: &Fields,
    mail: MailContext<'_>,
) -> Result<String, AccountError> {
    let (db, passwords, limits) = (reauth.db, reauth.passwords, reauth.limits);
    let ip = client.ip;
    let mut errors = FieldErrors::new();
    let email = address_field(fields, &mut errors);
    let password = user
        .password_hash
        .is_some()
        .then(|| fields.text("password", Text::PASSWORD, &mut errors))
        .flatten();
    errors.into_result()?;
    let email = email.expect("present when there are no errors");
    let current_key = user.email.as_deref().map(users::identity_key);
    if current_key.as_deref() == Some(users::identity_key(&email).as_str()) {
        return Err(AccountError::invalid("email", SAME_ADDRESS));
    }
    if !mailer.is_enabled() {
        return Err(AccountError::MailUnavailable);
    }
    // Without a password to type, the sign-in itself must be recent (a fresh sign-in with
    // the provider).
    if user.password_hash.is_none() {
        reauth.confirm(user, sid, fields).await?;
    }
    if let Some(password) = password {
        limits.login_account(&LoginKey::Account(user.id)).await?;
        let verification = if password.len() > MAX_PASSWORD_BYTES {
            Verification::Invalid
        } else {
            passwords
                .verify(&password, user.password_hash.as_deref())
                .await?
        };
        if !matches!(verification, Verification::Valid { .. }) {
            return Err(AccountError::invalid("password", WRONG_PASSWORD));
        }
    }
    let budget = limits.email(ip, &email).await?;
    // The current address hears of the request first, whatever becomes of it (so its
    // inbox says nothing about whether the new address has an account), and a password
    // reset cancels the change.
    let notice = match user.email.as_deref() {
        Some(current) => Some(
            EmailChangeRequested {
                site_name: mail.site_name,
                username: &user.username,
                new_email: &email,
                reset_url: &mail.url("/password-reset"),
            }
            .message(current)
            .map_err(|e| AccountError::Internal(e.into()))?,
        ),
        None => None,
    };
    let requested = Event::new(Kind::EmailChangeRequested, Some(user.id), Some(client));
    with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        if let Some(notice) = &notice {
            enqueue_in!(&mut *tx, notice).await?;
        }
        insert_event!(&mut *tx, &requested)?;
        tx.commit().await
    }
    .await)
    .map_err(DbError::Query)?;
    requested.log();
    if budget == MailBudget::Allowed {
        if users::login_name_taken(db, &email, Some(user.id)).await? {
            tell_owner(db, &email, true, &mail).await?;
        } else {
            queue_link(db, user, &email, Purpose::ChangeEmail, &mail).await?;
        }
    }
    Ok(email)
}
