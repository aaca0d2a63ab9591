//! Creating an account: the sign-up use case (API `register/` and the web form) and the
//! account creation it shares with `createsuperuser`.

use std::net::IpAddr;

use crate::config::EmailVerification;
use crate::mail::worker::Mailer;

use crate::auth::password::{PasswordError, Passwords};
use crate::auth::rate_limit::RateLimits;
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::auth::tokens::{TokenPair, Tokens};
use crate::client::Client;
use crate::db::Db;
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::users::{self, NewUser, User, UserError, USERNAME_MAX_CHARS};

use super::email_address::{send_verification, tell_owner};
use super::{rules, start_sign_in, AccountError, MailContext};

/// How a sign-up ended.
#[derive(Debug)]
pub enum SignedUp {
    /// The account exists and is signed in (`ACCOUNT_EMAIL_VERIFICATION` `none` or
    /// `optional`; with `optional` and an address, a verification link is on its way).
    SignedIn(Box<User>, TokenPair),
    /// `mandatory`: "Verification e-mail sent." Nobody is signed in, and this is also the
    /// answer when the address already had an account (whose owner is mailed instead), so
    /// sign-up reveals no address.
    VerificationSent,
}

/// Validates a sign-up (`username`, `email`, `password1`, `password2`: dj-rest-auth's
/// `RegisterSerializer`), creates the account and, unless addresses must be verified
/// first, signs `client` in through `channel`. `email` is optional (but not blank), and required under
/// `mandatory` verification.
///
/// Field problems are all reported at once, in field order; then the two passwords must
/// match and the password must not resemble the username or email (both under
/// `non_field_errors`, as in dj-rest-auth). Rate-limited per client IP. Under `none` and
/// `optional` a taken address gets allauth's field message (the contract needs tokens at
/// once, so the account's existence cannot be hidden); under `mandatory` it gets the same
/// answer, in about the same time, as a free one.
#[allow(clippy::too_many_arguments)] // Each is a different service the use case needs.
pub async fn sign_up(
    db: &Db,
    passwords: &Passwords,
    tokens: &Tokens,
    limits: &RateLimits,
    mailer: &Mailer,
    client: &Client,
    channel: Channel,
    fields: &Fields,
    verification: EmailVerification,
    mail: MailContext<'_>,
) -> Result<SignedUp, AccountError> {
    let ip = client.ip;
    limits.register(ip).await?;
    let mandatory = verification == EmailVerification::Mandatory;
    let mut errors = FieldErrors::new();
    let username = fields
        .text(
            "username",
            Text::REQUIRED.max(USERNAME_MAX_CHARS),
            &mut errors,
        )
        .map(|name| users::normalize_username(&name));
    // Optional, but not blank (dj-rest-auth's `EmailField(required=False)`); allauth
    // requires it when verification is mandatory.
    let email_rules = if mandatory {
        Text::REQUIRED
    } else {
        Text::OPTIONAL_NOT_BLANK
    };
    let email = fields.text("email", email_rules, &mut errors);
    let password1 = fields.text("password1", Text::PASSWORD, &mut errors);
    let password2 = fields.text("password2", Text::PASSWORD, &mut errors);

    if let Some(name) = &username {
        if let Some(problem) = rules::username_problem(db, name, None).await? {
            errors.add("username", problem);
        }
    }
    let mut address_taken = false;
    if let Some(address) = &email {
        match rules::email_problem(db, address).await? {
            Some(problem) if mandatory && problem == rules::EMAIL_TAKEN => address_taken = true,
            Some(problem) => errors.add("email", problem),
            None => {}
        }
    }
    if let Some(password) = &password1 {
        for problem in rules::password_problems_of(password) {
            errors.add("password1", problem);
        }
    }
    errors.into_result()?;
    let (Some(username), Some(password1), Some(password2)) = (username, password1, password2)
    else {
        unreachable!("required fields are present when there are no errors");
    };

    if password1 != password2 {
        return Err(AccountError::invalid(
            NON_FIELD_ERRORS,
            rules::PASSWORD_MISMATCH,
        ));
    }
    if let Some(problem) = rules::similarity(&password1, &username, email.as_deref()) {
        return Err(AccountError::invalid(NON_FIELD_ERRORS, problem));
    }

    if address_taken {
        return answer_as_if_new(
            db,
            passwords,
            mailer,
            limits,
            ip,
            &password1,
            email.as_deref(),
            &mail,
        )
        .await;
    }
    let created = create(
        db,
        passwords,
        &username,
        email.as_deref(),
        &password1,
        Role::Member,
    )
    .await;
    let user = match created {
        Ok(user) => user,
        // A concurrent sign-up took the address: the same answer as above.
        Err(CreateError::User(UserError::EmailTaken)) if mandatory => {
            return answer_as_if_new(
                db,
                passwords,
                mailer,
                limits,
                ip,
                "",
                email.as_deref(),
                &mail,
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(user_id = user.id, "user registered");
    // The account exists now: a failure to queue its link is logged, not the sign-up's
    // failure (the link can be asked for again). Mail at sign-up spends the address's
    // budget too, so sign-ups cannot flood an inbox.
    let address = email
        .as_deref()
        .filter(|_| verification != EmailVerification::None);
    if let Some(address) = address.filter(|_| mailer.is_enabled()) {
        if limits.email_allowed(ip, address).await {
            match send_verification(db, &user, &mail).await {
                Ok(true) => mailer.wake(),
                Ok(false) => {}
                Err(error) => {
                    tracing::error!(%error, user_id = user.id, "sign-up: could not queue the verification link");
                }
            }
        } else {
            tracing::info!(
                user_id = user.id,
                "sign-up: the address's mail budget is spent; no link sent"
            );
        }
    }
    if mandatory {
        return Ok(SignedUp::VerificationSent);
    }
    let origin = SignInOrigin::new("registration", channel, client);
    let pair = start_sign_in(db, tokens, &user, &origin, None).await?;
    Ok(SignedUp::SignedIn(Box::new(user), pair))
}

/// A sign-up with an address that already has an account, under mandatory verification:
/// the password is hashed as for a new account (so the answer takes as long) and the
/// owner is told, instead of the person signing up.
#[allow(clippy::too_many_arguments)] // Each is a different service the use case needs.
async fn answer_as_if_new(
    db: &Db,
    passwords: &Passwords,
    mailer: &Mailer,
    limits: &RateLimits,
    ip: IpAddr,
    password: &str,
    email: Option<&str>,
    mail: &MailContext<'_>,
) -> Result<SignedUp, AccountError> {
    if !password.is_empty() {
        passwords.hash(password).await?;
    }
    if let Some(address) = email {
        if limits.email_allowed(ip, address).await && tell_owner(db, address, false, mail).await? {
            mailer.wake();
        }
    }
    tracing::info!("sign-up with an address that has an account; its owner was told");
    Ok(SignedUp::VerificationSent)
}

/// What a new account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An ordinary account: neither `is_staff` nor `is_superuser`. Every sign-up gets this.
    Member,
    /// `is_staff` and `is_superuser`.
    Administrator,
}

/// Why [`create`] failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// Hashing the password failed (the hashing threads are gone, or argon2 refused).
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Username or email taken (by a concurrent sign-up), or the database failed.
    #[error(transparent)]
    User(#[from] UserError),
}

/// Hashes the password (argon2id) and stores the account. The caller has checked the rules
/// in [`rules`]; the database still has the last word on uniqueness (concurrent sign-ups).
pub async fn create(
    db: &Db,
    passwords: &Passwords,
    username: &str,
    email: Option<&str>,
    password: &str,
    role: Role,
) -> Result<User, CreateError> {
    let hash = passwords.hash(password).await?;
    let admin = role == Role::Administrator;
    let user = users::insert(
        db,
        NewUser {
            username,
            email,
            email_verified: false,
            password_hash: Some(&hash),
            first_name: "",
            last_name: "",
            is_staff: admin,
            is_superuser: admin,
        },
    )
    .await?;
    Ok(user)
}
