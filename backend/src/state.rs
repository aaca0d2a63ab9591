//! [`AppState`]: the composition root. Built once at start-up from the [`Config`], it owns
//! one of each shared service; handlers of both transports take it as `State<AppState>`
//! and hand each use case only the parts it uses.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use crate::auth::jwt::{JwtCodec, JwtKeyError};
use crate::auth::password::Passwords;
use crate::auth::rate_limit::RateLimits;
use crate::auth::tokens::{TokenSettings, Tokens};
use crate::browser::Browser;
use crate::client_ip::TrustedProxies;
use crate::config::Config;
use crate::db::Db;
use crate::mail::worker::{Mailer, MailerError};
use crate::mfa::passkeys::Passkeys;
use crate::mfa::MfaKeys;
use crate::social::Social;
use crate::user_cache::UserCache;

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// `JWT_PRIVATE_KEY_FILE` holds no usable key.
    #[error(transparent)]
    Key(#[from] JwtKeyError),
    /// `RATE_LIMIT_STORE` names a Redis server that cannot be used.
    #[error("rate-limit store: {0}")]
    RateLimitStore(#[from] redis::RedisError),
    /// `EMAIL_FROM` or the SMTP settings cannot be used.
    #[error(transparent)]
    Mail(#[from] MailerError),
}

/// What every handler and server function shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The database pool (SQLite or PostgreSQL).
    pub db: Db,
    /// The argon2id hashing threads (`PASSWORD_HASH_CONCURRENCY` of them).
    pub passwords: Passwords,
    /// Issues, refreshes and revokes JWTs; holds the in-memory revocation list.
    pub tokens: Tokens,
    /// Every check passes when rate limiting is switched off.
    pub rate_limits: Arc<RateLimits>,
    /// Recently read user rows (`USER_CACHE_TTL_MS`), for authenticating API calls and pages.
    pub user_cache: Arc<UserCache>,
    /// Cookie settings, the flash key, browser sessions and their store.
    pub browser: Arc<Browser>,
    /// The configured social sign-in providers (possibly none).
    pub social: Arc<Social>,
    /// Delivers the mail outbox.
    pub mailer: Arc<Mailer>,
    /// The keys second factors are kept under (`MFA_ENCRYPTION_KEY`).
    pub mfa_keys: MfaKeys,
    /// This deployment as a WebAuthn relying party (`PUBLIC_URL`); off for an IP address.
    pub passkeys: Passkeys,
}

impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        TrustedProxies(state.config.trusted_proxies.clone())
    }
}

/// Whole seconds, as the token machinery counts them.
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl AppState {
    /// Builds the shared state. Fails on a private key that does not parse and on a
    /// rate-limit store that cannot be reached.
    pub async fn new(config: Config, db: Db) -> Result<Self, StateError> {
        let algorithm = config.jwt_algorithm.to_jsonwebtoken();
        let (issuer, audience) = (config.jwt_issuer.clone(), config.jwt_audience.clone());
        let codec = match &config.jwt_private_key {
            Some(pem) => JwtCodec::asymmetric(algorithm, pem.expose(), issuer, audience)?,
            None => JwtCodec::hmac(algorithm, config.jwt_signing_key.expose(), issuer, audience),
        };
        let user_cache = Arc::new(UserCache::new(config.user_cache_ttl));
        let tokens = Tokens::new(
            codec,
            TokenSettings {
                access_lifetime_secs: secs(config.jwt_access_token_lifetime),
                refresh_lifetime_secs: secs(config.jwt_refresh_token_lifetime),
                session_lifetime_secs: secs(config.jwt_session_lifetime),
                reuse_grace_secs: secs(config.jwt_refresh_reuse_grace),
                rotate_refresh_tokens: config.jwt_rotate_refresh_tokens,
                idle_timeout_secs: config.session_idle_timeout.map(secs),
                legacy_refresh_until: config.legacy_refresh_until.map(|t| t.timestamp()),
            },
            db.clone(),
            user_cache.clone(),
        );
        crate::auth::password_rules::preload();
        let rate_limits = RateLimits::new(
            config.rate_limits.as_ref(),
            &db,
            config.session_secret.expose(),
        )
        .await?;
        let mailer = Arc::new(Mailer::new(db.clone(), &config.email, &config.email_from)?);
        let passwords = Passwords::new(config.password_hash_concurrency);
        tokio::spawn({
            let (passwords, db) = (passwords.clone(), db.clone());
            async move {
                if let Err(error) = passwords.calibrate(&db).await {
                    tracing::warn!(%error, "could not time the Django password hashes");
                }
            }
        });
        Ok(AppState {
            passwords,
            rate_limits: Arc::new(rate_limits),
            browser: Arc::new(Browser::new(
                &config,
                db.clone(),
                tokens.clone(),
                user_cache.clone(),
            )),
            user_cache,
            social: Arc::new(Social::new(&config.social_providers)),
            mailer,
            mfa_keys: MfaKeys::new(&config.mfa_encryption_key),
            passkeys: Passkeys::new(&config.public_url, &config.site_name),
            config: Arc::new(config),
            db,
            tokens,
        })
    }

    /// What sensitive actions need to confirm who is asking (`REAUTH_MAX_AGE`).
    pub fn reauth(&self) -> crate::accounts::Reauth<'_> {
        crate::accounts::Reauth {
            db: &self.db,
            passwords: &self.passwords,
            limits: &self.rate_limits,
            max_age: self.config.reauth_max_age,
            client: None,
        }
    }

    /// What completing a sign-in with a second factor needs (both transports).
    pub fn second_step(&self) -> crate::accounts::SecondStep<'_> {
        crate::accounts::SecondStep {
            db: &self.db,
            tokens: &self.tokens,
            keys: &self.mfa_keys,
            limits: &self.rate_limits,
            mail: self.mail_context(),
            passkeys: &self.passkeys,
        }
    }

    /// What signing in with a passkey alone needs (both transports).
    pub fn passkey_sign_in(&self) -> crate::accounts::passkeys::PasskeySignIn<'_> {
        crate::accounts::passkeys::PasskeySignIn {
            db: &self.db,
            passkeys: &self.passkeys,
            tokens: &self.tokens,
            limits: &self.rate_limits,
            verification: self.config.email_verification,
        }
    }

    /// What the use cases that mail need from the configuration.
    pub fn mail_context(&self) -> crate::accounts::MailContext<'_> {
        crate::accounts::MailContext {
            site_name: &self.config.site_name,
            public_url: &self.config.public_url,
            password_reset_timeout: self.config.password_reset_timeout,
            email_confirmation_timeout: self.config.email_confirmation_timeout,
        }
    }

    /// Housekeeping that runs for the life of the process: reload session revocations made
    /// by other instances; every minute, forget idle rate-limit keys and finished refreshes
    /// and delete expired browser sessions and mailed links, and security events past
    /// `AUDIT_RETENTION_DAYS`.
    pub fn spawn_background_tasks(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let mail = self.mailer.spawn();
        tokio::spawn(async move {
            // Stopping the housekeeping (shutdown) stops the mail worker with it.
            let _mail = AbortOnDrop(mail);
            let mut tick = tokio::time::interval(state.config.revocation_sync_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_prune = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let now = chrono::Utc::now().timestamp();
                if let Err(error) = state.tokens.revocations().sync(&state.db, now).await {
                    tracing::warn!(%error, "could not sync session revocations");
                }
                if let Err(error) = state.rate_limits.refusal_counts().flush(&state.db).await {
                    tracing::warn!(%error, "could not record rate-limit refusals");
                }
                if last_prune.elapsed() > Duration::from_secs(60) {
                    state.rate_limits.prune().await;
                    state.browser.sessions.prune(now);
                    if let Err(error) = state.browser.store.delete_expired().await {
                        tracing::warn!(%error, "could not delete expired sessions");
                    }
                    if let Err(error) = crate::accounts::links::prune(&state.db).await {
                        tracing::warn!(%error, "could not delete expired mailed links");
                    }
                    let retention = state.config.audit_retention_days;
                    if let Err(error) = crate::audit::prune(&state.db, now, retention).await {
                        tracing::warn!(%error, "could not delete old security events");
                    }
                    let counts = crate::auth::refusal_counts::RefusalCounts::prune(&state.db, now);
                    if let Err(error) = counts.await {
                        tracing::warn!(%error, "could not delete old rate-limit counts");
                    }
                    if let Err(error) = crate::mfa::challenge::prune(&state.db, now).await {
                        tracing::warn!(%error, "could not delete expired second-factor steps");
                    }
                    if let Err(error) = crate::mfa::passkeys::prune(&state.db, now).await {
                        tracing::warn!(%error, "could not delete expired passkey ceremonies");
                    }
                    if let Err(error) = crate::auth::tokens::legacy::prune(&state.db, now).await {
                        tracing::warn!(%error, "could not delete expired simplejwt tokens");
                    }
                    last_prune = tokio::time::Instant::now();
                }
            }
        })
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
