//! The staff pages' transport: `/admin` (server-rendered, every form a plain POST, so it all
//! works without JavaScript).
//!
//! Nobody but active staff learns that the pages exist: the server's gate answers every
//! `/admin` address (GET or POST) with the site's ordinary 404 page for anyone else, before
//! any handler runs ([`is_admin_path`]). The pages read what they show through
//! [`admin_view`] (called by the page context); the forms post to [`actions`], which call
//! `accounts::administration`.

mod actions;

use std::sync::Arc;

use serde::Deserialize;

use super::WebError;
use crate::admin::account::{self, Account};
use crate::admin::activity::{self, EventPage, EventQuery, HourCount};
use crate::admin::directory::{
    self, Cursor, Direction, Filters, Search, Sort, UserPage, UserQuery,
};
use crate::audit::Kind;
use crate::state::AppState;
use crate::users::{self, User};

pub use actions::router;

/// Whether `path` is one of the staff pages (`/admin` and everything below it).
pub fn is_admin_path(path: &str) -> bool {
    path.strip_prefix("/admin")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What a staff page shows (in the page context).
#[derive(Clone, Debug)]
pub enum AdminView {
    /// `/admin`: the overview.
    Home,
    /// `/admin/users`.
    Users(UsersView),
    /// `/admin/users/{id}`; `None` when there is no such account (a 404).
    User(Option<Box<Account>>),
    /// `/admin/activity`.
    Activity(ActivityView),
}

/// `/admin/users`: the form as it was filled in, and the page of accounts.
#[derive(Clone, Debug, Default)]
pub struct UsersView {
    /// The query string's values, to fill the form in again and build the paging links.
    pub params: UsersParams,
    /// The accounts.
    pub page: UserPage,
    /// A sentence about input that could not be used (an id that is not one, a broken page
    /// link); the page then shows what it could.
    pub problem: Option<String>,
}

/// `/admin/users`' query string. Filters take `yes` or `no` (anything else: either).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct UsersParams {
    /// The search text.
    pub q: String,
    /// What the text is: `username`, `email`, `id`, or empty to work it out.
    pub by: String,
    /// `active` filter.
    pub active: String,
    /// `staff` filter.
    pub staff: String,
    /// Verified-address filter.
    pub verified: String,
    /// Linked-provider filter.
    pub social: String,
    /// Second-factor filter.
    pub mfa: String,
    /// [`Sort::as_str`].
    pub sort: String,
    /// The next page's cursor.
    pub after: String,
    /// The previous page's cursor.
    pub before: String,
}

impl UsersParams {
    /// This search's address: its first page, or (`page`: `after` or `before`, and a
    /// cursor) another page; the paging links.
    pub fn link(&self, page: Option<(&str, &Cursor)>) -> String {
        let pairs: Vec<(&str, String)> = [
            ("q", &self.q),
            ("by", &self.by),
            ("active", &self.active),
            ("staff", &self.staff),
            ("verified", &self.verified),
            ("social", &self.social),
            ("mfa", &self.mfa),
            ("sort", &self.sort),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.clone()))
        .chain(page.map(|(name, cursor)| (name, cursor.encode())))
        .collect();
        format!(
            "/admin/users?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// A filter's value: `yes`, `no`, or empty for either; anything else is either too, with a
/// sentence in `problems`.
fn yes_no(name: &str, value: &str, problems: &mut Vec<String>) -> Option<bool> {
    match value {
        "yes" => Some(true),
        "no" => Some(false),
        "" => None,
        _ => {
            problems.push(format!("The {name} filter takes yes or no."));
            None
        }
    }
}

/// `text` as a page may show it back: no control or text-direction characters, at most 60
/// characters.
fn shown(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !users::is_hidden_character(*c))
        .take(60)
        .collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// `/admin/activity`: the filters as filled in, the page of events, and the last day.
#[derive(Clone, Debug, Default)]
pub struct ActivityView {
    /// The query string's values.
    pub params: ActivityParams,
    /// The events, newest first.
    pub page: EventPage,
    /// Failed sign-ins and rate-limit refusals per hour, the oldest hour first.
    pub hours: Vec<HourCount>,
    /// A sentence about a filter that could not be used.
    pub problem: Option<String>,
}

/// `/admin/activity`'s query string.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ActivityParams {
    /// An event kind ([`Kind::as_str`]).
    pub kind: String,
    /// An account: its id or its username.
    pub user: String,
    /// An IP address.
    pub ip: String,
    /// The next page's cursor (an event id).
    pub before: String,
}

impl ActivityParams {
    /// These filters' address: the newest events, or (`before`) those older than an event.
    pub fn link(&self, before: Option<i64>) -> String {
        let pairs: Vec<(&str, String)> =
            [("kind", &self.kind), ("user", &self.user), ("ip", &self.ip)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k, v.clone()))
                .chain(before.map(|id| ("before", id.to_string())))
                .collect();
        format!(
            "/admin/activity?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// What the staff page at `path` (with `query`, the raw query string) shows to `viewer`.
/// `None` for an address under `/admin` that is no page (the 404 page).
pub async fn admin_view(
    state: &AppState,
    viewer: &User,
    path: &str,
    query: Option<&str>,
) -> Result<Option<Arc<AdminView>>, WebError> {
    debug_assert!(viewer.is_staff);
    let path = path.trim_end_matches('/');
    let view = match path {
        "/admin" => AdminView::Home,
        "/admin/users" => AdminView::Users(users_view(state, parse(query)).await?),
        "/admin/activity" => AdminView::Activity(activity_view(state, parse(query)).await?),
        _ => {
            let Some(id) = path
                .strip_prefix("/admin/users/")
                .and_then(|id| id.parse::<i64>().ok())
            else {
                return Ok(None);
            };
            let idle = state.tokens.settings().idle_timeout_secs;
            let now = chrono::Utc::now().timestamp();
            AdminView::User(
                account::account(&state.db, id, now, idle)
                    .await?
                    .map(Box::new),
            )
        }
    };
    Ok(Some(Arc::new(view)))
}

/// The query string as `T`: a name given twice counts with its last value (as a form's
/// last field of a name wins), and a query string that does not parse counts as empty (the
/// page shows its defaults).
fn parse<T: for<'de> Deserialize<'de> + Default>(query: Option<&str>) -> T {
    let Some(query) = query else {
        return T::default();
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let last: std::collections::BTreeMap<String, String> = pairs.into_iter().collect();
    serde_urlencoded::to_string(&last)
        .ok()
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default()
}

/// What a page says about text with a NUL or another control character (which no name,
/// address or IP has, and PostgreSQL's text cannot hold).
const CONTROL_CHARACTERS: &str = "Type it without control characters.";

async fn users_view(state: &AppState, mut params: UsersParams) -> Result<UsersView, WebError> {
    let mut problems = Vec::new();
    let mut unusable_search = false;
    let search = if params.q.chars().any(users::is_hidden_character) {
        problems.push(CONTROL_CHARACTERS.to_owned());
        // Not shown back in the search box either.
        params.q = shown(&params.q);
        unusable_search = true;
        None
    } else {
        Search::parse(&params.q, &params.by).unwrap_or_else(|sentence| {
            problems.push(shown(&sentence));
            unusable_search = true;
            None
        })
    };
    let (cursor, direction) = match (params.after.as_str(), params.before.as_str()) {
        ("", "") => (None, Direction::After),
        (after, "") => (Some(after), Direction::After),
        (_, before) => (Some(before), Direction::Before),
    };
    let cursor = cursor.and_then(|text| {
        let decoded = Cursor::decode(text);
        if decoded.is_none() {
            problems.push("That page link is broken: here is the first page.".into());
        }
        decoded
    });
    let filters = Filters {
        active: yes_no("active", &params.active, &mut problems),
        staff: yes_no("staff", &params.staff, &mut problems),
        verified: yes_no("verified", &params.verified, &mut problems),
        social: yes_no("social", &params.social, &mut problems),
        mfa: yes_no("mfa", &params.mfa, &mut problems),
    };
    let sort = match params.sort.as_str() {
        "" => Sort::default(),
        name => Sort::parse(name).unwrap_or_else(|| {
            problems.push("There is no such order: newest first it is.".into());
            Sort::default()
        }),
    };
    let query = UserQuery {
        search,
        filters,
        sort,
        direction: if cursor.is_some() {
            direction
        } else {
            Direction::After
        },
        cursor,
        limit: directory::PAGE_SIZE,
    };
    // A search that cannot be used lists nothing rather than everything.
    let page = if unusable_search {
        UserPage::default()
    } else {
        directory::list_users(&state.db, &query).await?
    };
    if page.cursor_ignored {
        problems.push("That page link is for another order: here is the first page.".into());
    }
    Ok(UsersView {
        params,
        page,
        problem: (!problems.is_empty()).then(|| problems.join(" ")),
    })
}

async fn activity_view(
    state: &AppState,
    mut params: ActivityParams,
) -> Result<ActivityView, WebError> {
    let mut problems = Vec::new();
    let kind = match params.kind.as_str() {
        "" => None,
        name => {
            let kind = Kind::parse(name);
            if kind.is_none() {
                problems.push(format!("There is no event kind \"{}\".", shown(name)));
            }
            kind
        }
    };
    let user = params.user.trim();
    let user_id = match user {
        "" => None,
        text if text.chars().any(users::is_hidden_character) => {
            problems.push(CONTROL_CHARACTERS.to_owned());
            None
        }
        text => match text.trim_start_matches('#').parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => match users::find_by_username(&state.db, text).await? {
                Some(found) => Some(found.id),
                None => {
                    problems.push(format!("There is no account named \"{}\".", shown(text)));
                    None
                }
            },
        },
    };
    let ip = match params.ip.trim() {
        "" => None,
        text => match text.parse::<std::net::IpAddr>() {
            // As stored: the canonical text form.
            Ok(ip) => Some(ip.to_string()),
            Err(_) => {
                problems.push(format!("\"{}\" is not an IP address.", shown(text)));
                None
            }
        },
    };
    let before = match params.before.as_str() {
        "" => None,
        text => {
            let before = text.parse::<i64>().ok();
            if before.is_none() {
                problems.push("That page link is broken: here are the newest events.".into());
            }
            before
        }
    };
    let now = chrono::Utc::now().timestamp();
    let hours = activity::last_day(&state.db, state.rate_limits.refusal_counts(), now).await?;
    let unusable_filter = kind.is_none() && !params.kind.is_empty()
        || user_id.is_none() && !params.user.trim().is_empty()
        || ip.is_none() && !params.ip.trim().is_empty();
    let page = if !unusable_filter {
        let query = EventQuery {
            kind,
            user_id,
            ip,
            before,
            limit: activity::PAGE_SIZE,
        };
        activity::events(&state.db, &query).await?
    } else {
        EventPage::default()
    };
    // What goes back into the form holds nothing invisible.
    for value in [&mut params.kind, &mut params.user, &mut params.ip] {
        if value.chars().any(users::is_hidden_character) {
            *value = shown(value);
        }
    }
    Ok(ActivityView {
        params,
        page,
        hours,
        problem: (!problems.is_empty()).then(|| problems.join(" ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_covers_admin_and_below_only() {
        assert!(is_admin_path("/admin"));
        assert!(is_admin_path("/admin/"));
        assert!(is_admin_path("/admin/users/7/delete"));
        assert!(!is_admin_path("/administrator"));
        assert!(!is_admin_path("/api/admin"));
        assert!(!is_admin_path("/"));
    }

    #[test]
    fn page_links_keep_the_filters() {
        let params = UsersParams {
            q: "ali ce".into(),
            active: "yes".into(),
            after: "old".into(),
            ..UsersParams::default()
        };
        assert_eq!(
            params.link(Some(("after", &Cursor::Never(5)))),
            "/admin/users?q=ali+ce&active=yes&after=n5"
        );
        assert_eq!(params.link(None), "/admin/users?q=ali+ce&active=yes");
    }
}
