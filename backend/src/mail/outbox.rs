//! The `mail_outbox` table: messages waiting for delivery, written in the same transaction
//! as the change that caused them (so a change is never without its mail, nor a mail
//! without its change), claimed by one worker at a time, retried with backoff, and marked
//! dead after the last attempt. Delivered rows lose their bodies at once (they may hold
//! links) and are deleted after a day, as are dead ones.

use chrono::Utc;

use super::Message;
use crate::db::{with_db_write, Db, DbError};

/// Deliveries tried before a message is marked dead.
pub const MAX_ATTEMPTS: i32 = 12;

/// How long a claim lasts, in seconds: a worker that dies mid-delivery leaves its messages
/// to another after this long.
const LEASE_SECS: i64 = 120;

/// Delivered messages' rows are kept this long (seconds), without their bodies.
const RETENTION_SECS: i64 = 86_400;

/// The statement that queues a message. Bind, in order: recipient, subject, text part,
/// HTML part, now (Unix seconds). For a caller's own transaction; see [`enqueue_in`].
pub const ENQUEUE: &str = "INSERT INTO mail_outbox \
     (recipient, subject, text_body, html_body, created_at, next_attempt_at) \
     VALUES ($1, $2, $3, $4, $5, $5)";

/// Queues `$message` (a [`Message`]) through `$executor` (a transaction), with the
/// change that caused it: `enqueue_in!(&mut *tx, &message).await?`.
macro_rules! enqueue_in {
    ($executor:expr, $message:expr) => {{
        let message: &$crate::mail::Message = $message;
        sqlx::query($crate::mail::outbox::ENQUEUE)
            .bind(&message.to)
            .bind(&message.subject)
            .bind(&message.text)
            .bind(&message.html)
            .bind(chrono::Utc::now().timestamp())
            .execute($executor)
    }};
}
pub(crate) use enqueue_in;

/// A claimed message.
#[derive(Debug, sqlx::FromRow)]
pub struct Claimed {
    /// The row.
    pub id: i64,
    /// Recipient, subject and parts.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text_body: String,
    /// The HTML part.
    pub html_body: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// When this claim lapses (Unix seconds); results are recorded only under it.
    pub claimed_until: i64,
}

/// Queues `message` on its own (when no other change goes with it).
pub async fn enqueue(db: &Db, message: &Message) -> Result<(), DbError> {
    with_db_write!(db, pool => enqueue_in!(pool, message).await.map(drop))?;
    Ok(())
}

/// Claims up to `limit` messages that are due (or whose earlier claim lapsed) for this
/// worker. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets several instances claim at once
/// without ever claiming the same row; SQLite has one writer, which serialises claims.
pub async fn claim(db: &Db, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let now = Utc::now().timestamp();
    const DUE: &str = "(status = 'pending' AND next_attempt_at <= $1) \
                       OR (status = 'sending' AND claimed_until < $1)";
    // SQLite takes no row locks and needs none: its one writer serialises claims.
    let lock = match db {
        Db::Sqlite { .. } => "",
        Db::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE mail_outbox SET status = 'sending', claimed_until = $1 + $3, \
         attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM mail_outbox WHERE {DUE} ORDER BY id LIMIT $2 {lock}) \
         RETURNING id, recipient, subject, text_body, html_body, attempts, claimed_until"
    );
    let rows = with_db_write!(db, pool => {
        sqlx::query_as(&sql)
            .bind(now)
            .bind(limit)
            .bind(LEASE_SECS)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows)
}

/// Marks a message delivered and drops its bodies, if the claim is still this worker's
/// (a claim that lapsed may have gone to another worker, whose result then stands).
pub async fn delivered(db: &Db, claimed: &Claimed) -> Result<(), DbError> {
    let now = Utc::now().timestamp();
    with_db_write!(db, pool => {
        sqlx::query(
            "UPDATE mail_outbox SET status = 'sent', sent_at = $1, text_body = '', \
             html_body = '', claimed_until = NULL, last_error = NULL \
             WHERE id = $2 AND status = 'sending' AND claimed_until = $3",
        )
        .bind(now)
        .bind(claimed.id)
        .bind(claimed.claimed_until)
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(())
}

/// The wait before attempt `attempts + 1`, in seconds: 5 s, doubling, at most an hour, so
/// a mail server that is down for a restart costs seconds and one down for hours still
/// gets every message (the twelve attempts span about two and a half hours).
pub fn backoff_secs(attempts: i32) -> i64 {
    let doublings = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    (5 * 2_i64.pow(doublings)).min(3600)
}

/// Records a failed delivery (under the same claim rule as [`delivered`]): due again
/// after [`backoff_secs`], or dead, with its bodies dropped, after [`MAX_ATTEMPTS`] or at
/// once when the failure is `permanent` (an address the server refuses for good). Returns
/// whether it is dead.
pub async fn failed(
    db: &Db,
    claimed: &Claimed,
    error: &str,
    permanent: bool,
) -> Result<bool, DbError> {
    let dead = permanent || claimed.attempts >= MAX_ATTEMPTS;
    let next = Utc::now().timestamp() + backoff_secs(claimed.attempts);
    let sql = if dead {
        "UPDATE mail_outbox SET status = 'dead', next_attempt_at = $1, last_error = $2, \
         text_body = '', html_body = '', claimed_until = NULL \
         WHERE id = $3 AND status = 'sending' AND claimed_until = $4"
    } else {
        "UPDATE mail_outbox SET status = 'pending', next_attempt_at = $1, last_error = $2, \
         claimed_until = NULL WHERE id = $3 AND status = 'sending' AND claimed_until = $4"
    };
    with_db_write!(db, pool => {
        sqlx::query(sql)
            .bind(next)
            .bind(error)
            .bind(claimed.id)
            .bind(claimed.claimed_until)
            .execute(pool)
            .await
            .map(drop)
    })?;
    Ok(dead)
}

/// Deletes delivered and dead rows older than the retention period; returns how many.
pub async fn prune(db: &Db) -> Result<u64, DbError> {
    let before = Utc::now().timestamp() - RETENTION_SECS;
    let done = with_db_write!(db, pool => {
        sqlx::query(
            "DELETE FROM mail_outbox WHERE (status = 'sent' AND sent_at < $1) \
             OR (status = 'dead' AND next_attempt_at < $1)",
        )
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::with_db;

    fn message(to: &str) -> Message {
        Message {
            to: to.into(),
            subject: "s".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
        }
    }

    #[tokio::test]
    async fn claims_once_retries_and_dies() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        enqueue(&db, &message("a@example.com")).await.unwrap();
        enqueue(&db, &message("b@example.com")).await.unwrap();
        let first = claim(&db, 10).await.unwrap();
        assert_eq!(first.len(), 2);
        // Claimed rows are nobody else's until their lease lapses.
        assert!(claim(&db, 10).await.unwrap().is_empty());
        delivered(&db, &first[0]).await.unwrap();
        assert!(!failed(&db, &first[1], "connection refused", false)
            .await
            .unwrap());
        // Not due again before its backoff.
        assert!(claim(&db, 10).await.unwrap().is_empty());
        // A permanent refusal is dead at once.
        enqueue(&db, &message("c@example.com")).await.unwrap();
        let third = claim(&db, 10).await.unwrap();
        assert_eq!(third.len(), 1);
        assert!(failed(&db, &third[0], "550 no such user", true)
            .await
            .unwrap());
        // A result under a lapsed claim does not overwrite another worker's.
        let stale = Claimed {
            claimed_until: third[0].claimed_until - 1,
            recipient: String::new(),
            subject: String::new(),
            text_body: String::new(),
            html_body: String::new(),
            ..third[0]
        };
        delivered(&db, &stale).await.unwrap();
        let status: (String,) = with_db!(&db, pool => {
            sqlx::query_as("SELECT status FROM mail_outbox WHERE id = $1")
                .bind(third[0].id)
                .fetch_one(pool)
                .await
        })
        .unwrap();
        assert_eq!(status.0, "dead");
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(
            (1..=12).map(backoff_secs).collect::<Vec<_>>(),
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
    }
}
