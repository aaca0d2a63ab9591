//! The server-side domain of leptos-auth-starter: configuration, storage, authentication
//! and the REST API. Nothing here is compiled into the WASM bundle: `app` depends on this
//! crate only with its `ssr` feature.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod config;
pub mod db;
pub mod social;
pub mod state;
pub mod user_cache;
pub mod users;
pub mod web;

pub use config::{AppEnv, Config, Settings};
pub use db::Db;
pub use state::AppState;
