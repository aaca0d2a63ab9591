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

use chrono::Utc;

use super::{hash_jti, Refreshed, Revocation, TokenError, Tokens};
use crate::audit::Kind;
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

/// Claims `$claim` (a [`Claim`]) for user `$user_id`'s new family `$sid` at `$now` through
/// `$executor`: `Ok(true)` when this exchange is the first, `Ok(false)` when the token was
/// exchanged or blacklisted before. The primary key decides between racing exchanges.
macro_rules! claim {
    ($executor:expr, $claim:expr, $user_id:expr, $sid:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO legacy_refresh_tokens (jti_hash, user_id, state, family_id, expires_at, at) \
             VALUES ($1, $2, 'exchanged', $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&$claim.jti_hash)
        .bind($user_id)
        .bind($sid)
        .bind($claim.expires_at)
        .bind($now)
        .execute($executor)
        .await
        .map(|done| done.rows_affected() == 1)
    };
}
pub(super) use claim;

/// What ends a simplejwt token early: the events that end every sign-in of the account.
const ENDING_KINDS: [Kind; 4] = [
    Kind::PasswordChanged,
    Kind::PasswordReset,
    Kind::OtherSignInsEnded,
    Kind::AccountDeactivated,
];

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
    /// import and has not ended its sign-ins since.
    async fn simplejwt_account_stands(&self, user_id: i64, iat: i64) -> Result<bool, DbError> {
        let [a, b, c, d] = ENDING_KINDS.map(Kind::as_str);
        let (imported, ended): (i64, i64) = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM imported_users WHERE user_id = $1), \
                        (SELECT COUNT(*) FROM audit_events WHERE user_id = $1 AND at >= $2 \
                           AND kind IN ($3, $4, $5, $6))",
            )
            .bind(user_id)
            .bind(iat)
            .bind(a)
            .bind(b)
            .bind(c)
            .bind(d)
            .fetch_one(pool)
            .await
        })?;
        Ok(imported == 1 && ended == 0)
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
        let user = self
            .users
            .get(&self.db, claims.user_id)
            .await?
            .ok_or(TokenError::UserNotFound)?;
        if !user.is_active {
            return Err(TokenError::UserInactive);
        }
        Ok((self.as_claims(claims), user))
    }

    /// Whether a simplejwt refresh token may still be exchanged: never exchanged nor
    /// blacklisted, its account imported, active and its sign-ins not ended since.
    pub(super) async fn judge_simplejwt_refresh(
        &self,
        claims: &SimplejwtClaims,
    ) -> Result<LegacyState, TokenError> {
        let row: Option<(String, Option<String>)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT state, family_id FROM legacy_refresh_tokens WHERE jti_hash = $1",
            )
            .bind(hash_jti(&claims.jti))
            .fetch_optional(pool)
            .await
        })?;
        if let Some((state, family_id)) = row {
            return Ok(match family_id {
                Some(sid) if state == EXCHANGED => LegacyState::Exchanged(sid),
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
                LegacyState::Exchanged(_) | LegacyState::Blacklisted => {
                    Err(JwtError::Invalid.into())
                }
            },
        }
    }

    /// [`refresh`](Tokens::refresh) with a simplejwt refresh token: exchanged once for a new
    /// sign-in of ours (method `django`, authenticated when Django's token was issued),
    /// whose tokens come back as a rotation's would, refresh token included whatever
    /// `JWT_ROTATE_REFRESH_TOKENS` says (the old one is spent). A second exchange ends that
    /// sign-in.
    pub(super) async fn refresh_simplejwt(
        &self,
        claims: SimplejwtClaims,
        client: Option<&Client>,
    ) -> Result<Refreshed, TokenError> {
        if claims.token_type != TokenType::Refresh {
            return Err(JwtError::WrongType.into());
        }
        let replayed = |sid: String| async move {
            tracing::warn!(%sid, "simplejwt refresh token used again; revoking its sign-in");
            self.revoke(&sid, Revocation::RefreshTokenReuse, client)
                .await?;
            Err::<Refreshed, TokenError>(JwtError::Invalid.into())
        };
        match self.judge_simplejwt_refresh(&claims).await? {
            LegacyState::Unused => {}
            LegacyState::Exchanged(sid) => return replayed(sid).await,
            LegacyState::Blacklisted => return Err(JwtError::Invalid.into()),
        }
        let Some(client) = client else {
            return Err(JwtError::Invalid.into());
        };
        let mut origin = SignInOrigin::new(METHOD, Channel::Api, client);
        origin.authenticated_at = Some(claims.iat);
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
            // Another request exchanged it a moment ago: a copy, as above.
            None => match self.judge_simplejwt_refresh(&claims).await? {
                LegacyState::Exchanged(sid) => replayed(sid).await,
                _ => Err(JwtError::Invalid.into()),
            },
        }
    }

    /// Logout with a simplejwt refresh token: it is spent (blacklisted) and can no longer
    /// be exchanged. The same checks as [`check`](Tokens::check) apply first.
    pub(super) async fn sign_out_simplejwt(
        &self,
        claims: SimplejwtClaims,
    ) -> Result<(), TokenError> {
        if claims.token_type != TokenType::Refresh {
            return Err(JwtError::WrongType.into());
        }
        if !matches!(
            self.judge_simplejwt_refresh(&claims).await?,
            LegacyState::Unused
        ) {
            return Err(JwtError::Invalid.into());
        }
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
    /// Exchanged before for the sign-in (family id) named.
    Exchanged(String),
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
