//! Moving from the Django stack: a real Django database, built by the seeds' stack
//! (`server/tests/django/seed_stack.py`: Django 4.2, simplejwt, allauth, dj-rest-auth),
//! imported with `server import-django`; then every account signs in with its old password,
//! Django's tokens keep working as promised, the Google link resolves, and a second import
//! changes nothing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use backend::config::JwtAlgorithm;
use serde_json::{json, Value};

use crate::fake_idp::{FakeIdp, Mint};
use crate::helpers::{random_hex, status_and_json, Engine, TestApp};
use crate::web::{location, Browser};

/// A Django database made by the seeds' stack, and what the harness printed about it.
struct Django {
    url: String,
    out: Value,
    _dir: tempfile::TempDir,
}

impl Django {
    fn account(&self, name: &str) -> (i64, Option<String>) {
        let account = &self.out["accounts"][name];
        (
            account["id"].as_i64().unwrap(),
            account["password"].as_str().map(str::to_owned),
        )
    }

    fn token(&self, name: &str) -> &str {
        self.out[name].as_str().unwrap()
    }
}

/// The Python of `.tools/django` (scripts/setup --test), or `DJANGO_PYTHON`.
fn django_python() -> PathBuf {
    let python = std::env::var_os("DJANGO_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/django/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "the Django stack is needed for these tests ({}): run scripts/setup --test, or set \
         DJANGO_PYTHON to a Python with server/tests/django/requirements.txt installed",
        python.display()
    );
    python
}

/// Runs the harness's `fixture` into the database at `url`.
fn seed(url: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/django/seed_stack.py");
    let out = Command::new(django_python())
        .arg(script)
        .args(["fixture", "--database", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seed_stack.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One Django SQLite database for every test of this process (building it takes seconds;
/// the tests only read it).
fn django_sqlite() -> &'static Django {
    static DJANGO: OnceLock<Django> = OnceLock::new();
    DJANGO.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/db.sqlite3", dir.path().display());
        let out = seed(&url);
        Django {
            url,
            out,
            _dir: dir,
        }
    })
}

/// Our server with the Django stack's SIMPLE_JWT settings and simplejwt's tokens accepted.
async fn app_for(engine: Engine, django: &Django, idp: &FakeIdp) -> TestApp {
    let key = django.out["signing_key"].as_str().unwrap().to_owned();
    let mut google = idp.provider_config("google");
    google.label = "Google".into();
    TestApp::spawn_with(engine, move |s| {
        s.jwt_signing_key = Some(key);
        s.jwt_algorithm = JwtAlgorithm::Hs512;
        s.jwt_refresh_reuse_grace = 0;
        s.legacy_refresh_until = Some(chrono::Utc::now() + chrono::Duration::days(30));
        s.social_providers = Some(vec![google]);
    })
    .await
}

/// `server import-django --from <from> [args]` against `app`'s database: (success, stdout,
/// stderr).
fn import(app: &TestApp, from: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.state.config.database_url)
        .env("DATA_DIR", &app.state.config.data_dir)
        .env("RUST_LOG", "warn")
        .args(["import-django", "--from", from])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn user_count(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM users";
    let (n,): (i64,) = match &app.state.db {
        backend::Db::Sqlite { pool, .. } => sqlx::query_as(sql).fetch_one(pool).await,
        backend::Db::Postgres(pool) => sqlx::query_as(sql).fetch_one(pool).await,
    }
    .unwrap();
    n
}

async fn stored(app: &TestApp, id: i64) -> backend::users::User {
    backend::users::find_by_id(&app.state.db, id)
        .await
        .unwrap()
        .unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    status_and_json(
        app.post_json("/api/auth/token/refresh/", &json!({ "refresh": token }))
            .await,
    )
    .await
}

#[tokio::test]
async fn a_django_database_moves_onto_sqlite() {
    moves_without_signing_anyone_out(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_django_database_moves_onto_postgres() {
    moves_without_signing_anyone_out(Engine::Postgres).await;
}

async fn moves_without_signing_anyone_out(engine: Engine) {
    let django = django_sqlite();
    let idp = FakeIdp::start().await;
    let app = app_for(engine, django, &idp).await;

    // Before the import, Django's tokens name nobody here.
    let res = app
        .get_with_token("/api/auth/user/", django.token("access"))
        .await;
    assert_eq!(res.status(), 401);

    // A dry run says what it would do and writes nothing.
    let (ok, out, err) = import(&app, &django.url, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("6 new"), "{out}");
    assert!(out.contains("Dry run: nothing was written."), "{out}");
    assert_eq!(user_count(&app).await, 0);

    let (ok, out, err) = import(&app, &django.url, &[]);
    assert!(ok, "{err}");
    assert!(out.contains("Accounts: 6 in Django: 6 new"), "{out}");
    assert!(
        out.contains("argon2 1, bcrypt_sha256 1, pbkdf2_sha1 1, pbkdf2_sha256 1, scrypt 1"),
        "{out}"
    );
    assert!(out.contains("1 unusable"), "{out}");
    assert!(out.contains("1 secondary allauth"), "{out}");
    assert!(out.contains("Social links: 1 new"), "{out}");
    assert!(
        out.contains("Blacklisted refresh tokens: 1 were recorded"),
        "{out}"
    );
    assert!(out.ends_with("Imported.\n"), "{out}");
    assert!(!out.contains(django.token("signing_key")) && !err.contains("pbkdf2_sha256$"));

    // Same primary keys, flags, names and dates; allauth's primary address and whether it
    // was verified.
    let (alice_id, password) = django.account("alice");
    let password = password.unwrap();
    let alice = stored(&app, alice_id).await;
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert!(alice.email_verified);
    assert_eq!(
        (alice.first_name.as_str(), alice.last_name.as_str()),
        ("Alice", "Liddell")
    );
    assert!(alice.last_login.is_some() && alice.is_active && !alice.is_staff);
    let bob = stored(&app, django.account("bob").0).await;
    assert_eq!(bob.email.as_deref(), Some("bob@example.com"));
    assert!(!bob.email_verified);
    let root = stored(&app, django.account("root").0).await;
    assert!(root.is_staff && root.is_superuser);
    assert!(!stored(&app, django.account("dave").0).await.is_active);
    let carol = stored(&app, django.account("carol").0).await;
    assert_eq!(carol.password_hash, None);

    // Django's access token works until it expires; the blacklisted refresh token does not.
    let (status, body) = status_and_json(
        app.get_with_token("/api/auth/user/", django.token("access"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pk"], alice_id);
    assert_eq!(body["username"], "alice");
    let (status, _) = refresh(&app, django.token("blacklisted_refresh")).await;
    assert_eq!(status, 401);
    let (status, _) = status_and_json(
        app.post_json(
            "/api/auth/token/verify/",
            &json!({ "token": django.token("refresh") }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "an unused Django refresh token verifies");

    // Django's refresh token is exchanged once, for a sign-in of ours.
    let (status, ours) = refresh(&app, django.token("refresh")).await;
    assert_eq!(status, 200, "{ours}");
    let (access, ours_refresh) = (
        ours["access"].as_str().unwrap().to_owned(),
        ours["refresh"].as_str().unwrap().to_owned(),
    );
    let res = app.get_with_token("/api/auth/user/", &access).await;
    assert_eq!(res.status(), 200);
    let (status, _) = refresh(&app, &ours_refresh).await;
    assert_eq!(status, 200, "the new sign-in rotates like any other");
    let sessions: Value = app
        .get_with_token("/api/auth/sessions/", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(sessions[0]["method"], "django", "{sessions}");

    // A second use of the Django token (after the grace for racing tabs) is a copy:
    // refused, and the sign-in it became ends.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = refresh(&app, django.token("refresh")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_not_valid"))
    );
    let res = app.get_with_token("/api/auth/user/", &access).await;
    assert_eq!(res.status(), 401);
    // A copied refresh token may come with copied access tokens: Django's end too.
    let res = app
        .get_with_token("/api/auth/user/", django.token("access"))
        .await;
    assert_eq!(res.status(), 401);
    assert!(app
        .event_kinds(Some(alice_id))
        .await
        .contains(&"refresh_token_reuse".to_owned()));

    // A wrong password on an account still on its Django hash (PBKDF2 at 600,000
    // iterations) is answered no sooner than an unknown name: timing tells them not apart.
    let attempt = |name: &'static str| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            assert_eq!(app.login(name, "not the password").await.status(), 400);
            started.elapsed()
        }
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        known.push(attempt("alice").await);
        unknown.push(attempt("nobody-here").await);
    }
    let (known, unknown) = (known.iter().min().unwrap(), unknown.iter().min().unwrap());
    // (A check slower than the cap, on a machine this busy, pads to the cap only.)
    let expected = (*known).min(backend::auth::password::FLOOR_CAP);
    assert!(
        unknown.as_secs_f64() >= expected.as_secs_f64() * 0.8,
        "unknown name {unknown:?}, Django-hashed account {known:?}"
    );

    // Every account with a password signs in with it, and is on argon2id afterwards.
    for name in ["alice", "bob", "root"] {
        let res = app.login(name, &password).await;
        assert_eq!(res.status(), 200, "{name}");
        let hash = stored(&app, django.account(name).0)
            .await
            .password_hash
            .unwrap();
        assert!(hash.starts_with("$argon2id$"), "{name}: {hash}");
    }
    assert_eq!(
        app.login("alice", "correct horse batterY").await.status(),
        400
    );
    // The inactive account and the one without a usable password: the usual refusal.
    assert_eq!(app.login("dave", &password).await.status(), 400);
    assert_eq!(app.login("carol", "").await.status(), 400);
    // Through the sign-in page (Erin's hash is scrypt; her username is matched
    // ignoring case, as everywhere here).
    let browser = Browser::new(&app);
    let res = browser
        .post_form("/signin", &[("username", "erin"), ("password", &password)])
        .await;
    assert_eq!(location(&res), "/profile");
    let erin = stored(&app, django.account("Erin").0).await;
    assert!(erin.password_hash.unwrap().starts_with("$argon2id$"));

    // Google's subject resolves to the same account, whatever address the provider sends.
    let google = idp.id_token("108234567890123456789", "carol.new@gmail.com", Mint::Good);
    let (status, body) = status_and_json(
        app.post_json("/api/auth/google/", &json!({ "id_token": google }))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["pk"], django.account("carol").0);

    // Sign-ups continue after the highest imported id.
    let new = app.register("newcomer", "").await;
    assert!(new["user"]["pk"].as_i64().unwrap() > 6, "{new}");

    // Running it again changes nothing, and says so: passwords upgraded here stay, a
    // deactivation here stays, an account deleted here is not brought back.
    let bob_id = django.account("bob").0;
    app.execute("UPDATE users SET is_active = FALSE WHERE id = $1", bob_id)
        .await;
    let erin_id = django.account("Erin").0;
    app.execute("DELETE FROM users WHERE id = $1", erin_id)
        .await;
    let (ok, out, err) = import(&app, &django.url, &[]);
    assert!(ok, "{err}");
    assert!(out.contains("0 new, 0 changed"), "{out}");
    assert!(out.contains("1 deleted here since"), "{out}");
    assert!(!stored(&app, bob_id).await.is_active);
    assert!(backend::users::find_by_id(&app.state.db, erin_id)
        .await
        .unwrap()
        .is_none());
    assert!(
        out.ends_with("Nothing to do: everything is already imported.\n"),
        "{out}"
    );
    let hash = stored(&app, alice_id).await.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"));
}

#[tokio::test]
async fn clashes_stop_the_import_before_anything_is_written() {
    let django = django_sqlite();
    let idp = FakeIdp::start().await;
    let app = app_for(Engine::Sqlite, django, &idp).await;
    // Our own accounts: one takes Django's "bob" (ignoring case), one alice's address.
    app.register("BOB", "").await;
    app.register("someone", "alice@example.com").await;

    let (ok, out, err) = import(&app, &django.url, &[]);
    assert!(!ok, "{out}");
    assert!(err.contains("nothing was imported: 4 clash(es)"), "{err}");
    // Our users 1 and 2 hold Django alice's and bob's ids; "bob" and alice's address are
    // taken.
    assert!(
        err.contains("Django user 1 (\"alice\") has the id of our user \"BOB\""),
        "{err}"
    );
    assert!(
        err.contains("Django user 2 (\"bob\") has the id of our user \"someone\""),
        "{err}"
    );
    assert!(
        err.contains("the sign-in name \"bob\" belongs to our user"),
        "{err}"
    );
    assert!(
        err.contains("\"alice@example.com\" belongs to our user"),
        "{err}"
    );
    assert_eq!(user_count(&app).await, 2);
    // Not a Django database URL: a sentence, nothing written.
    let (ok, _, err) = import(&app, "mysql://u:secret@localhost/db", &[]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("--from must be a sqlite:// or postgres:// URL"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    // The dry run reports the same and exits non-zero too.
    let (ok, _, err) = import(&app, &django.url, &["--dry-run"]);
    assert!(!ok && err.contains("4 clash(es)"), "{err}");
}

#[tokio::test]
async fn a_django_database_on_postgres_is_read_too() {
    // Django's own database on PostgreSQL (its own database: Django migrates the public
    // schema), imported into SQLite here.
    let server = crate::helpers::postgres_server_url();
    let (base, _) = server.rsplit_once('/').unwrap();
    let name = format!("las_dj_{}", random_hex(6));
    let admin = || {
        let server = server.clone();
        async move {
            use sqlx::Connection;
            sqlx::PgConnection::connect(&server).await.unwrap()
        }
    };
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin().await)
        .await
        .unwrap();
    let url = format!("{base}/{name}");
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || seed(&url)
    })
    .await
    .unwrap();

    let idp = FakeIdp::start().await;
    let dir = tempfile::tempdir().unwrap();
    let django = Django {
        url: url.clone(),
        out,
        _dir: dir,
    };
    let app = app_for(Engine::Sqlite, &django, &idp).await;
    let (ok, out, err) = import(&app, &url, &[]);
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin().await)
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("6 new"), "{out}");
    let (alice_id, password) = django.account("alice");
    assert_eq!(app.login("alice", &password.unwrap()).await.status(), 200);
    assert!(stored(&app, alice_id).await.email_verified);
    let res = app
        .get_with_token("/api/auth/user/", django.token("access"))
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn legacy_tokens_are_refused_without_the_setting_or_after_it() {
    let django = django_sqlite();
    let key = django.out["signing_key"].as_str().unwrap().to_owned();
    for until in [
        None,
        Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
    ] {
        let key = key.clone();
        let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
            s.jwt_signing_key = Some(key);
            s.legacy_refresh_until = until;
        })
        .await;
        let (ok, _, err) = import(&app, &django.url, &[]);
        assert!(ok, "{err}");
        let res = app
            .get_with_token("/api/auth/user/", django.token("access"))
            .await;
        assert_eq!(res.status(), 401, "{until:?}");
        let (status, _) = refresh(&app, django.token("refresh")).await;
        assert_eq!(status, 401, "{until:?}");
        // Passwords work all the same.
        let (_, password) = django.account("bob");
        assert_eq!(app.login("bob", &password.unwrap()).await.status(), 200);
    }
}

#[tokio::test]
async fn a_password_change_ends_django_access_tokens_too() {
    let django = django_sqlite();
    let idp = FakeIdp::start().await;
    let app = app_for(Engine::Sqlite, django, &idp).await;
    let (ok, _, err) = import(&app, &django.url, &[]);
    assert!(ok, "{err}");
    let access = django.token("access");
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        200
    );
    // Actions that need a recent sign-in: "refresh first" (401), never a 500.
    let res = app
        .client
        .post(app.url("/api/auth/sessions/revoke-others/"))
        .bearer_auth(access)
        .json(&json!({ "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_not_valid")),
        "{body}"
    );
    let (_, password) = django.account("alice");
    let password = password.unwrap();
    let res = app
        .client
        .post(app.url("/api/auth/password/change/"))
        .bearer_auth(access)
        .json(&json!({
            "old_password": password,
            "new_password1": "a-new-and-long-passphrase",
            "new_password2": "a-new-and-long-passphrase",
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        401
    );
    let (status, _) = refresh(&app, django.token("refresh")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn two_tabs_exchanging_one_django_token_share_the_sign_in() {
    let django = django_sqlite();
    let key = django.out["signing_key"].as_str().unwrap().to_owned();
    let app = TestApp::spawn_with(Engine::Sqlite, move |s| {
        s.jwt_signing_key = Some(key);
        s.jwt_refresh_reuse_grace = 2;
        s.legacy_refresh_until = Some(chrono::Utc::now() + chrono::Duration::days(1));
    })
    .await;
    let (ok, _, err) = import(&app, &django.url, &[]);
    assert!(ok, "{err}");
    let token = django.token("refresh");
    let (a, b) = tokio::join!(refresh(&app, token), refresh(&app, token));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(
        a.1["refresh"], b.1["refresh"],
        "one sign-in, one refresh token"
    );
    let access = b.1["access"].as_str().unwrap();
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        200
    );
    // After the grace, a third use is a copy: refused, and the shared sign-in ends.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(refresh(&app, token).await.0, 401);
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        401
    );
}

#[tokio::test]
async fn signing_out_with_a_django_access_token_ends_the_django_tokens() {
    let django = django_sqlite();
    let idp = FakeIdp::start().await;
    let app = app_for(Engine::Sqlite, django, &idp).await;
    let (ok, _, err) = import(&app, &django.url, &[]);
    assert!(ok, "{err}");
    let access = django.token("access");
    let res = app
        .client
        .post(app.url("/api/auth/logout/"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.get_with_token("/api/auth/user/", access).await.status(),
        401
    );
    assert_eq!(refresh(&app, django.token("refresh")).await.0, 401);
}

#[tokio::test]
async fn a_second_import_takes_what_changed_in_django() {
    let django = django_sqlite();
    let idp = FakeIdp::start().await;
    let app = app_for(Engine::Postgres, django, &idp).await;
    // A copy of the Django database, changed after the first import as a trial run and
    // the real one would see it: alice and bob swap usernames, root gets a new name.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("db.sqlite3");
    std::fs::copy(django.url.trim_start_matches("sqlite://"), &copy).unwrap();
    let copy_url = format!("sqlite://{}", copy.display());
    let (ok, _, err) = import(&app, &copy_url, &[]);
    assert!(ok, "{err}");
    // root signs in here (the hash is upgraded: the same password, rehashed).
    let (_, root_password) = django.account("root");
    assert_eq!(
        app.login("root", &root_password.unwrap()).await.status(),
        200
    );
    {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&copy_url).await.unwrap();
        for sql in [
            "UPDATE auth_user SET username = 'tmp' WHERE username = 'alice'",
            "UPDATE auth_user SET username = 'alice' WHERE username = 'bob'",
            "UPDATE auth_user SET username = 'bob' WHERE username = 'tmp'",
            // Django 4.2's PBKDF2 of "correct horse" (1,000 iterations).
            "UPDATE auth_user SET first_name = 'Rooted', password = \
             'pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=' \
             WHERE username = 'root'",
            "DELETE FROM account_emailaddress WHERE user_id IN \
             (SELECT id FROM auth_user WHERE username = 'dave')",
            "DELETE FROM auth_user WHERE username = 'dave'",
        ] {
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
    let (ok, out, err) = import(&app, &copy_url, &["--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("3 changed since the last import"), "{out}");
    let (ok, out, err) = import(&app, &copy_url, &[]);
    assert!(ok, "{err}");
    assert!(out.contains("3 changed since the last import"), "{out}");
    let (alice_id, password) = django.account("alice");
    assert_eq!(stored(&app, alice_id).await.username, "bob");
    assert_eq!(
        stored(&app, django.account("bob").0).await.username,
        "alice"
    );
    assert_eq!(
        stored(&app, django.account("root").0).await.first_name,
        "Rooted"
    );
    assert!(
        out.contains("No longer in Django: 1 account(s)") && out.contains(": dave."),
        "{out}"
    );
    // root's password was changed in Django after the upgrade here: Django's wins.
    assert_eq!(app.login("root", "correct horse").await.status(), 200);
    assert_eq!(
        app.login("root", "correct horse battery").await.status(),
        400
    );
    // Sign-in names follow: "bob" is now Django user 1's.
    let res = app.login("bob", &password.unwrap()).await;
    let (status, body) = status_and_json(res).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["pk"], alice_id);
    let (ok, out, _) = import(&app, &copy_url, &[]);
    assert!(ok && out.contains("Nothing to do"), "{out}");
}
