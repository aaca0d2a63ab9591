//! Typed configuration, loaded once at start-up.
//!
//! Every setting comes from a command-line flag or its environment variable (an optional
//! `.env` file is read first), with development defaults. [`Settings`] is what the operator
//! typed; [`Config`] is the validated result the rest of the program uses.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use rand::RngCore;
use thiserror::Error;

/// Shortest signing key accepted in production (HS512 wants at least 64 bytes to be at full
/// strength, 32 is the floor below which brute force of a leaked token becomes plausible).
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    Development,
    Production,
}

impl AppEnv {
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Development => "development",
            AppEnv::Production => "production",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Raw settings as given on the command line or in the environment.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server listens on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub site_addr: SocketAddr,

    /// Database URL: `sqlite://path/to/file.db` or `postgres://user@host/db`.
    /// [default: sqlite://<DATA_DIR>/app.db]
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Maximum connections in the database pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// `development` (generated secrets, relaxed cookies) or `production` (secrets required).
    #[arg(long, env = "APP_ENV", value_enum, default_value_t = AppEnv::Development)]
    pub app_env: AppEnv,

    /// Public origin users reach the site at, e.g. `https://auth.example.com`; used for
    /// OAuth redirect URIs, CSRF origin checks and cookie security. Required in production.
    /// [default in development: http://<LEPTOS_SITE_ADDR>]
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Directory for the embedded SQLite database and generated development secrets.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Key that signs JWTs (HMAC). At least 32 bytes; required in production. In development
    /// a random key is generated once and kept in <DATA_DIR>/jwt_signing_key.
    #[arg(long, env = "JWT_SIGNING_KEY", hide_env_values = true)]
    pub jwt_signing_key: Option<String>,

    /// Secret for session cookies. At least 32 bytes; required in production. In development
    /// a random secret is generated once and kept in <DATA_DIR>/session_secret.
    #[arg(long, env = "SESSION_SECRET", hide_env_values = true)]
    pub session_secret: Option<String>,

    /// Log line format. Levels are set with RUST_LOG (default: info).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Directory of the built site (JS, WASM, CSS) when the binary does not embed it.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// JWT signing algorithm.
    #[arg(long, env = "JWT_ALGORITHM", value_enum, ignore_case = true, default_value_t = JwtAlgorithm::Hs512)]
    pub jwt_algorithm: JwtAlgorithm,

    /// PEM (PKCS#8) private key for JWT_ALGORITHM=EdDSA or RS256; its public half is
    /// published at /.well-known/jwks.json.
    #[arg(long, env = "JWT_PRIVATE_KEY_FILE")]
    pub jwt_private_key_file: Option<PathBuf>,

    /// Access token lifetime, in seconds.
    #[arg(long, env = "JWT_ACCESS_TOKEN_LIFETIME", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(1..))]
    pub jwt_access_token_lifetime: i64,

    /// Refresh token lifetime, in seconds (each rotation starts a new one).
    #[arg(long, env = "JWT_REFRESH_TOKEN_LIFETIME", default_value_t = 604_800, value_parser = clap::value_parser!(i64).range(1..))]
    pub jwt_refresh_token_lifetime: i64,

    /// Absolute lifetime of a sign-in, in seconds: refreshing never extends it further.
    #[arg(long, env = "JWT_SESSION_LIFETIME", default_value_t = 2_592_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub jwt_session_lifetime: i64,

    /// Issue a new refresh token on every refresh and retire the old one.
    #[arg(long, env = "JWT_ROTATE_REFRESH_TOKENS", default_value_t = true, action = clap::ArgAction::Set)]
    pub jwt_rotate_refresh_tokens: bool,

    /// Seconds during which a just-rotated refresh token still yields the same successor
    /// (two tabs refreshing at once); a later replay revokes the whole sign-in.
    #[arg(long, env = "JWT_REFRESH_REUSE_GRACE", default_value_t = 5, value_parser = clap::value_parser!(i64).range(0..=60))]
    pub jwt_refresh_reuse_grace: i64,

    /// `iss` claim to issue and require (optional).
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// `aud` claim to issue and require (optional).
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// How often each instance reloads session revocations made by other instances, in ms.
    #[arg(long, env = "REVOCATION_SYNC_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..))]
    pub revocation_sync_interval_ms: u64,

    /// How long an authenticated request may reuse a user row read by an earlier one, in
    /// ms (0: read it every time). Changes made on another instance show after this long.
    #[arg(long, env = "USER_CACHE_TTL_MS", default_value_t = 1000)]
    pub user_cache_ttl_ms: u64,

    /// Password hashes computed at once (argon2id uses 19 MiB and one core each).
    /// [default: half the CPU cores, at least 1]
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,

    /// Origins allowed to call the API from a browser (comma-separated).
    /// [default in development: http://localhost:3000,http://127.0.0.1:3000]
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Option<Vec<String>>,

    /// Rate limits on login, register and refresh (switch off for load tests only).
    #[arg(long, env = "RATE_LIMIT_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub rate_limit_enabled: bool,

    /// Login attempts per minute, per client IP and per account.
    #[arg(long, env = "RATE_LIMIT_LOGIN_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_login_per_minute: u32,

    /// Sign-ups per minute per client IP.
    #[arg(long, env = "RATE_LIMIT_REGISTER_PER_MINUTE", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_register_per_minute: u32,

    /// Token refreshes per minute per client IP.
    #[arg(long, env = "RATE_LIMIT_REFRESH_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_refresh_per_minute: u32,

    /// Proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs). Without
    /// them the client IP is the connection's peer address.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,

    /// Social sign-in providers; `None` reads them from the environment (`GOOGLE_*`,
    /// `GITHUB_*`, `OIDC_PROVIDERS` and `OIDC_<NAME>_*`: see `social::providers`).
    #[arg(skip)]
    pub social_providers: Option<Vec<crate::social::providers::ProviderConfig>>,
}

impl Settings {
    /// Parses command-line style arguments (the environment fills in the rest), exactly as
    /// the binary does; for tests and tools that build a configuration in code.
    pub fn from_args<I, T>(args: I) -> Result<Settings, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            settings: Settings,
        }
        let argv = std::iter::once(std::ffi::OsString::from("server"))
            .chain(args.into_iter().map(Into::into));
        <Wrapper as clap::Parser>::try_parse_from(argv).map(|w| w.settings)
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    #[value(name = "HS256")]
    Hs256,
    #[value(name = "HS384")]
    Hs384,
    #[value(name = "HS512")]
    Hs512,
    /// Ed25519 signatures; needs JWT_PRIVATE_KEY_FILE.
    #[value(name = "EdDSA")]
    EdDsa,
    /// RSA signatures; needs JWT_PRIVATE_KEY_FILE.
    #[value(name = "RS256")]
    Rs256,
}

impl JwtAlgorithm {
    pub fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            JwtAlgorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            JwtAlgorithm::Hs384 => jsonwebtoken::Algorithm::HS384,
            JwtAlgorithm::Hs512 => jsonwebtoken::Algorithm::HS512,
            JwtAlgorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            JwtAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }

    pub fn is_asymmetric(self) -> bool {
        matches!(self, JwtAlgorithm::EdDsa | JwtAlgorithm::Rs256)
    }
}

/// Rate limits; `None` when switched off.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub login_per_minute: u32,
    pub register_per_minute: u32,
    pub refresh_per_minute: u32,
}

/// An IP network (`10.0.0.0/8`, or a single address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    pub addr: std::net::IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr.parse().map_err(|_| format!("invalid IP {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("invalid prefix in {s:?}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1)
}

/// A secret value: never printed, never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// Validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub site_addr: SocketAddr,
    pub database_url: String,
    pub database_max_connections: u32,
    pub app_env: AppEnv,
    /// Origin without a trailing slash, e.g. `https://auth.example.com`.
    pub public_url: String,
    /// True when `public_url` was derived from the listen address (development), so that
    /// it can follow the port actually bound (`LEPTOS_SITE_ADDR=127.0.0.1:0`).
    pub public_url_is_derived: bool,
    pub data_dir: PathBuf,
    pub jwt_signing_key: Secret,
    pub session_secret: Secret,
    pub log_format: LogFormat,
    pub site_root: PathBuf,
    pub jwt_algorithm: JwtAlgorithm,
    /// The PEM private key for asymmetric algorithms.
    pub jwt_private_key: Option<Secret>,
    pub jwt_access_token_lifetime: i64,
    pub jwt_refresh_token_lifetime: i64,
    pub jwt_session_lifetime: i64,
    pub jwt_rotate_refresh_tokens: bool,
    pub jwt_refresh_reuse_grace: i64,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub revocation_sync_interval: std::time::Duration,
    pub password_hash_concurrency: usize,
    pub user_cache_ttl: std::time::Duration,
    /// Normalised origins (`scheme://host[:port]`).
    pub cors_allowed_origins: Vec<String>,
    pub rate_limits: Option<RateLimitConfig>,
    pub trusted_proxies: Vec<IpNet>,
    pub social_providers: Vec<crate::social::providers::ProviderConfig>,
    /// Human-readable notes about relaxed settings, logged once tracing is up.
    pub warnings: Vec<String>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0} is required when APP_ENV=production")]
    MissingInProduction(&'static str),
    #[error("{name} must be at least {MIN_SECRET_BYTES} bytes in production (got {len})")]
    SecretTooShort { name: &'static str, len: usize },
    #[error("PUBLIC_URL must be an http(s) origin such as https://auth.example.com (got {0:?})")]
    InvalidPublicUrl(String),
    #[error("DATABASE_URL must start with sqlite: or postgres:// (got scheme {0:?})")]
    UnsupportedDatabase(String),
    #[error("JWT_ALGORITHM={0} needs JWT_PRIVATE_KEY_FILE (a PEM private key)")]
    MissingPrivateKey(&'static str),
    #[error("cannot read JWT_PRIVATE_KEY_FILE {path}: {source}")]
    PrivateKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid CORS_ALLOWED_ORIGINS entry {0:?}: expected an origin such as https://app.example.com")]
    InvalidCorsOrigin(String),
    #[error("invalid TRUSTED_PROXIES: {0}")]
    InvalidTrustedProxy(String),
    #[error("cannot use data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("social sign-in: {0}")]
    Social(#[from] crate::social::providers::ProviderConfigError),
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
            .collect::<Result<Vec<_>, _>>()?;
        let rate_limits = s.rate_limit_enabled.then_some(RateLimitConfig {
            login_per_minute: s.rate_limit_login_per_minute,
            register_per_minute: s.rate_limit_register_per_minute,
            refresh_per_minute: s.rate_limit_refresh_per_minute,
        });
        if !s.rate_limit_enabled {
            warnings.push(
                "RATE_LIMIT_ENABLED=false: login, register and refresh are not rate-limited"
                    .to_owned(),
            );
        }

        let social_providers = match s.social_providers {
            Some(providers) => providers,
            None => crate::social::providers::from_env(|name| std::env::var(name).ok())?,
        };

        Ok(Config {
            social_providers,
            jwt_algorithm: s.jwt_algorithm,
            jwt_private_key,
            jwt_access_token_lifetime: s.jwt_access_token_lifetime,
            jwt_refresh_token_lifetime: s.jwt_refresh_token_lifetime,
            jwt_session_lifetime: s.jwt_session_lifetime,
            jwt_rotate_refresh_tokens: s.jwt_rotate_refresh_tokens,
            jwt_refresh_reuse_grace: s.jwt_refresh_reuse_grace,
            jwt_issuer: s.jwt_issuer.filter(|v| !v.is_empty()),
            jwt_audience: s.jwt_audience.filter(|v| !v.is_empty()),
            revocation_sync_interval: std::time::Duration::from_millis(
                s.revocation_sync_interval_ms,
            ),
            user_cache_ttl: std::time::Duration::from_millis(s.user_cache_ttl_ms),
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

        let mut ok = base.to_vec();
        ok.extend_from_slice(&["--jwt-signing-key", &long, "--session-secret", &long]);
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
        ]))
        .unwrap();
        assert!(config.jwt_private_key.is_some());
        assert!(!format!("{config:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn ip_networks() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
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
