//! The browser's sign-in: a tower-sessions record holding the user and their token family
//! (the same families the REST API hands out), kept fresh on the server.
//!
//! The refresh token never leaves the server. When an access token is needed and the one in
//! the session is close to expiry, the server refreshes it, and does so once per family even
//! when several requests race (tabs, parallel fetches): the first takes the family's lock and
//! refreshes, the others wait and take its result. Across instances the token machinery's
//! reuse grace plays the same role (a racing replay gets the same successor).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::WebError;
use crate::auth::tokens::{TokenError, TokenPair};
use crate::state::AppState;
use crate::users::User;

const KEY: &str = "auth";

/// What the session record holds for a signed-in browser.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignedIn {
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

    /// The access token to hand to the page (fresh, as [`current`] guarantees).
    pub fn access_token(&self) -> &str {
        &self.access
    }

    pub fn access_expires_at(&self) -> i64 {
        self.access_exp
    }
}

/// The signed-in user of a request, with a fresh access token.
#[derive(Clone, Debug)]
pub struct Current {
    pub user: Arc<User>,
    pub signed_in: SignedIn,
}

/// The latest tokens of each family refreshed on this instance, behind a per-family lock.
#[derive(Debug, Default)]
pub struct Refreshes {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<SignedIn>>>>>,
}

impl Refreshes {
    fn slot(&self, sid: &str) -> Arc<tokio::sync::Mutex<Option<SignedIn>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(sid.to_owned()).or_default().clone()
    }

    /// Forgets families nobody is refreshing right now whose last token has expired.
    pub fn prune(&self, now: i64) {
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

/// How long before expiry an access token is replaced: a third of its lifetime, at most a
/// minute, so a token handed to the page always has time to be used.
fn margin(state: &AppState) -> i64 {
    (state.config.jwt_access_token_lifetime / 3).clamp(1, 60)
}

/// Signs the browser in with a new token family. The session id is replaced first, so an
/// id planted before sign-in (session fixation) is worth nothing afterwards; a sign-in this
/// browser already had is ended (its family revoked), not left orphaned.
pub async fn start(
    state: &AppState,
    session: &Session,
    user_id: i64,
    pair: TokenPair,
) -> Result<(), WebError> {
    if let Some(previous) = session.get::<SignedIn>(KEY).await? {
        state
            .tokens
            .revoke(&previous.sid, "signed in again")
            .await?;
    }
    session.cycle_id().await?;
    session
        .insert(KEY, SignedIn::from_pair(user_id, pair))
        .await?;
    Ok(())
}

/// Signs the browser out: the family is revoked (tokens the page held stop working at once)
/// and the session record deleted.
pub async fn end(state: &AppState, session: &Session) -> Result<(), WebError> {
    if let Some(signed_in) = session.get::<SignedIn>(KEY).await? {
        state.tokens.revoke(&signed_in.sid, "signed out").await?;
    }
    session.flush().await?;
    Ok(())
}

/// The signed-in user, refreshing the access token first when it is close to expiry.
/// `None` (and the session cleared) when the family was revoked or has expired, or the user
/// is gone or deactivated.
pub async fn current(state: &AppState, session: &Session) -> Result<Option<Current>, WebError> {
    let Some(mut signed_in) = session.get::<SignedIn>(KEY).await? else {
        return Ok(None);
    };
    if state.tokens.revocations().is_revoked(&signed_in.sid) {
        session.flush().await?;
        return Ok(None);
    }
    if !signed_in.is_fresh(Utc::now().timestamp(), margin(state)) {
        match refreshed(state, &signed_in).await? {
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
    let user = state.user_cache.get(&state.db, signed_in.user_id).await?;
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
async fn refreshed(state: &AppState, stale: &SignedIn) -> Result<Option<SignedIn>, WebError> {
    let slot = state.web.refreshes.slot(&stale.sid);
    let mut latest = slot.lock().await;
    let now = Utc::now().timestamp();
    // Whichever is newer: what another request here refreshed to, or what this request's
    // session holds (another instance may have refreshed it).
    let base = match latest.as_ref() {
        Some(known) if known.access_exp > stale.access_exp => known.clone(),
        _ => stale.clone(),
    };
    if base.is_fresh(now, margin(state)) {
        *latest = Some(base.clone());
        return Ok(Some(base));
    }
    match state.tokens.refresh(&base.refresh).await {
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
        Err(TokenError::Jwt(_) | TokenError::NoActiveAccount) => {
            *latest = None;
            Ok(None)
        }
        Err(TokenError::Db(error)) => Err(error.into()),
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
