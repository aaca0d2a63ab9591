//! What each sign-in (token family) is, for "Where you're signed in": how and from where it
//! started, when and from where it was last used, and which of an account's sign-ins are
//! still live. Issuing and revoking stay in [`super::tokens`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};

use crate::client::Client;
use crate::db::{with_db, with_db_write, Db, DbError};

/// A sign-in's last use is written at most this often (seconds), never on every request.
pub const LAST_USE_RESOLUTION_SECS: i64 = 60;

/// Where a sign-in's tokens are used.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A browser session of the web UI (the tokens never leave the server).
    Browser,
    /// A REST client holding the tokens itself.
    Api,
}

impl Channel {
    /// `browser` or `api`, as stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Browser => "browser",
            Channel::Api => "api",
        }
    }
}

/// How a sign-in started, recorded with its token family.
#[derive(Clone, Debug)]
pub struct SignInOrigin {
    /// `password`, `registration`, or the social provider's id (`github`, `google`, ...).
    pub method: String,
    /// Browser session or API client.
    pub channel: Channel,
    /// The client that signed in.
    pub client: Client,
    /// When the person proved who they are (Unix seconds), if not at the sign-in's start:
    /// `Some(0)` for a sign-in carried over from the Django stack's token, which proves
    /// nothing fresh. `None`: now.
    pub authenticated_at: Option<i64>,
    /// The identity provider says a second factor was passed with it (OIDC `amr`), so an
    /// account with MFA is not asked for one again.
    pub provider_mfa: bool,
}

impl SignInOrigin {
    /// A sign-in by `method` through `channel` from `client`.
    pub fn new(method: impl Into<String>, channel: Channel, client: &Client) -> SignInOrigin {
        SignInOrigin {
            method: method.into(),
            channel,
            client: client.clone(),
            authenticated_at: None,
            provider_mfa: false,
        }
    }

    /// The same, with the provider's word on a second factor (`ExternalProfile::mfa_asserted`).
    pub fn with_provider_mfa(mut self, asserted: bool) -> SignInOrigin {
        self.provider_mfa = asserted;
        self
    }

    /// What the user agent column holds: the recognised browser, else `API client` or
    /// `Unknown browser` by channel.
    pub(super) fn user_agent(&self) -> String {
        self.client
            .user_agent
            .clone()
            .unwrap_or_else(|| match self.channel {
                Channel::Api => "API client".into(),
                Channel::Browser => "Unknown browser".into(),
            })
    }
}

/// One live sign-in of an account, as its owner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    /// The token family's id (the tokens' `sid` claim).
    pub id: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to within [`LAST_USE_RESOLUTION_SECS`]).
    pub last_used_at: DateTime<Utc>,
    /// `password`, `registration`, a provider id, or `unknown` (sign-ins older than this
    /// record).
    pub method: String,
    /// `browser`, `api`, or `unknown`.
    pub channel: String,
    /// `Firefox on Linux`, `API client`, ...; empty when unknown.
    pub user_agent: String,
    /// The client's IP address at sign-in.
    pub created_ip: Option<String>,
    /// The client's IP address at last use (at sign-in, until it is used again).
    pub ip: Option<String>,
}

/// The live sign-ins of `user_id` at `now` (Unix seconds), most recently used first: not
/// revoked, not past their absolute end, holding a refresh token that still works, and
/// (with `idle_timeout_secs`) used within that many seconds.
pub async fn live_sign_ins(
    db: &Db,
    user_id: i64,
    now: i64,
    idle_timeout_secs: Option<i64>,
) -> Result<Vec<SignIn>, DbError> {
    type Row = (
        String,
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let used_since = idle_timeout_secs.map_or(i64::MIN, |idle| now - idle);
    let rows: Vec<Row> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT f.id, f.created_at, f.last_used_at, f.method, f.channel, f.user_agent, \
                    f.created_ip, COALESCE(f.last_used_ip, f.created_ip) \
             FROM token_families f \
             WHERE f.user_id = $1 AND f.revoked_at IS NULL AND f.expires_at > $2 \
               AND f.last_used_at > $3 \
               AND EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = f.id \
                           AND r.rotated_at IS NULL AND r.expires_at > $2) \
             ORDER BY f.last_used_at DESC, f.created_at DESC, f.id",
        )
        .bind(user_id)
        .bind(now)
        .bind(used_since)
        .fetch_all(pool)
        .await
    })?;
    let at = |secs: i64| Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(
            |(id, created_at, last_used_at, method, channel, user_agent, created_ip, ip)| SignIn {
                id,
                created_at: at(created_at),
                last_used_at: at(last_used_at),
                method,
                channel,
                user_agent,
                created_ip,
                ip,
            },
        )
        .collect())
}

/// When each sign-in's last use was last written by this instance, so that a busy sign-in
/// costs one write a minute, not one per request.
#[derive(Debug, Default)]
pub(super) struct LastUse {
    written: Mutex<HashMap<String, i64>>,
}

/// The throttle forgets sign-ins beyond this many, oldest writes first (memory stays
/// bounded whatever the traffic; a forgotten one costs one extra write).
const LAST_USE_MEMORY: usize = 100_000;

impl LastUse {
    /// Notes that `sid`'s last use is `now` in the database (a new sign-in).
    pub(super) fn written(&self, sid: &str, now: i64) {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        written.insert(sid.to_owned(), now);
    }

    /// Whether `sid`'s last use is due to be written at `now`; if so, it counts as written.
    fn due(&self, sid: &str, now: i64) -> bool {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if written
            .get(sid)
            .is_some_and(|at| now - at < LAST_USE_RESOLUTION_SECS)
        {
            return false;
        }
        if written.len() >= LAST_USE_MEMORY {
            written.retain(|_, at| now - *at < LAST_USE_RESOLUTION_SECS);
        }
        written.insert(sid.to_owned(), now);
        true
    }

    /// Records that `sid` was used by `ip` at `now`: a database write when the last one is
    /// at least [`LAST_USE_RESOLUTION_SECS`] old (here, and in the row itself, so several
    /// instances together still write about once a minute).
    pub(super) async fn record(
        &self,
        db: &Db,
        sid: &str,
        ip: IpAddr,
        now: i64,
    ) -> Result<(), DbError> {
        if !self.due(sid, now) {
            return Ok(());
        }
        with_db_write!(db, pool => {
            sqlx::query(
                "UPDATE token_families SET last_used_at = $1, last_used_ip = $2 \
                 WHERE id = $3 AND last_used_at <= $4",
            )
            .bind(now)
            .bind(ip.to_string())
            .bind(sid)
            .bind(now - LAST_USE_RESOLUTION_SECS)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_use_is_due_once_a_minute() {
        let last_use = LastUse::default();
        last_use.written("a", 1000);
        assert!(!last_use.due("a", 1030));
        assert!(last_use.due("a", 1060));
        assert!(!last_use.due("a", 1100));
        assert!(last_use.due("b", 1100), "an unknown sign-in is due at once");
    }

    #[test]
    fn user_agent_falls_back_by_channel() {
        let client = Client::at(IpAddr::from([127, 0, 0, 1]));
        let api = SignInOrigin::new("password", Channel::Api, &client);
        assert_eq!(api.user_agent(), "API client");
        let browser = SignInOrigin::new("password", Channel::Browser, &client);
        assert_eq!(browser.user_agent(), "Unknown browser");
    }
}
