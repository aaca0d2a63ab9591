//! Recovering an account by mail: `POST /api/auth/password/reset/` and
//! `/password/reset/confirm/` (dj-rest-auth's views, contract section 10) and the
//! "Forgot password?" pages, with section 11's differences: every address gets the same
//! answer in the same time (the lookup and the mail happen after the answer), the token is
//! random, stored hashed, single-use and short-lived, and a reset signs the account out
//! everywhere.

use std::net::IpAddr;
use std::sync::Arc;

use crate::audit::{insert_event, Event, Kind};
use crate::auth::password::Passwords;
use crate::auth::rate_limit::{MailBudget, RateLimits};
use crate::auth::tokens::Tokens;
use crate::client::Client;
use crate::db::{with_db_write, Db, DbError};
use crate::input::{FieldErrors, Fields, Text};
use crate::mail::outbox::enqueue_in;
use crate::mail::templates::{in_words, PasswordReset};
use crate::mail::worker::Mailer;
use crate::user_cache::UserCache;
use crate::users::{self, User};

use super::links::{self, Purpose};
use super::password_change::{check_new_password, password_changed_notice};
use super::{rules, AccountError, MailContext};

/// The one answer to a bad `uid`/`token` pair, whatever was wrong with it (contract
/// section 11: Django's separate `uid` error reveals which user ids exist).
pub const INVALID_LINK: &str = "Invalid value";

/// dj-rest-auth's limit on each new password, in characters.
const NEW_PASSWORD_MAX_CHARS: usize = 128;

/// The `uid` of a reset link: the user's id in lowercase base36 (allauth's encoding, so
/// links keep their familiar shape); clients treat it as opaque.
pub fn uid_of(id: i64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = u64::try_from(id).unwrap_or(0);
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// The user id of a canonical `uid` (what [`uid_of`] writes, nothing else: no leading
/// zeros, no capitals, at most 13 digits).
fn parse_uid(uid: &str) -> Option<i64> {
    let canonical = !uid.is_empty()
        && uid.len() <= 13
        && !(uid.len() > 1 && uid.starts_with('0'))
        && uid
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if !canonical {
        return None;
    }
    i64::from_str_radix(uid, 36).ok().filter(|id| *id > 0)
}

/// The path of a reset link on this app (contract section 11: the frontend's
/// `/password-reset/confirm/{uid}/{token}/`).
pub fn reset_path(user_id: i64, token: &str) -> String {
    format!("/password-reset/confirm/{}/{token}/", uid_of(user_id))
}

/// The common part of a request that mails whatever address it names (reset, resend):
/// the address (required and valid), mail switched on, the client's budgets. `None` when
/// the address had its share of mail from all clients: the caller answers as usual and
/// sends nothing.
pub(crate) async fn accept_mail_request(
    limits: &RateLimits,
    mailer: &Mailer,
    ip: IpAddr,
    fields: &Fields,
    what: &str,
) -> Result<Option<String>, AccountError> {
    let mut errors = FieldErrors::new();
    let email = address_field(fields, &mut errors);
    errors.into_result()?;
    let email = email.expect("present when there are no errors");
    if !mailer.is_enabled() {
        return Err(AccountError::MailUnavailable);
    }
    if let MailBudget::AddressSpent(_) = limits.email(ip, &email).await? {
        tracing::info!(what, "the address's mail budget is spent; nothing sent");
        return Ok(None);
    }
    Ok(Some(email))
}

/// The field `email` of a request that mails an address: required, and an address.
pub(crate) fn address_field(fields: &Fields, errors: &mut FieldErrors) -> Option<String> {
    let email = fields.text("email", Text::REQUIRED, errors)?;
    if users::email_is_valid(&email) {
        Some(email)
    } else {
        errors.add("email", rules::INVALID_EMAIL);
        None
    }
}

/// Takes a reset request for `email` (from `fields`) and answers at once, the same way
/// for every address: the lookup, the token and the mail happen afterwards, off the
/// request, so neither the answer nor its timing says whether an account has the address.
/// Only an active account gets a mail, at its stored address; a new link ends the older
/// ones.
///
/// Errors: [`AccountError::Invalid`] (missing or malformed address),
/// [`AccountError::RateLimited`] (the client's budgets, per IP and per address:
/// `RATE_LIMIT_EMAIL_*`; an address that had its share from all clients gets the usual
/// answer and no mail),
/// [`AccountError::MailUnavailable`] (`EMAIL_URL=none`).
pub async fn request_password_reset(
    db: &Db,
    limits: &RateLimits,
    mailer: &Arc<Mailer>,
    ip: IpAddr,
    fields: &Fields,
    mail: MailContext<'_>,
) -> Result<(), AccountError> {
    let Some(email) = accept_mail_request(limits, mailer, ip, fields, "password reset").await?
    else {
        return Ok(());
    };
    let (db, mailer, mail) = (db.clone(), Arc::clone(mailer), mail.to_owned());
    tokio::spawn(async move {
        match send_reset_link(&db, &email, &mail.borrow()).await {
            Ok(true) => mailer.wake(),
            Ok(false) => {}
            Err(error) => tracing::error!(%error, "password reset: could not queue the link"),
        }
    });
    Ok(())
}

/// The part of a reset request that depends on the address: `Ok(true)` when a link was
/// queued.
async fn send_reset_link(
    db: &Db,
    email: &str,
    mail: &MailContext<'_>,
) -> Result<bool, AccountError> {
    let Some(user) = users::find_by_email(db, email)
        .await?
        .filter(|u| u.is_active)
    else {
        tracing::info!("password reset asked for an address without an active account");
        return Ok(false);
    };
    queue_reset_link(db, &user, mail, None).await
}

/// Queues a reset link to `user`'s address (ending older links), with `event` recorded in
/// the same transaction when given; `Ok(false)` when the account has no address.
pub(super) async fn queue_reset_link(
    db: &Db,
    user: &User,
    mail: &MailContext<'_>,
    event: Option<&Event<'_>>,
) -> Result<bool, AccountError> {
    let Some(address) = user.email.as_deref() else {
        return Ok(false);
    };
    let link = links::new_token();
    let reset_url = mail.url(&reset_path(user.id, &link.token));
    let message = PasswordReset {
        site_name: mail.site_name,
        username: &user.username,
        reset_url: &reset_url,
        valid_for: &in_words(mail.password_reset_timeout),
    }
    .message(address)
    .map_err(|e| AccountError::Internal(e.into()))?;
    let now = chrono::Utc::now().timestamp();
    let expires = now + i64::try_from(mail.password_reset_timeout.as_secs()).unwrap_or(3600);
    with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        // Locks the user's row (PostgreSQL), so that two requests at once cannot both
        // delete the older links and both insert theirs.
        sqlx::query("UPDATE users SET username_key = username_key WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        // A newer link ends the older ones: only the latest mail works.
        sqlx::query(links::FORGET)
            .bind(user.id)
            .bind(Purpose::PasswordReset.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(links::INSERT)
            .bind(&link.hash)
            .bind(user.id)
            .bind(Purpose::PasswordReset.as_str())
            .bind(None::<String>)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        enqueue_in!(&mut *tx, &message).await?;
        if let Some(event) = event {
            insert_event!(&mut *tx, event)?;
        }
        tx.commit().await
    }
    .await)
    .map_err(DbError::Query)?;
    if let Some(event) = event {
        event.log();
    }
    tracing::info!(user_id = user.id, "password reset link queued");
    Ok(true)
}

/// Whether `uid` and `token` make a live reset link; the page a link opens asks this, and
/// spends nothing (a mail scanner following links changes nothing).
pub async fn reset_link_is_live(db: &Db, uid: &str, token: &str) -> Result<bool, DbError> {
    Ok(live_link_user(db, uid, token).await?.is_some())
}

async fn live_link_user(db: &Db, uid: &str, token: &str) -> Result<Option<User>, DbError> {
    let Some(id) = parse_uid(uid) else {
        return Ok(None);
    };
    let Some(link) = links::peek(db, token, &[Purpose::PasswordReset]).await? else {
        return Ok(None);
    };
    if link.user_id != id {
        return Ok(None);
    }
    Ok(users::find_by_id(db, id).await?.filter(|u| u.is_active))
}

/// Sets a new password with a reset link's `uid` and `token` (from `fields`, with
/// `new_password1` and `new_password2`): checks in the contract's order (missing fields in
/// the order `new_password1, new_password2, uid, token`; then the pair, with one message
/// for anything wrong with it; then the passwords, under `new_password2`), then in one
/// transaction spends the token (and any other of the account's reset links, and a pending
/// address change), stores the
/// hash, ends every sign-in of the account (every token family, and with them every
/// browser session) and queues the "your password was changed" mail.
///
/// Errors: [`AccountError::Invalid`], [`AccountError::RateLimited`] (attempts per client
/// IP count against the sign-in budget: a link is a credential), [`AccountError::Internal`].
#[allow(clippy::too_many_arguments)] // Each is a different service the use case needs.
pub async fn reset_password(
    db: &Db,
    passwords: &Passwords,
    tokens: &Tokens,
    limits: &RateLimits,
    user_cache: &UserCache,
    client: &Client,
    fields: &Fields,
    mail: MailContext<'_>,
) -> Result<User, AccountError> {
    let ip = client.ip;
    let mut errors = FieldErrors::new();
    let new_rules = Text::PASSWORD.max(NEW_PASSWORD_MAX_CHARS);
    let new1 = fields.text("new_password1", new_rules, &mut errors);
    let new2 = fields.text("new_password2", new_rules, &mut errors);
    let uid = fields.text("uid", Text::REQUIRED, &mut errors);
    let token = fields.text("token", Text::REQUIRED, &mut errors);
    errors.into_result()?;
    let (Some(new1), Some(new2), Some(uid), Some(token)) = (new1, new2, uid, token) else {
        unreachable!("required fields are present when there are no errors");
    };
    limits.login_ip(ip).await?;
    let invalid_link = || AccountError::invalid("token", INVALID_LINK);
    let Some(user) = live_link_user(db, &uid, &token).await? else {
        return Err(invalid_link());
    };
    check_new_password(&new1, &new2, &user)?;
    let hash = passwords.hash(&new2).await?;
    let notice = password_changed_notice(&user, &mail)?;
    let now = chrono::Utc::now().timestamp();
    let token_hash = links::hash_token(&token);
    let reset = Event::new(Kind::PasswordReset, Some(user.id), Some(client));
    let outcome: Option<Vec<(String,)>> = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        // Spent here or not at all: of two requests with one link, one wins.
        let spent: Option<(i64, Option<String>)> = sqlx::query_as(links::SPEND)
            .bind(&token_hash)
            .bind(Purpose::PasswordReset.as_str())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        if spent.is_none_or(|(owner, _)| owner != user.id) {
            return Ok(None);
        }
        // The other reset links, and an address change someone asked for while signed in.
        sqlx::query(links::FORGET_CREDENTIAL_LINKS)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query_as(
            "UPDATE token_families SET revoked_at = $1, revoked_reason = 'password reset' \
             WHERE user_id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user.id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(crate::django_import::PASSWORD_SET_HERE)
            .bind(now)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        if let Some(notice) = &notice {
            enqueue_in!(&mut *tx, notice).await?;
        }
        insert_event!(&mut *tx, &reset)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(revoked))
    }
    .await)
    .map_err(DbError::Query)?;
    let Some(revoked) = outcome else {
        return Err(invalid_link());
    };
    for (sid,) in &revoked {
        tokens.revocations().insert(sid, now);
    }
    user_cache.invalidate(user.id);
    tracing::info!(user_id = user.id, ended = revoked.len(), "password reset");
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_canonical_base36() {
        assert_eq!(uid_of(1), "1");
        assert_eq!(uid_of(36), "10");
        assert_eq!(uid_of(i64::MAX), "1y2p0ij32e8e7");
        for id in [1, 35, 36, 1_000_000, i64::MAX] {
            assert_eq!(parse_uid(&uid_of(id)), Some(id));
        }
        for bad in [
            "",
            "0",
            "01",
            "A",
            "1Y",
            "-1",
            " 1",
            "1y2p0ij32e8e8",
            "zzzzzzzzzzzzzz",
            "é",
        ] {
            assert_eq!(parse_uid(bad), None, "{bad:?}");
        }
    }
}
