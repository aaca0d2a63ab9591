//! [`ServerState`]: the router's state.

use axum::extract::FromRef;
use backend::AppState;
use leptos::config::LeptosOptions;

/// Router state: the domain's [`AppState`] plus what Leptos needs to render.
#[derive(Clone)]
pub struct ServerState {
    pub app: AppState,
    pub leptos: LeptosOptions,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}

impl FromRef<ServerState> for AppState {
    fn from_ref(state: &ServerState) -> Self {
        state.app.clone()
    }
}
