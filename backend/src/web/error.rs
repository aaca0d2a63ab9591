//! [`WebError`]: a failure of ours while serving a page or a form, answered with a short
//! "try again" page (503 with `Retry-After`), never with the cause.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::browser::sessions::SessionError;
use crate::db::DbError;

/// A failure of ours while serving a page or form: answered with 503, `Retry-After: 5`
/// and a plain "try again" sentence; the cause goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The session store failed, or the database behind a session.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A database query failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "web request failed");
        let mut res = (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is having trouble right now. Please try again in a moment.",
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        res
    }
}
