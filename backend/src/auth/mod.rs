//! Authentication: password hashing and rules, JWTs, sign-in sessions (token families)
//! and the rate limits that keep guessing slow.

pub mod django_hashers;
pub mod jwt;
pub mod password;
pub(crate) mod password_rules;
pub mod rate_limit;
pub mod refusal_counts;
pub mod revocations;
pub mod sign_ins;
pub mod tokens;
