//! Security activity: an append-only record of what happened to each account (`audit_events`),
//! shown to its owner ("Recent security activity", `GET /api/auth/events/`) and written to
//! the log as structured lines (target `audit`; one JSON object each with `LOG_FORMAT=json`).
//!
//! An event that records a change is inserted in the same transaction as the change (with
//! [`insert_event!`]), so a change that rolls back leaves no event and a committed one never
//! lacks its event. Events that change nothing (a failed sign-in, a refused rate limit) are
//! written on their own ([`record`]). Nothing secret is ever recorded: no password, no
//! token, not even a typed username that matches no account (it may be a password typed in
//! the wrong box). Pruned after `AUDIT_RETENTION_DAYS`.

use chrono::{DateTime, TimeZone, Utc};

use crate::client::Client;
use crate::db::{with_db, with_db_write, Db, DbError};

/// What happened. Stored as [`Kind::as_str`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A sign-in started (detail: its method: `password`, `registration`, a provider id).
    SignedIn,
    /// A sign-in was refused (detail: the reason class: `bad_credentials`, `inactive`,
    /// `not_verified`).
    SignInFailed,
    /// A sign-in ended by signing out (logout, the browser's sign-out, or signing in again
    /// in the same browser).
    SignedOut,
    /// A sign-in was ended from another one ("Where you're signed in"); session_id: the
    /// sign-in ended.
    SignInEnded,
    /// Every other sign-in was ended at once (detail: how many).
    OtherSignInsEnded,
    /// A retired refresh token came back after the grace window: its sign-in was revoked.
    RefreshTokenReuse,
    /// A rate limit refused an attempt on the account (detail: which: `login`).
    RateLimited,
    /// The password was changed with the current one.
    PasswordChanged,
    /// The password was set from a mailed reset link.
    PasswordReset,
    /// The account's address was confirmed by a mailed link.
    EmailVerified,
    /// A move to another address was asked for (the new address must follow its link).
    EmailChangeRequested,
    /// The account moved to a new, confirmed address.
    EmailChanged,
    /// A social provider was linked (detail: the provider id).
    IdentityLinked,
    /// A social provider was unlinked (detail: the provider id).
    IdentityUnlinked,
    /// An administrator activated the account.
    AccountActivated,
    /// An administrator deactivated the account (every sign-in ended).
    AccountDeactivated,
    /// The account was deleted (by its owner, or by an administrator: the actor): the one
    /// event kept, with only the account's id and the time.
    AccountDeleted,
    /// An administrator changed the profile (detail: the fields changed, comma-separated).
    ProfileChanged,
    /// An administrator made the account staff.
    StaffGranted,
    /// An administrator took the staff flag away.
    StaffRevoked,
    /// An administrator sent a password-reset mail to the account's address.
    PasswordResetSent,
    /// An administrator ended every sign-in of the account (detail: how many).
    AllSignInsEnded,
    /// An administrator removed every second factor of the account (detail: how many).
    MfaReset,
    /// A second factor was switched on (detail: `totp` or `webauthn`).
    SecondFactorAdded,
    /// A second factor was removed (detail: `totp` or `webauthn`).
    SecondFactorRemoved,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesRegenerated,
    /// A recovery code was used to sign in (detail: how many are left).
    RecoveryCodeUsed,
}

impl Kind {
    /// The stored name: `signed_in`, `sign_in_failed`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignedIn => "signed_in",
            Kind::SignInFailed => "sign_in_failed",
            Kind::SignedOut => "signed_out",
            Kind::SignInEnded => "sign_in_ended",
            Kind::OtherSignInsEnded => "other_sign_ins_ended",
            Kind::RefreshTokenReuse => "refresh_token_reuse",
            Kind::RateLimited => "rate_limited",
            Kind::PasswordChanged => "password_changed",
            Kind::PasswordReset => "password_reset",
            Kind::EmailVerified => "email_verified",
            Kind::EmailChangeRequested => "email_change_requested",
            Kind::EmailChanged => "email_changed",
            Kind::IdentityLinked => "identity_linked",
            Kind::IdentityUnlinked => "identity_unlinked",
            Kind::AccountActivated => "account_activated",
            Kind::AccountDeactivated => "account_deactivated",
            Kind::AccountDeleted => "account_deleted",
            Kind::ProfileChanged => "profile_changed",
            Kind::StaffGranted => "staff_granted",
            Kind::StaffRevoked => "staff_revoked",
            Kind::PasswordResetSent => "password_reset_sent",
            Kind::AllSignInsEnded => "all_sign_ins_ended",
            Kind::MfaReset => "mfa_reset",
            Kind::SecondFactorAdded => "second_factor_added",
            Kind::SecondFactorRemoved => "second_factor_removed",
            Kind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Kind::RecoveryCodeUsed => "recovery_code_used",
        }
    }

    /// Every kind, in the order [`Kind`] declares them (the admin page's filter lists them).
    pub const ALL: [Kind; 27] = [
        Kind::SignedIn,
        Kind::SignInFailed,
        Kind::SignedOut,
        Kind::SignInEnded,
        Kind::OtherSignInsEnded,
        Kind::RefreshTokenReuse,
        Kind::RateLimited,
        Kind::PasswordChanged,
        Kind::PasswordReset,
        Kind::EmailVerified,
        Kind::EmailChangeRequested,
        Kind::EmailChanged,
        Kind::IdentityLinked,
        Kind::IdentityUnlinked,
        Kind::AccountActivated,
        Kind::AccountDeactivated,
        Kind::AccountDeleted,
        Kind::ProfileChanged,
        Kind::StaffGranted,
        Kind::StaffRevoked,
        Kind::PasswordResetSent,
        Kind::AllSignInsEnded,
        Kind::MfaReset,
        Kind::SecondFactorAdded,
        Kind::SecondFactorRemoved,
        Kind::RecoveryCodesRegenerated,
        Kind::RecoveryCodeUsed,
    ];

    /// The kind stored as `name`, if any.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// One event to record.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    /// What happened.
    pub kind: Kind,
    /// The account it happened to; `None` for a failed sign-in naming no account.
    pub user_id: Option<i64>,
    /// The sign-in it happened in (or ended).
    pub session_id: Option<&'a str>,
    /// A short class or name (see [`Kind`]); never a secret.
    pub detail: Option<String>,
    /// The request's client; `None` for what no request caused (an admin command).
    pub client: Option<&'a Client>,
    /// The administrator who did it (`/admin`); `None` when the owner or nobody did.
    pub actor_id: Option<i64>,
    /// When, Unix seconds.
    pub at: i64,
}

impl<'a> Event<'a> {
    /// A `kind` event on `user_id`'s account, now, by `client`.
    pub fn new(kind: Kind, user_id: Option<i64>, client: Option<&'a Client>) -> Event<'a> {
        Event {
            kind,
            user_id,
            session_id: None,
            detail: None,
            client,
            actor_id: None,
            at: Utc::now().timestamp(),
        }
    }

    /// The same event, done by the administrator `actor_id`.
    pub fn by(mut self, actor_id: i64) -> Event<'a> {
        self.actor_id = Some(actor_id);
        self
    }

    /// The same event, in (or about) sign-in `sid`.
    pub fn in_session(mut self, sid: &'a str) -> Event<'a> {
        // Empty for a simplejwt access token from before a move from Django: no sign-in.
        self.session_id = Some(sid).filter(|sid| !sid.is_empty());
        self
    }

    /// The same event, with `detail`.
    pub fn detail(mut self, detail: impl Into<String>) -> Event<'a> {
        self.detail = Some(detail.into());
        self
    }

    /// The client's address, as stored.
    pub fn ip(&self) -> Option<String> {
        self.client.map(|c| c.ip.to_string())
    }

    /// Writes the event's log line (after its transaction committed).
    pub fn log(&self) {
        crate::metrics::event(self);
        tracing::info!(
            target: "audit",
            kind = self.kind.as_str(),
            user_id = self.user_id,
            actor_id = self.actor_id,
            session_id = self.session_id,
            detail = self.detail.as_deref(),
            ip = self.ip(),
            user_agent = self.client.and_then(|c| c.user_agent.as_deref()),
            request_id = self.client.and_then(|c| c.request_id.as_deref()),
            "security event"
        );
    }
}

/// Inserts an [`Event`] with `$executor` (a transaction, inside [`with_db_write!`]), so it
/// commits or rolls back with the change it records. Evaluates to `Result<(), sqlx::Error>`.
macro_rules! insert_event {
    ($executor:expr, $event:expr) => {{
        let event: &$crate::audit::Event<'_> = $event;
        sqlx::query(
            "INSERT INTO audit_events \
             (at, user_id, kind, detail, ip, user_agent, session_id, request_id, actor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(event.at)
        .bind(event.user_id)
        .bind(event.kind.as_str())
        .bind(event.detail.as_deref())
        .bind(event.ip())
        .bind(event.client.and_then(|c| c.user_agent.clone()))
        .bind(event.session_id)
        .bind(event.client.and_then(|c| c.request_id.clone()))
        .bind(event.actor_id)
        .execute($executor)
        .await
        .map(drop)
    }};
}
pub(crate) use insert_event;

/// Records an event that changes nothing else (a failed sign-in, a refused attempt) and
/// logs it.
pub async fn record(db: &Db, event: &Event<'_>) -> Result<(), DbError> {
    with_db_write!(db, pool => insert_event!(pool, event))?;
    event.log();
    Ok(())
}

/// An event as its account's owner reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Increasing with time; the pagination cursor.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// [`Kind::as_str`].
    pub kind: String,
    /// See [`Kind`].
    pub detail: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client as people read it.
    pub user_agent: Option<String>,
    /// The sign-in it happened in (or ended).
    pub session_id: Option<String>,
    /// Whether a member of staff did it (`/admin`); `ip` and `user_agent` are then `None`:
    /// the administrator's are not the owner's to see.
    pub by_staff: bool,
}

/// The newest `limit` events of `user_id` older than event `before` (all when `None`),
/// newest first.
pub async fn events_of(
    db: &Db,
    user_id: i64,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Recorded>, DbError> {
    type Row = (
        i64,
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
    );
    let rows: Vec<Row> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, at, kind, detail, \
                    CASE WHEN actor_id IS NULL THEN ip END, \
                    CASE WHEN actor_id IS NULL THEN user_agent END, \
                    session_id, actor_id IS NOT NULL FROM audit_events \
             WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(user_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
    })?;
    Ok(rows
        .into_iter()
        .map(
            |(id, at, kind, detail, ip, user_agent, session_id, by_staff)| Recorded {
                id,
                at: Utc.timestamp_opt(at, 0).single().unwrap_or_default(),
                kind,
                detail,
                ip,
                user_agent,
                session_id,
                by_staff,
            },
        )
        .collect())
}

/// Deletes events older than `retention_days` days before `now` (Unix seconds); returns
/// how many.
pub async fn prune(db: &Db, now: i64, retention_days: u32) -> Result<u64, DbError> {
    let horizon = now - i64::from(retention_days) * 86_400;
    let deleted = with_db_write!(db, pool => {
        sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(horizon)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_distinct_names_and_parse_back() {
        let names: std::collections::HashSet<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("nothing"), None);
    }
}
