//! Changing one's password (`POST /api/auth/password/change/` and the profile page's
//! form): the current password is required (dj-rest-auth's `OLD_PASSWORD_FIELD_ENABLED`,
//! which its default leaves off: a stolen access token alone must not be able to change
//! it), every other sign-in of the account ends, and the account's address is told.

use crate::audit::{insert_event, Event, Kind};
use crate::auth::password::{Passwords, Verification, MAX_PASSWORD_BYTES};
use crate::auth::rate_limit::{LoginKey, RateLimits};
use crate::auth::tokens::Tokens;
use crate::client::Client;
use crate::db::{with_db, with_db_write, Db};
use crate::input::{FieldErrors, Fields, Text};
use crate::mail::outbox::enqueue_in;
use crate::mail::templates::PasswordChanged;
use crate::mail::Message;
use crate::user_cache::UserCache;
use crate::users::User;

use super::links;
use super::{rules, AccountError, MailContext};

/// Django's message for a wrong current password.
pub const WRONG_OLD_PASSWORD: &str =
    "Your old password was entered incorrectly. Please enter it again.";
/// Django's `SetPasswordForm` message (with its U+2019, unlike sign-up's).
pub const NEW_PASSWORDS_DIFFER: &str = "The two password fields didn\u{2019}t match.";
/// dj-rest-auth's `PasswordChangeSerializer` limit on each new password, in characters.
const NEW_PASSWORD_MAX_CHARS: usize = 128;

/// Checks `old_password`, `new_password1` and `new_password2` (in that order, with
/// Django's messages; a wrong old password hides any problem with the new ones; new-password
/// problems are reported under `new_password2`), then, in one transaction, stores the new
/// hash, revokes every token family of the user except `keep_sid` (the sign-in making the
/// change; empty for a simplejwt access token, which names none), ends the account's
/// password reset links and pending address change, and queues the "your password was
/// changed" mail. Guesses at the old password count against the account's sign-in budget.
///
/// Errors: [`AccountError::Invalid`], [`AccountError::RateLimited`],
/// [`AccountError::Internal`].
#[allow(clippy::too_many_arguments)] // Each is a different service the use case needs.
pub async fn change_password(
    db: &Db,
    passwords: &Passwords,
    tokens: &Tokens,
    limits: &RateLimits,
    user_cache: &UserCache,
    user: &User,
    keep_sid: &str,
    client: &Client,
    fields: &Fields,
    mail: MailContext<'_>,
) -> Result<(), AccountError> {
    let mut errors = FieldErrors::new();
    let old = fields.text("old_password", Text::PASSWORD, &mut errors);
    let new_rules = Text::PASSWORD.max(NEW_PASSWORD_MAX_CHARS);
    let new1 = fields.text("new_password1", new_rules, &mut errors);
    let new2 = fields.text("new_password2", new_rules, &mut errors);
    errors.into_result()?;
    let (Some(old), Some(new1), Some(new2)) = (old, new1, new2) else {
        unreachable!("required fields are present when there are no errors");
    };

    limits.login_account(&LoginKey::Account(user.id)).await?;
    // The stored hash as it is now, not a cached row: a change made a moment ago on
    // another instance must not be checkable against the password it replaced.
    let current_hash: Option<(Option<String>,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT password_hash FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_optional(pool)
            .await
    })
    .map_err(crate::db::DbError::Query)?;
    let current_hash = current_hash.ok_or(AccountError::NotFound)?.0;
    // As at sign-in, nobody gets to make the server hash megabytes.
    let verification = if old.len() > MAX_PASSWORD_BYTES {
        Verification::Invalid
    } else {
        passwords.verify(&old, current_hash.as_deref()).await?
    };
    if !matches!(verification, Verification::Valid { .. }) {
        return Err(AccountError::invalid("old_password", WRONG_OLD_PASSWORD));
    }
    check_new_password(&new1, &new2, user)?;
    let hash = passwords.hash(&new2).await?;
    let notice = password_changed_notice(user, &mail)?;
    let now = chrono::Utc::now().timestamp();
    let event = Event::new(Kind::PasswordChanged, Some(user.id), Some(client)).in_session(keep_sid);
    let outcome: Option<Vec<(String,)>> = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        // The sign-in making the change must still be live (it may have been ended a
        // moment ago elsewhere), and the hash must still be the one just verified: two
        // racing changes cannot both win.
        let live: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM token_families WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(keep_sid)
        .bind(user.id)
        .fetch_optional(&mut *tx)
        .await?;
        // (A simplejwt access token from before a move from Django names no sign-in
        // here: `keep_sid` is empty, and every sign-in ends.)
        if live.is_none() && !keep_sid.is_empty() {
            return Ok(None);
        }
        let changed = sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
        )
        .bind(&hash)
        .bind(user.id)
        .bind(current_hash.as_deref())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Ok(None);
        }
        // A reset link or an address change asked for before the change must not undo it.
        sqlx::query(links::FORGET_CREDENTIAL_LINKS)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query_as(
            "UPDATE token_families SET revoked_at = $1, revoked_reason = 'password changed' \
             WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(user.id)
        .bind(keep_sid)
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
        insert_event!(&mut *tx, &event)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(revoked))
    }
    .await)
    .map_err(crate::db::DbError::Query)?;
    // Lost a race, or signed out meanwhile: the old password no longer holds.
    let Some(revoked) = outcome else {
        return Err(AccountError::invalid("old_password", WRONG_OLD_PASSWORD));
    };
    event.log();
    for (sid,) in &revoked {
        tokens.revocations().insert(sid, now);
    }
    user_cache.invalidate(user.id);
    tracing::info!(user_id = user.id, ended = revoked.len(), "password changed");
    Ok(())
}

/// The new password's checks, shared by change and reset (Django's `SetPasswordForm`):
/// the two must match, then the password rules, every problem under `new_password2`.
pub(super) fn check_new_password(new1: &str, new2: &str, user: &User) -> Result<(), AccountError> {
    if new1 != new2 {
        return Err(AccountError::invalid("new_password2", NEW_PASSWORDS_DIFFER));
    }
    let mut problems = rules::password_problems_of(new2);
    problems.extend(rules::similarity(
        new2,
        &user.username,
        user.email.as_deref(),
    ));
    if problems.is_empty() {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    for problem in problems {
        errors.add("new_password2", problem);
    }
    Err(errors.into())
}

/// "Your password was changed", to the account's address (`None` without one).
pub(super) fn password_changed_notice(
    user: &User,
    mail: &MailContext<'_>,
) -> Result<Option<Message>, AccountError> {
    let Some(address) = &user.email else {
        return Ok(None);
    };
    PasswordChanged {
        site_name: mail.site_name,
        username: &user.username,
        reset_url: &mail.url("/password-reset"),
    }
    .message(address)
    .map(Some)
    .map_err(|e| AccountError::Internal(e.into()))
}
