//! Editing one's profile: `PUT`/`PATCH /api/auth/user/` and the profile page's form.

use crate::db::Db;
use crate::input::{FieldErrors, Fields, Text};
use crate::user_cache::UserCache;
use crate::users::{self, ProfileChange, User, NAME_MAX_CHARS, USERNAME_MAX_CHARS};

use super::{rules, AccountError};

/// The message for a name with control or text-direction characters.
pub const HIDDEN_CHARACTERS: &str =
    "Enter a name without control characters or text-direction overrides.";

/// Applies `username`, `first_name` and `last_name` (dj-rest-auth's
/// `UserDetailsSerializer`; all optional when `partial`, as for `PATCH`) to the user's
/// profile and returns the updated user. The email address is read-only here.
///
/// Errors: [`AccountError::Invalid`] (DRF messages; a taken username, also when a
/// concurrent rename wins), [`AccountError::NotFound`] when the account is gone.
pub async fn update_profile(
    db: &Db,
    user_cache: &UserCache,
    user_id: i64,
    fields: &Fields,
    partial: bool,
) -> Result<User, AccountError> {
    let change = checked_change(db, user_id, fields, partial).await?;
    let updated = users::update_profile(db, user_id, change.as_change(), None)
        .await?
        .ok_or(AccountError::NotFound)?;
    user_cache.invalidate(updated.id);
    Ok(updated)
}

/// A profile edit that passed the rules, owning its values.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct CheckedChange {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

impl CheckedChange {
    pub(super) fn as_change(&self) -> ProfileChange<'_> {
        ProfileChange {
            username: self.username.as_deref(),
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
        }
    }
}

/// `fields` read and checked as [`update_profile`] does, for account `user_id`.
pub(super) async fn checked_change(
    db: &Db,
    user_id: i64,
    fields: &Fields,
    partial: bool,
) -> Result<CheckedChange, AccountError> {
    let mut errors = FieldErrors::new();
    let username_rules = Text {
        required: !partial,
        ..Text::REQUIRED
    }
    .max(USERNAME_MAX_CHARS);
    let username = fields
        .text("username", username_rules, &mut errors)
        .map(|name| users::normalize_username(&name));
    let first_name = fields.text(
        "first_name",
        Text::OPTIONAL.max(NAME_MAX_CHARS),
        &mut errors,
    );
    let last_name = fields.text("last_name", Text::OPTIONAL.max(NAME_MAX_CHARS), &mut errors);
    for (field, value) in [("first_name", &first_name), ("last_name", &last_name)] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().any(users::is_hidden_character))
        {
            errors.add(field, HIDDEN_CHARACTERS);
        }
    }
    if let Some(name) = &username {
        if let Some(problem) = rules::username_problem(db, name, Some(user_id)).await? {
            errors.add("username", problem);
        }
    }
    errors.into_result()?;
    Ok(CheckedChange {
        username,
        first_name,
        last_name,
    })
}
