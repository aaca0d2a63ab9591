//! Authentication: password hashing and rules, JWTs, sign-in sessions.

pub mod jwt;
pub mod password;
pub mod password_rules;
pub mod revocations;
pub mod tokens;
