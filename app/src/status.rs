//! A server function that proves the full round trip: browser → server → database.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub database_reachable: bool,
    pub database_latency_ms: f64,
}

#[server]
pub async fn check_server() -> Result<StatusReport, ServerFnError> {
    let state = expect_context::<backend::AppState>();
    let started = std::time::Instant::now();
    let reachable = state.db.ping().await.is_ok();
    Ok(StatusReport {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database_reachable: reachable,
        database_latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}
