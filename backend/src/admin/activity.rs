//! Security activity across every account, for staff: the newest events with filters, and
//! the hourly count of failed sign-ins and rate-limit refusals over the last day ("who is
//! trying passwords on our accounts?").

use chrono::{DateTime, TimeZone, Utc};

use crate::audit::Kind;
use crate::auth::refusal_counts::RefusalCounts;
use crate::db::{with_db, Db, DbError};

/// How many events one page shows.
pub const PAGE_SIZE: u32 = 50;

/// The filters of the activity page; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events of this kind.
    pub kind: Option<Kind>,
    /// Only events of this account.
    pub user_id: Option<i64>,
    /// Only events from this address (as stored: the text form of the IP).
    pub ip: Option<String>,
    /// Only events older than this event id (the next page).
    pub before: Option<i64>,
    /// Rows per page (1 to 500).
    pub limit: u32,
}

/// An event as staff read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffEvent {
    /// Increasing with time; the pagination cursor.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// [`Kind::as_str`].
    pub kind: String,
    /// See [`Kind`].
    pub detail: Option<String>,
    /// The account; `None` for a failed sign-in naming no account.
    pub user_id: Option<i64>,
    /// The account's username, when it still exists.
    pub username: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// The client as people read it.
    pub user_agent: Option<String>,
    /// The administrator who did it, when one did: id and (if the account still exists)
    /// username.
    pub actor: Option<(i64, Option<String>)>,
}

/// A page of events, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPage {
    /// The events.
    pub events: Vec<StaffEvent>,
    /// The `before` of the next (older) page; `None` on the last one.
    pub older: Option<i64>,
}

/// The newest events matching `query`. Each filter has its index (`audit_events_kind`,
/// `audit_events_user`, `audit_events_ip`), so a page reads about `limit` rows.
pub async fn events(db: &Db, query: &EventQuery) -> Result<EventPage, DbError> {
    let limit = query.limit.clamp(1, 500);
    let mut conditions = vec!["e.id < $1".to_owned()];
    let mut next = 2;
    for (present, column) in [
        (query.kind.is_some(), "e.kind"),
        (query.user_id.is_some(), "e.user_id"),
        (query.ip.is_some(), "e.ip"),
    ] {
        if present {
            conditions.push(format!("{column} = ${next}"));
            next += 1;
        }
    }
    let sql = format!(
        "SELECT e.id, e.at, e.kind, e.detail, e.user_id, u.username, e.ip, e.user_agent, \
         e.actor_id, a.username \
         FROM audit_events e \
         LEFT JOIN users u ON u.id = e.user_id \
         LEFT JOIN users a ON a.id = e.actor_id \
         WHERE {} ORDER BY e.id DESC LIMIT {}",
        conditions.join(" AND "),
        limit + 1
    );
    type Row = (
        i64,
        i64,
        String,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = with_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Row>(&sql).bind(query.before.unwrap_or(i64::MAX));
        if let Some(kind) = query.kind {
            q = q.bind(kind.as_str());
        }
        if let Some(user_id) = query.user_id {
            q = q.bind(user_id);
        }
        if let Some(ip) = &query.ip {
            q = q.bind(ip.as_str());
        }
        q.fetch_all(pool).await
    })?;
    let more = rows.len() > limit as usize;
    let mut events: Vec<StaffEvent> = rows
        .into_iter()
        .map(|r| StaffEvent {
            id: r.0,
            at: Utc.timestamp_opt(r.1, 0).single().unwrap_or_default(),
            kind: r.2,
            detail: r.3,
            user_id: r.4,
            username: r.5,
            ip: r.6,
            user_agent: r.7,
            actor: r.8.map(|id| (id, r.9)),
        })
        .collect();
    events.truncate(limit as usize);
    Ok(EventPage {
        older: more.then(|| events.last().map(|e| e.id)).flatten(),
        events,
    })
}

/// Failed sign-ins and rate-limit refusals in one hour.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct HourCount {
    /// The hour's start, Unix seconds (a multiple of 3,600).
    pub hour: i64,
    /// `sign_in_failed` events (wrong passwords, deactivated or unverified accounts, wrong
    /// re-authentication passwords; names that are no account's included).
    pub failed_sign_ins: u64,
    /// Requests any rate limit refused (every one: [`RefusalCounts`]).
    pub rate_limited: u64,
}

/// The 24 whole hours up to the one holding `now` (Unix seconds), oldest first, each with
/// its counts (zero for a quiet hour): one range scan of `audit_events_at` and one of
/// `rate_limit_hours`.
pub async fn last_day(
    db: &Db,
    refusals: &RefusalCounts,
    now: i64,
) -> Result<Vec<HourCount>, DbError> {
    let current = now - now.rem_euclid(3_600);
    let first = current - 23 * 3_600;
    let failed: Vec<(i64, i64)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT (at - $1) / 3600, COUNT(*) FROM audit_events \
             WHERE at >= $1 AND at < $2 AND kind = 'sign_in_failed' \
             GROUP BY (at - $1) / 3600",
        )
        .bind(first)
        .bind(current + 3_600)
        .fetch_all(pool)
        .await
    })?;
    let limited = refusals.hourly(db, first, 24).await?;
    let mut hours: Vec<HourCount> = limited
        .into_iter()
        .zip(0..)
        .map(|(rate_limited, i)| HourCount {
            hour: first + i * 3_600,
            failed_sign_ins: 0,
            rate_limited,
        })
        .collect();
    for (slot, count) in failed {
        if let Some(hour) = usize::try_from(slot).ok().and_then(|i| hours.get_mut(i)) {
            hour.failed_sign_ins = u64::try_from(count).unwrap_or(0);
        }
    }
    Ok(hours)
}
