//! The browser session as the page's scripts see it: never the refresh token, only a fresh
//! access token on request.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenGrant {
    /// Valid for at least a third of its lifetime (up to a minute) from now.
    Fresh { token: String, expires_at: i64 },
    /// The session ended (signed out elsewhere, expired, revoked).
    SignedOut,
}

/// A fresh access token for this browser's session, refreshed on the server first if it
/// was close to expiry (once per session however many tabs ask at the same moment).
#[server(endpoint = "session/access-token")]
pub async fn access_token() -> Result<TokenGrant, ServerFnError> {
    let state = expect_context::<backend::AppState>();
    let session: tower_sessions::Session = leptos_axum::extract().await?;
    match state.browser.sessions.current(&session).await {
        Ok(Some(current)) => Ok(TokenGrant::Fresh {
            token: current.signed_in.access_token().to_owned(),
            expires_at: current.signed_in.access_expires_at(),
        }),
        Ok(None) => Ok(TokenGrant::SignedOut),
        Err(error) => {
            tracing::error!(%error, "access token for the page");
            Err(ServerFnError::new(
                "The session service is unavailable; try again.",
            ))
        }
    }
}
