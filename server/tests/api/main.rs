//! Integration tests: the real router on a random port, against SQLite and PostgreSQL.

mod fake_idp;
mod helpers;
mod smtp;

mod account_deletion;
mod admin;
mod admin_cli;
mod audit;
mod auth_api;
mod django_import;
mod django_passwords;
mod faults;
mod foundation;
mod jwt_abuse;
mod lifecycle;
mod metrics;
mod mfa;
mod passkeys;
mod password_change;
mod sessions;
mod sign_ins;
mod social;
mod web;
