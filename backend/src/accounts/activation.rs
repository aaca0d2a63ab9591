//! Deactivating and reactivating an account (the admin commands).

use chrono::Utc;

use crate::audit::{insert_event, Event, Kind};
use crate::db::{with_db_write, Db, DbError};
use crate::users;

/// Lets the user `username` (case-insensitive) sign in again (`active`), or stops them and
/// ends every sign-in they have: their refresh tokens stop at once, their access tokens on
/// every running instance within its revocation sync interval, and its mailed links are
/// deleted. All in one transaction with the audit event (`account_activated` /
/// `account_deactivated`). `None` when no such user.
pub async fn set_active(db: &Db, username: &str, active: bool) -> Result<Option<i64>, DbError> {
    let key = users::identity_key(username);
    let now = Utc::now().timestamp();
    let kind = if active {
        Kind::AccountActivated
    } else {
        Kind::AccountDeactivated
    };
    let event = |id| Event::new(kind, Some(id), None).detail("admin command");
    let id = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let row: Option<(i64,)> =
            sqlx::query_as("UPDATE users SET is_active = $1 WHERE username_key = $2 RETURNING id")
                .bind(active)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((id,)) = row else {
            return Ok(None);
        };
        if !active {
            sqlx::query(
                "UPDATE token_families SET revoked_at = $1, revoked_reason = 'deactivated' \
                 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
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
        insert_event!(&mut *tx, &event(id))?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Some(id))
    }
    .await)?;
    if let Some(id) = id {
        event(id).log();
    }
    Ok(id)
}
