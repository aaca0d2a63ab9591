//! Typed configuration, loaded once at start-up: [`Settings`] is what the operator typed
//! (flags, environment, `.env`), [`Config`] the validated result the rest of the program
//! uses, with secrets resolved and lifetimes as [`Duration`]s.

mod settings;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use thiserror::Error;

pub use settings::{AppEnv, EmailVerification, JwtAlgorithm, LogFormat, Settings};

use crate::client_ip::IpNet;
use crate::secret::Secret;
use crate::social::providers::{self, ProviderConfig, ProviderConfigError};

/// Shortest signing key accepted in production (HS512 wants at least 64 bytes to be at full
/// strength, 32 is the floor below which brute force of a leaked token becomes plausible).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where rate-limit budgets live (`RATE_LIMIT_STORE`).
#[derive(Clone, PartialEq, Eq)]
pub enum RateLimitStore {
    /// In this process only.
    Memory,
    /// In the application's database, shared by every instance on it.
    Database,
    /// In Redis at this URL, shared by every instance using it.
    Redis(String),
}

impl std::fmt::Debug for RateLimitStore {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateLimitStore::Memory => f.write_str("Memory"),
            RateLimitStore::Database => f.write_str("Database"),
            RateLimitStore::Redis(url) => write!(f, "Redis({})", redact_database_url(url)),
        }
    }
}

impl std::str::FromStr for RateLimitStore {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "memory" => Ok(RateLimitStore::Memory),
            "database" => Ok(RateLimitStore::Database),
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Ok(RateLimitStore::Redis(url.to_owned()))
            }
            other => Err(ConfigError::InvalidRateLimitStore(
                other.split("://").next().unwrap_or_default().to_owned(),
            )),
        }
    }
}

/// Rate limits; `None` when switched off.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    /// Sign-in attempts per minute, per client IP and, separately, per account
    /// (`RATE_LIMIT_LOGIN_PER_MINUTE`); social sign-in counts against the IP budget.
    pub login_per_minute: u32,
    /// Sign-ups per minute per client IP (`RATE_LIMIT_REGISTER_PER_MINUTE`).
    pub register_per_minute: u32,
    /// Token refreshes per minute per client IP (`RATE_LIMIT_REFRESH_PER_MINUTE`).
    pub refresh_per_minute: u32,
    /// Mail-sending requests per hour per address (`RATE_LIMIT_EMAIL_PER_HOUR`).
    pub email_per_hour: u32,
    /// Mail-sending requests per hour per client IP (`RATE_LIMIT_EMAIL_IP_PER_HOUR`).
    pub email_ip_per_hour: u32,
    /// Where the budgets live.
    pub store: RateLimitStore,
}

/// Settings give lifetimes in whole seconds (clap has already refused anything below its
/// range, so a negative value cannot arrive here).
fn seconds(secs: i64) -> Duration {
    Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1)
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address the HTTP server listens on (`LEPTOS_SITE_ADDR`).
    pub site_addr: SocketAddr,
    /// `sqlite:…`, `postgres://…` or `postgresql://…`; may hold credentials, so log
    /// [`database_display`](Config::database_display) instead.
    pub database_url: String,
    /// Size of the database pool, at least 1 (SQLite writes still use one connection).
    pub database_max_connections: u32,
    /// Development or production; production requires real secrets and `PUBLIC_URL`.
    pub app_env: AppEnv,
    /// Origin without a trailing slash, e.g. `https://auth.example.com`.
    pub public_url: String,
    /// True when `public_url` was derived from the listen address (development), so that
    /// it can follow the port actually bound (`LEPTOS_SITE_ADDR=127.0.0.1:0`).
    pub public_url_is_derived: bool,
    /// `DATA_DIR`: home of the default SQLite database and the generated development secrets.
    pub data_dir: PathBuf,
    /// The HMAC key for HS* algorithms (at least 32 bytes in production; generated into
    /// `DATA_DIR` in development). Unused with a private key.
    pub jwt_signing_key: Secret,
    /// `SESSION_SECRET` (same length rules as the JWT key). Only the flash cookie's signing
    /// key is derived from it; session ids are random and unsigned.
    pub session_secret: Secret,
    /// `MFA_ENCRYPTION_KEY` (same length rules): authenticator-app secrets are encrypted
    /// and recovery codes hashed under keys derived from it.
    pub mfa_encryption_key: Secret,
    /// Text or JSON log lines.
    pub log_format: LogFormat,
    /// Directory of the built site (JS, WASM, CSS) when the binary does not embed it.
    pub site_root: PathBuf,
    /// The algorithm every token is signed and verified with; no other is accepted.
    pub jwt_algorithm: JwtAlgorithm,
    /// The PEM private key for asymmetric algorithms.
    pub jwt_private_key: Option<Secret>,
    /// simplejwt's `ACCESS_TOKEN_LIFETIME`.
    pub jwt_access_token_lifetime: Duration,
    /// simplejwt's `REFRESH_TOKEN_LIFETIME`; also the browser session's idle expiry.
    pub jwt_refresh_token_lifetime: Duration,
    /// Absolute lifetime of one sign-in (token family); refreshing never extends it.
    pub jwt_session_lifetime: Duration,
    /// An unused sign-in can no longer refresh after this (`SESSION_IDLE_TIMEOUT`); `None`:
    /// no idle limit.
    pub session_idle_timeout: Option<Duration>,
    /// How recent a sign-in's last proof of identity must be for sensitive actions
    /// (`REAUTH_MAX_AGE`).
    pub reauth_max_age: Duration,
    /// Days security events are kept (`AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: u32,
    /// Until when simplejwt's tokens from before a move from Django are read
    /// (`LEGACY_REFRESH_UNTIL`); `None`: never.
    pub legacy_refresh_until: Option<chrono::DateTime<chrono::Utc>>,
    /// The bearer token `/metrics` requires (`METRICS_TOKEN`); `None`: no metrics.
    pub metrics_token: Option<Secret>,
    /// simplejwt's `ROTATE_REFRESH_TOKENS` (on by default here).
    pub jwt_rotate_refresh_tokens: bool,
    /// How long a just-rotated refresh token still yields the same successor.
    pub jwt_refresh_reuse_grace: Duration,
    /// The `iss` claim to issue and require; `None` when unset or empty.
    pub jwt_issuer: Option<String>,
    /// The `aud` claim to issue and require; `None` when unset or empty.
    pub jwt_audience: Option<String>,
    /// How often each instance loads revocations made elsewhere (`REVOCATION_SYNC_INTERVAL_MS`,
    /// at least 50 ms).
    pub revocation_sync_interval: Duration,
    /// Hashing threads, at least 1 (default: half the CPU cores).
    pub password_hash_concurrency: usize,
    /// How long a user row read for one request may serve the next (`USER_CACHE_TTL_MS`);
    /// zero turns the cache off.
    pub user_cache_ttl: Duration,
    /// Normalised origins (`scheme://host[:port]`).
    pub cors_allowed_origins: Vec<String>,
    /// The rate limits; `None` when `RATE_LIMIT_ENABLED=false`.
    pub rate_limits: Option<RateLimitConfig>,
    /// Networks whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`); empty: none.
    pub trusted_proxies: Arc<[IpNet]>,
    /// The social sign-in providers with both a client id and a secret, in configuration order.
    pub social_providers: Vec<ProviderConfig>,
    /// How mail leaves (`EMAIL_URL`).
    pub email: crate::mail::Transport,
    /// The `From` of every message (`EMAIL_FROM`).
    pub email_from: String,
    /// The product's name in mail (`SITE_NAME`).
    pub site_name: String,
    /// `ACCOUNT_EMAIL_VERIFICATION`.
    pub email_verification: EmailVerification,
    /// How long a password reset link lives (`PASSWORD_RESET_TIMEOUT`).
    pub password_reset_timeout: Duration,
    /// How long a verification link lives (`ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`).
    pub email_confirmation_timeout: Duration,
    /// Human-readable notes about relaxed settings, logged once tracing is up.
    pub warnings: Vec<String>,
}

/// A setting that cannot be used; the server refuses to start with it. The message is for
/// the operator and names the setting (or the data directory) to fix.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A setting production cannot do without (`PUBLIC_URL`, `JWT_SIGNING_KEY`,
    /// `SESSION_SECRET`); the field is its name.
    #[error("{0} is required when APP_ENV=production")]
    MissingInProduction(&'static str),
    /// A secret shorter than `MIN_SECRET_BYTES` in production.
    #[error("{name} must be at least {MIN_SECRET_BYTES} bytes in production (got {len})")]
    SecretTooShort {
        /// The setting's name (`JWT_SIGNING_KEY` or `SESSION_SECRET`).
        name: &'static str,
        /// Its length as given, in bytes.
        len: usize,
    },
    /// `PUBLIC_URL` is not an http(s) origin (a path, query, fragment or user info is refused
    /// too); the field is the value as given.
    #[error("PUBLIC_URL must be an http(s) origin such as https://auth.example.com (got {0:?})")]
    InvalidPublicUrl(String),
    /// `DATABASE_URL` names neither SQLite nor PostgreSQL; the field is its scheme.
    #[error("DATABASE_URL must start with sqlite: or postgres:// (got scheme {0:?})")]
    UnsupportedDatabase(String),
    /// An asymmetric `JWT_ALGORITHM` without `JWT_PRIVATE_KEY_FILE`; the field is the
    /// algorithm's name.
    #[error("JWT_ALGORITHM={0} needs JWT_PRIVATE_KEY_FILE (a PEM private key)")]
    MissingPrivateKey(&'static str),
    /// `JWT_PRIVATE_KEY_FILE` could not be read.
    #[error("cannot read JWT_PRIVATE_KEY_FILE {path}: {source}")]
    PrivateKeyFile {
        /// The file as configured.
        path: PathBuf,
        /// Why reading it failed.
        source: std::io::Error,
    },
    /// A `CORS_ALLOWED_ORIGINS` entry that is not an http(s) origin; the field is the entry.
    #[error("invalid CORS_ALLOWED_ORIGINS entry {0:?}: expected an origin such as https://app.example.com")]
    InvalidCorsOrigin(String),
    /// `SESSION_IDLE_TIMEOUT` no longer than an access token lives (plus the minute last use
    /// is rounded to): a client that uses its access token elsewhere and refreshes only when
    /// it expires would be idle at every refresh.
    #[error(
        "SESSION_IDLE_TIMEOUT ({idle} s) must be longer than JWT_ACCESS_TOKEN_LIFETIME ({access} s) plus 60 s"
    )]
    IdleTimeoutTooShort {
        /// `SESSION_IDLE_TIMEOUT`, seconds.
        idle: i64,
        /// `JWT_ACCESS_TOKEN_LIFETIME`, seconds.
        access: i64,
    },
    /// `METRICS_TOKEN` shorter than 16 bytes (guessable); the field is its length.
    #[error("METRICS_TOKEN must be at least 16 bytes (got {0}); try openssl rand -hex 16")]
    MetricsTokenTooShort(usize),
    /// `ACCOUNT_EMAIL_VERIFICATION=mandatory` with `EMAIL_URL=none`: nobody could sign up.
    #[error("ACCOUNT_EMAIL_VERIFICATION=mandatory needs mail, but EMAIL_URL=none")]
    VerificationWithoutMail,
    /// `EMAIL_URL` does not parse.
    #[error(transparent)]
    Email(#[from] crate::mail::MailConfigError),
    /// `RATE_LIMIT_STORE` is none of `memory`, `database` or a Redis URL (the scheme only
    /// is shown: a URL may carry a password).
    #[error("RATE_LIMIT_STORE must be memory, database or a redis:// URL (got {0:?})")]
    InvalidRateLimitStore(String),
    /// A `TRUSTED_PROXIES` entry that is not an IP address or CIDR; the field says which.
    #[error("invalid TRUSTED_PROXIES: {0}")]
    InvalidTrustedProxy(String),
    /// The development data directory, or a secret file in it, could not be created, read or
    /// written.
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        /// The data directory (`DATA_DIR`).
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The social provider variables are incomplete or malformed.
    #[error("social sign-in: {0}")]
    Social(#[from] ProviderConfigError),
}

impl Config {
    /// Validates settings; in development, creates the data directory and its secrets.
    pub fn from_settings(s: Settings) -> Result<Config, ConfigError> {
        let production = s.app_env == AppEnv::Production;
        let mut warnings = Vec::new();

        let public_url_is_derived = s.public_url.is_none();
        let public_url = match s.public_url {
            Some(url) => normalise_origin(&url)?,
            None if production => return Err(ConfigError::MissingInProduction("PUBLIC_URL")),
            None => default_public_url(s.site_addr),
        };

        let database_url = s
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", s.data_dir.join("app.db").display()));
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            let scheme = database_url
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            return Err(ConfigError::UnsupportedDatabase(scheme));
        }

        let jwt_private_key = if s.jwt_algorithm.is_asymmetric() {
            let name = if s.jwt_algorithm == JwtAlgorithm::EdDsa {
                "EdDSA"
            } else {
                "RS256"
            };
            let path = s
                .jwt_private_key_file
                .clone()
                .ok_or(ConfigError::MissingPrivateKey(name))?;
            let pem = std::fs::read(&path)
                .map_err(|source| ConfigError::PrivateKeyFile { path, source })?;
            Some(Secret::new(pem))
        } else {
            None
        };
        // With a private key, the HMAC key signs nothing; production need not provide one.
        let jwt_signing_key = resolve_secret(
            "JWT_SIGNING_KEY",
            s.jwt_signing_key,
            production && jwt_private_key.is_none(),
            &s.data_dir,
            "jwt_signing_key",
            &mut warnings,
        )?;
        let session_secret = resolve_secret(
            "SESSION_SECRET",
            s.session_secret,
            production,
            &s.data_dir,
            "session_secret",
            &mut warnings,
        )?;
        let mfa_encryption_key = resolve_secret(
            "MFA_ENCRYPTION_KEY",
            s.mfa_encryption_key,
            production,
            &s.data_dir,
            "mfa_encryption_key",
            &mut warnings,
        )?;

        let cors_allowed_origins = match s.cors_allowed_origins {
            Some(list) => list
                .iter()
                .map(|o| o.trim())
                .filter(|o| !o.is_empty())
                .map(|o| normalise_origin(o).map_err(|_| ConfigError::InvalidCorsOrigin(o.into())))
                .collect::<Result<Vec<_>, _>>()?,
            None if production => Vec::new(),
            None => vec![
                "http://localhost:3000".to_owned(),
                "http://127.0.0.1:3000".to_owned(),
            ],
        };
        let trusted_proxies = s
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.parse::<IpNet>().map_err(ConfigError::InvalidTrustedProxy))
            .collect::<Result<Arc<[_]>, _>>()?;
        let rate_limits = s.rate_limit_enabled.then_some(RateLimitConfig {
            login_per_minute: s.rate_limit_login_per_minute,
            register_per_minute: s.rate_limit_register_per_minute,
            refresh_per_minute: s.rate_limit_refresh_per_minute,
            email_per_hour: s.rate_limit_email_per_hour,
            email_ip_per_hour: s.rate_limit_email_ip_per_hour,
            store: s.rate_limit_store.parse()?,
        });
        if !s.rate_limit_enabled {
            warnings.push(
                "RATE_LIMIT_ENABLED=false: login, register and refresh are not rate-limited"
                    .to_owned(),
            );
        }

        let social_providers = match s.social_providers {
            Some(providers) => providers,
            None => providers::from_env(|name| std::env::var(name).ok())?,
        };

        let email = crate::mail::Transport::from_url(s.email_url.as_deref())?;
        if production && email == crate::mail::Transport::Console {
            return Err(ConfigError::MissingInProduction("EMAIL_URL"));
        }
        if s.session_idle_timeout > 0 && s.session_idle_timeout <= s.jwt_access_token_lifetime + 60
        {
            return Err(ConfigError::IdleTimeoutTooShort {
                idle: s.session_idle_timeout,
                access: s.jwt_access_token_lifetime,
            });
        }
        let metrics_token = match s.metrics_token.filter(|t| !t.is_empty()) {
            Some(token) if token.len() < 16 => {
                return Err(ConfigError::MetricsTokenTooShort(token.len()))
            }
            token => token.map(Secret::new),
        };
        if let Some(until) = s.legacy_refresh_until {
            let days = (until - chrono::Utc::now()).num_days();
            if until <= chrono::Utc::now() {
                warnings.push(format!(
                    "LEGACY_REFRESH_UNTIL ({until}) has passed: no simplejwt token is accepted"
                ));
            } else if days > 90 {
                warnings.push(format!(
                    "LEGACY_REFRESH_UNTIL is {days} days away: simplejwt's refresh tokens live \
                     7 days by default, so a date soon after the switch plus their lifetime \
                     is enough"
                ));
            }
        }
        if email == crate::mail::Transport::Disabled {
            if s.account_email_verification == EmailVerification::Mandatory {
                return Err(ConfigError::VerificationWithoutMail);
            }
            warnings.push(
                "EMAIL_URL=none: no mail is sent; password reset, address verification and \
                 address change are unavailable, and notices are not delivered"
                    .into(),
            );
        }

        Ok(Config {
            email,
            email_verification: s.account_email_verification,
            password_reset_timeout: seconds(s.password_reset_timeout),
            email_confirmation_timeout: seconds(s.account_email_confirmation_expire_days * 86_400),
            email_from: s.email_from,
            site_name: s.site_name,
            social_providers,
            jwt_algorithm: s.jwt_algorithm,
            jwt_private_key,
            jwt_access_token_lifetime: seconds(s.jwt_access_token_lifetime),
            jwt_refresh_token_lifetime: seconds(s.jwt_refresh_token_lifetime),
            jwt_session_lifetime: seconds(s.jwt_session_lifetime),
            session_idle_timeout: (s.session_idle_timeout > 0)
                .then(|| seconds(s.session_idle_timeout)),
            audit_retention_days: s.audit_retention_days,
            reauth_max_age: seconds(s.reauth_max_age),
            jwt_rotate_refresh_tokens: s.jwt_rotate_refresh_tokens,
            legacy_refresh_until: s.legacy_refresh_until,
            metrics_token,
            jwt_refresh_reuse_grace: seconds(s.jwt_refresh_reuse_grace),
            jwt_issuer: s.jwt_issuer.filter(|v| !v.is_empty()),
            jwt_audience: s.jwt_audience.filter(|v| !v.is_empty()),
            revocation_sync_interval: Duration::from_millis(s.revocation_sync_interval_ms),
            user_cache_ttl: Duration::from_millis(s.user_cache_ttl_ms),
            password_hash_concurrency: s
                .password_hash_concurrency
                .unwrap_or_else(default_hash_concurrency)
                .max(1),
            cors_allowed_origins,
            rate_limits,
            trusted_proxies,
            site_addr: s.site_addr,
            database_url,
            database_max_connections: s.database_max_connections.max(1),
            app_env: s.app_env,
            public_url,
            public_url_is_derived,
            data_dir: s.data_dir,
            jwt_signing_key,
            session_secret,
            mfa_encryption_key,
            log_format: s.log_format,
            site_root: s.site_root,
            warnings,
        })
    }

    /// The SQLite file path or the PostgreSQL host and database, without credentials.
    pub fn database_display(&self) -> String {
        redact_database_url(&self.database_url)
    }
}

fn resolve_secret(
    name: &'static str,
    given: Option<String>,
    production: bool,
    data_dir: &Path,
    file_name: &str,
    warnings: &mut Vec<String>,
) -> Result<Secret, ConfigError> {
    match given.filter(|v| !v.is_empty()) {
        Some(value) if value.len() >= MIN_SECRET_BYTES => Ok(Secret::new(value)),
        Some(value) if production => Err(ConfigError::SecretTooShort {
            name,
            len: value.len(),
        }),
        Some(value) => {
            warnings.push(format!(
                "{name} is shorter than {MIN_SECRET_BYTES} bytes; accepted in development only"
            ));
            Ok(Secret::new(value))
        }
        None if production => Err(ConfigError::MissingInProduction(name)),
        None => load_or_create_dev_secret(data_dir, file_name),
    }
}

/// Development secrets are random and persisted, so sessions and tokens survive restarts
/// without anyone ever committing a shared, well-known key.
fn load_or_create_dev_secret(data_dir: &Path, file_name: &str) -> Result<Secret, ConfigError> {
    let io_err = |source| ConfigError::DataDir {
        path: data_dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(io_err)?;
    let path = data_dir.join(file_name);
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing.trim().len() >= MIN_SECRET_BYTES => {
            return Ok(Secret::new(existing.trim().as_bytes()));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(e)),
    }
    let mut bytes = [0u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    let encoded = hex::encode(bytes);
    write_private_file(&path, encoded.as_bytes()).map_err(io_err)?;
    Ok(Secret::new(encoded))
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// The development default for `PUBLIC_URL`: where a browser on this machine reaches `addr`.
pub fn default_public_url(addr: SocketAddr) -> String {
    // A wildcard bind address is not something a browser can visit.
    if addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

fn normalise_origin(url: &str) -> Result<String, ConfigError> {
    let invalid = || ConfigError::InvalidPublicUrl(url.to_owned());
    // Scheme and host are case-insensitive, and an origin has nothing else.
    let trimmed = url.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(invalid());
    }
    Ok(trimmed)
}

fn redact_database_url(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return format!("sqlite:{}", path.split('?').next().unwrap_or_default());
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        return format!("sqlite:{}", path.split('?').next().unwrap_or_default());
    }
    // postgres://user:password@host:port/db?params -> postgres://host:port/db
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let after_credentials = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let without_query = after_credentials.split('?').next().unwrap_or_default();
    format!("{scheme}://{without_query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        Settings::from_args(args).unwrap()
    }

    #[test]
    fn development_generates_and_reuses_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let first = Config::from_settings(settings(&["--data-dir", data])).unwrap();
        let second = Config::from_settings(settings(&["--data-dir", data])).unwrap();
        assert!(first.jwt_signing_key.expose().len() >= MIN_SECRET_BYTES);
        assert_eq!(first.jwt_signing_key, second.jwt_signing_key);
        assert_ne!(first.jwt_signing_key, first.session_secret);
        assert_ne!(first.session_secret, first.mfa_encryption_key);
        assert_eq!(first.mfa_encryption_key, second.mfa_encryption_key);
        assert!(first.database_url.starts_with("sqlite://"));
        assert_eq!(first.public_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn production_refuses_missing_or_short_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let long = "k".repeat(40);
        let base = [
            "--data-dir",
            data,
            "--app-env",
            "production",
            "--public-url",
            "https://auth.example.com/",
        ];

        let err = Config::from_settings(settings(&base)).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingInProduction("JWT_SIGNING_KEY")
        ));

        let mut short = base.to_vec();
        short.extend_from_slice(&["--jwt-signing-key", "short", "--session-secret", &long]);
        let err = Config::from_settings(settings(&short)).unwrap_err();
        assert!(matches!(err, ConfigError::SecretTooShort { .. }));

        let mut no_session = base.to_vec();
        no_session.extend_from_slice(&["--jwt-signing-key", &long]);
        let err = Config::from_settings(settings(&no_session)).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingInProduction("SESSION_SECRET")
        ));

        let mut no_mfa_key = base.to_vec();
        no_mfa_key.extend_from_slice(&["--jwt-signing-key", &long, "--session-secret", &long]);
        let err = Config::from_settings(settings(&no_mfa_key)).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingInProduction("MFA_ENCRYPTION_KEY")
        ));

        let mut no_mail = no_mfa_key.clone();
        no_mail.extend_from_slice(&["--mfa-encryption-key", &long]);
        let err = Config::from_settings(settings(&no_mail)).unwrap_err();
        assert!(matches!(err, ConfigError::MissingInProduction("EMAIL_URL")));
        // No mail at all only when the operator says so.
        let mut none = no_mail.clone();
        none.extend_from_slice(&["--email-url", "none"]);
        assert_eq!(
            Config::from_settings(settings(&none)).unwrap().email,
            crate::mail::Transport::Disabled
        );

        let mut ok = no_mail.clone();
        ok.extend_from_slice(&["--email-url", "smtps://u:p@mail.example.com"]);
        let config = Config::from_settings(settings(&ok)).unwrap();
        assert_eq!(config.public_url, "https://auth.example.com");
        // Production never writes generated secrets.
        assert!(!dir.path().join("jwt_signing_key").exists());
    }

    #[test]
    fn production_requires_public_url() {
        let long = "k".repeat(40);
        let err = Config::from_settings(settings(&[
            "--app-env",
            "production",
            "--jwt-signing-key",
            &long,
            "--session-secret",
            &long,
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::MissingInProduction("PUBLIC_URL")
        ));
    }

    #[test]
    fn short_key_is_accepted_in_development_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_settings(settings(&[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--jwt-signing-key",
            "dev-key",
        ]))
        .unwrap();
        assert_eq!(config.jwt_signing_key.expose(), b"dev-key");
        assert_eq!(config.warnings.len(), 1);
        assert!(!format!("{config:?}").contains("dev-key"));
    }

    #[test]
    fn rejects_bad_public_url_and_database() {
        assert!(normalise_origin("ftp://x").is_err());
        assert!(normalise_origin("https://x.com/path").is_err());
        assert_eq!(
            normalise_origin("HTTPS://Auth.Example.com/").unwrap(),
            "https://auth.example.com"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = Config::from_settings(settings(&[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database-url",
            "mysql://root@localhost/db",
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::UnsupportedDatabase(s) if s == "mysql"));
    }

    #[test]
    fn asymmetric_algorithms_need_a_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let err =
            Config::from_settings(settings(&["--data-dir", data, "--jwt-algorithm", "EdDSA"]))
                .unwrap_err();
        assert!(matches!(err, ConfigError::MissingPrivateKey("EdDSA")));
        let key = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ed25519-test-key.pem"
        );
        let long = "s".repeat(40);
        // In production the key file replaces JWT_SIGNING_KEY.
        let config = Config::from_settings(settings(&[
            "--data-dir",
            data,
            "--jwt-algorithm",
            "eddsa",
            "--jwt-private-key-file",
            key,
            "--app-env",
            "production",
            "--public-url",
            "https://a.example",
            "--session-secret",
            &long,
            "--mfa-encryption-key",
            &long,
            "--email-url",
            "smtp://mail.a.example",
        ]))
        .unwrap();
        assert!(config.jwt_private_key.is_some());
        assert!(!format!("{config:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn database_display_hides_credentials() {
        assert_eq!(
            redact_database_url("postgres://app:hunter2@db.internal:5432/auth?sslmode=require"),
            "postgres://db.internal:5432/auth"
        );
        assert_eq!(
            redact_database_url("sqlite://data/app.db?mode=rwc"),
            "sqlite:data/app.db"
        );
    }
}
