//! What operators scrape: Prometheus text at `GET /metrics`, only when `METRICS_TOKEN` is
//! set and only with it as the bearer token. Recorded with the `metrics` facade and
//! rendered by `metrics-exporter-prometheus`; without `METRICS_TOKEN` no recorder is
//! installed and every `metrics::counter!` here costs nothing.
//!
//! The metrics (README, "Metrics", says what each answers):
//!
//! | name | type | labels |
//! |---|---|---|
//! | [`HTTP_REQUESTS`] | counter | `method`, `route` (the matched route pattern), `status` |
//! | [`HTTP_DURATION`] | histogram | `method`, `route` |
//! | [`SIGN_INS`] | counter | `method` (password, registration, a provider, social, django, reauthentication), `outcome` |
//! | [`REFRESHES`] | counter | `outcome` (success, refused, no_active_account, error) |
//! | [`REUSE`] | counter | – |
//! | [`RATE_LIMITED`] | counter | `limit` (login-ip, login-account, register-ip, refresh-ip, email-ip, ...) |
//! | [`SECURITY_EVENTS`] | counter | `kind` (the security activity's kinds) |
//! | [`HASH_QUEUE`] | gauge | – |
//! | [`HASH_WAIT`] | histogram | – |
//! | [`MAIL_OUTBOX`] | gauge | `status` (pending, sending, sent, dead) |
//! | [`MAIL_FAILURES`] | counter | `gave_up` (true, false) |
//! | [`DB_CONNECTIONS`] | gauge | `pool` (main; SQLite: read, write), `state` (in_use, idle) |
//! | [`DB_MAX_CONNECTIONS`] | gauge | `pool` |

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::audit::{Event, Kind};
use crate::db::{with_db, Db};
use crate::state::AppState;

/// Requests answered.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Time from request to response head, seconds.
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// Sign-in attempts by how and how they ended (`success`, or the refusal's reason).
pub const SIGN_INS: &str = "auth_sign_ins_total";
/// Refresh-token exchanges by outcome.
pub const REFRESHES: &str = "auth_token_refreshes_total";
/// Retired refresh tokens presented again after the grace window (each ends a sign-in).
pub const REUSE: &str = "auth_refresh_token_reuse_total";
/// Requests refused by a rate limit, by which limit.
pub const RATE_LIMITED: &str = "rate_limit_hits_total";
/// Security events recorded (the account activity), by kind.
pub const SECURITY_EVENTS: &str = "security_events_total";
/// Password hashing jobs waiting for a hashing thread (sampled at scrape).
pub const HASH_QUEUE: &str = "password_hash_queue_length";
/// How long a password hashing job waited for a thread, seconds.
pub const HASH_WAIT: &str = "password_hash_wait_seconds";
/// Messages in the mail outbox by status (sampled at scrape).
pub const MAIL_OUTBOX: &str = "mail_outbox_messages";
/// Failed delivery attempts; `gave_up="true"`: the message is dead (no more retries).
pub const MAIL_FAILURES: &str = "mail_delivery_failures_total";
/// Database connections of this instance's pool by state (sampled at scrape).
pub const DB_CONNECTIONS: &str = "db_pool_connections";
/// `DATABASE_MAX_CONNECTIONS` (sampled at scrape).
pub const DB_MAX_CONNECTIONS: &str = "db_pool_max_connections";

/// Latency buckets, seconds: from a cached page (about 1 ms) to a slow password hash.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle) and
/// describes every metric. Called when `METRICS_TOKEN` is set.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
                .expect("non-empty buckets")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was already installed; /metrics shows ours only"
                );
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by method, route and status."
    );
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to the response head.");
    describe_counter!(SIGN_INS, "Sign-in attempts by method and outcome.");
    describe_counter!(REFRESHES, "Refresh-token exchanges by outcome.");
    describe_counter!(
        REUSE,
        "Retired refresh tokens replayed (each ends a sign-in)."
    );
    describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by limit.");
    describe_counter!(SECURITY_EVENTS, "Security events recorded, by kind.");
    describe_gauge!(HASH_QUEUE, "Password hashing jobs waiting for a thread.");
    describe_histogram!(
        HASH_WAIT,
        Unit::Seconds,
        "Wait for a password hashing thread."
    );
    describe_gauge!(MAIL_OUTBOX, "Mail outbox messages by status.");
    describe_counter!(
        MAIL_FAILURES,
        "Failed mail deliveries (permanent: not retried)."
    );
    describe_gauge!(DB_CONNECTIONS, "Database pool connections by state.");
    describe_gauge!(DB_MAX_CONNECTIONS, "Database pool size limit.");
}

/// Counts a security event, and a sign-in attempt when it is one (called as the event is
/// logged, after its transaction committed).
pub fn event(event: &Event<'_>) {
    metrics::counter!(SECURITY_EVENTS, "kind" => event.kind.as_str()).increment(1);
    match event.kind {
        Kind::SignedIn => {
            let method = event.detail.clone().unwrap_or_else(|| "unknown".into());
            metrics::counter!(SIGN_INS, "method" => method, "outcome" => "success").increment(1);
        }
        Kind::SignInFailed => {
            let reason = event.detail.clone().unwrap_or_else(|| "failure".into());
            let (method, outcome) = if reason == "reauthentication" {
                ("reauthentication".to_owned(), "bad_credentials".to_owned())
            } else {
                ("password".to_owned(), reason)
            };
            metrics::counter!(SIGN_INS, "method" => method, "outcome" => outcome).increment(1);
        }
        Kind::RefreshTokenReuse => metrics::counter!(REUSE).increment(1),
        _ => {}
    }
}

/// Counts a refused sign-in that records no security event (a social sign-in that failed,
/// a password refusal decided before any account was looked at).
pub fn sign_in_refused(method: &'static str, outcome: &'static str) {
    metrics::counter!(SIGN_INS, "method" => method, "outcome" => outcome).increment(1);
}

/// `GET /metrics`: the Prometheus text, for `Authorization: Bearer <METRICS_TOKEN>` only
/// (401 otherwise). Samples the gauges first.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.expose())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
        )
            .into_response();
    }
    let handle = install();
    sample(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Sets the gauges that are read rather than counted.
async fn sample(state: &AppState) {
    metrics::gauge!(HASH_QUEUE).set(state.passwords.queued() as f64);
    for (pool, (size, idle, max)) in pool_usage(&state.db) {
        metrics::gauge!(DB_CONNECTIONS, "pool" => pool, "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
        metrics::gauge!(DB_CONNECTIONS, "pool" => pool, "state" => "idle").set(f64::from(idle));
        metrics::gauge!(DB_MAX_CONNECTIONS, "pool" => pool).set(f64::from(max));
    }
    let counts: Result<Vec<(String, i64)>, sqlx::Error> = with_db!(&state.db, pool => {
        sqlx::query_as("SELECT status, COUNT(*) FROM mail_outbox GROUP BY status")
            .fetch_all(pool)
            .await
    });
    match counts {
        Ok(counts) => {
            for status in ["pending", "sending", "sent", "dead"] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                metrics::gauge!(MAIL_OUTBOX, "status" => status).set(n as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: could not count the mail outbox"),
    }
}

/// (connections open, idle, maximum) of each pool, by name: PostgreSQL's one pool
/// (`main`); SQLite's readers (`read`) and its single writer (`write`), the usual
/// bottleneck.
fn pool_usage(db: &Db) -> Vec<(&'static str, (u32, u32, u32))> {
    fn usage<D: sqlx::Database>(pool: &sqlx::Pool<D>) -> (u32, u32, u32) {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        (size, idle, pool.options().get_max_connections())
    }
    match db {
        Db::Postgres(pool) => vec![("main", usage(pool))],
        Db::Sqlite { pool, writer } => vec![("read", usage(pool)), ("write", usage(writer))],
    }
}

/// Keeps the recorder's histograms bounded: run every few seconds while installed.
pub fn spawn_upkeep() -> tokio::task::JoinHandle<()> {
    let handle = install();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}
