//! Deactivating and reactivating an account (the admin commands and `/admin`).

use chrono::Utc;

use crate::audit::{insert_event, Event, Kind};
use crate::db::{with_db_write, Db, DbError};
use crate::users;

/// Lets the user `username` (case-insensitive) sign in again (`active`), or stops them and
/// ends every sign-in they have: their refresh tokens stop at once, their access tokens on
/// every running instance within its revocation sync interval, and its mailed links are
/// deleted. All in one transaction with the audit event (`account_activated` /
/// `account_deactivated`); nothing when the flag already had that value. `None` when no
/// such user.
pub async fn set_active(db: &Db, username: &str, active: bool) -> Result<Option<i64>, DbError> {
    let Some(user) = users::find_by_username(db, username).await? else {
        return Ok(None);
    };
    let event = Event::new(kind(active), Some(user.id), None).detail("admin command");
    Ok(match change_active(db, user.id, active, &event).await? {
        Changed::NoAccount => None,
        Changed::Yes(_) | Changed::Already => Some(user.id),
    })
}

/// What [`change_active`] did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Changed {
    /// The flag changed; these sign-ins were ended (deactivation).
    Yes(Vec<String>),
    /// The flag already had that value: nothing was written, no event recorded.
    Already,
    /// There is no such account.
    NoAccount,
}

fn kind(active: bool) -> Kind {
    if active {
        Kind::AccountActivated
    } else {
        Kind::AccountDeactivated
    }
}

/// Sets `is_active` of user `id` and records `event` with it, unless it already has that
/// value (a second click records nothing); says which sign-ins were ended, so the caller
/// can refuse their tokens at once.
pub(super) async fn change_active(
    db: &Db,
    id: i64,
    active: bool,
    event: &Event<'_>,
) -> Result<Changed, DbError> {
    let now = Utc::now().timestamp();
    let changed = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE users SET is_active = $1 WHERE id = $2 AND is_active <> $1 RETURNING id",
        )
        .bind(active)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_none() {
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return Ok(if exists.is_some() {
                Changed::Already
            } else {
                Changed::NoAccount
            });
        }
        let mut ended = Vec::new();
        if !active {
            let revoked: Vec<(String,)> = sqlx::query_as(
                "UPDATE token_families SET revoked_at = $1, revoked_reason = 'deactivated' \
                 WHERE user_id = $2 AND revoked_at IS NULL RETURNING id",
            )
            .bind(now)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            ended = revoked.into_iter().map(|(sid,)| sid).collect();
            sqlx::query(crate::auth::tokens::legacy::END_TOKENS)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // Mailed links die too: a reactivated account starts with none.
            sqlx::query(super::links::FORGET_EVERY)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        insert_event!(&mut *tx, event)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Changed::Yes(ended))
    }
    .await)?;
    if matches!(changed, Changed::Yes(_)) {
        event.log();
    }
    Ok(changed)
}
