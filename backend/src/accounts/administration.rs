//! What staff do to other people's accounts from `/admin`: every action is recorded as a
//! security event on the account, naming the administrator (`actor_id`), in the same
//! transaction as the change.
//!
//! Who may do what (Django's admin draws the same line): staff (`is_staff`) read everything,
//! end sign-ins and send a password-reset mail (to accounts that are not staff themselves);
//! the changes that take something away or grant power (edit the profile, deactivate or
//! activate, make or remove staff, reset the second factors, delete) need a superuser. Nobody does these to their own account here:
//! the profile page is for that, and it keeps an administrator from locking themselves out
//! mid-action. The transport confirms the administrator's identity first (re-authentication,
//! ASVS 3.7.1).

use crate::audit::{insert_event, Event, Kind};
use crate::auth::rate_limit::{MailBudget, RateLimits};
use crate::auth::tokens::{EndSignInError, Tokens};
use crate::client::Client;
use crate::db::{with_db_write, Db, DbError};
use crate::input::{Fields, NON_FIELD_ERRORS};
use crate::mail::worker::Mailer;
use crate::user_cache::UserCache;
use crate::users::{self, User};

use super::activation::{self, Changed};
use super::{deletion, password_reset, profile, AccountError, MailContext};

/// The refusal of a superuser's action to a member of staff.
pub const SUPERUSERS_ONLY: &str = "Only a superuser can do this.";

/// The refusal of staff acting on another member of staff.
pub const SUPERUSERS_ONLY_FOR_STAFF: &str = "Only a superuser can do this to a member of staff.";

/// The refusal of an action on one's own account.
pub const NOT_ON_YOURSELF: &str =
    "You cannot do this to your own account here: use your profile page.";

/// A member of staff acting from `/admin`, and the request they act through.
#[derive(Clone, Copy, Debug)]
pub struct Staff<'a> {
    user: &'a User,
    client: &'a Client,
}

impl<'a> Staff<'a> {
    /// `user` as staff, when they are an active member of staff.
    pub fn new(user: &'a User, client: &'a Client) -> Option<Staff<'a>> {
        (user.is_active && user.is_staff).then_some(Staff { user, client })
    }

    /// A `kind` event on `target`, by this administrator.
    fn event(&self, kind: Kind, target: i64) -> Event<'a> {
        Event::new(kind, Some(target), Some(self.client)).by(self.user.id)
    }

    /// Ok for a superuser acting on someone else.
    fn superuser_on(&self, target: i64) -> Result<(), AccountError> {
        if !self.user.is_superuser {
            return Err(AccountError::invalid(NON_FIELD_ERRORS, SUPERUSERS_ONLY));
        }
        self.not_on_self(target)
    }

    fn not_on_self(&self, target: i64) -> Result<(), AccountError> {
        if target == self.user.id {
            return Err(AccountError::invalid(NON_FIELD_ERRORS, NOT_ON_YOURSELF));
        }
        Ok(())
    }

    /// Ok for staff's own actions on someone else: on another member of staff (or a
    /// superuser) only a superuser may act, so staff cannot sign their seniors out or keep
    /// mailing them reset links.
    fn staff_on(&self, target: &User) -> Result<(), AccountError> {
        self.not_on_self(target.id)?;
        if (target.is_staff || target.is_superuser) && !self.user.is_superuser {
            return Err(AccountError::invalid(
                NON_FIELD_ERRORS,
                SUPERUSERS_ONLY_FOR_STAFF,
            ));
        }
        Ok(())
    }
}

/// Deactivates (every sign-in ended at once, tokens refused here at once and on other
/// instances within the revocation sync interval, mailed links deleted) or reactivates
/// account `target`. Superusers only. Records `account_deactivated` / `account_activated`;
/// returns whether anything changed (a second click changes and records nothing).
///
/// Errors: [`AccountError::Invalid`] ([`SUPERUSERS_ONLY`], [`NOT_ON_YOURSELF`]),
/// [`AccountError::NotFound`], [`AccountError::Internal`].
pub async fn set_active(
    db: &Db,
    tokens: &Tokens,
    user_cache: &UserCache,
    staff: Staff<'_>,
    target: i64,
    active: bool,
) -> Result<bool, AccountError> {
    staff.superuser_on(target)?;
    let kind = if active {
        Kind::AccountActivated
    } else {
        Kind::AccountDeactivated
    };
    let event = staff.event(kind, target);
    match activation::change_active(db, target, active, &event).await? {
        Changed::Yes(ended) => {
            let now = chrono::Utc::now().timestamp();
            for sid in &ended {
                tokens.revocations().insert(sid, now);
            }
            user_cache.invalidate(target);
            Ok(true)
        }
        Changed::Already => Ok(false),
        Changed::NoAccount => Err(AccountError::NotFound),
    }
}

/// Makes account `target` staff (`staff`) or takes the flag away. Superusers only.
/// Records `staff_granted` / `staff_revoked`; nothing when the flag already is `staff`.
/// Returns whether it changed.
///
/// Errors: as [`set_active`].
pub async fn set_staff(
    db: &Db,
    user_cache: &UserCache,
    staff: Staff<'_>,
    target: i64,
    make_staff: bool,
) -> Result<bool, AccountError> {
    staff.superuser_on(target)?;
    let kind = if make_staff {
        Kind::StaffGranted
    } else {
        Kind::StaffRevoked
    };
    let event = staff.event(kind, target);
    let changed = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        // One statement decides, so two clicks (or two administrators) record one event.
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE users SET is_staff = $1 WHERE id = $2 AND is_staff <> $1 RETURNING id",
        )
        .bind(make_staff)
        .bind(target)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_none() {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
                .bind(target)
                .fetch_optional(&mut *tx)
                .await?;
            return Ok(exists.map(|_| false));
        }
        insert_event!(&mut *tx, &event)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(true))
    }
    .await)
    .map_err(DbError::Query)?
    .ok_or(AccountError::NotFound)?;
    if changed {
        event.log();
        user_cache.invalidate(target);
    }
    Ok(changed)
}

/// Edits `target`'s `username`, `first_name` and `last_name` with the rules of the
/// profile page and the API (all optional). Superusers only. Records `profile_changed`
/// (detail: the fields that changed); nothing when nothing changed. Returns the fields
/// that changed.
///
/// Errors: as [`set_active`], and the profile's field errors.
pub async fn edit_profile(
    db: &Db,
    user_cache: &UserCache,
    staff: Staff<'_>,
    target: &User,
    fields: &Fields,
) -> Result<Vec<&'static str>, AccountError> {
    staff.superuser_on(target.id)?;
    let change = profile::checked_change(db, target.id, fields, true).await?;
    let changed: Vec<&'static str> = [
        ("username", change.username.as_deref(), &target.username),
        (
            "first_name",
            change.first_name.as_deref(),
            &target.first_name,
        ),
        ("last_name", change.last_name.as_deref(), &target.last_name),
    ]
    .into_iter()
    .filter(|(_, new, old)| new.is_some_and(|new| new != old.as_str()))
    .map(|(field, _, _)| field)
    .collect();
    if changed.is_empty() {
        return Ok(changed);
    }
    let event = staff
        .event(Kind::ProfileChanged, target.id)
        .detail(changed.join(","));
    users::update_profile(db, target.id, change.as_change(), Some(&event))
        .await?
        .ok_or(AccountError::NotFound)?;
    user_cache.invalidate(target.id);
    Ok(changed)
}

/// Mails `target` a password-reset link (ending older links), as a member of staff asked.
/// Records `password_reset_sent`.
///
/// Errors: [`AccountError::Invalid`] when the account is deactivated or has no address, or
/// is the administrator's own, or is staff and the administrator no superuser;
/// [`AccountError::RateLimited`] (the address's mail budget);
/// [`AccountError::MailUnavailable`] (`EMAIL_URL=none`); [`AccountError::Internal`].
pub async fn send_password_reset(
    db: &Db,
    limits: &RateLimits,
    mailer: &Mailer,
    staff: Staff<'_>,
    target: &User,
    mail: MailContext<'_>,
) -> Result<(), AccountError> {
    staff.staff_on(target)?;
    if !mailer.is_enabled() {
        return Err(AccountError::MailUnavailable);
    }
    // The address's mail budget (`RATE_LIMIT_EMAIL_*`), as for "Forgot your password?":
    // nobody floods an inbox, staff included.
    if let Some(address) = target.email.as_deref() {
        if let MailBudget::AddressSpent(limited) = limits.email(staff.client.ip, address).await? {
            return Err(limited.into());
        }
    }
    if !target.is_active {
        return Err(AccountError::invalid(
            NON_FIELD_ERRORS,
            "The account is deactivated: activate it first.",
        ));
    }
    let event = staff.event(Kind::PasswordResetSent, target.id);
    if !password_reset::queue_reset_link(db, target, &mail, Some(&event)).await? {
        return Err(AccountError::invalid(
            NON_FIELD_ERRORS,
            "The account has no e-mail address to send a link to.",
        ));
    }
    mailer.wake();
    Ok(())
}

/// Ends `target`'s sign-in `sid` (its browser is signed out on its next page). Records
/// `sign_in_ended` by the administrator.
///
/// Errors: [`AccountError::NotFound`] when that sign-in is not live;
/// [`AccountError::Invalid`] as for [`send_password_reset`]; [`AccountError::Internal`].
pub async fn end_sign_in(
    tokens: &Tokens,
    staff: Staff<'_>,
    target: &User,
    sid: &str,
) -> Result<(), AccountError> {
    staff.staff_on(target)?;
    match tokens
        .end_sign_in(target.id, sid, staff.client, Some(staff.user.id))
        .await
    {
        Ok(()) => Ok(()),
        Err(EndSignInError::NotFound) => Err(AccountError::NotFound),
        Err(EndSignInError::Db(error)) => Err(error.into()),
    }
}

/// Ends every sign-in of `target`; returns how many. Records `all_sign_ins_ended`.
///
/// Errors: [`AccountError::Invalid`] ([`NOT_ON_YOURSELF`]: "Sign out" and "Sign out
/// everywhere else" are on the profile; [`SUPERUSERS_ONLY_FOR_STAFF`]),
/// [`AccountError::Internal`].
pub async fn end_all_sign_ins(
    tokens: &Tokens,
    staff: Staff<'_>,
    target: &User,
) -> Result<usize, AccountError> {
    staff.staff_on(target)?;
    Ok(tokens
        .end_all_sign_ins(target.id, staff.client, staff.user.id)
        .await?)
}

/// Removes every second factor of `target` (TOTP, recovery codes, passkeys), so that they
/// can sign in with the password alone and set them up again. Superusers only. Records
/// `mfa_reset` (detail: how many were removed); returns how many.
///
/// Errors: as [`set_active`].
pub async fn reset_second_factors(
    db: &Db,
    staff: Staff<'_>,
    target: i64,
) -> Result<u64, AccountError> {
    staff.superuser_on(target)?;
    super::second_factor::reset(db, target, staff.event(Kind::MfaReset, target)).await
}

/// Deletes account `target` as its owner's deletion does (everything goes but an
/// `account_deleted` tombstone, which here names the administrator). Superusers only.
///
/// Errors: as [`set_active`], and the last-superuser refusal.
pub async fn delete_account(
    db: &Db,
    tokens: &Tokens,
    user_cache: &UserCache,
    staff: Staff<'_>,
    target: i64,
) -> Result<(), AccountError> {
    staff.superuser_on(target)?;
    // The tombstone keeps only the account's id, the time and who deleted it: no address.
    let mut tombstone = Event::new(Kind::AccountDeleted, Some(target), None);
    tombstone.actor_id = Some(staff.user.id);
    deletion::erase(db, tokens, user_cache, target, &tombstone).await
}
