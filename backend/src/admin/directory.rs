//! The staff's user list: search, filters, sort orders and keyset pagination.
//!
//! Every page is one index range scan from its cursor (the last row of the page before), so
//! page 5,000 of a million accounts costs what page 1 does, and accounts created while
//! someone pages never shift a row into the next page twice. Sort orders with a nullable
//! column (last sign-in) run as two segments: the accounts that signed in, then those that
//! never did, each scanned in index order.

use std::fmt::Write as _;

use chrono::{DateTime, TimeZone, Utc};

use crate::db::{with_db, Db, DbError};
use crate::users;

/// How many accounts one page shows.
pub const PAGE_SIZE: u32 = 50;

/// The order of the list.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Newest accounts first (the default).
    #[default]
    JoinedNewest,
    /// Oldest accounts first.
    JoinedOldest,
    /// Most recent sign-in first; accounts that never signed in last.
    SignedInRecent,
    /// Accounts that never signed in first, then the least recent sign-in.
    SignedInLeast,
}

impl Sort {
    /// The name in the page's address (`sort=`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::JoinedNewest => "joined",
            Sort::JoinedOldest => "joined_asc",
            Sort::SignedInRecent => "last_login",
            Sort::SignedInLeast => "last_login_asc",
        }
    }

    /// The sort named `name`; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Sort> {
        [
            Sort::JoinedNewest,
            Sort::JoinedOldest,
            Sort::SignedInRecent,
            Sort::SignedInLeast,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// What the search box matched on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// Usernames starting with the identity key (case and compatibility forms ignored).
    Username(String),
    /// Addresses starting with the identity key.
    Email(String),
    /// The account with this id.
    Id(i64),
}

impl Search {
    /// What `text` asks for with the field `by` (`username`, `email`, `id`, or anything else
    /// for "work it out": an `@` means an address, digits (or `#42`) an id, the rest a
    /// username). `None` for empty text; `Err` with a sentence for an id that is not one.
    pub fn parse(text: &str, by: &str) -> Result<Option<Search>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let id = |digits: &str| {
            digits
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(Search::Id)
                .ok_or_else(|| format!("\"{digits}\" is not an account id."))
        };
        let search = match by {
            "username" => Search::Username(users::identity_key(text)),
            "email" => Search::Email(users::identity_key(text)),
            "id" => id(text.trim_start_matches('#'))?,
            _ if text.contains('@') => Search::Email(users::identity_key(text)),
            _ if text
                .strip_prefix('#')
                .unwrap_or(text)
                .bytes()
                .all(|b| b.is_ascii_digit()) =>
            {
                id(text.trim_start_matches('#'))?
            }
            _ => Search::Username(users::identity_key(text)),
        };
        Ok(Some(search))
    }
}

/// Yes/no filters; `None` means either.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// `is_active`.
    pub active: Option<bool>,
    /// `is_staff`.
    pub staff: Option<bool>,
    /// Has an address, and it is verified.
    pub verified: Option<bool>,
    /// Has at least one linked social provider.
    pub social: Option<bool>,
    /// Has at least one second factor.
    pub mfa: Option<bool>,
}

/// Where a page starts: after the row at this position in the list's order. Shown in the
/// page's address as [`Cursor::encode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// A row with a time in the sort column (joined, or signed in).
    At(DateTime<Utc>, i64),
    /// A row whose sort column is empty (never signed in).
    Never(i64),
    /// A search result: its username or address key (unique).
    Key(String),
}

impl Cursor {
    /// `t<seconds>.<nanoseconds>.<id>`, `n<id>` or `k<key>`.
    pub fn encode(&self) -> String {
        match self {
            Cursor::At(at, id) => {
                format!(
                    "t{}.{:09}.{id}",
                    at.timestamp(),
                    at.timestamp_subsec_nanos()
                )
            }
            Cursor::Never(id) => format!("n{id}"),
            Cursor::Key(key) => format!("k{key}"),
        }
    }

    /// The cursor `text` encodes; `None` when it encodes none: a time outside the years 1
    /// to 9999 (both engines store those), a nanosecond count of a second or more, a key
    /// with a NUL character (PostgreSQL's text has none).
    pub fn decode(text: &str) -> Option<Cursor> {
        const YEARS_1_TO_9999: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;
        if let Some(rest) = text.strip_prefix('t') {
            let mut parts = rest.splitn(3, '.');
            let secs = parts
                .next()?
                .parse()
                .ok()
                .filter(|s| YEARS_1_TO_9999.contains(s))?;
            let nanos = parts.next()?.parse().ok().filter(|n| *n < 1_000_000_000)?;
            let id = parts.next()?.parse().ok()?;
            return Some(Cursor::At(Utc.timestamp_opt(secs, nanos).single()?, id));
        }
        if let Some(id) = text.strip_prefix('n') {
            return id.parse().ok().map(Cursor::Never);
        }
        text.strip_prefix('k')
            .filter(|key| !key.contains('\0'))
            .map(|key| Cursor::Key(key.to_owned()))
    }
}

/// Which way from the cursor a page goes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// The rows after the cursor ("Next").
    #[default]
    After,
    /// The rows before it ("Previous").
    Before,
}

/// One request for a page of the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// The search; a search lists its matches by the matched key (username or address), in
    /// index order, whatever `sort` says.
    pub search: Option<Search>,
    /// The yes/no filters.
    pub filters: Filters,
    /// The order when not searching.
    pub sort: Sort,
    /// Where the page starts; `None` for the first page.
    pub cursor: Option<Cursor>,
    /// Which way from `cursor`.
    pub direction: Direction,
    /// Rows per page (1 to 500; [`PAGE_SIZE`] on the pages).
    pub limit: u32,
}

/// One account in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// The account's id.
    pub id: i64,
    /// As stored.
    pub username: String,
    /// The address; `None` when there is none.
    pub email: Option<String>,
    /// Whether `email` is verified.
    pub email_verified: bool,
    /// `is_active`.
    pub is_active: bool,
    /// `is_staff`.
    pub is_staff: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
    /// When the account was created.
    pub date_joined: DateTime<Utc>,
    /// The last sign-in; `None` if never.
    pub last_login: Option<DateTime<Utc>>,
    /// Whether a social provider is linked.
    pub has_social: bool,
    /// Whether a second factor is set up.
    pub has_mfa: bool,
    /// The key the row was found by (a search's cursor).
    key: String,
}

/// A page of the list, in the list's order, with the cursors of its neighbours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserPage {
    /// The accounts.
    pub rows: Vec<UserRow>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
    /// Where the previous page ends; `None` on the first page.
    pub previous: Option<Cursor>,
    /// Whether the query's cursor belongs to another order (an edited or stale address),
    /// so the page is the first one instead.
    pub cursor_ignored: bool,
}

/// One index scan: rows whose sort column is filled (`Filled`) or empty (`Empty`), or a
/// search's key range.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Segment {
    Filled,
    Empty,
    Key,
}

/// The ascending order of the segments a sort scans (a descending order scans them
/// backwards): an empty last sign-in counts as the oldest.
fn segments(query: &UserQuery) -> &'static [Segment] {
    match (&query.search, query.sort) {
        (Some(_), _) => &[Segment::Key],
        (None, Sort::JoinedNewest | Sort::JoinedOldest) => &[Segment::Filled],
        (None, Sort::SignedInRecent | Sort::SignedInLeast) => &[Segment::Empty, Segment::Filled],
    }
}

/// The segment a cursor points into.
fn segment_of(cursor: &Cursor) -> Segment {
    match cursor {
        Cursor::At(..) => Segment::Filled,
        Cursor::Never(_) => Segment::Empty,
        Cursor::Key(_) => Segment::Key,
    }
}

/// Whether the list's order is ascending in its column.
fn ascending(query: &UserQuery) -> bool {
    query.search.is_some() || matches!(query.sort, Sort::JoinedOldest | Sort::SignedInLeast)
}

/// The page `query` asks for.
///
/// Errors: [`DbError`] only; a cursor from another order starts from the top (and says so:
/// [`UserPage::cursor_ignored`]).
pub async fn list_users(db: &Db, query: &UserQuery) -> Result<UserPage, DbError> {
    let limit = query.limit.clamp(1, 500) as usize;
    // A cursor from another order (an edited or stale address) starts from the top.
    let cursor = query
        .cursor
        .as_ref()
        .filter(|c| segments(query).contains(&segment_of(c)));
    let cursor_ignored = query.cursor.is_some() && cursor.is_none();
    let direction = if cursor.is_some() {
        query.direction
    } else {
        Direction::After
    };
    // A page "before" the cursor is a page after it in the reverse order, read backwards.
    let forward = ascending(query) == (direction == Direction::After);
    let mut order: Vec<Segment> = segments(query).to_vec();
    if !forward {
        order.reverse();
    }
    let start = cursor.map_or(0, |c| {
        order.iter().position(|s| *s == segment_of(c)).unwrap_or(0)
    });

    let mut rows = Vec::with_capacity(limit + 1);
    for (i, segment) in order.iter().enumerate().skip(start) {
        let from = if i == start { cursor } else { None };
        let wanted = limit + 1 - rows.len();
        rows.extend(scan(db, query, *segment, from, forward, wanted).await?);
        if rows.len() > limit {
            break;
        }
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    let position = |row: &UserRow| position_of(query, row);
    let came_from_somewhere = cursor.is_some();
    Ok(match direction {
        Direction::After => UserPage {
            next: more.then(|| rows.last().map(position)).flatten(),
            previous: came_from_somewhere
                .then(|| rows.first().map(position))
                .flatten(),
            rows,
            cursor_ignored,
        },
        Direction::Before => {
            rows.reverse();
            UserPage {
                previous: more.then(|| rows.first().map(position)).flatten(),
                next: came_from_somewhere
                    .then(|| rows.last().map(position))
                    .flatten(),
                rows,
                cursor_ignored,
            }
        }
    })
}

/// Where `row` stands in `query`'s order.
fn position_of(query: &UserQuery, row: &UserRow) -> Cursor {
    match (&query.search, query.sort) {
        (Some(_), _) => Cursor::Key(row.key.clone()),
        (None, Sort::JoinedNewest | Sort::JoinedOldest) => Cursor::At(row.date_joined, row.id),
        (None, Sort::SignedInRecent | Sort::SignedInLeast) => match row.last_login {
            Some(at) => Cursor::At(at, row.id),
            None => Cursor::Never(row.id),
        },
    }
}

/// A value a scan binds.
enum Bind {
    Text(String),
    Id(i64),
    At(DateTime<Utc>),
}

/// Up to `wanted` rows of one segment, after `from` in the scan's direction.
async fn scan(
    db: &Db,
    query: &UserQuery,
    segment: Segment,
    from: Option<&Cursor>,
    forward: bool,
    wanted: usize,
) -> Result<Vec<UserRow>, DbError> {
    let postgres = matches!(db, Db::Postgres(_));
    // Byte order on both engines (see the migration's "C" indexes).
    let collate = if postgres { " COLLATE \"C\"" } else { "" };
    let (dir, cmp) = if forward { ("ASC", ">") } else { ("DESC", "<") };
    let mut binds: Vec<Bind> = Vec::new();
    let param = |binds: &mut Vec<Bind>, value: Bind| {
        binds.push(value);
        format!("${}", binds.len())
    };
    let mut conditions: Vec<String> = Vec::new();

    let key_column = match &query.search {
        Some(Search::Email(_)) => "u.email_key",
        _ => "u.username_key",
    };
    let column = match query.sort {
        Sort::JoinedNewest | Sort::JoinedOldest => "u.date_joined",
        Sort::SignedInRecent | Sort::SignedInLeast => "u.last_login",
    };
    match &query.search {
        Some(Search::Id(id)) => {
            let p = param(&mut binds, Bind::Id(*id));
            conditions.push(format!("u.id = {p}"));
        }
        Some(Search::Username(prefix) | Search::Email(prefix)) => {
            let low = param(&mut binds, Bind::Text(prefix.clone()));
            let high = param(&mut binds, Bind::Text(format!("{prefix}\u{10FFFF}")));
            conditions.push(format!(
                "{key_column}{collate} >= {low} AND {key_column}{collate} < {high}"
            ));
        }
        None => {}
    }
    match (segment, from) {
        (Segment::Key, Some(Cursor::Key(key))) => {
            let p = param(&mut binds, Bind::Text(key.clone()));
            conditions.push(format!("{key_column}{collate} {cmp} {p}"));
        }
        (Segment::Filled, Some(Cursor::At(at, id))) => {
            let (a, b) = (
                param(&mut binds, Bind::At(*at)),
                param(&mut binds, Bind::Id(*id)),
            );
            conditions.push(format!("({column}, u.id) {cmp} ({a}, {b})"));
        }
        (Segment::Empty, Some(Cursor::Never(id))) => {
            let p = param(&mut binds, Bind::Id(*id));
            conditions.push(format!("u.id {cmp} {p}"));
        }
        _ => {}
    }
    match segment {
        Segment::Filled if column == "u.last_login" => {
            conditions.push("u.last_login IS NOT NULL".into());
        }
        Segment::Empty => conditions.push("u.last_login IS NULL".into()),
        _ => {}
    }
    // Literal flags, not parameters: the planner can then pick the partial staff index.
    let flag = |on: Option<bool>, yes: &str| {
        on.map(|on| {
            if on {
                yes.to_owned()
            } else {
                format!("NOT ({yes})")
            }
        })
    };
    let f = &query.filters;
    conditions.extend(
        [
            flag(f.active, "u.is_active"),
            flag(f.staff, "u.is_staff"),
            flag(f.verified, "u.email_verified AND u.email IS NOT NULL"),
            // Kept by the tables' triggers (migration 0010), with partial indexes.
            flag(f.social, "u.has_social"),
            flag(f.mfa, "u.has_mfa"),
        ]
        .into_iter()
        .flatten(),
    );
    let order = match segment {
        Segment::Key => format!("{key_column}{collate} {dir}"),
        Segment::Filled => format!("{column} {dir}, u.id {dir}"),
        Segment::Empty => format!("u.id {dir}"),
    };

    let mut sql = String::from(
        "SELECT u.id, u.username, u.email, u.email_verified, u.is_active, u.is_staff, \
         u.is_superuser, u.date_joined, u.last_login, u.has_social, u.has_mfa, ",
    );
    let _ = write!(sql, "COALESCE({key_column}, '') FROM users u");
    if !conditions.is_empty() {
        let _ = write!(sql, " WHERE {}", conditions.join(" AND "));
    }
    let _ = write!(sql, " ORDER BY {order} LIMIT {wanted}");

    type Row = (
        i64,
        String,
        Option<String>,
        bool,
        bool,
        bool,
        bool,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        bool,
        bool,
        String,
    );
    let rows: Vec<Row> = with_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for bind in &binds {
            q = match bind {
                Bind::Text(text) => q.bind(text.as_str()),
                Bind::Id(id) => q.bind(*id),
                Bind::At(at) => q.bind(*at),
            };
        }
        q.fetch_all(pool).await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| UserRow {
            id: r.0,
            username: r.1,
            email: r.2,
            email_verified: r.3,
            is_active: r.4,
            is_staff: r.5,
            is_superuser: r.6,
            date_joined: r.7,
            last_login: r.8,
            has_social: r.9,
            has_mfa: r.10,
            key: r.11,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let at = Utc.timestamp_opt(1_764_000_000, 123_456_789).unwrap();
        for cursor in [
            Cursor::At(at, 42),
            Cursor::Never(7),
            Cursor::Key("alice.smith@example.com".into()),
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        for junk in [
            "",
            "t",
            "t1.2",
            "tx.1.2",
            "n",
            "nx",
            "z1",
            "t-8000000000000.0.1",
            "t1.1000000000.1",
            "ka\0b",
        ] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn search_works_out_what_was_typed() {
        let parse = |text, by| Search::parse(text, by).unwrap();
        assert_eq!(parse("  ", ""), None);
        assert_eq!(parse("Alice", ""), Some(Search::Username("alice".into())));
        assert_eq!(
            parse("Bob@Example", ""),
            Some(Search::Email("bob@example".into()))
        );
        assert_eq!(parse("42", ""), Some(Search::Id(42)));
        assert_eq!(parse("#42", ""), Some(Search::Id(42)));
        assert_eq!(parse("42", "username"), Some(Search::Username("42".into())));
        assert_eq!(parse("ali", "email"), Some(Search::Email("ali".into())));
        assert!(Search::parse("abc", "id").is_err());
        assert!(Search::parse("0", "id").is_err());
        assert!(Search::parse("99999999999999999999", "").is_err());
    }

    #[test]
    fn sorts_round_trip() {
        for sort in [
            Sort::JoinedNewest,
            Sort::JoinedOldest,
            Sort::SignedInRecent,
            Sort::SignedInLeast,
        ] {
            assert_eq!(Sort::parse(sort.as_str()), Some(sort));
        }
        assert_eq!(Sort::parse("password"), None);
    }
}
