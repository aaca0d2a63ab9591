//! The server-side half of leptos-auth-starter. Nothing here is compiled into the WASM
//! bundle: `app` depends on this crate only with its `ssr` feature.
//!
//! Layers, each importing only from those below it:
//!
//! - transports: [`api`] (REST, DRF-shaped JSON) and [`web`] (HTML forms, redirects, the
//!   social sign-in flow, the pages' context);
//! - [`state`]: the composition root both transports take as `State<AppState>`;
//! - use cases and services: [`accounts`] (sign-up, password sign-in, profile, and what
//!   staff do to accounts), [`admin`] (what staff read: the user list, security activity), [`social`]
//!   (providers, OIDC, identities), [`browser`] (cookie sessions holding a token family),
//!   [`auth`] (passwords, JWTs, token families, rate limits);
//! - foundations: [`input`] (form fields as DRF reads them), [`client_ip`], [`users`],
//!   [`user_cache`], [`db`], [`config`], [`secret`].

#![warn(missing_docs)]

pub mod accounts;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod browser;
pub mod client;
pub mod client_ip;
pub mod config;
pub mod db;
pub mod django_import;
pub mod input;
pub mod mail;
pub mod metrics;
pub mod mfa;
pub mod secret;
pub mod social;
pub mod state;
pub mod user_cache;
pub mod users;
pub mod web;

pub use config::{AppEnv, Config, Settings};
pub use db::Db;
pub use state::AppState;
