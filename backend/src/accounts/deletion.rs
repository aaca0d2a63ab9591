//! Deleting an account, and the copy of its data its owner may download first (GDPR
//! Art. 15 and 20).

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::audit::{self, insert_event, Event, Kind};
use crate::auth::sign_ins::live_sign_ins;
use crate::auth::tokens::Tokens;
use crate::db::{with_db, with_db_write, Db, DbError};
use crate::input::{Fields, NON_FIELD_ERRORS};
use crate::user_cache::UserCache;
use crate::users::User;

use super::{AccountError, Reauth};

/// The refusal when the last active superuser would delete themselves.
pub const LAST_SUPERUSER: &str =
    "You are the last superuser: make another account a superuser before deleting this one.";

/// Deletes `user` and everything that belongs to them, asked for by their sign-in `sid`
/// (re-authenticated: `password` in `fields`, or a sign-in within `REAUTH_MAX_AGE`).
///
/// One transaction removes the user row and, with it, their sign-ins and refresh tokens,
/// linked identities, login names and mailed links (foreign keys), their security events
/// (but those recording what staff did to the account), and mail still addressed to them;
/// it leaves an `account_deleted` event that holds the account's id and the time, nothing
/// else. Every sign-in then stops working at once
/// here and within the revocation sync interval elsewhere. Browser sessions are sealed and
/// name nobody; those of this account find their sign-in gone and end.
///
/// Errors: those of [`Reauth::confirm`]; [`AccountError::Invalid`] with [`LAST_SUPERUSER`];
/// [`AccountError::NotFound`] when the account went meanwhile.
pub async fn delete_account(
    reauth: Reauth<'_>,
    tokens: &Tokens,
    user_cache: &UserCache,
    user: &User,
    sid: &str,
    fields: &Fields,
) -> Result<(), AccountError> {
    // Deleting is final: an account with a password types it, however recent the sign-in.
    if user.password_hash.is_some() && !super::password_typed(fields) {
        return Err(AccountError::invalid("password", "This field is required."));
    }
    reauth.confirm(user, sid, fields).await?;
    let tombstone = Event::new(Kind::AccountDeleted, Some(user.id), None);
    erase(reauth.db, tokens, user_cache, user.id, &tombstone).await
}

/// Deletes account `user_id` and everything that belongs to them in one transaction that
/// leaves `tombstone` (and the record of what staff did to the account), then refuses the
/// account's tokens here at once.
///
/// Errors: [`AccountError::Invalid`] with [`LAST_SUPERUSER`] when it is the last active
/// superuser; [`AccountError::NotFound`] when the account is gone.
pub(super) async fn erase(
    db: &Db,
    tokens: &Tokens,
    user_cache: &UserCache,
    user_id: i64,
    tombstone: &Event<'_>,
) -> Result<(), AccountError> {
    #[derive(PartialEq)]
    enum Outcome {
        Deleted(Vec<String>),
        LastSuperuser,
        Gone,
    }
    let outcome = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let superuser: Option<(bool,)> =
            sqlx::query_as("SELECT is_superuser FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        if superuser.is_some_and(|(s,)| s) {
            // Locks every superuser row first, so that two superusers deleting themselves
            // at once are counted one after the other (PostgreSQL's READ COMMITTED would
            // let each see the other; SQLite has one writer anyway).
            sqlx::query("UPDATE users SET is_superuser = is_superuser WHERE is_superuser")
                .execute(&mut *tx)
                .await?;
            let (others,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM users WHERE is_superuser AND is_active AND id <> $1",
            )
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Ok(Outcome::LastSuperuser);
            }
        }
        let live: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM token_families WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
        // Mail to the account's address, or to an address it was moving to.
        sqlx::query(
            "DELETE FROM mail_outbox WHERE recipient IN \
             (SELECT email FROM users WHERE id = $1 AND email IS NOT NULL \
              UNION SELECT email FROM account_tokens WHERE user_id = $1 AND email IS NOT NULL)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        // What staff did to the account stays on the record (it holds the staff's
        // doings, not the owner's data): who deactivated it, say, and who deleted it.
        sqlx::query("DELETE FROM audit_events WHERE user_id = $1 AND actor_id IS NULL")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() != 1 {
            return Ok(Outcome::Gone);
        }
        insert_event!(&mut *tx, tombstone)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Outcome::Deleted(live.into_iter().map(|(sid,)| sid).collect()))
    }
    .await)
    .map_err(DbError::Query)?;
    match outcome {
        Outcome::Deleted(sids) => {
            let now = Utc::now().timestamp();
            for sid in &sids {
                tokens.revocations().insert(sid, now);
            }
            user_cache.invalidate(user_id);
            tombstone.log();
            Ok(())
        }
        Outcome::LastSuperuser => Err(AccountError::invalid(NON_FIELD_ERRORS, LAST_SUPERUSER)),
        Outcome::Gone => Err(AccountError::NotFound),
    }
}

fn iso(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Everything the server holds about `user`, as one JSON document: the profile, linked
/// identities, live sign-ins and the whole security activity (times ISO-8601 UTC). No
/// secret is included (no password hash, no token).
pub async fn export_account(
    db: &Db,
    user: &User,
    idle_timeout_secs: Option<i64>,
) -> Result<Value, DbError> {
    let now = Utc::now();
    let identities: Vec<(String, String, Option<String>, i64)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT provider, subject, email, created_at FROM identities \
             WHERE user_id = $1 ORDER BY provider",
        )
        .bind(user.id)
        .fetch_all(pool)
        .await
    })?;
    let sign_ins = live_sign_ins(db, user.id, now.timestamp(), idle_timeout_secs).await?;
    let mut events = Vec::new();
    let mut before = None;
    loop {
        let page = audit::events_of(db, user.id, before, 500).await?;
        before = page.last().map(|e| e.id);
        let done = page.len() < 500;
        events.extend(page);
        if done {
            break;
        }
    }
    let at = |secs: i64| {
        chrono::TimeZone::timestamp_opt(&Utc, secs, 0)
            .single()
            .map(iso)
    };
    Ok(json!({
        "exported_at": iso(now),
        "user": {
            "pk": user.id,
            "username": user.username,
            "email": user.email,
            "email_verified": user.email_verified,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "has_password": user.password_hash.is_some(),
            "is_active": user.is_active,
            "is_staff": user.is_staff,
            "is_superuser": user.is_superuser,
            "date_joined": iso(user.date_joined),
            "last_login": user.last_login.map(iso),
        },
        "identities": identities.into_iter().map(|(provider, subject, email, created_at)| json!({
            "provider": provider,
            "subject": subject,
            "email": email,
            "linked_at": at(created_at),
        })).collect::<Vec<_>>(),
        "sign_ins": sign_ins.into_iter().map(|s| json!({
            "id": s.id,
            "created_at": iso(s.created_at),
            "last_used_at": iso(s.last_used_at),
            "method": s.method,
            "channel": s.channel,
            "user_agent": s.user_agent,
            "ip": s.ip,
            "created_ip": s.created_ip,
        })).collect::<Vec<_>>(),
        "security_activity": events.into_iter().map(|e| json!({
            "kind": e.kind,
            "at": iso(e.at),
            "ip": e.ip,
            "user_agent": e.user_agent,
            "session_id": e.session_id,
            "detail": e.detail,
        })).collect::<Vec<_>>(),
    }))
}
