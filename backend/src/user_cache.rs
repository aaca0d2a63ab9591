//! A short-lived cache of user rows for authenticated requests, so that the hot path
//! (`CurrentUser` on every API call) does not read the users table each time.
//!
//! Entries live `USER_CACHE_TTL_MS` (default 1 s). This instance's own writes invalidate
//! at once; writes made elsewhere (another instance, the admin CLI) show after at most the
//! TTL. Sign-outs and deactivations do not wait for it: they revoke the session, which
//! every instance checks separately.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::{Db, DbError};
use crate::users::{self, User};

const CAPACITY: usize = 50_000;

/// User rows by id, each kept for the TTL. At most 50,000 entries: when full, expired
/// entries go first, and if that is not enough, all of them.
#[derive(Debug)]
pub struct UserCache {
    ttl: Duration,
    entries: RwLock<HashMap<i64, (Instant, Arc<User>)>>,
}

impl UserCache {
    /// A cache that keeps rows for `ttl`. A zero `ttl` (`USER_CACHE_TTL_MS=0`) turns it off:
    /// every call reads the database.
    pub fn new(ttl: Duration) -> UserCache {
        UserCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The user with primary key `id`: from the cache if read less than the TTL ago, else from
    /// the database. `None` when there is no such user (and a cached row is dropped). Inactive
    /// users are returned too; checking `is_active` is the caller's job.
    pub async fn get(&self, db: &Db, id: i64) -> Result<Option<Arc<User>>, DbError> {
        if !self.ttl.is_zero() {
            let entries = self.entries.read().expect("user cache lock poisoned");
            if let Some((loaded_at, user)) = entries.get(&id) {
                if loaded_at.elapsed() < self.ttl {
                    return Ok(Some(user.clone()));
                }
            }
        }
        let user = users::find_by_id(db, id).await?.map(Arc::new);
        if self.ttl.is_zero() {
            return Ok(user);
        }
        let mut entries = self.entries.write().expect("user cache lock poisoned");
        match &user {
            Some(user) => {
                if entries.len() >= CAPACITY {
                    let ttl = self.ttl;
                    entries.retain(|_, (at, _)| at.elapsed() < ttl);
                    if entries.len() >= CAPACITY {
                        entries.clear();
                    }
                }
                entries.insert(id, (Instant::now(), user.clone()));
            }
            None => {
                entries.remove(&id);
            }
        }
        Ok(user)
    }

    /// Forgets a user after this instance changed them.
    pub fn invalidate(&self, id: i64) {
        self.entries
            .write()
            .expect("user cache lock poisoned")
            .remove(&id);
    }
}
