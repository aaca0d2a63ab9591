//! Spawns the application on a random port against a fresh database.

use std::sync::OnceLock;

use backend::config::{LogFormat, Settings};
use backend::{AppState, Config};
use server::startup::Application;
use sqlx::Connection;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    // Keeps the SQLite file (and generated secrets) alive for the test's duration.
    _data_dir: tempfile::TempDir,
}

#[derive(Clone, Copy, Debug)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their throwaway databases on.
pub fn postgres_server_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A new, empty schema per test in the shared `las_test` database (created on first use),
/// so tests never see each other's rows. Schemas rather than databases because dropping a
/// database forces a checkpoint (about 2 s each here) while dropping a schema is instant;
/// `scripts/test` drops the `las_t_*` schemas of earlier runs.
pub async fn fresh_postgres_database() -> String {
    let server = postgres_server_url();
    let (base, _) = server
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL names a database");
    let connect = |url: String| async move {
        sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed for these tests ({url}): {e}. \
                 Run scripts/test, or set TEST_POSTGRES_URL."
            )
        })
    };
    let mut admin = connect(server.clone()).await;
    let exists: Option<(i32,)> =
        sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = 'las_test'")
            .fetch_optional(&mut admin)
            .await
            .expect("query pg_database");
    if exists.is_none() {
        // Parallel tests may race to create it; losing that race is fine.
        let _ = sqlx::query("CREATE DATABASE las_test")
            .execute(&mut admin)
            .await;
    }
    let schema = format!("las_t_{}", random_hex(8));
    let mut conn = connect(format!("{base}/las_test")).await;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    format!("{base}/las_test?options[search_path]={schema}")
}

pub fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Test settings: development mode, a fixed signing key, rate limits off (the tests that
/// exercise them switch them on), and nothing from the developer's environment that matters.
pub fn settings(data_dir: &std::path::Path, database_url: Option<String>) -> Settings {
    let mut settings = Settings::from_args([
        "--site-addr",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--jwt-signing-key",
        "integration-test-signing-key-0123456789abcdef",
        "--app-env",
        "development",
        "--rate-limit-enabled",
        "false",
        "--database-max-connections",
        "5",
        "--site-root",
        "../target/site",
    ])
    .expect("valid test settings");
    settings.database_url = database_url;
    settings.public_url = None;
    settings.session_secret = None;
    settings.trusted_proxies = None;
    settings.cors_allowed_origins = None;
    settings
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Spawns with settings adjusted by `customise` (lifetimes, rate limits, ...).
    pub async fn spawn_with(engine: Engine, customise: impl FnOnce(&mut Settings)) -> TestApp {
        init_tracing();
        let data_dir = tempfile::tempdir().unwrap();
        let database_url = match engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(fresh_postgres_database().await),
        };
        let mut settings = settings(data_dir.path(), database_url);
        customise(&mut settings);
        let config = Config::from_settings(settings).expect("valid test config");
        let app = Application::build(config)
            .await
            .expect("application builds");
        let address = format!("http://{}", app.local_addr());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        TestApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            _data_dir: data_dir,
        }
    }

    /// A second instance on `first`'s (PostgreSQL) database, with settings adjusted by
    /// `customise`: what several stateless instances behind one proxy look like.
    pub async fn spawn_beside(first: &TestApp, customise: impl FnOnce(&mut Settings)) -> TestApp {
        let database_url = first.state.config.database_url.clone();
        Self::spawn_with(Engine::Sqlite, move |s| {
            s.database_url = Some(database_url);
            customise(s);
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Registers `username` with a good password (and `email`, unless it is `""`); returns
    /// the login body.
    pub async fn register(&self, username: &str, email: &str) -> serde_json::Value {
        let mut body = serde_json::json!({
            "username": username,
            "password1": GOOD_PASSWORD,
            "password2": GOOD_PASSWORD,
        });
        if !email.is_empty() {
            body["email"] = email.into();
        }
        let res = self.post_json("/api/auth/register/", &body).await;
        assert_eq!(res.status(), 201, "register {username}");
        res.json().await.unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login/",
            &serde_json::json!({ "username": username, "password": password }),
        )
        .await
    }

    /// The security events of `user_id` (`None`: those naming no account), newest first,
    /// as (kind, detail).
    pub async fn events(&self, user_id: Option<i64>) -> Vec<(String, Option<String>)> {
        let sql = "SELECT kind, detail FROM audit_events \
                   WHERE user_id = $1 OR ($1 IS NULL AND user_id IS NULL) ORDER BY id DESC";
        match &self.state.db {
            backend::Db::Sqlite { pool, .. } => {
                sqlx::query_as(sql).bind(user_id).fetch_all(pool).await
            }
            backend::Db::Postgres(pool) => sqlx::query_as(sql).bind(user_id).fetch_all(pool).await,
        }
        .unwrap()
    }

    /// Just the kinds of [`events`](Self::events).
    pub async fn event_kinds(&self, user_id: Option<i64>) -> Vec<String> {
        self.events(user_id)
            .await
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// Runs SQL against the app's own database (to deactivate or delete users, say).
    pub async fn execute(&self, sql: &str, id: i64) {
        match &self.state.db {
            backend::Db::Sqlite { writer, .. } => {
                sqlx::query(sql).bind(id).execute(writer).await.map(drop)
            }
            backend::Db::Postgres(pool) => sqlx::query(sql).bind(id).execute(pool).await.map(drop),
        }
        .unwrap();
    }
}

pub const GOOD_PASSWORD: &str = "violet-tambourine-42";

/// A JSON body and its status, for compact assertions.
pub async fn status_and_json(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let json =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, json)
}

/// Logs from the app under test, shown by `cargo test` for failing tests when
/// `TEST_LOG=1` is set.
fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            server::telemetry::init(LogFormat::Text);
        }
    });
}

/// Declares each listed `async fn(TestApp)` test twice: once on SQLite, once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::helpers::TestApp::spawn($crate::helpers::Engine::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::helpers::TestApp::spawn($crate::helpers::Engine::Postgres).await).await
                }
            )*
        }
    };
}
