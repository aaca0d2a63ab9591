//! The browser's side of a sign-in, beneath the web pages and forms: the session cookie
//! and its records in the database ([`store`]), the signed-in browser's token family kept
//! fresh on the server ([`sessions`]), cookie names ([`cookies`]) and the signed one-shot
//! feedback cookie ([`flash`]).

pub mod cookies;
pub mod flash;
pub mod sessions;
pub mod store;

use std::sync::Arc;

use crate::auth::tokens::Tokens;
use crate::config::Config;
use crate::db::Db;
use crate::user_cache::UserCache;
use cookies::CookieSettings;
use flash::FlashKey;
use sessions::BrowserSessions;
use store::DbSessionStore;

/// What the browser-facing code shares (a part of `AppState`).
#[derive(Debug)]
pub struct Browser {
    /// Whether cookies are `Secure` (and `__Host-` named), and their names.
    pub cookies: CookieSettings,
    /// Signs and opens the feedback cookie; derived from `SESSION_SECRET`.
    pub flash_key: FlashKey,
    /// The signed-in browsers' token families, refreshed on the server.
    pub sessions: BrowserSessions,
    /// Where tower-sessions keeps session records: the application's own database.
    pub store: DbSessionStore,
}

impl Browser {
    /// The browser services for `config`, sharing `db`, `tokens` and `user_cache` with the
    /// REST API, so a browser's sign-in is an ordinary token family.
    pub fn new(config: &Config, db: Db, tokens: Tokens, user_cache: Arc<UserCache>) -> Browser {
        Browser {
            cookies: CookieSettings::from_config(config),
            flash_key: FlashKey::derive(config.session_secret.expose()),
            sessions: BrowserSessions::new(config, db.clone(), tokens, user_cache),
            store: DbSessionStore::new(db),
        }
    }
}
