//! The browser's sign-in: a tower-sessions record holding the user and their token family
//! (the same families the REST API hands out), kept fresh on the server.
//!
//! The refresh token never leaves the server. When an access token is needed and the one in
//! the session is close to expiry, the server refreshes it, and does so once per family even
//! when several requests race (tabs, parallel fetches): the first takes the family's lock and
//! refreshes, the others wait and take its result. Across instances the token machinery's
//! reuse grace plays the same role (a racing replay gets the same successor).
//!
//! Sessions are tower-sessions records ([`super::store`]); this module owns the one key
//! they hold for a signed-in browser.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::auth::tokens::{Revocation, TokenError, TokenPair, Tokens};
use crate::client::Client;
use crate::config::Config;
use crate::db::{Db, DbError};
use crate::user_cache::UserCache;
use crate::users::User;

/// The session store or the database failed; the browser should try again shortly.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// tower-sessions could not load, save or delete the record.
    #[error("session store: {0}")]
    Store(#[from] tower_sessions::session::Error),
    /// The database failed (revoking a family, refreshing tokens, reading the user).
    #[error(transparent)]
    Db(#[from] DbError),
}

const KEY: &str = "auth";

/// What the session record holds for a signed-in browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignedIn {
    /// The signed-in user's primary key.
    pub user_id: i64,
    /// The token family (`sid` claim); revoking it ends this sign-in everywhere.
    pub sid: String,
    access: String,
    access_exp: i64,
    refresh: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user_id", &self.user_id)
            .field("access_exp", &self.access_exp)
            .finish_non_exhaustive()
    }
}

impl SignedIn {
    fn from_pair(user_id: i64, pair: TokenPair) -> SignedIn {
        SignedIn {
            user_id,
            sid: pair.sid,
            access_exp: pair.access.expires_at.timestamp(),
            access: pair.access.token,
            refresh: pair.refresh.token,
        }
    }

    /// An access token that stays valid for at least `margin` more seconds.
    fn is_fresh(&self, now: i64, margin: i64) -> bool {
        self.access_exp - now > margin
    }

    /// The access token to hand to the page (fresh, as
    /// [`current`](BrowserSessions::current) guarantees).
    pub fn access_token(&self) -> &str {
        &self.access
    }

    /// When [`access_token`](Self::access_token) expires, in Unix seconds.
    pub fn access_expires_at(&self) -> i64 {
        self.access_exp
    }
}

/// The signed-in user of a request, with a fresh access token ([`BrowserSessions::current`]).
#[derive(Clone, Debug)]
pub struct Current {
    /// The user's row (through the user cache); always active.
    pub user: Arc<User>,
    /// The session's tokens; the access token has at least the refresh margin left.
    pub signed_in: SignedIn,
}

/// The latest tokens of each family refreshed on this instance, behind a per-family lock.
#[derive(Debug, Default)]
struct Refreshes {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<SignedIn>>>>>,
}

impl Refreshes {
    fn slot(&self, sid: &str) -> Arc<tokio::sync::Mutex<Option<SignedIn>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(sid.to_owned()).or_default().clone()
    }

    /// Forgets families nobody is refreshing right now whose last token has expired.
    fn prune(&self, now: i64) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.retain(|_, slot| {
            Arc::strong_count(slot) > 1
                || slot
                    .try_lock()
                    .map(|latest| latest.as_ref().is_some_and(|l| l.access_exp > now))
                    .unwrap_or(true)
        });
    }
}

/// Signed-in browsers: starts, ends and keeps fresh the token family each session holds.
#[derive(Debug)]
pub struct BrowserSessions {
    tokens: Tokens,
    db: Db,
    user_cache: Arc<UserCache>,
    refreshes: Refreshes,
    /// How long before expiry an access token is replaced, in seconds: a third of its
    /// lifetime, at most a minute, so a token handed to the page always has time to be used.
    refresh_margin_secs: i64,
}

impl BrowserSessions {
    /// Sessions whose tokens come from `tokens`. Access tokens are replaced when a third of
    /// `JWT_ACCESS_TOKEN_LIFETIME` is left, at least 1 and at most 60 seconds before expiry.
    pub fn new(
        config: &Config,
        db: Db,
        tokens: Tokens,
        user_cache: Arc<UserCache>,
    ) -> BrowserSessions {
        let lifetime = i64::try_from(config.jwt_access_token_lifetime.as_secs()).unwrap_or(60);
        BrowserSessions {
            tokens,
            db,
            user_cache,
            refreshes: Refreshes::default(),
            refresh_margin_secs: (lifetime / 3).clamp(1, 60),
        }
    }

    /// Signs the browser in with a new token family. The session id is replaced first, so
    /// an id planted before sign-in (session fixation) is worth nothing afterwards; a sign-in
    /// this browser already had is ended (its family revoked), not left orphaned.
    pub async fn start(
        &self,
        session: &Session,
        user_id: i64,
        pair: TokenPair,
        client: &Client,
    ) -> Result<(), SessionError> {
        if let Some(previous) = session.get::<SignedIn>(KEY).await? {
            self.tokens
                .revoke(&previous.sid, Revocation::SignedInAgain, Some(client))
                .await?;
        }
        session.cycle_id().await?;
        session
            .insert(KEY, SignedIn::from_pair(user_id, pair))
            .await?;
        Ok(())
    }

    /// Signs the browser out: the family is revoked (tokens the page held stop working at
    /// once) and the session record deleted.
    pub async fn end(&self, session: &Session, client: &Client) -> Result<(), SessionError> {
        if let Some(signed_in) = session.get::<SignedIn>(KEY).await? {
            self.tokens
                .revoke(&signed_in.sid, Revocation::SignedOut, Some(client))
                .await?;
        }
        session.flush().await?;
        Ok(())
    }

    /// The signed-in user, refreshing the access token first when it is close to expiry.
    /// `None` (and the session cleared) when the family was revoked or has expired, or the
    /// user is gone or deactivated.
    pub async fn current(&self, session: &Session) -> Result<Option<Current>, SessionError> {
        let Some(mut signed_in) = session.get::<SignedIn>(KEY).await? else {
            return Ok(None);
        };
        if self.tokens.revocations().is_revoked(&signed_in.sid) {
            session.flush().await?;
            return Ok(None);
        }
        if !signed_in.is_fresh(Utc::now().timestamp(), self.refresh_margin_secs) {
            match self.refreshed(&signed_in).await? {
                Some(newer) => {
                    session.insert(KEY, &newer).await?;
                    signed_in = newer;
                }
                None => {
                    session.flush().await?;
                    return Ok(None);
                }
            }
        }
        let user = self.user_cache.get(&self.db, signed_in.user_id).await?;
        match user {
            Some(user) if user.is_active => Ok(Some(Current { user, signed_in })),
            _ => {
                session.flush().await?;
                Ok(None)
            }
        }
    }

    /// Single-flight refresh of `stale`'s family. `None` when the family can no longer be
    /// refreshed (revoked, expired, user deactivated).
    async fn refreshed(&self, stale: &SignedIn) -> Result<Option<SignedIn>, SessionError> {
        let slot = self.refreshes.slot(&stale.sid);
        let mut latest = slot.lock().await;
        let now = Utc::now().timestamp();
        // Whichever is newer: what another request here refreshed to, or what this
        // request's session holds (another instance may have refreshed it).
        let base = match latest.as_ref() {
            Some(known) if known.access_exp > stale.access_exp => known.clone(),
            _ => stale.clone(),
        };
        if base.is_fresh(now, self.refresh_margin_secs) {
            *latest = Some(base.clone());
            return Ok(Some(base));
        }
        match self.tokens.refresh(&base.refresh, None).await {
            Ok(refreshed) => {
                let newer = SignedIn {
                    access_exp: refreshed.access.expires_at.timestamp(),
                    access: refreshed.access.token,
                    refresh: refreshed.refresh.map(|r| r.token).unwrap_or(base.refresh),
                    ..base
                };
                *latest = Some(newer.clone());
                Ok(Some(newer))
            }
            Err(TokenError::Db(error)) => Err(error.into()),
            Err(_) => {
                *latest = None;
                Ok(None)
            }
        }
    }

    /// Forgets finished refreshes (run periodically; see `Refreshes::prune`).
    pub fn prune(&self, now: i64) {
        self.refreshes.prune(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in(access_exp: i64) -> SignedIn {
        SignedIn {
            user_id: 1,
            sid: "s".into(),
            access: "a".into(),
            access_exp,
            refresh: "r".into(),
        }
    }

    #[test]
    fn debug_output_never_shows_tokens() {
        let shown = format!("{:?}", signed_in(10));
        assert!(
            !shown.contains("\"a\"") && !shown.contains("\"r\""),
            "{shown}"
        );
    }

    #[test]
    fn freshness_keeps_a_margin() {
        assert!(signed_in(100).is_fresh(50, 10));
        assert!(!signed_in(100).is_fresh(95, 10));
    }

    #[tokio::test]
    async fn prune_keeps_live_and_busy_families_only() {
        let refreshes = Refreshes::default();
        *refreshes.slot("expired").lock().await = Some(signed_in(10));
        *refreshes.slot("live").lock().await = Some(signed_in(1000));
        let busy = refreshes.slot("busy");
        let _guard = busy.lock().await;
        refreshes.prune(100);
        let left = refreshes.slots.lock().unwrap();
        assert!(left.contains_key("live") && left.contains_key("busy"));
        assert!(!left.contains_key("expired"));
    }
}
