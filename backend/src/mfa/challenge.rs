//! Sign-ins waiting for their second factor: the first step (password, social sign-in) went
//! right and the account has MFA. The person holds a random token (the browser keeps it in
//! its server-side session, an API client gets it as `mfa_token`); the database keeps its
//! SHA-256 only, with how the first step went.
//!
//! A challenge lives [`LIFETIME_SECS`], takes at most [`MAX_ATTEMPTS`] codes (each counted
//! before it is checked; a wrong last one ends it) and is spent by the right one (single
//! use, even under racing requests: the row is deleted and only the request that deleted it
//! goes on). It grants nothing else: no token, no session.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::sign_ins::Channel;
use crate::db::{with_db, with_db_write, Db, DbError};

/// How long the second step may take, in seconds.
pub const LIFETIME_SECS: i64 = 300;
/// Codes a challenge takes; when the last of them is wrong, it ends (start over).
pub const MAX_ATTEMPTS: i64 = 5;

/// A challenge just made: the token to hand over, once.
#[derive(Clone, Debug)]
pub struct Challenge {
    /// 256 random bits, URL-safe base64.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The second factors the account has: `totp`, `webauthn`, `recovery_codes` (filled in
    /// by the sign-in that made it).
    pub methods: Vec<&'static str>,
}

/// A live challenge, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Whose sign-in it is.
    pub user_id: i64,
    /// The first step's method (`password`, a provider id).
    pub method: String,
    /// Where the tokens will go.
    pub channel: Channel,
    /// Unix seconds.
    pub expires_at: i64,
}

/// The stored id of `token`: its SHA-256, hex.
pub(crate) fn id_of(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a challenge for `user_id`, whose first step was `method` through `channel`.
pub async fn create(
    db: &Db,
    user_id: i64,
    method: &str,
    channel: Channel,
    now: i64,
) -> Result<Challenge, DbError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let expires_at = now + LIFETIME_SECS;
    with_db_write!(db, pool => {
        sqlx::query(
            "INSERT INTO mfa_challenges (id, user_id, method, channel, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_of(&token))
        .bind(user_id)
        .bind(method)
        .bind(channel.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(Challenge {
        token,
        expires_at,
        methods: Vec::new(),
    })
}

/// The live challenge `token` names, if any (unknown, expired and spent ones are `None`).
pub async fn find(db: &Db, token: &str, now: i64) -> Result<Option<Pending>, DbError> {
    // Anything longer is no token of ours; no need to hash megabytes.
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let row: Option<(i64, String, String, i64)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT user_id, method, channel, expires_at FROM mfa_challenges \
             WHERE id = $1 AND expires_at > $2",
        )
        .bind(id_of(token))
        .bind(now)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|(user_id, method, channel, expires_at)| Pending {
        user_id,
        method,
        channel: if channel == "api" {
            Channel::Api
        } else {
            Channel::Browser
        },
        expires_at,
    }))
}

/// Counts an attempt on `token` before its code is checked, so racing requests cannot
/// test more than [`MAX_ATTEMPTS`] codes between them: `Some(n)` (this is the n-th
/// attempt), `None` when the challenge is gone, expired or has had its attempts.
pub async fn count_attempt(db: &Db, token: &str, now: i64) -> Result<Option<i64>, DbError> {
    let row: Option<(i64,)> = with_db_write!(db, pool => {
        sqlx::query_as(
            "UPDATE mfa_challenges SET attempts = attempts + 1 \
             WHERE id = $1 AND expires_at > $2 AND attempts < $3 \
             RETURNING CAST(attempts AS BIGINT)",
        )
        .bind(id_of(token))
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map(|(n,)| n))
}

/// Spends `token`: `true` for the one caller that deleted the live row.
pub async fn spend(db: &Db, token: &str, now: i64) -> Result<bool, DbError> {
    let done = with_db_write!(db, pool => {
        sqlx::query("DELETE FROM mfa_challenges WHERE id = $1 AND expires_at > $2")
            .bind(id_of(token))
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done == 1)
}

/// Ends `token`'s challenge, if it still exists (the person started over).
pub async fn cancel(db: &Db, token: &str) -> Result<(), DbError> {
    with_db_write!(db, pool => {
        sqlx::query("DELETE FROM mfa_challenges WHERE id = $1")
            .bind(id_of(token))
            .execute(pool)
            .await
            .map(drop)
    })?;
    Ok(())
}

/// Deletes expired challenges (housekeeping); how many.
pub async fn prune(db: &Db, now: i64) -> Result<u64, DbError> {
    let done = with_db_write!(db, pool => {
        sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?;
    Ok(done)
}
