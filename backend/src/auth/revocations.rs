//! Which sign-in sessions (`sid`s) were revoked recently, kept in memory so that checking an
//! access token costs no database round trip.
//!
//! The database is the source of truth: the instance that revokes a session records it
//! there and here at once; every instance polls the database for revocations made elsewhere.
//! An access token lives at most the access lifetime, so a revocation older than that can
//! be forgotten: every token it could have stopped has expired by then.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::RwLock;

use crate::db::with_db;
use crate::db::{Db, DbError};

/// Revocations written by instances whose clocks run slightly behind ours are still found.
const CLOCK_SKEW_MARGIN_SECS: i64 = 30;

/// The recently revoked `sid`s of this instance, each with when it was revoked. Shared
/// (in an `Arc`) by everything that checks access tokens.
#[derive(Debug)]
pub struct Revocations {
    revoked: RwLock<HashMap<String, i64>>,
    synced_until: AtomicI64,
    /// How long a revocation must be remembered: the access-token lifetime.
    remember_secs: i64,
}

impl Revocations {
    /// An empty list that remembers revocations for `access_lifetime_secs` (seconds) plus
    /// 30 seconds of clock skew. It is filled by [`insert`](Self::insert) and
    /// [`sync`](Self::sync).
    pub fn new(access_lifetime_secs: i64) -> Revocations {
        Revocations {
            revoked: RwLock::new(HashMap::new()),
            synced_until: AtomicI64::new(0),
            remember_secs: access_lifetime_secs + CLOCK_SKEW_MARGIN_SECS,
        }
    }

    /// Whether `sid` was revoked within the remembered window. Memory only: a revocation on
    /// another instance shows after the next sync, and an older one is forgotten.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked
            .read()
            .expect("revocation lock poisoned")
            .contains_key(sid)
    }

    /// Records that this instance revoked `sid` at `revoked_at` (Unix seconds), so its access
    /// tokens fail here at once. The database row is the caller's job.
    pub fn insert(&self, sid: &str, revoked_at: i64) {
        self.revoked
            .write()
            .expect("revocation lock poisoned")
            .insert(sid.to_owned(), revoked_at);
    }

    /// Loads revocations made since the last sync (on the first call: within the access
    /// lifetime), and forgets those too old to matter.
    pub async fn sync(&self, db: &Db, now: i64) -> Result<usize, DbError> {
        let last = self.synced_until.load(Ordering::Relaxed);
        let since = if last == 0 {
            now - self.remember_secs
        } else {
            last - CLOCK_SKEW_MARGIN_SECS
        };
        let rows: Vec<(String, i64)> = with_db!(db, pool => {
            sqlx::query_as(
                "SELECT id, revoked_at FROM token_families \
                 WHERE revoked_at IS NOT NULL AND revoked_at >= $1",
            )
            .bind(since)
            .fetch_all(pool)
            .await
        })?;
        let found = rows.len();
        let horizon = now - self.remember_secs;
        {
            let mut revoked = self.revoked.write().expect("revocation lock poisoned");
            revoked.extend(rows);
            revoked.retain(|_, at| *at >= horizon);
        }
        self.synced_until.store(now, Ordering::Relaxed);
        Ok(found)
    }
}
