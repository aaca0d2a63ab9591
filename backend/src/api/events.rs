//! `GET /api/auth/events/`: the caller's security activity, newest first, a page at a time
//! (`?cursor=` from the previous page's `next`, DRF's cursor pagination). Only the caller's
//! own events; see [`crate::audit`] for what is recorded.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::current_user::CurrentUser;
use super::error::ApiError;
use crate::audit::{events_of, Recorded};
use crate::state::AppState;

/// Events per page.
pub const PAGE_SIZE: u32 = 20;

/// One event.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventBody {
    /// `signed_in`, `sign_in_failed`, `signed_out`, `sign_in_ended`, `other_sign_ins_ended`,
    /// `refresh_token_reuse`, `rate_limited`, `password_changed`, `password_reset`,
    /// `email_verified`, `email_change_requested`, `email_changed`, `identity_linked`,
    /// `identity_unlinked`, `account_activated`, `account_deactivated`, and what staff did
    /// from `/admin`: `profile_changed`, `staff_granted`, `staff_revoked`,
    /// `password_reset_sent`, `all_sign_ins_ended`, `mfa_reset`.
    pub kind: String,
    /// When: ISO-8601, UTC, whole seconds.
    pub at: String,
    /// The client's IP address (`null` for what an administrator did: their address is
    /// not the account owner's to see).
    pub ip: Option<String>,
    /// The client as people read it (`Firefox on Linux`); `null` when it named no browser,
    /// and for what an administrator did.
    pub user_agent: Option<String>,
    /// The sign-in it happened in (for `sign_in_ended`: the sign-in ended).
    pub session_id: Option<String>,
    /// A short class or name: the sign-in method, a failure's reason, a provider.
    pub detail: Option<String>,
    /// Whether a member of staff did it from `/admin`.
    pub by_staff: bool,
}

impl From<Recorded> for EventBody {
    fn from(e: Recorded) -> Self {
        EventBody {
            kind: e.kind,
            at: e.at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ip: e.ip,
            user_agent: e.user_agent,
            session_id: e.session_id,
            detail: e.detail,
            by_staff: e.by_staff,
        }
    }
}

/// A page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventsPage {
    /// The next (older) page's URL, `null` on the last page.
    pub next: Option<String>,
    /// Newest first.
    pub results: Vec<EventBody>,
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
}

fn invalid_cursor() -> ApiError {
    // DRF's CursorPagination answers a cursor it cannot read with NotFound.
    ApiError::Detail(StatusCode::NOT_FOUND, "Invalid cursor".into())
}

pub async fn list(
    State(state): State<AppState>,
    caller: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Json<EventsPage>, ApiError> {
    let query: PageQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).map_err(|_| invalid_cursor())?;
    let before = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(invalid_cursor)?,
        ),
    };
    // One more than a page tells whether there is a next one.
    let mut events = events_of(&state.db, caller.user.id, before, PAGE_SIZE + 1).await?;
    let more = events.len() > PAGE_SIZE as usize;
    events.truncate(PAGE_SIZE as usize);
    let next = more
        .then(|| events.last().map(|e| e.id))
        .flatten()
        .map(|id| format!("{}/api/auth/events/?cursor={id}", state.config.public_url));
    Ok(Json(EventsPage {
        next,
        results: events.into_iter().map(EventBody::from).collect(),
    }))
}
