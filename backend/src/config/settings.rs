//! The raw settings: what the operator typed, as command-line flags or environment
//! variables (an optional `.env` file is read first), with development defaults. Durations
//! are whole seconds or milliseconds, as each flag's name or help says; [`super::Config`]
//! turns them into [`std::time::Duration`]s.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Which rules the server runs under (`APP_ENV`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    /// Secrets generated into DATA_DIR, cookies without Secure over HTTP, local CORS origins.
    Development,
    /// PUBLIC_URL and real secrets required, Secure cookies, no CORS origin unless listed.
    Production,
}

impl AppEnv {
    /// The value as `APP_ENV` spells it: `development` or `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Development => "development",
            AppEnv::Production => "production",
        }
    }
}

/// Whether an account's address must be verified (`ACCOUNT_EMAIL_VERIFICATION`, allauth's
/// setting and values).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum EmailVerification {
    /// No verification mail at sign-up (the link can still be asked for from the profile).
    None,
    /// A verification mail at sign-up; signing in does not wait for it.
    Optional,
    /// An address is required at sign-up, and signing in waits until it is verified.
    Mandatory,
}

/// How log lines are written (`LOG_FORMAT`).
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

    /// Key that encrypts authenticator-app secrets and keys recovery-code hashes. At least
    /// 32 bytes; required in production. In development a random key is generated once and
    /// kept in <DATA_DIR>/mfa_encryption_key. Keep it: after a change no authenticator app
    /// or recovery code works any more (their owners need `server reset-mfa`).
    #[arg(long, env = "MFA_ENCRYPTION_KEY", hide_env_values = true)]
    pub mfa_encryption_key: Option<String>,

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

    /// Seconds after which an unused sign-in can no longer refresh its tokens (ASVS 7.3.1);
    /// 0 (the default) turns the idle limit off. At least 60: last use is recorded to the
    /// minute.
    #[arg(long, env = "SESSION_IDLE_TIMEOUT", default_value_t = 0, value_parser = idle_timeout)]
    pub session_idle_timeout: i64,

    /// Seconds within which a sign-in must have proved who is behind it (at sign-in, or by
    /// typing the password again) for sensitive actions: ending every other sign-in,
    /// unlinking a provider, changing the address of an account without a password,
    /// deleting the account (ASVS 3.7.1).
    #[arg(long, env = "REAUTH_MAX_AGE", default_value_t = 600, value_parser = clap::value_parser!(i64).range(30..=86_400))]
    pub reauth_max_age: i64,

    /// Days a security event (`audit_events`) is kept; older ones are deleted every minute.
    #[arg(long, env = "AUDIT_RETENTION_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub audit_retention_days: u32,

    /// Moving from Django: until this instant (RFC 3339, or a date meaning its 00:00 UTC),
    /// tokens the Django stack's simplejwt issued to accounts `import-django` copied are
    /// accepted (with JWT_SIGNING_KEY and JWT_ALGORITHM set to its SIMPLE_JWT values):
    /// access tokens until their own expiry, refresh tokens once each, for a sign-in here.
    /// Unset (the default): none is.
    #[arg(long, env = "LEGACY_REFRESH_UNTIL", value_parser = legacy_refresh_until)]
    pub legacy_refresh_until: Option<chrono::DateTime<chrono::Utc>>,

    /// Bearer token that `GET /metrics` (Prometheus text) requires, at least 16 bytes.
    /// Unset (the default): no metrics are recorded and /metrics is not found.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

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

    /// Mail-sending requests (password reset, verification link, address change) per hour
    /// per address, whether or not an account has it.
    #[arg(long, env = "RATE_LIMIT_EMAIL_PER_HOUR", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_email_per_hour: u32,

    /// Mail-sending requests per hour per client IP.
    #[arg(long, env = "RATE_LIMIT_EMAIL_IP_PER_HOUR", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_email_ip_per_hour: u32,

    /// Where rate-limit budgets live: `memory` (this process; N instances allow N times the
    /// rate), `database` (the application's database, shared by every instance on it) or a
    /// Redis URL (`redis://host:6379`, `rediss://…`), shared by every instance using it.
    #[arg(long, env = "RATE_LIMIT_STORE", default_value = "memory")]
    pub rate_limit_store: String,

    /// Proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs). Without
    /// them the client IP is the connection's peer address.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,

    /// Outgoing mail: `smtp://user:pass@host:587` (STARTTLS when the server offers it;
    /// `?tls=required` refuses a plain connection), `smtps://…:465` (implicit TLS), or `none`
    /// (no mail: this instance sends nothing). Required in production; in development, without it,
    /// messages are written to the log.
    #[arg(long, env = "EMAIL_URL", hide_env_values = true)]
    pub email_url: Option<String>,

    /// The `From` of every message, e.g. `Example <noreply@example.com>`.
    #[arg(
        long,
        env = "EMAIL_FROM",
        default_value = "leptos-auth-starter <noreply@localhost>"
    )]
    pub email_from: String,

    /// Whether addresses must be verified: `none`, `optional` or `mandatory` (allauth's
    /// `ACCOUNT_EMAIL_VERIFICATION`).
    #[arg(long, env = "ACCOUNT_EMAIL_VERIFICATION", value_enum, default_value_t = EmailVerification::Optional, ignore_case = true)]
    pub account_email_verification: EmailVerification,

    /// Seconds a password reset link stays valid (Django's `PASSWORD_RESET_TIMEOUT`).
    #[arg(long, env = "PASSWORD_RESET_TIMEOUT", default_value_t = 3600, value_parser = clap::value_parser!(i64).range(60..=604_800))]
    pub password_reset_timeout: i64,

    /// Days a verification link stays valid (allauth's
    /// `ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`).
    #[arg(long, env = "ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS", default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=30))]
    pub account_email_confirmation_expire_days: i64,

    /// The product's name in mail (Django's site name).
    #[arg(long, env = "SITE_NAME", default_value = "leptos-auth-starter")]
    pub site_name: String,

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

/// The JWT signing algorithm (`JWT_ALGORITHM`), matched ignoring case.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC with SHA-256, keyed with JWT_SIGNING_KEY.
    #[value(name = "HS256")]
    Hs256,
    /// HMAC with SHA-384, keyed with JWT_SIGNING_KEY.
    #[value(name = "HS384")]
    Hs384,
    /// HMAC with SHA-512, keyed with JWT_SIGNING_KEY (the default here).
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
    /// The same algorithm in `jsonwebtoken`'s terms.
    pub fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            JwtAlgorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            JwtAlgorithm::Hs384 => jsonwebtoken::Algorithm::HS384,
            JwtAlgorithm::Hs512 => jsonwebtoken::Algorithm::HS512,
            JwtAlgorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            JwtAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }

    /// Whether tokens are signed with a private key (EdDSA, RS256) rather than a shared secret;
    /// only these have a public key in the JWKS.
    pub fn is_asymmetric(self) -> bool {
        matches!(self, JwtAlgorithm::EdDsa | JwtAlgorithm::Rs256)
    }
}

/// `SESSION_IDLE_TIMEOUT`: 0 (off), or 60 seconds and more.
fn idle_timeout(value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(0) => Ok(0),
        Ok(secs) if secs >= 60 => Ok(secs),
        _ => Err("0 (off) or a whole number of seconds, at least 60".into()),
    }
}

fn legacy_refresh_until(value: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let value = value.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(at.to_utc());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|day| day.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| "a date (2027-01-31) or an RFC 3339 time (2027-01-31T12:00:00Z)".into())
}

#[cfg(test)]
mod legacy_refresh_until_tests {
    use super::legacy_refresh_until;

    #[test]
    fn dates_and_times() {
        assert_eq!(
            legacy_refresh_until("2027-01-31").unwrap().to_rfc3339(),
            "2027-01-31T00:00:00+00:00"
        );
        assert_eq!(
            legacy_refresh_until("2027-01-31T12:30:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2027-01-31T11:30:00+00:00"
        );
        assert!(legacy_refresh_until("next week").is_err());
        assert!(legacy_refresh_until("2027-02-30").is_err());
    }
}

#[cfg(test)]
mod idle_timeout_tests {
    use super::idle_timeout;

    #[test]
    fn idle_timeout_is_off_or_at_least_a_minute() {
        assert_eq!(idle_timeout("0"), Ok(0));
        assert_eq!(idle_timeout("900"), Ok(900));
        assert!(idle_timeout("30").is_err());
        assert!(idle_timeout("-5").is_err());
        assert!(idle_timeout("ten").is_err());
    }
}
