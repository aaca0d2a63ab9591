//! The gate in front of the staff pages: every `/admin` address, whatever the method,
//! answers anyone but an active member of staff with the site's ordinary 404 page, the very
//! one an unknown address gets, so the pages' existence is not advertised. It runs before
//! the pages and forms (and their page context), so nothing behind it is reached.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::assets;
use crate::server_state::ServerState;

pub async fn gate(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    if !backend::web::admin::is_admin_path(req.uri().path()) {
        return next.run(req).await;
    }
    let session = req.extensions().get::<Session>().cloned();
    let current = match session {
        Some(session) => state.app.browser.sessions.current(&session).await,
        None => Ok(None),
    };
    match current {
        Ok(Some(current)) if current.user.is_active && current.user.is_staff => next.run(req).await,
        Ok(_) => assets::static_or_not_found(State(state), req).await,
        Err(error) => backend::web::WebError::from(error).into_response(),
    }
}
