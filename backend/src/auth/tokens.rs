//! Sign-in sessions as token families: issue, refresh with rotation, revoke.
//!
//! One implementation serves the REST API and the browser session alike.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::audit::{insert_event, Event, Kind};
use crate::auth::jwt::{new_token_id, Claims, JwtCodec, JwtError, TokenType};
use crate::auth::revocations::Revocations;
use crate::auth::sign_ins::{LastUse, SignInOrigin};
use crate::client::Client;
use crate::db::{with_db, with_db_write};
use crate::db::{Db, DbError};
use crate::user_cache::UserCache;
use crate::users::User;

pub mod legacy;

/// Token lifetimes and rotation policy, from `JWT_*` settings (whole seconds).
#[derive(Clone, Debug)]
pub struct TokenSettings {
    /// Access token lifetime, seconds (simplejwt's `ACCESS_TOKEN_LIFETIME`). Not capped by the
    /// session lifetime.
    pub access_lifetime_secs: i64,
    /// Refresh token lifetime, seconds; each rotation gets a full one again, capped by the
    /// session's end.
    pub refresh_lifetime_secs: i64,
    /// No refresh extends a sign-in beyond this, counted from sign-in.
    pub session_lifetime_secs: i64,
    /// A rotated refresh token replayed within this window gets the same successor.
    pub reuse_grace_secs: i64,
    /// Whether a refresh issues a successor refresh token and retires the old one (simplejwt's
    /// `ROTATE_REFRESH_TOKENS`, on by default here).
    pub rotate_refresh_tokens: bool,
    /// A sign-in unused for this many seconds can no longer refresh (`SESSION_IDLE_TIMEOUT`,
    /// ASVS 7.3.1); `None`: no idle limit, only the absolute one.
    pub idle_timeout_secs: Option<i64>,
    /// Until when (Unix seconds, exclusive) tokens the Django stack's simplejwt issued are
    /// read (`LEGACY_REFRESH_UNTIL`, see [`legacy`]); `None`: never.
    pub legacy_refresh_until: Option<i64>,
}

/// A signed token and when it expires (for the `*_expiration` fields).
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// When it expires: now plus the lifetime, with sub-second precision (the `exp` claim is
    /// this rounded down to the second); a successor handed out again within the reuse grace
    /// gives its `exp` exactly.
    pub expires_at: DateTime<Utc>,
}

/// The tokens of a new sign-in session.
#[derive(Clone, Debug)]
pub struct TokenPair {
    /// The first access token.
    pub access: IssuedToken,
    /// The first refresh token of the family.
    pub refresh: IssuedToken,
    /// The new session's id (the `sid` claim of both tokens).
    pub sid: String,
}

/// What a refresh hands back.
#[derive(Clone, Debug)]
pub struct Refreshed {
    /// A new access token of the same session.
    pub access: IssuedToken,
    /// The successor refresh token; `None` when rotation is off.
    pub refresh: Option<IssuedToken>,
    /// The sign-in session refreshed (the `sid` claim).
    pub sid: String,
}

/// Why a refresh (or a logout with a refresh token) was refused.
#[derive(Debug, Error)]
pub enum TokenError {
    /// The token is bad or of the wrong type, or its session is revoked, past its absolute
    /// lifetime, or replayed after the grace window (401 `token_not_valid`).
    #[error(transparent)]
    Jwt(#[from] JwtError),
    /// The session's user is inactive, or the session is unknown (a deleted user's families
    /// go with them): simplejwt's `no_active_account`, for refresh tokens.
    #[error("the user is deleted or inactive")]
    NoActiveAccount,
    /// An access token's user no longer exists (simplejwt's `user_not_found`).
    #[error("user not found")]
    UserNotFound,
    /// An access token's user is deactivated (simplejwt's `user_inactive`).
    #[error("user is inactive")]
    UserInactive,
    /// The database failed; a 500, not the client's fault.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for EndSignInError {
    fn from(e: sqlx::Error) -> Self {
        EndSignInError::Db(DbError::Query(e))
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(e: sqlx::Error) -> Self {
        TokenError::Db(DbError::Query(e))
    }
}

/// Issues, checks, refreshes and revokes tokens: the one implementation behind the REST API
/// and the browser sessions. Cheap to clone (clones share the revocation list).
#[derive(Clone, Debug)]
pub struct Tokens {
    codec: JwtCodec,
    settings: TokenSettings,
    revocations: Arc<Revocations>,
    last_use: Arc<LastUse>,
    db: Db,
    users: Arc<UserCache>,
}

/// A family's row, as [`Tokens::judge_refresh`] reads it.
struct Family {
    user_id: i64,
    /// The sign-in's absolute end, Unix seconds.
    expires_at: i64,
}

/// Why a sign-in ends by [`Tokens::revoke`]: the family's `revoked_reason` and the audit
/// event it records.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Logout, or the browser's sign-out.
    SignedOut,
    /// The browser signed in again: its previous sign-in ends.
    SignedInAgain,
    /// A retired refresh token came back after the reuse grace: it was copied.
    RefreshTokenReuse,
}

impl Revocation {
    fn reason(self) -> &'static str {
        match self {
            Revocation::SignedOut => "signed out",
            Revocation::SignedInAgain => "signed in again",
            Revocation::RefreshTokenReuse => "refresh token reuse",
        }
    }

    fn event(self) -> Kind {
        match self {
            Revocation::SignedOut | Revocation::SignedInAgain => Kind::SignedOut,
            Revocation::RefreshTokenReuse => Kind::RefreshTokenReuse,
        }
    }
}

/// Why a sign-in could not be ended ([`Tokens::end_sign_in`]).
#[derive(Debug, Error)]
pub enum EndSignInError {
    /// No live sign-in of this user has that id (another user's id looks the same).
    #[error("no such sign-in")]
    NotFound,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Where a refresh token stands in its family's chain.
enum RefreshState {
    /// Not exchanged yet.
    Current,
    /// Exchanged at `rotated_at` (Unix seconds) for a successor.
    Rotated { rotated_at: i64 },
}

impl Tokens {
    /// Tokens signed by `codec`, with families stored in `db`, users read through `users`,
    /// and an empty revocation list that remembers for the access lifetime.
    pub fn new(codec: JwtCodec, settings: TokenSettings, db: Db, users: Arc<UserCache>) -> Tokens {
        let revocations = Arc::new(Revocations::new(settings.access_lifetime_secs));
        Tokens {
            codec,
            settings,
            revocations,
            last_use: Arc::default(),
            db,
            users,
        }
    }

    /// The lifetimes and idle limit these tokens are issued under.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// The in-memory revocation list, for the background sync and the browser sessions.
    pub fn revocations(&self) -> &Arc<Revocations> {
        &self.revocations
    }

    /// The signing codec, for the JWKS endpoint.
    pub fn codec(&self) -> &JwtCodec {
        &self.codec
    }

    /// Starts a sign-in session for `user_id`: a new family, recorded with how and from
    /// where it started (`origin`), and its first token pair.
    pub async fn sign_in(&self, user_id: i64, origin: &SignInOrigin) -> Result<TokenPair, DbError> {
        Ok(self
            .start_sign_in(user_id, origin, None)
            .await?
            .expect("only a legacy claim can lose"))
    }

    /// [`sign_in`](Self::sign_in), in the same transaction as claiming a simplejwt refresh
    /// token (`legacy`): `None` when that token was claimed before (nothing is written then).
    async fn start_sign_in(
        &self,
        user_id: i64,
        origin: &SignInOrigin,
        legacy: Option<&legacy::Claim>,
    ) -> Result<Option<TokenPair>, DbError> {
        let now = Utc::now();
        let iat = now.timestamp();
        let sid = new_token_id();
        let session_expires = iat + self.settings.session_lifetime_secs;
        let refresh_exp = (iat + self.settings.refresh_lifetime_secs).min(session_expires);
        let refresh_jti = new_token_id();
        let refresh_hash = hash_jti(&refresh_jti);
        let signed_in = Event::new(Kind::SignedIn, Some(user_id), Some(&origin.client))
            .in_session(&sid)
            .detail(origin.method.clone());

        let started = with_db_write!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            if let Some(claim) = legacy {
                if !legacy::claim!(&mut *tx, claim, user_id, &sid, &refresh_jti, iat)? {
                    return Ok(None);
                }
            }
            sqlx::query(
                "INSERT INTO token_families (id, user_id, created_at, expires_at, method, \
                     channel, user_agent, created_ip, last_used_at, authenticated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $3, $9)",
            )
            .bind(&sid)
            .bind(user_id)
            .bind(iat)
            .bind(session_expires)
            .bind(&origin.method)
            .bind(origin.channel.as_str())
            .bind(origin.user_agent())
            .bind(origin.client.ip.to_string())
            .bind(origin.authenticated_at.unwrap_or(iat).min(iat))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO refresh_tokens (jti_hash, family_id, issued_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&refresh_hash)
            .bind(&sid)
            .bind(iat)
            .bind(refresh_exp)
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, &signed_in)?;
            tx.commit().await.map(|()| true)
        })?;
        if !started {
            return Ok(None);
        }
        signed_in.log();
        self.last_use.written(&sid, iat);

        let access = self.issue_access(user_id, &sid, now);
        let refresh = IssuedToken {
            token: self.codec.encode(&self.claims(
                TokenType::Refresh,
                refresh_jti,
                user_id,
                &sid,
                iat,
                refresh_exp,
            )),
            expires_at: expiration(now, refresh_exp - iat),
        };
        Ok(Some(TokenPair {
            access,
            refresh,
            sid,
        }))
    }

    /// Whether `token`, of either type, would be accepted where it is used: the one rule
    /// that `token/verify/`, bearer authentication, refresh and logout all apply, so that no
    /// endpoint calls a token valid that another would refuse (`docs/api.md`, Tokens).
    ///
    /// - access tokens: [`authenticate`](Self::authenticate);
    /// - refresh tokens: signature, expiry and type; the family is known, not revoked and
    ///   not past its absolute lifetime, its user active; and the token has not been
    ///   exchanged, or was exchanged within the reuse grace (a replay then still gets the
    ///   same successor).
    ///
    /// Errors: [`TokenError::Jwt`] for a refused token, [`TokenError::UserNotFound`] /
    /// [`TokenError::UserInactive`] (access) and [`TokenError::NoActiveAccount`] (refresh)
    /// when the user is the reason, [`TokenError::Db`].
    pub async fn check(&self, token: &str) -> Result<Claims, TokenError> {
        let now = Utc::now().timestamp();
        let claims = match self.codec.decode(token, now) {
            Ok(claims) => claims,
            Err(refused) => {
                let claims = self.decode_simplejwt(token, now, refused)?;
                return self.check_simplejwt(claims).await;
            }
        };
        match claims.token_type {
            TokenType::Access => self.authenticate(token).await.map(|(claims, _)| claims),
            TokenType::Refresh => {
                let (_, state) = self.judge_refresh(&claims, now).await?;
                match state {
                    RefreshState::Current => Ok(claims),
                    RefreshState::Rotated { rotated_at }
                        if now - rotated_at <= self.settings.reuse_grace_secs =>
                    {
                        Ok(claims)
                    }
                    RefreshState::Rotated { .. } => Err(JwtError::Invalid.into()),
                }
            }
        }
    }

    /// Checks an access token presented as `Bearer`: signature, expiry, type, its session
    /// not revoked (in memory, no database round trip), and its user still there and active
    /// (read through the user cache). Returns the claims and the user.
    ///
    /// While `LEGACY_REFRESH_UNTIL` lies ahead, a simplejwt access token of an imported
    /// account is accepted too ([`legacy`]); its claims carry an empty `sid`.
    pub async fn authenticate(&self, token: &str) -> Result<(Claims, Arc<User>), TokenError> {
        let now = Utc::now().timestamp();
        let claims = match self.codec.decode_typed(token, TokenType::Access, now) {
            Ok(claims) => claims,
            Err(JwtError::Invalid) => {
                let claims = self.decode_simplejwt(token, now, JwtError::Invalid)?;
                return self.authenticate_simplejwt(claims).await;
            }
            Err(refused) => return Err(refused.into()),
        };
        if self.revocations.is_revoked(&claims.sid) {
            return Err(JwtError::Invalid.into());
        }
        let user = self.active_user(claims.user_id).await?;
        Ok((claims, user))
    }

    /// The user a valid access token names, read through the user cache:
    /// [`TokenError::UserNotFound`] when gone, [`TokenError::UserInactive`] when deactivated.
    async fn active_user(&self, user_id: i64) -> Result<Arc<User>, TokenError> {
        let user = self
            .users
            .get(&self.db, user_id)
            .await?
            .ok_or(TokenError::UserNotFound)?;
        if !user.is_active {
            return Err(TokenError::UserInactive);
        }
        Ok(user)
    }

    /// The family and chain position of a decoded refresh token, or why it is refused:
    /// an unknown family or an inactive user is [`TokenError::NoActiveAccount`]; a revoked
    /// or ended family, a token for another user or a token the family never issued is
    /// [`TokenError::Jwt`].
    async fn judge_refresh(
        &self,
        claims: &Claims,
        now: i64,
    ) -> Result<(Family, RefreshState), TokenError> {
        if self.revocations.is_revoked(&claims.sid) {
            return Err(JwtError::Invalid.into());
        }
        /// user_id, family's end, revoked_at, user active, rotated_at, token issued here,
        /// last use.
        type Row = (i64, i64, Option<i64>, bool, Option<i64>, bool, i64);
        let row: Option<Row> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT f.user_id, f.expires_at, f.revoked_at, u.is_active, r.rotated_at, \
                        r.jti_hash IS NOT NULL, f.last_used_at \
                 FROM token_families f JOIN users u ON u.id = f.user_id \
                 LEFT JOIN refresh_tokens r ON r.family_id = f.id AND r.jti_hash = $2 \
                 WHERE f.id = $1",
            )
            .bind(&claims.sid)
            .bind(hash_jti(&claims.jti))
            .fetch_optional(pool)
            .await
        })?;
        let Some((user_id, expires_at, revoked_at, is_active, rotated_at, issued, last_used_at)) =
            row
        else {
            // Unknown session: the user was deleted (cascade) or the token is not ours.
            return Err(TokenError::NoActiveAccount);
        };
        if revoked_at.is_some() || expires_at <= now || user_id != claims.user_id || !issued {
            return Err(JwtError::Invalid.into());
        }
        if self
            .settings
            .idle_timeout_secs
            .is_some_and(|idle| now - last_used_at >= idle)
        {
            return Err(JwtError::Invalid.into());
        }
        if !is_active {
            return Err(TokenError::NoActiveAccount);
        }
        let state = match rotated_at {
            None => RefreshState::Current,
            Some(rotated_at) => RefreshState::Rotated { rotated_at },
        };
        Ok((
            Family {
                user_id,
                expires_at,
            },
            state,
        ))
    }

    /// Exchanges a refresh token for a new access token and, with rotation, a successor
    /// refresh token; the exchanged one is retired atomically.
    ///
    /// `client` is the caller's (for the audit event of a detected reuse), when known.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client: Option<&Client>,
    ) -> Result<Refreshed, TokenError> {
        let result = self.exchange(refresh_token, client).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(TokenError::Jwt(_)) => "refused",
            Err(TokenError::Db(_)) => "error",
            Err(_) => "no_active_account",
        };
        metrics::counter!(crate::metrics::REFRESHES, "outcome" => outcome).increment(1);
        result
    }

    /// [`refresh`](Self::refresh), uncounted.
    async fn exchange(
        &self,
        refresh_token: &str,
        client: Option<&Client>,
    ) -> Result<Refreshed, TokenError> {
        let now = Utc::now();
        let iat = now.timestamp();
        let claims = match self
            .codec
            .decode_typed(refresh_token, TokenType::Refresh, iat)
        {
            Ok(claims) => claims,
            Err(JwtError::Invalid) => {
                let claims = self.decode_simplejwt(refresh_token, iat, JwtError::Invalid)?;
                return self.refresh_simplejwt(claims, client).await;
            }
            Err(refused) => return Err(refused.into()),
        };

        let (family, state) = self.judge_refresh(&claims, iat).await?;
        let Family {
            user_id,
            expires_at: session_expires,
        } = family;
        if let RefreshState::Rotated { rotated_at } = state {
            if iat - rotated_at > self.settings.reuse_grace_secs {
                // A retired token used again later: it was copied. End the whole session.
                tracing::warn!(sid = %claims.sid, user_id, "refresh token reuse; revoking session");
                self.revoke(&claims.sid, Revocation::RefreshTokenReuse, client)
                    .await?;
                return Err(JwtError::Invalid.into());
            }
        }

        let access = self.issue_access(user_id, &claims.sid, now);
        if !self.settings.rotate_refresh_tokens {
            return Ok(Refreshed {
                access,
                refresh: None,
                sid: claims.sid,
            });
        }

        let old_hash = hash_jti(&claims.jti);
        let new_jti = new_token_id();
        let new_exp = (iat + self.settings.refresh_lifetime_secs).min(session_expires);
        let rotated = with_db_write!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let won = sqlx::query(
                "UPDATE refresh_tokens SET rotated_at = $1, successor_jti = $2 \
                 WHERE jti_hash = $3 AND family_id = $4 AND rotated_at IS NULL",
            )
            .bind(iat)
            .bind(&new_jti)
            .bind(&old_hash)
            .bind(&claims.sid)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if won {
                sqlx::query(
                    "INSERT INTO refresh_tokens (jti_hash, family_id, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(hash_jti(&new_jti))
                .bind(&claims.sid)
                .bind(iat)
                .bind(new_exp)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            Ok::<bool, sqlx::Error>(won)
        })?;

        if rotated {
            let token = self.codec.encode(&self.claims(
                TokenType::Refresh,
                new_jti,
                user_id,
                &claims.sid,
                iat,
                new_exp,
            ));
            return Ok(Refreshed {
                access,
                refresh: Some(IssuedToken {
                    token,
                    expires_at: expiration(now, new_exp - iat),
                }),
                sid: claims.sid,
            });
        }

        // Someone exchanged this token before us.
        let successor = self.successor(&old_hash, &claims.sid).await?;
        match successor {
            Some((rotated_at, jti, issued_at, expires_at))
                if iat - rotated_at <= self.settings.reuse_grace_secs =>
            {
                // Racing tabs: hand out the same successor, re-signed byte for byte.
                let token = self.codec.encode(&self.claims(
                    TokenType::Refresh,
                    jti,
                    user_id,
                    &claims.sid,
                    issued_at,
                    expires_at,
                ));
                Ok(Refreshed {
                    access,
                    refresh: Some(IssuedToken {
                        token,
                        expires_at: Utc.timestamp_opt(expires_at, 0).single().unwrap_or(now),
                    }),
                    sid: claims.sid,
                })
            }
            Some(_) => {
                // A retired token used again later: it was copied. End the whole session.
                tracing::warn!(sid = %claims.sid, user_id, "refresh token reuse; revoking session");
                self.revoke(&claims.sid, Revocation::RefreshTokenReuse, client)
                    .await?;
                Err(JwtError::Invalid.into())
            }
            None => Err(JwtError::Invalid.into()),
        }
    }

    /// The retired token's successor: (rotated_at, successor jti, its iat, its exp).
    async fn successor(
        &self,
        old_hash: &str,
        sid: &str,
    ) -> Result<Option<(i64, String, i64, i64)>, DbError> {
        let retired: Option<(Option<i64>, Option<String>)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT rotated_at, successor_jti FROM refresh_tokens \
                 WHERE jti_hash = $1 AND family_id = $2",
            )
            .bind(old_hash)
            .bind(sid)
            .fetch_optional(pool)
            .await
        })?;
        let Some((Some(rotated_at), Some(jti))) = retired else {
            return Ok(None);
        };
        let times: Option<(i64, i64)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT issued_at, expires_at FROM refresh_tokens \
                 WHERE jti_hash = $1 AND family_id = $2",
            )
            .bind(hash_jti(&jti))
            .bind(sid)
            .fetch_optional(pool)
            .await
        })?;
        Ok(times.map(|(issued_at, expires_at)| (rotated_at, jti, issued_at, expires_at)))
    }

    /// Ends a sign-in session: its refresh tokens stop working at once, its access tokens
    /// on every instance (here immediately, elsewhere at their next sync). Records the
    /// event (`why`, by `client`) with the revocation, when the session was still live.
    pub async fn revoke(
        &self,
        sid: &str,
        why: Revocation,
        client: Option<&Client>,
    ) -> Result<(), DbError> {
        let now = Utc::now().timestamp();
        let event = |user_id| {
            Event::new(why.event(), Some(user_id), client)
                .in_session(sid)
                .detail(why.reason())
        };
        let ended = with_db_write!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let owner: Option<(i64,)> = sqlx::query_as(
                "UPDATE token_families SET revoked_at = $1, revoked_reason = $2 \
                 WHERE id = $3 AND revoked_at IS NULL RETURNING user_id",
            )
            .bind(now)
            .bind(why.reason())
            .bind(sid)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((user_id,)) = owner {
                insert_event!(&mut *tx, &event(user_id))?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(owner)
        })?;
        if let Some((user_id,)) = ended {
            event(user_id).log();
        }
        self.revocations.insert(sid, now);
        Ok(())
    }

    /// Records that sign-in `sid` was used by `ip` just now, for "Where you're signed in"
    /// and the idle timeout: a database write at most once a minute per sign-in. A failed
    /// write is logged, never the request's failure.
    pub async fn record_use(&self, sid: &str, ip: IpAddr) {
        if sid.is_empty() {
            // A simplejwt access token: no sign-in of ours to record the use on.
            return;
        }
        let now = Utc::now().timestamp();
        if let Err(error) = self.last_use.record(&self.db, sid, ip, now).await {
            tracing::warn!(%error, "recording a sign-in's last use");
        }
    }

    /// Ends `user_id`'s live sign-in `sid` (from "Where you're signed in"): its tokens stop
    /// working as with [`revoke`](Self::revoke). Another user's sign-in, an unknown id and
    /// one already ended are all [`EndSignInError::NotFound`], so ids reveal nothing.
    ///
    /// Records a [`Kind::SignInEnded`] event about `sid`, by `client` (and the
    /// administrator `actor`, from `/admin`), with the revocation.
    pub async fn end_sign_in(
        &self,
        user_id: i64,
        sid: &str,
        client: &Client,
        actor: Option<i64>,
    ) -> Result<(), EndSignInError> {
        let now = Utc::now().timestamp();
        let mut event = Event::new(Kind::SignInEnded, Some(user_id), Some(client)).in_session(sid);
        event.actor_id = actor;
        let ended = with_db_write!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let ended: Option<(String,)> = sqlx::query_as(
                "UPDATE token_families SET revoked_at = $1, revoked_reason = $2 \
                 WHERE id = $3 AND user_id = $4 AND revoked_at IS NULL AND expires_at > $1 \
                 RETURNING id",
            )
            .bind(now)
            .bind("ended from another sign-in")
            .bind(sid)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            if ended.is_some() {
                insert_event!(&mut *tx, &event)?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ended.is_some())
        })?;
        if !ended {
            return Err(EndSignInError::NotFound);
        }
        event.log();
        self.revocations.insert(sid, now);
        Ok(())
    }

    /// Ends every live sign-in of `user_id` but `keep` (the caller's own); returns how many
    /// were ended.
    ///
    /// Records a [`Kind::OtherSignInsEnded`] event (detail: how many) in sign-in `keep`, by
    /// `client`, with the revocations.
    pub async fn end_other_sign_ins(
        &self,
        user_id: i64,
        keep: &str,
        client: &Client,
    ) -> Result<usize, DbError> {
        let event = |n: usize| {
            Event::new(Kind::OtherSignInsEnded, Some(user_id), Some(client))
                .in_session(keep)
                .detail(n.to_string())
        };
        self.end_sign_ins(user_id, keep, "ended with every other sign-in", |n| {
            Some(event(n))
        })
        .await
    }

    /// Ends every live sign-in of `user_id` (and the Django stack's tokens), as the
    /// administrator `actor` asked from `/admin`; returns how many were ended.
    ///
    /// Records a [`Kind::AllSignInsEnded`] event (detail: how many) by `client` and `actor`
    /// when any was ended.
    pub async fn end_all_sign_ins(
        &self,
        user_id: i64,
        client: &Client,
        actor: i64,
    ) -> Result<usize, DbError> {
        let event = |n: usize| {
            Event::new(Kind::AllSignInsEnded, Some(user_id), Some(client))
                .by(actor)
                .detail(n.to_string())
        };
        // No sign-in has an empty id: none is kept. Nothing ended, nothing recorded (a
        // second click).
        let event = |n: usize| (n > 0).then(|| event(n));
        self.end_sign_ins(user_id, "", "ended by an administrator", event)
            .await
    }

    /// Ends every live sign-in of `user_id` but `keep` (revoked for `reason`), recording
    /// `event(how many)` when it is one.
    async fn end_sign_ins<'c>(
        &self,
        user_id: i64,
        keep: &str,
        reason: &str,
        event: impl Fn(usize) -> Option<Event<'c>>,
    ) -> Result<usize, DbError> {
        let now = Utc::now().timestamp();
        let ended: Vec<(String,)> = with_db_write!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let ended: Vec<(String,)> = sqlx::query_as(
                "UPDATE token_families SET revoked_at = $1, revoked_reason = $2 \
                 WHERE user_id = $3 AND id <> $4 AND revoked_at IS NULL AND expires_at > $1 \
                 RETURNING id",
            )
            .bind(now)
            .bind(reason)
            .bind(user_id)
            .bind(keep)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query(legacy::END_TOKENS)
                .bind(now)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if let Some(event) = event(ended.len()) {
                insert_event!(&mut *tx, &event)?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(ended)
        })?;
        if let Some(event) = event(ended.len()) {
            event.log();
        }
        for (sid,) in &ended {
            self.revocations.insert(sid, now);
        }
        Ok(ended.len())
    }

    /// Ends every session of a user (deactivation, password change), here at once and on
    /// other instances at their next sync.
    pub async fn revoke_all_for_user(&self, user_id: i64, reason: &str) -> Result<(), DbError> {
        let now = Utc::now().timestamp();
        for sid in revoke_all_families(&self.db, user_id, reason, now).await? {
            self.revocations.insert(&sid, now);
        }
        Ok(())
    }

    /// Logout with a refresh token: revokes its session. The token must pass
    /// [`check`](Self::check) as a refresh token (an expired, forged, retired or already
    /// revoked one cannot end anyone's session, and says so).
    pub async fn revoke_by_refresh(
        &self,
        refresh_token: &str,
        client: Option<&Client>,
    ) -> Result<(), TokenError> {
        let claims = self.check(refresh_token).await?;
        if claims.token_type != TokenType::Refresh {
            return Err(JwtError::WrongType.into());
        }
        if claims.sid.is_empty() {
            // An unspent simplejwt refresh token ([`check`](Self::check) judged it).
            return Ok(self.spend_simplejwt(&claims).await?);
        }
        self.revoke(&claims.sid, Revocation::SignedOut, client)
            .await?;
        Ok(())
    }

    fn issue_access(&self, user_id: i64, sid: &str, now: DateTime<Utc>) -> IssuedToken {
        let iat = now.timestamp();
        let exp = iat + self.settings.access_lifetime_secs;
        IssuedToken {
            token: self.codec.encode(&self.claims(
                TokenType::Access,
                new_token_id(),
                user_id,
                sid,
                iat,
                exp,
            )),
            expires_at: expiration(now, self.settings.access_lifetime_secs),
        }
    }

    fn claims(
        &self,
        token_type: TokenType,
        jti: String,
        user_id: i64,
        sid: &str,
        iat: i64,
        exp: i64,
    ) -> Claims {
        Claims {
            token_type,
            exp,
            iat,
            jti,
            user_id,
            sid: sid.to_owned(),
            iss: self.codec.issuer().map(str::to_owned),
            aud: self.codec.audience().map(str::to_owned),
        }
    }
}

fn expiration(now: DateTime<Utc>, lifetime_secs: i64) -> DateTime<Utc> {
    now + chrono::Duration::seconds(lifetime_secs)
}

/// Refresh tokens are stored as the SHA-256 of their jti (random, 128 bits: no salt needed).
fn hash_jti(jti: &str) -> String {
    hex::encode(Sha256::digest(jti.as_bytes()))
}

/// Marks every live token family of `user_id` revoked at `now` (Unix seconds) and returns
/// their ids. Running instances pick the revocations up at their next sync, so this is
/// all a process without its own [`Tokens`] (the admin commands) needs to sign someone out.
pub async fn revoke_all_families(
    db: &Db,
    user_id: i64,
    reason: &str,
    now: i64,
) -> Result<Vec<String>, DbError> {
    let sids: Vec<(String,)> = with_db_write!(db, pool => {
        sqlx::query_as(
            "UPDATE token_families SET revoked_at = $1, revoked_reason = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .fetch_all(pool)
        .await
    })?;
    Ok(sids.into_iter().map(|(sid,)| sid).collect())
}

/// `2026-11-23T16:23:32.026067Z`, as dj-rest-auth formats expirations: UTC, always six
/// digits of microseconds, and `Z`.
pub fn format_expiration(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
