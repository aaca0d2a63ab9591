//! Per-IP and per-account rate limits for what brute force aims at (sign-in, sign-up,
//! token refresh; ASVS V2.2.1) and for what sends mail (password reset, verification links,
//! address changes; per address too, so nobody can flood one inbox): N attempts per
//! minute (or hour) per key, refilled continuously (the generic cell rate algorithm, GCRA).
//!
//! Where the budgets live is `RATE_LIMIT_STORE`:
//! - `memory` (default): `governor`'s keyed limiters in this process. Behind a load
//!   balancer with N instances an attacker gets N times the rate.
//! - `database`: a `rate_limits` row per key in the application's database, so every
//!   instance on that database shares one budget.
//! - `redis://…`: one key per budget in Redis (an atomic Lua script; the server's clock),
//!   shared by every instance that uses it.
//!
//! A shared store that fails (Redis down, say) does not let everyone in or lock everyone
//! out: the check falls back to this instance's own limiter and the failure is logged.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{SystemTime, UNIX_EPOCH};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::refusal_counts::RefusalCounts;
use crate::config::{RateLimitConfig, RateLimitStore};
use crate::db::Db;

/// A refused attempt: the caller may try again after `retry_after_secs` (whole seconds,
/// rounded up), which transports pass on (`Retry-After`, or in words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rate limited; retry after {retry_after_secs} s")]
pub struct RateLimited {
    /// Seconds to wait before the next attempt can pass, rounded up to a whole second.
    pub retry_after_secs: u64,
}

/// What a per-account sign-in budget is kept for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginKey {
    /// An existing account, whichever of its names (username, address) was typed, so
    /// switching names buys no extra attempts.
    Account(i64),
    /// A name no account has, by its identity key (`users::identity_key`), so that
    /// guessing at unknown names is limited exactly like guessing at real ones and the
    /// limit reveals nothing about which exist.
    Name(String),
}

/// What an address's budget says about a mail (see [`RateLimits::email`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailBudget {
    /// Send it.
    Allowed,
    /// The address got its share of mail this hour, from all clients together: answer as
    /// usual, send nothing.
    AddressSpent(RateLimited),
}

/// The budgets of one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    LoginIp,
    LoginAccount,
    Register,
    Refresh,
    EmailIp,
    EmailAddress,
    EmailAddressAll,
}

/// How many limits there are (the local limiters' array).
const LIMITS: usize = 7;

impl Limit {
    const ALL: [Limit; LIMITS] = [
        Limit::LoginIp,
        Limit::LoginAccount,
        Limit::Register,
        Limit::Refresh,
        Limit::EmailIp,
        Limit::EmailAddress,
        Limit::EmailAddressAll,
    ];

    fn name(self) -> &'static str {
        match self {
            Limit::LoginIp => "login-ip",
            Limit::LoginAccount => "login-account",
            Limit::Register => "register-ip",
            Limit::Refresh => "refresh-ip",
            Limit::EmailIp => "email-ip",
            Limit::EmailAddress => "email-address",
            Limit::EmailAddressAll => "email-address-all",
        }
    }

    /// The budget: `n` attempts per `period_ms` milliseconds (a burst of `n`, then one
    /// every `period_ms / n`).
    fn quota(self, config: &RateLimitConfig) -> Budget {
        let (n, period_ms) = match self {
            Limit::LoginIp | Limit::LoginAccount => (config.login_per_minute, MINUTE_MS),
            Limit::Register => (config.register_per_minute, MINUTE_MS),
            Limit::Refresh => (config.refresh_per_minute, MINUTE_MS),
            Limit::EmailIp => (config.email_ip_per_hour, HOUR_MS),
            Limit::EmailAddress => (config.email_per_hour, HOUR_MS),
            Limit::EmailAddressAll => (
                config.email_per_hour.saturating_mul(ADDRESS_CAP_FACTOR),
                HOUR_MS,
            ),
        };
        Budget {
            n: n.max(1),
            period_ms,
        }
    }
}

/// An address's budget from all clients together, in multiples of one client's.
const ADDRESS_CAP_FACTOR: u32 = 10;

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;

/// `n` attempts per `period_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Budget {
    n: u32,
    period_ms: u64,
}

impl Budget {
    /// Milliseconds between two attempts once the burst is spent.
    fn interval_ms(self) -> u64 {
        (self.period_ms / u64::from(self.n)).max(1)
    }
}

/// Every limit of the instance; with rate limiting switched off (`RATE_LIMIT_ENABLED=false`)
/// every check passes.
#[derive(Debug)]
pub struct RateLimits(Option<Limiters>, RefusalLog, RefusalCounts);

/// Which refusals were recorded as security events lately, so that a flood of refused
/// requests costs one event a minute per key, not one database write each.
#[derive(Debug, Default)]
struct RefusalLog(std::sync::Mutex<std::collections::HashMap<String, i64>>);

impl RefusalLog {
    const MEMORY: usize = 10_000;

    fn first_in_a_minute(&self, key: &str, now: i64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get(key).is_some_and(|at| now - at < 60) {
            return false;
        }
        if seen.len() >= Self::MEMORY {
            seen.retain(|_, at| now - *at < 60);
        }
        seen.insert(key.to_owned(), now);
        true
    }
}

struct Limiters {
    config: RateLimitConfig,
    /// This process's limiters: the store with `memory`, the fallback otherwise.
    local: [DefaultKeyedRateLimiter<String>; LIMITS],
    shared: Option<Shared>,
    /// Keys the shared store's names, from the session secret.
    key_mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("config", &self.config)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Limiters {
    /// The name a budget has in a shared store: an HMAC of the limit and key, hex, so that
    /// what people typed (often a password in the username field) is never stored and a
    /// key's length is fixed.
    fn shared_key(&self, limit: Limit, key: &str) -> String {
        let mut mac = self.key_mac.clone();
        mac.update(limit.name().as_bytes());
        mac.update(b":");
        mac.update(key.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// How long the Redis store may take: to connect at start-up, and to answer one check
/// (past it, the check falls back to this instance's limiter).
const REDIS_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
const REDIS_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

enum Shared {
    Database(Db),
    Redis(redis::aio::ConnectionManager),
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Shared::Database(_) => "Database",
            Shared::Redis(_) => "Redis",
        })
    }
}

/// Budgets in Redis: `las:rl:<limit>:<key>` holds the GCRA's theoretical arrival time in
/// milliseconds, expiring when the budget is full again. Redis's own clock (`TIME`) is the
/// only clock, so instances with skewed clocks still agree.
const REDIS_GCRA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - tolerance
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', tat + interval - now)
return 0
";

/// The budget an address counts against: IPv4 addresses one by one, IPv6 addresses by
/// their /64, the smallest block one subscriber gets (RFC 6177), so that hopping through
/// one's own 2^64 addresses buys nothing.
fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

fn governor_quota(budget: Budget) -> Quota {
    Quota::with_period(std::time::Duration::from_millis(budget.interval_ms()))
        .expect("a non-zero interval")
        .allow_burst(NonZeroU32::new(budget.n).expect("at least one"))
}

fn whole_seconds(millis: u64) -> u64 {
    millis.div_ceil(1000)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The GCRA for one budget: with `tat` (theoretical arrival time, Unix milliseconds;
/// `None` for a fresh key) at `now`, either the new `tat` to store or how many milliseconds
/// to wait.
fn gcra(tat: Option<i64>, now: i64, budget: Budget) -> Result<i64, u64> {
    let interval = i64::try_from(budget.interval_ms()).unwrap_or(i64::MAX);
    let tolerance = interval * (i64::from(budget.n) - 1);
    let tat = tat.unwrap_or(now).max(now);
    let wait = tat - now - tolerance;
    if wait > 0 {
        Err(u64::try_from(wait).unwrap_or(u64::MAX))
    } else {
        Ok(tat + interval)
    }
}

impl RateLimits {
    /// Whether a refusal on `key` (say `login:42`) is the first this minute on this
    /// instance, and so worth a security event (`audit::Kind::RateLimited`).
    pub fn first_refusal_in_a_minute(&self, key: &str) -> bool {
        self.1
            .first_in_a_minute(key, chrono::Utc::now().timestamp())
    }

    /// The limits of `config` (`None` switches them off), with their store: for
    /// `RATE_LIMIT_STORE=database`, `db`; for Redis, a connection that reconnects by itself.
    ///
    /// Errors: a Redis URL that does not parse, or a server that cannot be reached at start.
    /// `key_secret` keys the names budgets are stored under in a shared store (see
    /// [`Limiters::shared_key`]).
    pub async fn new(
        config: Option<&RateLimitConfig>,
        db: &Db,
        key_secret: &[u8],
    ) -> Result<RateLimits, redis::RedisError> {
        let Some(config) = config else {
            return Ok(RateLimits(
                None,
                RefusalLog::default(),
                RefusalCounts::default(),
            ));
        };
        let shared = match &config.store {
            RateLimitStore::Memory => None,
            RateLimitStore::Database => Some(Shared::Database(db.clone())),
            RateLimitStore::Redis(url) => {
                let client = redis::Client::open(url.as_str())?;
                let connect = client.get_connection_manager();
                let connection = tokio::time::timeout(REDIS_CONNECT_TIMEOUT, connect)
                    .await
                    .map_err(|_| {
                        redis::RedisError::from((
                            redis::ErrorKind::IoError,
                            "no answer from Redis at start-up",
                        ))
                    })??;
                Some(Shared::Redis(connection))
            }
        };
        let local = Limit::ALL.map(|limit| RateLimiter::keyed(governor_quota(limit.quota(config))));
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key_secret).expect("HMAC takes any key");
        mac.update(b"leptos-auth-starter rate-limit keys v1");
        Ok(RateLimits(
            Some(Limiters {
                config: config.clone(),
                local,
                shared,
                key_mac: Hmac::new_from_slice(&mac.finalize().into_bytes())
                    .expect("HMAC takes any key"),
            }),
            RefusalLog::default(),
            RefusalCounts::default(),
        ))
    }

    /// Every refusal, per hour (the staff pages' chart).
    pub fn refusal_counts(&self) -> &RefusalCounts {
        &self.2
    }

    /// A sign-in attempt (password or social) from `ip`.
    pub async fn login_ip(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.check(Limit::LoginIp, &ip_key(ip)).await
    }

    /// A password attempt on one account (or on one unknown name).
    pub async fn login_account(&self, key: &LoginKey) -> Result<(), RateLimited> {
        let key = match key {
            LoginKey::Account(id) => format!("account:{id}"),
            LoginKey::Name(name) => format!("name:{name}"),
        };
        self.check(Limit::LoginAccount, &key).await
    }

    /// A sign-up from `ip`.
    pub async fn register(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.check(Limit::Register, &ip_key(ip)).await
    }

    /// A refresh-token exchange from `ip`.
    pub async fn refresh(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.check(Limit::Refresh, &ip_key(ip)).await
    }

    /// A request that sends mail (password reset, verification link, address change) from
    /// `ip` to `address`. The client's own budgets refuse with [`RateLimited`]: its IP's, and
    /// its budget for this address (`RATE_LIMIT_EMAIL_PER_HOUR` per address and client, so
    /// nobody can spend the owner's). The address's budget from all clients together (ten
    /// times that) answers [`MailBudget::AddressSpent`]: the caller answers as usual and
    /// sends nothing, so one inbox cannot be flooded from many addresses and the owner can
    /// still ask. Addresses count by identity key, whether or not an account has them, so
    /// the limits reveal nothing.
    pub async fn email(&self, ip: IpAddr, address: &str) -> Result<MailBudget, RateLimited> {
        let ip = ip_key(ip);
        self.check(Limit::EmailIp, &ip).await?;
        let address = crate::users::identity_key(address);
        self.check(Limit::EmailAddress, &format!("{address}|{ip}"))
            .await?;
        Ok(match self.check(Limit::EmailAddressAll, &address).await {
            Ok(()) => MailBudget::Allowed,
            Err(limited) => MailBudget::AddressSpent(limited),
        })
    }

    /// [`RateLimits::email`] for mail that follows another action (the verification link
    /// at sign-up, the note to an address's owner): whether it may be sent at all. A spent
    /// budget drops the mail, never the action.
    pub async fn email_allowed(&self, ip: IpAddr, address: &str) -> bool {
        matches!(self.email(ip, address).await, Ok(MailBudget::Allowed))
    }

    /// The one guard every limit goes through.
    async fn check(&self, limit: Limit, key: &str) -> Result<(), RateLimited> {
        let result = self.check_budget(limit, key).await;
        if result.is_err() {
            metrics::counter!(crate::metrics::RATE_LIMITED, "limit" => limit.name()).increment(1);
            self.2.add(chrono::Utc::now().timestamp());
        }
        result
    }

    async fn check_budget(&self, limit: Limit, key: &str) -> Result<(), RateLimited> {
        let Some(limiters) = &self.0 else {
            return Ok(());
        };
        let budget = limit.quota(&limiters.config);
        let shared = match &limiters.shared {
            None => None,
            Some(Shared::Redis(connection)) => {
                let mut connection = connection.clone();
                let interval = budget.interval_ms();
                let script = redis::Script::new(REDIS_GCRA);
                let mut invocation =
                    script.key(format!("las:rl:{}", limiters.shared_key(limit, key)));
                invocation
                    .arg(interval)
                    .arg(interval * (u64::from(budget.n) - 1));
                let result = tokio::time::timeout(
                    REDIS_CHECK_TIMEOUT,
                    invocation.invoke_async::<u64>(&mut connection),
                )
                .await;
                Some(match result {
                    Ok(answer) => answer.map_err(|e| e.to_string()),
                    Err(_) => Err("no answer from Redis in time".to_owned()),
                })
            }
            Some(Shared::Database(db)) => Some(
                database_check(db, &limiters.shared_key(limit, key), budget)
                    .await
                    .map_err(|e| e.to_string()),
            ),
        };
        match shared {
            Some(Ok(0)) => Ok(()),
            Some(Ok(wait_millis)) => Err(RateLimited {
                retry_after_secs: whole_seconds(wait_millis),
            }),
            Some(Err(error)) => {
                tracing::warn!(%error, limit = limit.name(), "shared rate-limit store failed; using this instance's limit");
                local_check(&limiters.local[limit as usize], key)
            }
            None => local_check(&limiters.local[limit as usize], key),
        }
    }

    /// Forgets budgets that are full again, so memory (and the `rate_limits` table) stays
    /// bounded; Redis keys expire by themselves.
    pub async fn prune(&self) {
        let Some(limiters) = &self.0 else {
            return;
        };
        for limiter in &limiters.local {
            limiter.retain_recent();
        }
        if let Some(Shared::Database(db)) = &limiters.shared {
            let now = now_millis();
            let pruned = crate::db::with_db_write!(db, pool => {
                sqlx::query("DELETE FROM rate_limits WHERE tat < $1")
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(drop)
            });
            if let Err(error) = pruned {
                tracing::warn!(%error, "could not prune rate limits");
            }
        }
    }
}

fn local_check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), RateLimited> {
    limiter.check_key(&key.to_owned()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

/// One GCRA step on the `rate_limits` row of `key`, inside a transaction that holds the
/// row (PostgreSQL: `FOR UPDATE`; SQLite: its single writer). `Ok(0)` lets the attempt
/// through; otherwise the milliseconds to wait.
async fn database_check(db: &Db, key: &str, budget: Budget) -> Result<u64, sqlx::Error> {
    let now = now_millis();
    macro_rules! step {
        ($pool:expr, $select:expr) => {{
            let mut tx = $pool.begin().await?;
            let tat: Option<(i64,)> = sqlx::query_as($select)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            match gcra(tat.map(|(t,)| t), now, budget) {
                Ok(new_tat) => {
                    sqlx::query(
                        "INSERT INTO rate_limits (key, tat) VALUES ($1, $2) \
                         ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
                    )
                    .bind(key)
                    .bind(new_tat)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(0)
                }
                Err(wait) => Ok(wait),
            }
        }};
    }
    match db {
        Db::Sqlite { writer, .. } => step!(writer, "SELECT tat FROM rate_limits WHERE key = $1"),
        Db::Postgres(pool) => {
            // A missing row cannot be locked: create it first (a past `tat` is a full
            // budget), so concurrent first attempts queue on the same row.
            sqlx::query("INSERT INTO rate_limits (key, tat) VALUES ($1, 0) ON CONFLICT DO NOTHING")
                .bind(key)
                .execute(pool)
                .await?;
            step!(
                pool,
                "SELECT tat FROM rate_limits WHERE key = $1 FOR UPDATE"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_limits(login_per_minute: u32) -> RateLimits {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        let config = RateLimitConfig {
            login_per_minute,
            register_per_minute: 1,
            refresh_per_minute: 1,
            email_per_hour: 2,
            email_ip_per_hour: 3,
            store: RateLimitStore::Memory,
        };
        RateLimits::new(Some(&config), &db, b"test secret")
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn limits_and_reports_retry_after() {
        let limits = memory_limits(2).await;
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.login_ip(ip).await.is_ok());
        assert!(limits.login_ip(ip).await.is_ok());
        let Err(RateLimited { retry_after_secs }) = limits.login_ip(ip).await else {
            panic!("third attempt in a minute should be limited");
        };
        assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}");
        // Another IP has its own budget.
        assert!(limits.login_ip("192.0.2.2".parse().unwrap()).await.is_ok());
        assert!(limits.login_account(&LoginKey::Account(7)).await.is_ok());
        assert!(limits.login_account(&LoginKey::Account(7)).await.is_ok());
        assert!(limits.login_account(&LoginKey::Account(7)).await.is_err());
        // An unknown name with the same text has a budget of its own.
        assert!(limits
            .login_account(&LoginKey::Name("7".into()))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn mail_requests_are_limited_per_address_and_per_ip() {
        let limits = memory_limits(10).await;
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        // Two an hour per address from one client, whatever its case.
        assert_eq!(
            limits.email(ip, "ann@example.com").await,
            Ok(MailBudget::Allowed)
        );
        assert_eq!(
            limits.email(ip, "ANN@example.com").await,
            Ok(MailBudget::Allowed)
        );
        let Err(limited) = limits.email(ip, "Ann@Example.com").await else {
            panic!("a third mail to one address in an hour should be limited");
        };
        assert!(
            (1700..=1800).contains(&limited.retry_after_secs),
            "{limited:?}"
        );
        // Three an hour per IP, whatever the address (the refused one above counted).
        assert!(limits.email(ip, "cy@example.com").await.is_err());
        // Other clients still reach ann, until her address got twenty (ten clients' worth)
        // from all of them: then the mail is dropped, not the request.
        let mut allowed = 2;
        for n in 2..40u8 {
            let client: IpAddr = format!("198.51.100.{n}").parse().unwrap();
            for _ in 0..2 {
                match limits.email(client, "ann@example.com").await {
                    Ok(MailBudget::Allowed) => allowed += 1,
                    Ok(MailBudget::AddressSpent(_)) => {}
                    Err(e) => panic!("a client's own budget is not spent: {e:?}"),
                }
            }
        }
        assert_eq!(allowed, 20);
    }

    #[tokio::test]
    async fn switched_off_limits_never_refuse() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        let limits = RateLimits::new(None, &db, b"test secret").await.unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..100 {
            assert!(limits.login_ip(ip).await.is_ok() && limits.register(ip).await.is_ok());
        }
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            ip_key(ip("2001:db8:1:2::1")),
            ip_key(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(ip_key(ip("2001:db8:1:2::1")), ip_key(ip("2001:db8:1:3::1")));
        assert_eq!(ip_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
    }

    #[test]
    fn gcra_allows_a_burst_then_one_per_interval() {
        let three_a_minute = Budget {
            n: 3,
            period_ms: MINUTE_MS,
        };
        let (mut tat, now) = (None, 1_000_000);
        for _ in 0..3 {
            tat = Some(gcra(tat, now, three_a_minute).unwrap());
        }
        // The fourth within the same instant waits one interval (20 s at 3 a minute).
        assert_eq!(gcra(tat, now, three_a_minute), Err(20_000));
        assert!(gcra(tat, now + 20_000, three_a_minute).is_ok());
        // A minute later the budget is full again.
        assert_eq!(gcra(tat, now + 60_000, three_a_minute), Ok(now + 80_000));
        // Three an hour: the fourth waits twenty minutes.
        let three_an_hour = Budget {
            n: 3,
            period_ms: HOUR_MS,
        };
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(gcra(tat, now, three_an_hour).unwrap());
        }
        assert_eq!(gcra(tat, now, three_an_hour), Err(1_200_000));
    }

    #[tokio::test]
    async fn the_database_store_keeps_one_budget() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        let two = Budget {
            n: 2,
            period_ms: MINUTE_MS,
        };
        for _ in 0..2 {
            assert_eq!(database_check(&db, "k", two).await.unwrap(), 0);
        }
        let wait = database_check(&db, "k", two).await.unwrap();
        assert!((1..=30_000).contains(&wait), "{wait}");
        assert_eq!(database_check(&db, "other", two).await.unwrap(), 0);
    }
}
