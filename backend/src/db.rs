//! Database access: one pool, SQLite (embedded default) or PostgreSQL (production).
//!
//! The two engines get separate migration folders because their DDL differs (identity
//! columns, timestamp types); the queries themselves are written once in the portable
//! subset both accept (`$1` placeholders, `RETURNING`) and run through `with_db!`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use thiserror::Error;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The configured database's connection pools. Cheap to clone: clones share the pools.
#[derive(Clone, Debug)]
pub enum Db {
    /// SQLite allows one writer at a time; writers that collide wait in its busy handler,
    /// which sleeps in steps of up to 100 ms. Writes therefore go through `writer`, a
    /// one-connection pool whose queue is fair and sleeps no one, while reads use `pool`.
    Sqlite {
        /// Reads: up to `DATABASE_MAX_CONNECTIONS` connections (for an in-memory database, the
        /// writer itself).
        pool: SqlitePool,
        /// Writes and migrations: a single connection.
        writer: SqlitePool,
    },
    /// PostgreSQL: one pool for reads and writes, up to `DATABASE_MAX_CONNECTIONS`.
    Postgres(PgPool),
}

/// A database failure, at start-up (connect, migrate) or in a query: always ours (a 500 or
/// a "try again" page), never the client's.
#[derive(Debug, Error)]
pub enum DbError {
    /// `DATABASE_URL` does not parse as SQLite connection options; the field is sqlx's message.
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    /// The directory for the SQLite file could not be created.
    #[error("cannot create the directory for the SQLite database: {0}")]
    CreateDir(std::io::Error),
    /// The first connection failed (server down, wrong credentials, unreadable file).
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    /// A migration failed, or the database has migrations this build does not know.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed, including waiting too long for a connection (5 s; 10 s for the SQLite
    /// writer).
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// Runs the same query-building expression against whichever pool is configured: `$pool`
/// is bound to the concrete pool, so `sqlx::query(..).fetch_one($pool)` type-checks for each
/// engine while the SQL is written once. For reads; writes use [`with_db_write!`].
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { pool: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// [`with_db!`] for statements that write (SQLite's single writer connection).
macro_rules! with_db_write {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { writer: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

pub(crate) use {with_db, with_db_write};

impl Db {
    /// Connects (creating the SQLite file and its directory on first start) and migrates.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        let db = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // WAL makes NORMAL durable against application crashes; only a power loss
                // can lose the last transactions, never corrupt the file.
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            if let Some(parent) = options.get_filename().parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(DbError::CreateDir)?;
                }
            }
            // An in-memory database exists once per connection: one pool, one connection.
            let in_memory =
                options.get_filename().to_str() == Some(":memory:") || url.contains("mode=memory");
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await
                .map_err(DbError::Connect)?;
            let pool = if in_memory {
                writer.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .map_err(DbError::Connect)?
            };
            Db::Sqlite { pool, writer }
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await
                .map_err(DbError::Connect)?;
            Db::Postgres(pool)
        };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the engine's pending migrations (`migrations/sqlite` or `migrations/postgres`,
    /// embedded at build time). [`connect`](Self::connect) already runs them.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// A round trip to the database, for readiness probes.
    pub async fn ping(&self) -> Result<(), DbError> {
        with_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Closes the pools, waiting for connections in use to come back; for shutdown.
    pub async fn close(&self) {
        if let Db::Sqlite { writer, .. } = self {
            writer.close().await;
        }
        // (For an in-memory database both names are the same pool; closing twice is fine.)
        with_db!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_is_created_and_migrated_on_first_connect() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/app.db", dir.path().display());
        let db = Db::connect(&url, 2).await.unwrap();
        db.ping().await.unwrap();
        let (count,): (i64,) = with_db!(&db, pool =>
            sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(pool).await)
        .unwrap();
        assert_eq!(count, 0);
        // A second start finds the schema in place and migrates nothing.
        db.close().await;
        Db::connect(&url, 2).await.unwrap();
    }

    #[tokio::test]
    async fn in_memory_sqlite_reads_what_it_writes() {
        let db = Db::connect("sqlite::memory:", 4).await.unwrap();
        with_db_write!(&db, pool => {
            sqlx::query(
                "INSERT INTO users (username, username_key, date_joined) VALUES ('a', 'a', '2026-01-01T00:00:00Z')",
            )
            .execute(pool)
            .await
            .map(drop)
        })
        .unwrap();
        let (count,): (i64,) = with_db!(&db, pool =>
            sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(pool).await)
        .unwrap();
        assert_eq!(count, 1);
    }

    #[tokio::test]
    async fn bad_url_is_a_clear_error() {
        let err = Db::connect("sqlite://x.db?mode=sideways", 1)
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::InvalidUrl(_)), "{err}");
        let err = Db::connect("postgres://nobody@127.0.0.1:1/none", 1)
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::Connect(_)), "{err}");
    }
}
