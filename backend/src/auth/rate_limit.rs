//! Per-IP and per-account rate limits for what brute force aims at (sign-in, sign-up,
//! token refresh), with `governor`'s GCRA limiters: N attempts per minute per key, refilled
//! continuously (ASVS 2.2.1).
//!
//! Limits are kept in memory, per instance: behind a load balancer with N instances an
//! attacker gets at most N times the configured rate, which still bounds guessing.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitConfig;

/// A refused attempt: the caller may try again after `retry_after_secs` (whole seconds,
/// rounded up), which transports pass on (`Retry-After`, or in words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rate limited; retry after {retry_after_secs} s")]
pub struct RateLimited {
    /// Seconds to wait before the next attempt can pass, rounded up to a whole second.
    pub retry_after_secs: u64,
}

/// Every limit of the instance; with rate limiting switched off (`RATE_LIMIT_ENABLED=false`)
/// every check passes.
#[derive(Debug)]
pub struct RateLimits(Option<Limiters>);

#[derive(Debug)]
struct Limiters {
    login_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_account: DefaultKeyedRateLimiter<String>,
    register_ip: DefaultKeyedRateLimiter<IpAddr>,
    refresh_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

/// The one guard every limit goes through.
fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), RateLimited> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

impl RateLimits {
    /// The limits of `config`; `None` switches them off.
    pub fn new(config: Option<&RateLimitConfig>) -> RateLimits {
        RateLimits(config.map(|config| Limiters {
            login_ip: RateLimiter::keyed(per_minute(config.login_per_minute)),
            login_account: RateLimiter::keyed(per_minute(config.login_per_minute)),
            register_ip: RateLimiter::keyed(per_minute(config.register_per_minute)),
            refresh_ip: RateLimiter::keyed(per_minute(config.refresh_per_minute)),
        }))
    }

    /// A sign-in attempt (password or social) from `ip`.
    pub fn login_ip(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.0.as_ref().map_or(Ok(()), |l| check(&l.login_ip, &ip))
    }

    /// A password attempt on the account `identifier` names, keyed by the case-folded
    /// identifier, so `Alice` and `alice` share a budget.
    pub fn login_account(&self, identifier: &str) -> Result<(), RateLimited> {
        let key = crate::users::identity_key(identifier);
        self.0
            .as_ref()
            .map_or(Ok(()), |l| check(&l.login_account, &key))
    }

    /// A sign-up from `ip`.
    pub fn register(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.0
            .as_ref()
            .map_or(Ok(()), |l| check(&l.register_ip, &ip))
    }

    /// A refresh-token exchange from `ip`.
    pub fn refresh(&self, ip: IpAddr) -> Result<(), RateLimited> {
        self.0
            .as_ref()
            .map_or(Ok(()), |l| check(&l.refresh_ip, &ip))
    }

    /// Forgets keys whose budget is full again, so memory stays bounded.
    pub fn prune(&self) {
        if let Some(l) = &self.0 {
            l.login_ip.retain_recent();
            l.login_account.retain_recent();
            l.register_ip.retain_recent();
            l.refresh_ip.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_reports_retry_after() {
        let limits = RateLimits::new(Some(&RateLimitConfig {
            login_per_minute: 2,
            register_per_minute: 1,
            refresh_per_minute: 1,
        }));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.login_ip(ip).is_ok());
        assert!(limits.login_ip(ip).is_ok());
        let Err(RateLimited { retry_after_secs }) = limits.login_ip(ip) else {
            panic!("third attempt in a minute should be limited");
        };
        assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}");
        // Another IP has its own budget.
        assert!(limits.login_ip("192.0.2.2".parse().unwrap()).is_ok());
        assert!(limits.login_account("Alice").is_ok());
        assert!(limits.login_account("alice").is_ok());
        assert!(limits.login_account("ALICE").is_err());
    }

    #[test]
    fn switched_off_limits_never_refuse() {
        let limits = RateLimits::new(None);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..100 {
            assert!(limits.login_ip(ip).is_ok() && limits.register(ip).is_ok());
        }
    }
}
