//! Passkeys (WebAuthn Level 3, through `webauthn-rs`): the relying party this deployment is,
//! the stored shape of a passkey (`mfa_authenticators` rows of type `webauthn`), the random
//! user handles authenticators hold, and the ceremonies in flight.
//!
//! The relying-party id is `PUBLIC_URL`'s host and the only accepted origin is `PUBLIC_URL`
//! itself (WebAuthn §5.1.4.1, §13.4.9). Browsers refuse an IP address as an RP id, so with a
//! `PUBLIC_URL` such as `http://127.0.0.1:3000` passkeys are off (use `localhost`).
//!
//! Ceremony state never reaches the browser: it is kept in `webauthn_ceremonies` under the
//! SHA-256 of a random token (held by the browser's server-side session or the API client),
//! read once (deleted as it is read), and valid for [`CEREMONY_SECS`]. Any instance can
//! finish what another began.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{Passkey, Url, Uuid, Webauthn, WebauthnBuilder};

use crate::db::{with_db, with_db_write, Db, DbError};

/// How long a ceremony may take, in seconds (WebAuthn's recommended timeout is 5 minutes).
pub const CEREMONY_SECS: i64 = 300;
/// The longest passkey name, in characters.
pub const NAME_MAX_CHARS: usize = 64;

/// This deployment as a WebAuthn relying party; `None` inside when passkeys are off.
#[derive(Clone)]
pub struct Passkeys(Option<std::sync::Arc<Webauthn>>);

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Passkeys").field(&self.0.is_some()).finish()
    }
}

impl Passkeys {
    /// The relying party for `public_url` (an origin), named `site_name`; off when the URL's
    /// host is no domain name (an IP address).
    pub fn new(public_url: &str, site_name: &str) -> Passkeys {
        let webauthn = Url::parse(public_url).ok().and_then(|origin| {
            let rp_id = origin.domain()?.to_owned();
            WebauthnBuilder::new(&rp_id, &origin)
                .ok()?
                .rp_name(site_name)
                .timeout(std::time::Duration::from_secs(CEREMONY_SECS as u64))
                .build()
                .ok()
        });
        Passkeys(webauthn.map(std::sync::Arc::new))
    }

    /// The relying party, when passkeys are on.
    pub fn webauthn(&self) -> Option<&Webauthn> {
        self.0.as_deref()
    }

    /// Whether passkeys are on.
    pub fn enabled(&self) -> bool {
        self.0.is_some()
    }
}

/// The `data` of a `webauthn` row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasskeyData {
    /// The name its owner gave it ("Laptop", "Phone").
    pub name: String,
    /// The credential id, URL-safe base64 (to find the row a sign-in names).
    pub credential_id: String,
    /// What `webauthn-rs` verifies assertions with: the public key, the signature counter.
    pub passkey: Passkey,
}

/// A credential id as stored in [`PasskeyData::credential_id`].
pub fn credential_id_text(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// `user_id`'s user handle, made on first use.
pub async fn user_handle(db: &Db, user_id: i64) -> Result<Uuid, DbError> {
    if let Some(handle) = existing_handle(db, user_id).await? {
        return Ok(handle);
    }
    let handle = Uuid::new_v4();
    // A racing request may have made one a moment ago: keep whichever was first.
    with_db_write!(db, pool => {
        sqlx::query(
            "INSERT INTO webauthn_user_handles (user_id, handle) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(handle.to_string())
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(existing_handle(db, user_id).await?.unwrap_or(handle))
}

async fn existing_handle(db: &Db, user_id: i64) -> Result<Option<Uuid>, DbError> {
    let row: Option<(String,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT handle FROM webauthn_user_handles WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.and_then(|(h,)| Uuid::parse_str(&h).ok()))
}

/// The account whose user handle is `handle`, if any.
pub async fn user_of_handle(db: &Db, handle: Uuid) -> Result<Option<i64>, DbError> {
    let row: Option<(i64,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT user_id FROM webauthn_user_handles WHERE handle = $1")
            .bind(handle.to_string())
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(id,)| id))
}

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey to an account.
    Register,
    /// A passkey as the second factor of a sign-in.
    SecondFactor,
    /// Signing in with a passkey alone (discoverable credential).
    SignIn,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SecondFactor => "second_factor",
            Purpose::SignIn => "sign_in",
        }
    }
}

fn ceremony_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Keeps `state` for a ceremony of `purpose` (by `user_id`, when known); returns the
/// token that takes it back.
pub async fn save_ceremony<S: Serialize>(
    db: &Db,
    purpose: Purpose,
    user_id: Option<i64>,
    state: &S,
    now: i64,
) -> Result<String, DbError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let state =
        serde_json::to_string(state).map_err(|e| DbError::Query(sqlx::Error::Decode(e.into())))?;
    with_db_write!(db, pool => {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (id, purpose, user_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ceremony_id(&token))
        .bind(purpose.as_str())
        .bind(user_id)
        .bind(state)
        .bind(now + CEREMONY_SECS)
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(token)
}

/// Takes back (and so ends) the live ceremony `token` names, if it is for `purpose` (and
/// `user_id`'s, when given): its state and whose it is.
pub async fn take_ceremony<S: for<'de> Deserialize<'de>>(
    db: &Db,
    token: &str,
    purpose: Purpose,
    user_id: Option<i64>,
    now: i64,
) -> Result<Option<(S, Option<i64>)>, DbError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let row: Option<(String, Option<i64>)> = with_db_write!(db, pool => {
        sqlx::query_as(
            "DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 AND expires_at > $3 \
             RETURNING state, user_id",
        )
        .bind(ceremony_id(token))
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row
        .filter(|(_, owner)| user_id.is_none() || *owner == user_id)
        .and_then(|(state, owner)| Some((serde_json::from_str(&state).ok()?, owner))))
}

/// Deletes expired ceremonies (housekeeping); how many.
pub async fn prune(db: &Db, now: i64) -> Result<u64, DbError> {
    Ok(with_db_write!(db, pool => {
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passkeys_need_a_domain_name() {
        assert!(Passkeys::new("https://auth.example.com", "Acme").enabled());
        assert!(Passkeys::new("http://localhost:3000", "Acme").enabled());
        assert!(!Passkeys::new("http://127.0.0.1:3000", "Acme").enabled());
        assert!(!Passkeys::new("http://[::1]:3000", "Acme").enabled());
        assert!(!Passkeys::new("not a url", "Acme").enabled());
    }
}
