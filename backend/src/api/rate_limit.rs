//! Per-IP and per-account rate limits for the endpoints brute force aims at.
//!
//! Limits are kept in memory, per instance: behind a load balancer with N instances an
//! attacker gets at most N times the configured rate, which still bounds guessing.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::ApiError;
use crate::config::RateLimitConfig;

#[derive(Debug)]
pub struct RateLimits {
    login_ip: DefaultKeyedRateLimiter<IpAddr>,
    login_account: DefaultKeyedRateLimiter<String>,
    register_ip: DefaultKeyedRateLimiter<IpAddr>,
    refresh_ip: DefaultKeyedRateLimiter<IpAddr>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Result<(), ApiError> {
    limiter.check_key(key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::RateLimited {
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
    })
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> RateLimits {
        RateLimits {
            login_ip: RateLimiter::keyed(per_minute(config.login_per_minute)),
            login_account: RateLimiter::keyed(per_minute(config.login_per_minute)),
            register_ip: RateLimiter::keyed(per_minute(config.register_per_minute)),
            refresh_ip: RateLimiter::keyed(per_minute(config.refresh_per_minute)),
        }
    }

    pub fn login_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        check(&self.login_ip, &ip)
    }

    /// Keyed by the case-folded identifier, so `Alice` and `alice` share a budget.
    pub fn login_account(&self, identifier: &str) -> Result<(), ApiError> {
        check(&self.login_account, &crate::users::identity_key(identifier))
    }

    pub fn register(&self, ip: IpAddr) -> Result<(), ApiError> {
        check(&self.register_ip, &ip)
    }

    pub fn refresh(&self, ip: IpAddr) -> Result<(), ApiError> {
        check(&self.refresh_ip, &ip)
    }

    /// Forgets keys whose budget is full again, so memory stays bounded.
    pub fn prune(&self) {
        self.login_ip.retain_recent();
        self.login_account.retain_recent();
        self.register_ip.retain_recent();
        self.refresh_ip.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_reports_retry_after() {
        let limits = RateLimits::new(&RateLimitConfig {
            login_per_minute: 2,
            register_per_minute: 1,
            refresh_per_minute: 1,
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.login_ip(ip).is_ok());
        assert!(limits.login_ip(ip).is_ok());
        let Err(ApiError::RateLimited { retry_after_secs }) = limits.login_ip(ip) else {
            panic!("third attempt in a minute should be limited");
        };
        assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}");
        // Another IP has its own budget.
        assert!(limits.login_ip("192.0.2.2".parse().unwrap()).is_ok());
        assert!(limits.login_account("Alice").is_ok());
        assert!(limits.login_account("alice").is_ok());
        assert!(limits.login_account("ALICE").is_err());
    }
}
