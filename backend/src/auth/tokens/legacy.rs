//! Tokens the Django stack issued before the switch (simplejwt's, with no `sid`), accepted
//! while `LEGACY_REFRESH_UNTIL` lies ahead and only for accounts `import-django` copied:
//!
//! - an access token works until its own `exp`, like one of ours, but no sign-in of ours
//!   stands behind it: it is refused once its user is deactivated or deleted, or changes or
//!   resets their password, or ends their other sign-ins after it was issued;
//! - a refresh token is exchanged once, at `token/refresh/`, for a new sign-in of ours (a
//!   rotating family) with the usual pair; a second use of it is a copied token, refused,
//!   and ends that family, as a replayed refresh token of ours does. Tokens simplejwt's
//!   blacklist held when imported are refused, and so is one used to sign out.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::{hash_jti, IssuedToken, Refreshed, Revocation, TokenError, Tokens};
use crate::auth::jwt::{Claims, JwtError, SimplejwtClaims, TokenType};
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::client::Client;
use crate::db::{with_db, with_db_write, DbError};
use crate::users::User;

/// `legacy_refresh_tokens.state` of a token simplejwt's blacklist held, or that signed out.
pub(crate) const BLACKLISTED: &str = "blacklisted";
/// `legacy_refresh_tokens.state` of a token exchanged here for a sign-in of ours.
const EXCHANGED: &str = "exchanged";

/// The sign-in method recorded for a sign-in carried over from the Django stack.
pub const METHOD: &str = "django";

/// A simplejwt refresh token being exchanged: what its `legacy_refresh_tokens` row holds.
pub(super) struct Claim {
    pub(super) jti_hash: String,
    pub(super) expires_at: i64,
}

/// Claims `$claim` (a [`Claim`]) for user `$user_id`'s new family `$sid`, whose first
/// refresh token has the jti `$successor`, at `$now` through
/// `$executor`: `Ok(true)` when this exchange is the first, `Ok(false)` when the token was
/// exchanged or blacklisted before. The primary key decides between racing exchanges.
macro_rules! claim {
    ($executor:expr, $claim:expr, $user_id:expr, $sid:expr, $successor:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO legacy_refresh_tokens \
             (jti_hash, user_id, state, family_id, successor_jti, expires_at, at) \
             VALUES ($1, $2, 'exchanged', $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&$claim.jti_hash)
        .bind($user_id)
        .bind($sid)
        .bind($successor)
        .bind($claim.expires_at)
        .bind($now)
        .execute($executor)
        .await
        .map(|done| done.rows_affected() == 1)
    };
}
pub(super) use claim;

/// Ends every simplejwt token of an imported account issued up to `$1` (Unix seconds) for
/// user `$2`: run in the transaction of whatever ends all of an account's sign-ins (a
/// deactivation, ending the other sign-ins; a password change or reset runs
/// [`PASSWORD_SET_HERE`](crate::django_import::PASSWORD_SET_HERE), which does this too) and
/// by a sign-out with a simplejwt token. A no-op for accounts not imported.
pub const END_TOKENS: &str = "UPDATE imported_users SET tokens_valid_after = $1 WHERE user_id = $2";

impl Tokens {
    /// Whether simplejwt tokens are read at all at `now` (Unix seconds).
    fn simplejwt_open(&self, now: i64) -> bool {
        self.settings
            .legacy_refresh_until
            .is_some_and(|until| now < until)
    }

    /// `token` read as simplejwt's, when such tokens are read now; else `refused`, the
    /// reason our own format gave.
    pub(super) fn decode_simplejwt(
        &self,
        token: &str,
        now: i64,
        refused: JwtError,
    ) -> Result<SimplejwtClaims, JwtError> {
        if !self.simplejwt_open(now) {
            return Err(refused);
        }
        self.codec.decode_simplejwt(token, now).map_err(|_| refused)
    }

    /// Whether the account of a simplejwt token issued at `iat` (Unix seconds) came from the
    /// import and has not ended its sign-ins since ([`END_TOKENS`]; the same second counts
    /// as since).
    async fn simplejwt_account_stands(&self, user_id: i64, iat: i64) -> Result<bool, DbError> {
        let valid_after: Option<(i64,)> = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT tokens_valid_after FROM imported_users WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(valid_after.is_some_and(|(after,)| iat > after))
    }

    /// Logout with a simplejwt access token: no sign-in of ours stands behind it, so every
    /// simplejwt token of the account ends ([`END_TOKENS`]).
    pub async fn sign_out_simplejwt_access(&self, user_id: i64) -> Result<(), DbError> {
        let now = Utc::now().timestamp();
        with_db_write!(&self.db, pool => {
            sqlx::query(END_TOKENS)
                .bind(now)
                .bind(user_id)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// [`authenticate`](Tokens::authenticate) for a simplejwt access token: the claims carry
    /// an empty `sid` (no sign-in of ours stands behind it).
    pub(super) async fn authenticate_simplejwt(
        &self,
        claims: SimplejwtClaims,
    ) -> Result<(Claims, Arc<User>), TokenError> {
        if claims.token_type != TokenType::Access {
            return Err(JwtError::WrongType.into());
        }
        if !self
            .simplejwt_account_stands(claims.user_id, claims.iat)
            .await?
        {
            return Err(JwtError::Invalid.into());
        }
        let user = self.active_user(claims.user_id).await?;
        Ok((self.as_claims(claims), user))
    }

    /// Whether a simplejwt refresh token may still be exchanged: never exchanged nor
    /// blacklisted, its account imported, active and its sign-ins not ended since.
    pub(super) async fn judge_simplejwt_refresh(
        &self,
        claims: &SimplejwtClaims,
    ) -> Result<LegacyState, TokenError> {
        type Row = (String, Option<String>, Option<String>, i64);
        let row: Option<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT state, family_id, successor_jti, at FROM legacy_refresh_tokens \
                 WHERE jti_hash = $1",
            )
            .bind(hash_jti(&claims.jti))
            .fetch_optional(pool)
            .await
        })?;
        if let Some((state, family_id, successor, at)) = row {
            return Ok(match (family_id, successor) {
                (Some(sid), Some(successor)) if state == EXCHANGED => {
                    LegacyState::Exchanged { sid, successor, at }
                }
                _ => LegacyState::Blacklisted,
            });
        }
        let user = self.users.get(&self.db, claims.user_id).await?;
        if !user.is_some_and(|u| u.is_active) {
            return Err(TokenError::NoActiveAccount);
        }
        if !self
            .simplejwt_account_stands(claims.user_id, claims.iat)
            .await?
        {
            return Err(JwtError::Invalid.into());
        }
        Ok(LegacyState::Unused)
    }

    /// [`check`](Tokens::check) for a simplejwt token of either type.
    pub(super) async fn check_simplejwt(
        &self,
        claims: SimplejwtClaims,
    ) -> Result<Claims, TokenError> {
        match claims.token_type {
            TokenType::Access => self
                .authenticate_simplejwt(claims)
                .await
                .map(|(claims, _)| claims),
            TokenType::Refresh => match self.judge_simplejwt_refresh(&claims).await? {
                LegacyState::Unused => Ok(self.as_claims(claims)),
                LegacyState::Exchanged { .. } | LegacyState::Blacklisted => {
                    Err(JwtError::Invalid.into())
                }
            },
        }
    }

    /// [`refresh`](Tokens::refresh) with a simplejwt refresh token: exchanged once for a new
    /// sign-in of ours (method `django`, with no recent proof of identity), whose tokens
    /// come back as a rotation's would, refresh token included whatever
    /// `JWT_ROTATE_REFRESH_TOKENS` says (the old one is spent). A request racing the
    /// exchange within `JWT_REFRESH_REUSE_GRACE` gets the same sign-in (two tabs); a later
    /// second exchange ends it.
    pub(super) async fn refresh_simplejwt(
        &self,
        claims: SimplejwtClaims,
        client: Option<&Client>,
    ) -> Result<Refreshed, TokenError> {
        if claims.token_type != TokenType::Refresh {
            return Err(JwtError::WrongType.into());
        }
        let grace = self.settings.reuse_grace_secs;
        let again = |state: LegacyState| async move {
            match state {
                LegacyState::Exchanged { sid, successor, at }
                    if Utc::now().timestamp() - at <= grace =>
                {
                    self.hand_out_again(claims.user_id, &sid, successor).await
                }
                LegacyState::Exchanged { sid, .. } => {
                    tracing::warn!(%sid, "simplejwt refresh token used again; revoking its sign-in");
                    self.revoke(&sid, Revocation::RefreshTokenReuse, client)
                        .await?;
                    // A copied token may come with copied access tokens: those end too.
                    self.sign_out_simplejwt_access(claims.user_id).await?;
                    Err(JwtError::Invalid.into())
                }
                _ => Err(JwtError::Invalid.into()),
            }
        };
        match self.judge_simplejwt_refresh(&claims).await? {
            LegacyState::Unused => {}
            state => return again(state).await,
        }
        let Some(client) = client else {
            return Err(JwtError::Invalid.into());
        };
        let mut origin = SignInOrigin::new(METHOD, Channel::Api, client);
        // Holding a token proves nothing fresh (simplejwt renews `iat` with each token):
        // sensitive actions ask for the password again.
        origin.authenticated_at = Some(0);
        let claim = Claim {
            jti_hash: hash_jti(&claims.jti),
            expires_at: claims.exp,
        };
        match self
            .start_sign_in(claims.user_id, &origin, Some(&claim))
            .await?
        {
            Some(pair) => Ok(Refreshed {
                access: pair.access,
                refresh: Some(pair.refresh),
                sid: pair.sid,
            }),
            // Another request exchanged it a moment ago.
            None => again(self.judge_simplejwt_refresh(&claims).await?).await,
        }
    }

    /// Logout with a simplejwt refresh token that [`check`](Tokens::check) accepted: it is
    /// spent (blacklisted) and can no longer be exchanged.
    pub(super) async fn spend_simplejwt(&self, claims: &Claims) -> Result<(), DbError> {
        let now = Utc::now().timestamp();
        with_db_write!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO legacy_refresh_tokens (jti_hash, user_id, state, expires_at, at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(hash_jti(&claims.jti))
            .bind(claims.user_id)
            .bind(BLACKLISTED)
            .bind(claims.exp)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    /// The tokens of the sign-in `sid` that an exchange just started, again: a new access
    /// token, and its first refresh token (jti `successor`) re-signed byte for byte, while
    /// that sign-in is live.
    async fn hand_out_again(
        &self,
        user_id: i64,
        sid: &str,
        successor: String,
    ) -> Result<Refreshed, TokenError> {
        if self.revocations.is_revoked(sid) {
            return Err(JwtError::Invalid.into());
        }
        let times: Option<(i64, i64)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT r.issued_at, r.expires_at FROM refresh_tokens r \
                 JOIN token_families f ON f.id = r.family_id \
                 WHERE r.jti_hash = $1 AND r.family_id = $2 AND f.revoked_at IS NULL",
            )
            .bind(hash_jti(&successor))
            .bind(sid)
            .fetch_optional(pool)
            .await
        })?;
        let Some((issued_at, expires_at)) = times else {
            return Err(JwtError::Invalid.into());
        };
        let now = Utc::now();
        let token = self.codec.encode(&self.claims(
            TokenType::Refresh,
            successor,
            user_id,
            sid,
            issued_at,
            expires_at,
        ));
        Ok(Refreshed {
            access: self.issue_access(user_id, sid, now),
            refresh: Some(IssuedToken {
                token,
                expires_at: Utc.timestamp_opt(expires_at, 0).single().unwrap_or(now),
            }),
            sid: sid.to_owned(),
        })
    }

    fn as_claims(&self, claims: SimplejwtClaims) -> Claims {
        Claims {
            token_type: claims.token_type,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            user_id: claims.user_id,
            sid: String::new(),
            iss: self.codec.issuer().map(str::to_owned),
            aud: self.codec.audience().map(str::to_owned),
        }
    }
}

/// Where a simplejwt refresh token stands.
pub(super) enum LegacyState {
    /// Never seen here: it may be exchanged.
    Unused,
    /// Exchanged at `at` (Unix seconds) for the sign-in `sid`, whose first refresh token has
    /// the jti `successor`.
    Exchanged {
        /// The sign-in the exchange started.
        sid: String,
        /// Its first refresh token's jti.
        successor: String,
        /// When.
        at: i64,
    },
    /// Blacklisted by simplejwt before the import, or spent by a sign-out here.
    Blacklisted,
}

/// The SHA-256 (hex) under which `legacy_refresh_tokens` names a simplejwt token's `jti`:
/// what the import stores for simplejwt's blacklist.
pub fn jti_hash(jti: &str) -> String {
    hash_jti(jti)
}

/// Deletes the rows of simplejwt refresh tokens past their own expiry (they are refused
/// on that ground alone). Returns how many went.
pub async fn prune(db: &crate::db::Db, now: i64) -> Result<u64, DbError> {
    Ok(with_db_write!(db, pool => {
        sqlx::query("DELETE FROM legacy_refresh_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?)
}
