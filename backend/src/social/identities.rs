//! Identities: which local account a provider's subject belongs to (the `identities`
//! table), and what a verified external profile means here: find, create, link, unlink.
//!
//! Linking by email happens only when it is safe: a provider's verified email links to the
//! local account with that address on its own only when the local address is verified too
//! (`users.email_verified`: a verification link was followed, or a provider vouched for it).
//! An unverified local address could be an attacker's pre-registration, so the person must
//! prove they own the local account by signing in with its password first (the sign-in page
//! offers that step). An unverified provider email never links, and is not even stored on a
//! new account.

use chrono::Utc;

use super::ExternalProfile;
use crate::audit::{insert_event, Event, Kind};
use crate::client::Client;
use crate::db::{with_db, with_db_write};
use crate::db::{Db, DbError};
use crate::users::{self, NewUser, User, UserError, USERNAME_MAX_CHARS};

#[derive(Debug)]
pub enum Resolution {
    /// Sign in as this user (known identity, or a new account).
    SignIn(User),
    /// The identity was linked to the signed-in user.
    Linked(User),
    /// A local account has this (provider-verified) email, unverified locally: sign in with
    /// its password to link.
    ConfirmWithPassword { email: String },
    /// Refused, with the reason to show.
    Refused(String),
}

/// The user an identity belongs to.
/// The account `provider`'s `subject` is linked to, if any.
pub async fn owner(db: &Db, provider: &str, subject: &str) -> Result<Option<i64>, DbError> {
    let row: Option<(i64,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT user_id FROM identities WHERE provider = $1 AND subject = $2")
            .bind(provider)
            .bind(subject)
            .fetch_optional(pool)
            .await
    })?;
    Ok(row.map(|(id,)| id))
}

/// The providers linked to a user.
pub async fn linked_providers(db: &Db, user_id: i64) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String,)> = with_db!(db, pool => {
        sqlx::query_as("SELECT provider FROM identities WHERE user_id = $1 ORDER BY provider")
            .bind(user_id)
            .fetch_all(pool)
            .await
    })?;
    Ok(rows.into_iter().map(|(p,)| p).collect())
}

/// Links `provider`'s `subject` to `user_id` (recording the event, by `client`); `false`
/// when it (or another account at that provider) is already linked.
pub async fn link(
    db: &Db,
    user_id: i64,
    provider: &str,
    profile: &ExternalProfile,
    client: &Client,
) -> Result<bool, DbError> {
    let event = Event::new(Kind::IdentityLinked, Some(user_id), Some(client)).detail(provider);
    let done = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO identities (provider, subject, user_id, email, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(provider)
        .bind(&profile.subject)
        .bind(user_id)
        .bind(profile.email.as_deref().filter(|_| profile.email_verified))
        .bind(Utc::now().timestamp())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            insert_event!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(inserted)
    }
    .await)?;
    if done {
        event.log();
    }
    Ok(done)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Unlink {
    Done,
    NotLinked,
    /// It is the account's only way to sign in.
    LastWayIn,
}

/// Unlinks `provider` from the user, unless nothing else (a password or another provider)
/// would be left to sign in with.
pub async fn unlink(
    db: &Db,
    user: &User,
    provider: &str,
    client: &Client,
) -> Result<Unlink, DbError> {
    let linked = linked_providers(db, user.id).await?;
    if !linked.iter().any(|p| p == provider) {
        return Ok(Unlink::NotLinked);
    }
    if user.password_hash.is_none() && linked.len() == 1 {
        return Ok(Unlink::LastWayIn);
    }
    let event = Event::new(Kind::IdentityUnlinked, Some(user.id), Some(client)).detail(provider);
    let done = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM identities WHERE user_id = $1 AND provider = $2")
            .bind(user.id)
            .bind(provider)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if deleted {
            insert_event!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(deleted)
    }
    .await)?;
    if !done {
        return Ok(Unlink::NotLinked);
    }
    event.log();
    Ok(Unlink::Done)
}

/// Decides what a verified external profile of `provider` (`label` for messages) means
/// here: the owner of a known identity signs in; with `link_to` (a signed-in user asked to
/// link) the identity joins that account; a provider-verified email of an existing account
/// links to it when the account's address is verified too, and otherwise asks for that
/// account's password first; anything else is a new account.
pub async fn resolve(
    db: &Db,
    provider: &str,
    label: &str,
    profile: &ExternalProfile,
    link_to: Option<i64>,
    client: &Client,
) -> Result<Resolution, DbError> {
    if let Some(owner_id) = owner(db, provider, &profile.subject).await? {
        if link_to.is_some_and(|me| me != owner_id) {
            return Ok(Resolution::Refused(format!(
                "This {label} account is already linked to another user."
            )));
        }
        return Ok(match users::find_by_id(db, owner_id).await? {
            Some(user) if user.is_active => match link_to {
                Some(_) => Resolution::Linked(user),
                None => Resolution::SignIn(user),
            },
            _ => Resolution::Refused("This account is disabled.".into()),
        });
    }

    if let Some(me) = link_to {
        let Some(user) = users::find_by_id(db, me).await? else {
            return Ok(Resolution::Refused("Your session has ended.".into()));
        };
        if !link(db, me, provider, profile, client).await? {
            return Ok(Resolution::Refused(format!(
                "Another {label} account is already linked to yours; unlink it first."
            )));
        }
        return Ok(Resolution::Linked(user));
    }

    let verified_email = profile.email.as_deref().filter(|_| profile.email_verified);
    if let Some(email) = verified_email {
        if let Some(user) = users::find_by_email(db, email).await? {
            // Both sides vouch for the address: the provider, and our own verification
            // link. Anything less (an address typed at sign-up and never confirmed) could
            // be an attacker's pre-registration, so it still needs the password.
            // Staff accounts always need the password: their address alone is too much
            // to stake on every configured provider's idea of "verified".
            // Nor an account with a second factor: a link made now would let the provider
            // vouch for that factor next time (`amr`); its owner links from the profile.
            let has_mfa = !crate::mfa::store::of_user(db, user.id).await?.is_empty();
            if user.email_verified
                && user.is_active
                && !user.is_staff
                && !user.is_superuser
                && !has_mfa
            {
                if !link(db, user.id, provider, profile, client).await? {
                    return Ok(Resolution::Refused(format!(
                        "Another {label} account is already linked to this user."
                    )));
                }
                tracing::info!(
                    user_id = user.id,
                    provider,
                    "identity linked by verified address"
                );
                return Ok(Resolution::SignIn(user));
            }
            return Ok(Resolution::ConfirmWithPassword {
                email: email.to_owned(),
            });
        }
    }

    let user = create_user(db, profile, verified_email).await?;
    link(db, user.id, provider, profile, client).await?;
    tracing::info!(
        user_id = user.id,
        provider,
        "account created by social sign-in"
    );
    Ok(Resolution::SignIn(user))
}

/// A new account with a username derived from the profile (made unique with a number).
async fn create_user(
    db: &Db,
    profile: &ExternalProfile,
    email: Option<&str>,
) -> Result<User, DbError> {
    let base = username_base(profile);
    for attempt in 0..50u32 {
        let candidate = match attempt {
            0 => base.clone(),
            n if n < 10 => format!("{base}{}", n + 1),
            _ => format!("{base}{}", rand::random::<u32>() % 1_000_000),
        };
        let new = NewUser {
            username: &candidate,
            email,
            // Only a provider-verified address is ever passed in.
            email_verified: true,
            password_hash: None,
            first_name: &profile.first_name,
            last_name: &profile.last_name,
            is_staff: false,
            is_superuser: false,
        };
        match users::insert(db, new).await {
            Ok(user) => return Ok(user),
            Err(UserError::UsernameTaken) => continue,
            // The address was taken between our check and the insert: create the account
            // without it rather than link it to someone else's.
            Err(UserError::EmailTaken) => {
                return Box::pin(create_user(db, profile, None)).await;
            }
            Err(UserError::Db(e)) => return Err(e),
        }
    }
    Err(DbError::Query(sqlx::Error::Protocol(
        "no free username after 50 attempts".into(),
    )))
}

/// Letters, digits and `@.+-_` from the provider's username, the email's local part or the
/// name; `user` when nothing usable is left.
fn username_base(profile: &ExternalProfile) -> String {
    let from_email = profile
        .email
        .as_deref()
        .and_then(|e| e.split('@').next())
        .map(str::to_owned);
    let name = format!("{}{}", profile.first_name, profile.last_name);
    let cleaned = [profile.username_hint.clone(), from_email, Some(name)]
        .into_iter()
        .flatten()
        .map(|raw| {
            users::normalize_username(&raw)
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '+' | '-' | '_'))
                .take(USERNAME_MAX_CHARS - 8)
                .collect::<String>()
        })
        .find(|s| !s.is_empty());
    cleaned.unwrap_or_else(|| "user".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(hint: Option<&str>, email: Option<&str>, first: &str) -> ExternalProfile {
        ExternalProfile {
            subject: "s".into(),
            email: email.map(Into::into),
            email_verified: true,
            username_hint: hint.map(Into::into),
            first_name: first.into(),
            last_name: String::new(),
            mfa_asserted: false,
        }
    }

    #[test]
    fn usernames_come_from_the_best_available_field() {
        assert_eq!(
            username_base(&profile(Some("octo cat"), None, "")),
            "octocat"
        );
        assert_eq!(
            username_base(&profile(None, Some("ada.l@x.org"), "")),
            "ada.l"
        );
        assert_eq!(username_base(&profile(None, None, "Zoë")), "Zoë");
        assert_eq!(username_base(&profile(Some("!!"), None, "")), "user");
    }
}
