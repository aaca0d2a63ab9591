//! One account as staff see it on `/admin/users/{id}`.

use chrono::{DateTime, TimeZone, Utc};

use super::activity::{self, EventQuery, StaffEvent};
use crate::auth::sign_ins::{self, SignIn};
use crate::db::{with_db, Db, DbError};
use crate::users::{self, User};

/// How many of the account's events the page shows.
pub const RECENT_EVENTS: u32 = 20;

/// A linked social provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIdentity {
    /// The provider's id (`google`, `github`, ...).
    pub provider: String,
    /// What the provider said the address was when it was linked.
    pub email: Option<String>,
    /// When it was linked.
    pub linked_at: DateTime<Utc>,
}

/// A second factor (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factor {
    /// `totp`, `recovery_codes` or `webauthn` (allauth.mfa's types).
    pub kind: String,
    /// When it was set up.
    pub created_at: DateTime<Utc>,
    /// When it was last used; `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Everything `/admin/users/{id}` shows.
#[derive(Clone, Debug)]
pub struct Account {
    /// The account's row.
    pub user: User,
    /// Linked social providers, by provider id.
    pub identities: Vec<LinkedIdentity>,
    /// Live sign-ins, most recently used first.
    pub sign_ins: Vec<SignIn>,
    /// Second factors, oldest first.
    pub factors: Vec<Factor>,
    /// The newest [`RECENT_EVENTS`] security events.
    pub activity: Vec<StaffEvent>,
    /// The address the account is moving to, while its mailed link is live.
    pub pending_email: Option<String>,
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// Account `id` at `now` (Unix seconds; sign-ins idle for `idle_timeout_secs` no longer
/// count as live); `None` when there is no such account.
pub async fn account(
    db: &Db,
    id: i64,
    now: i64,
    idle_timeout_secs: Option<i64>,
) -> Result<Option<Account>, DbError> {
    let Some(user) = users::find_by_id(db, id).await? else {
        return Ok(None);
    };
    let events = EventQuery {
        user_id: Some(id),
        limit: RECENT_EVENTS,
        ..EventQuery::default()
    };
    let (identities, sign_ins, factors, activity, pending_email) = tokio::try_join!(
        async {
            let rows: Vec<(String, Option<String>, i64)> = with_db!(db, pool => {
                sqlx::query_as(
                    "SELECT provider, email, created_at FROM identities WHERE user_id = $1 \
                     ORDER BY provider",
                )
                .bind(id)
                .fetch_all(pool)
                .await
            })?;
            Ok::<_, DbError>(
                rows.into_iter()
                    .map(|(provider, email, created)| LinkedIdentity {
                        provider,
                        email,
                        linked_at: at(created),
                    })
                    .collect::<Vec<_>>(),
            )
        },
        sign_ins::live_sign_ins(db, id, now, idle_timeout_secs),
        async {
            let rows: Vec<(String, i64, Option<i64>)> = with_db!(db, pool => {
                sqlx::query_as(
                    "SELECT type, created_at, last_used_at FROM mfa_authenticators \
                     WHERE user_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(pool)
                .await
            })?;
            Ok::<_, DbError>(
                rows.into_iter()
                    .map(|(kind, created, used)| Factor {
                        kind,
                        created_at: at(created),
                        last_used_at: used.map(at),
                    })
                    .collect::<Vec<_>>(),
            )
        },
        activity::events(db, &events),
        async {
            let row: Option<(Option<String>,)> = with_db!(db, pool => {
                sqlx::query_as(
                    "SELECT email FROM account_tokens WHERE user_id = $1 \
                     AND purpose = 'change_email' AND expires_at > $2 \
                     ORDER BY created_at DESC LIMIT 1",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(pool)
                .await
            })?;
            Ok::<_, DbError>(row.and_then(|(email,)| email))
        },
    )?;
    Ok(Some(Account {
        user,
        identities,
        sign_ins,
        factors,
        activity: activity.events,
        pending_email,
    }))
}
