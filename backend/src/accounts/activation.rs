//! Deactivating and reactivating an account (the admin commands).

use chrono::Utc;

use crate::auth::tokens::revoke_all_families;
use crate::db::{with_db_write, Db, DbError};
use crate::users;

/// Lets the user `username` (case-insensitive) sign in again (`active`), or stops them and
/// ends every sign-in they have: their refresh tokens stop at once, their access tokens on
/// every running instance within its revocation sync interval, and its mailed links are
/// deleted. `None` when no such user.
pub async fn set_active(db: &Db, username: &str, active: bool) -> Result<Option<i64>, DbError> {
    let Some(id) = users::set_active(db, username, active).await? else {
        return Ok(None);
    };
    if !active {
        revoke_all_families(db, id, "deactivated", Utc::now().timestamp()).await?;
        // Mailed links die too: a reactivated account starts with none.
        with_db_write!(db, pool => {
            sqlx::query(super::links::FORGET_EVERY)
                .bind(id)
                .execute(pool)
                .await
                .map(drop)
        })?;
    }
    Ok(Some(id))
}
