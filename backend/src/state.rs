use std::sync::Arc;
use std::time::Duration;

use crate::api::rate_limit::RateLimits;
use crate::auth::jwt::{JwtCodec, JwtKeyError};
use crate::auth::password::Passwords;
use crate::auth::tokens::{TokenSettings, Tokens};
use crate::config::Config;
use crate::db::Db;
use crate::social::Social;
use crate::user_cache::UserCache;
use crate::web::WebState;

/// What every handler and server function shares. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub passwords: Passwords,
    pub tokens: Tokens,
    /// `None` when rate limiting is switched off.
    pub rate_limits: Option<Arc<RateLimits>>,
    pub user_cache: Arc<UserCache>,
    pub web: Arc<WebState>,
    pub social: Arc<Social>,
}

impl AppState {
    /// Builds the shared state. Fails only on a private key that does not parse.
    pub fn new(config: Config, db: Db) -> Result<Self, JwtKeyError> {
        let algorithm = config.jwt_algorithm.to_jsonwebtoken();
        let (issuer, audience) = (config.jwt_issuer.clone(), config.jwt_audience.clone());
        let codec = match &config.jwt_private_key {
            Some(pem) => JwtCodec::asymmetric(algorithm, pem.expose(), issuer, audience)?,
            None => JwtCodec::hmac(algorithm, config.jwt_signing_key.expose(), issuer, audience),
        };
        let tokens = Tokens::new(
            codec,
            TokenSettings {
                access_lifetime_secs: config.jwt_access_token_lifetime,
                refresh_lifetime_secs: config.jwt_refresh_token_lifetime,
                session_lifetime_secs: config.jwt_session_lifetime,
                reuse_grace_secs: config.jwt_refresh_reuse_grace,
                rotate_refresh_tokens: config.jwt_rotate_refresh_tokens,
            },
            db.clone(),
        );
        crate::auth::password_rules::preload();
        Ok(AppState {
            passwords: Passwords::new(config.password_hash_concurrency),
            rate_limits: config
                .rate_limits
                .as_ref()
                .map(|limits| Arc::new(RateLimits::new(limits))),
            user_cache: Arc::new(UserCache::new(config.user_cache_ttl)),
            web: Arc::new(WebState::new(&config, db.clone())),
            social: Arc::new(Social::new(&config.social_providers)),
            config: Arc::new(config),
            db,
            tokens,
        })
    }

    /// Housekeeping that runs for the life of the process: reload session revocations made
    /// by other instances; every minute, forget idle rate-limit keys and finished refreshes
    /// and delete expired browser sessions.
    pub fn spawn_background_tasks(&self) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(state.config.revocation_sync_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_prune = tokio::time::Instant::now();
            loop {
                tick.tick().await;
                let now = chrono::Utc::now().timestamp();
                if let Err(error) = state.tokens.revocations().sync(&state.db, now).await {
                    tracing::warn!(%error, "could not sync session revocations");
                }
                if last_prune.elapsed() > Duration::from_secs(60) {
                    if let Some(limits) = &state.rate_limits {
                        limits.prune();
                    }
                    state.web.refreshes.prune(now);
                    if let Err(error) = state.web.store.delete_expired().await {
                        tracing::warn!(%error, "could not delete expired sessions");
                    }
                    last_prune = tokio::time::Instant::now();
                }
            }
        })
    }
}
