//! tower-sessions records in the application's own database (SQLite or PostgreSQL, whichever
//! `DATABASE_URL` names), so several stateless instances share sessions through it.

use std::collections::HashMap;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::db::Db;
use crate::db::{with_db, with_db_write};

/// A tower-sessions store on the `sessions` table (`id_hash`, JSON `data`, `expires_at` in Unix
/// seconds). Cheap to clone.
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// A store on `db`; the table comes with the migrations.
    pub fn new(db: Db) -> DbSessionStore {
        DbSessionStore { db }
    }

    /// Deletes expired records; returns how many. Run periodically: a session that expires
    /// is already refused on load, this only reclaims the space.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        with_db_write!(&self.db, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }
}

/// The key a session is stored under: SHA-256 of the cookie's value, hex. The cookie is
/// the only place the id itself exists, so a copy of the database (a backup, a replica,
/// a leaked dump) names no session a browser could present (ASVS 3.2.x: session tokens
/// at rest). 128 random bits need no salt or slow hash: nothing can be guessed.
fn id_hash(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

/// The cipher for one session's data: XChaCha20-Poly1305 under a key derived from the
/// session id (HMAC-SHA-256 of a fixed label, keyed with the id). The record holds the
/// browser's token family, refresh token included; without the cookie, a copy of the
/// table opens nothing (the same reasoning as for [`id_hash`]).
fn cipher(id: &Id) -> XChaCha20Poly1305 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(id.to_string().as_bytes())
        .expect("HMAC takes any key");
    mac.update(b"leptos-auth-starter session data v1");
    XChaCha20Poly1305::new(&mac.finalize().into_bytes())
}

/// The record's data as stored: base64url of a random 24-byte nonce and the sealed JSON,
/// bound to the row's key.
fn seal(record: &Record) -> Result<String, session_store::Error> {
    let json = serde_json::to_vec(&record.data)
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let aad = id_hash(&record.id);
    let sealed = cipher(&record.id)
        .encrypt(
            &nonce,
            Payload {
                msg: &json,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// The data of the row `id` names; a row that does not open is no session.
fn open(id: &Id, stored: &str) -> Option<HashMap<String, serde_json::Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(stored).ok()?;
    if bytes.len() < 24 {
        return None;
    }
    let (nonce, sealed) = bytes.split_at(24);
    let aad = id_hash(id);
    let json = cipher(id)
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()?;
    serde_json::from_slice(&json).ok()
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // 128 random bits make a collision practically impossible; if one happens anyway,
        // draw again rather than overwrite somebody else's session.
        loop {
            let data = seal(record)?;
            let inserted = with_db_write!(&self.db, pool => {
                sqlx::query(
                    "INSERT INTO sessions (id_hash, data, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (id_hash) DO NOTHING",
                )
                .bind(id_hash(&record.id))
                .bind(&data)
                .bind(record.expiry_date.unix_timestamp())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })
            .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = seal(record)?;
        with_db_write!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO sessions (id_hash, data, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id_hash) DO UPDATE SET data = excluded.data, \
                 expires_at = excluded.expires_at",
            )
            .bind(id_hash(&record.id))
            .bind(&data)
            .bind(record.expiry_date.unix_timestamp())
            .execute(pool)
            .await
            .map(drop)
        })
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let row: Option<(String, i64)> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2",
            )
            .bind(id_hash(id))
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        let Some(data) = open(id, &data) else {
            return Ok(None);
        };
        let expiry_date = OffsetDateTime::from_unix_timestamp(expires_at).map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        with_db_write!(&self.db, pool => {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash(id))
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> DbSessionStore {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        DbSessionStore::new(db)
    }

    fn record(expires_in: i64) -> Record {
        let mut data = HashMap::new();
        data.insert("k".to_owned(), serde_json::json!({"n": 1}));
        Record {
            id: Id::default(),
            data,
            expiry_date: OffsetDateTime::now_utc() + time::Duration::seconds(expires_in),
        }
    }

    #[tokio::test]
    async fn round_trip_update_and_delete() {
        let store = store().await;
        let mut rec = record(60);
        store.create(&mut rec).await.unwrap();
        let loaded = store.load(&rec.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, rec.data);

        rec.data.insert("k".to_owned(), serde_json::json!(2));
        store.save(&rec).await.unwrap();
        assert_eq!(
            store.load(&rec.id).await.unwrap().unwrap().data["k"],
            serde_json::json!(2)
        );

        store.delete(&rec.id).await.unwrap();
        assert!(store.load(&rec.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_records_are_not_loaded_and_get_reclaimed() {
        let store = store().await;
        let mut old = record(-5);
        store.create(&mut old).await.unwrap();
        let mut live = record(60);
        store.create(&mut live).await.unwrap();
        assert!(store.load(&old.id).await.unwrap().is_none());
        assert_eq!(store.delete_expired().await.unwrap(), 1);
        assert!(store.load(&live.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn the_database_never_holds_the_id_itself() {
        let store = store().await;
        let mut rec = record(60);
        store.create(&mut rec).await.unwrap();
        let keys: Vec<(String,)> = with_db!(&store.db, pool => {
            sqlx::query_as("SELECT id_hash FROM sessions").fetch_all(pool).await
        })
        .unwrap();
        assert_eq!(keys, [(id_hash(&rec.id),)]);
        assert_ne!(keys[0].0, rec.id.to_string());
        assert_eq!(keys[0].0.len(), 64);
        // Nor the data in the clear: it opens with the id only.
        let stored: Vec<(String,)> = with_db!(&store.db, pool => {
            sqlx::query_as("SELECT data FROM sessions").fetch_all(pool).await
        })
        .unwrap();
        assert!(!stored[0].0.contains("\"n\""), "{}", stored[0].0);
        assert_eq!(open(&rec.id, &stored[0].0), Some(rec.data.clone()));
        assert_eq!(open(&Id::default(), &stored[0].0), None);
    }

    #[tokio::test]
    async fn create_never_overwrites_an_existing_id() {
        let store = store().await;
        let mut first = record(60);
        store.create(&mut first).await.unwrap();
        let mut clash = record(60);
        clash.id = first.id;
        clash
            .data
            .insert("k".to_owned(), serde_json::json!("other"));
        store.create(&mut clash).await.unwrap();
        assert_ne!(clash.id, first.id);
        assert_eq!(
            store.load(&first.id).await.unwrap().unwrap().data["k"],
            serde_json::json!({"n": 1})
        );
    }
}
