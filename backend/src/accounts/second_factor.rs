//! Managing second factors: setting up an authenticator app, making new recovery codes,
//! removing the app, and the overview the profile shows. Every change writes a security
//! event and queues a notification mail (when the account has an address) in the same
//! transaction. Callers confirm who is asking first (re-authentication, ASVS 3.7.1).
//!
//! The rules that keep an account reachable are [`mfa::policy`]'s; this module reads the
//! rows, asks them, and does what they say.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::audit::{insert_event, Event, Kind};
use crate::client::Client;
use crate::db::{with_db_write, Db, DbError};
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::mail::outbox::enqueue_in;
use crate::mail::templates::SecondFactorChanged;
use crate::mail::Message;
use crate::mfa::policy::{Factor, Refusal};
use crate::mfa::store::{
    self, totp_context, Authenticator, TotpData, RECOVERY_CODES, TOTP, WEBAUTHN,
};
use crate::mfa::{recovery_codes, totp, MfaKeys};
use crate::users::User;

use super::{AccountError, MailContext};

/// How long a set-up may take between showing the secret and the first code, in seconds.
pub const SETUP_LIFETIME_SECS: i64 = 600;
/// The words for a code that is wrong (or already used).
pub const WRONG_CODE: &str = "Incorrect code.";
/// The set-up token is unknown, for another account, or too old.
pub const SETUP_EXPIRED: &str = "This set-up has expired. Start again.";
/// An authenticator app is already on.
pub const ALREADY_SET_UP: &str = "An authenticator app is already set up.";
/// There is no authenticator app to remove.
pub const NOT_SET_UP: &str = "No authenticator app is set up.";
/// Recovery codes come with a second factor.
pub const NO_RECOVERY_CODES: &str = "Set up a second factor first.";
/// Removing the last second factor switches two-factor sign-in off: say so explicitly.
pub const CONFIRM_LAST: &str =
    "This is your last second factor: removing it switches two-factor sign-in off. Confirm \
     to go ahead.";

/// A set-up in progress: what to show, and the token that carries the secret to the
/// activation (sealed under `MFA_ENCRYPTION_KEY` for this account, for
/// [`SETUP_LIFETIME_SECS`]; nothing is stored until a first code proves the app has it).
#[derive(Clone, Debug)]
pub struct TotpSetup {
    /// The secret in base32, in groups of four, for typing into an app.
    pub secret: String,
    /// The `otpauth://totp/...` URI.
    pub otpauth_uri: String,
    /// The QR code of the URI, an SVG document.
    pub qr_svg: String,
    /// The token to send back with the first code.
    pub setup_token: String,
    /// When the set-up expires, Unix seconds.
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct SetupClaims {
    user_id: i64,
    secret: String,
    expires_at: i64,
}

const SETUP_CONTEXT: &str = "totp-setup";

/// An account's second factors, as the profile and `GET /api/auth/mfa/` show them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overview {
    /// The authenticator app, if set up: (created, last used), Unix seconds.
    pub totp: Option<(i64, Option<i64>)>,
    /// Unused recovery codes, if the account has a set.
    pub recovery_codes_left: Option<usize>,
    /// The passkeys, oldest first.
    pub passkeys: Vec<super::passkeys::PasskeyRow>,
}

impl Overview {
    /// Whether sign-in asks for a second factor.
    pub fn enabled(&self) -> bool {
        self.totp.is_some() || self.recovery_codes_left.is_some() || !self.passkeys.is_empty()
    }

    /// How many second factors there are besides recovery codes (removing the last one
    /// needs a confirmation).
    pub fn strong_factors(&self) -> usize {
        usize::from(self.totp.is_some()) + self.passkeys.len()
    }
}

/// `user_id`'s second factors.
pub async fn overview(db: &Db, user_id: i64) -> Result<Overview, DbError> {
    let rows = store::of_user(db, user_id).await?;
    Ok(Overview {
        totp: rows
            .iter()
            .find(|r| r.kind == TOTP)
            .map(|r| (r.created_at, r.last_used_at)),
        recovery_codes_left: store::factors(&rows).recovery_codes,
        passkeys: super::passkeys::rows_to_passkeys(&rows),
    })
}

/// Starts setting up an authenticator app for `user`: a new secret, its URI and QR code.
///
/// Errors: [`AccountError::Invalid`] ([`ALREADY_SET_UP`]), [`AccountError::Internal`].
pub async fn begin_totp(
    db: &Db,
    keys: &MfaKeys,
    site_name: &str,
    user: &User,
) -> Result<TotpSetup, AccountError> {
    let rows = store::of_user(db, user.id).await?;
    if let Err(refusal) = store::factors(&rows).enrol(Factor::Totp) {
        return Err(refused(refusal));
    }
    let secret = totp::new_secret();
    let otpauth_uri = totp::otpauth_uri(&secret, site_name, &user.username)
        .ok_or_else(|| AccountError::Internal(anyhow::anyhow!("otpauth URI")))?;
    let qr_svg = totp::qr_svg(&otpauth_uri)
        .ok_or_else(|| AccountError::Internal(anyhow::anyhow!("QR code")))?;
    let expires_at = Utc::now().timestamp() + SETUP_LIFETIME_SECS;
    let claims = SetupClaims {
        user_id: user.id,
        secret: hex::encode(&secret),
        expires_at,
    };
    let claims = serde_json::to_vec(&claims).map_err(|e| AccountError::Internal(e.into()))?;
    Ok(TotpSetup {
        secret: totp::secret_text(&secret),
        otpauth_uri,
        qr_svg,
        setup_token: keys.seal(&claims, SETUP_CONTEXT),
        expires_at,
    })
}

/// The set-up `token` carries, if it is `user_id`'s and still live: (secret, expiry).
pub fn open_setup(keys: &MfaKeys, token: &str, user_id: i64, now: i64) -> Option<Vec<u8>> {
    let claims: SetupClaims = serde_json::from_slice(&keys.open(token, SETUP_CONTEXT)?).ok()?;
    (claims.user_id == user_id && claims.expires_at > now)
        .then(|| hex::decode(claims.secret).ok())
        .flatten()
}

/// The set-up again, for the page that shows it (the same secret and token).
pub fn show_setup(keys: &MfaKeys, site_name: &str, user: &User, token: &str) -> Option<TotpSetup> {
    let now = Utc::now().timestamp();
    let secret = open_setup(keys, token, user.id, now)?;
    let claims: SetupClaims = serde_json::from_slice(&keys.open(token, SETUP_CONTEXT)?).ok()?;
    let otpauth_uri = totp::otpauth_uri(&secret, site_name, &user.username)?;
    Some(TotpSetup {
        secret: totp::secret_text(&secret),
        qr_svg: totp::qr_svg(&otpauth_uri)?,
        otpauth_uri,
        setup_token: token.to_owned(),
        expires_at: claims.expires_at,
    })
}

/// Switches the authenticator app on: `setup_token` (from [`begin_totp`]) and a first
/// `code` from the app in `fields`. Returns the new recovery codes when this is the first
/// second factor (show them once; only their hashes are kept).
///
/// Errors: [`AccountError::Invalid`] (`setup_token`: [`SETUP_EXPIRED`]; `code`:
/// [`WRONG_CODE`]; [`ALREADY_SET_UP`]), [`AccountError::Internal`].
pub async fn activate_totp(
    db: &Db,
    keys: &MfaKeys,
    mail: &MailContext<'_>,
    user: &User,
    client: &Client,
    fields: &Fields,
) -> Result<Option<Vec<String>>, AccountError> {
    let mut errors = FieldErrors::new();
    let token = fields.text("setup_token", Text::REQUIRED, &mut errors);
    let code = fields.text("code", Text::REQUIRED, &mut errors);
    errors.into_result()?;
    let (token, code) = (token.unwrap_or_default(), code.unwrap_or_default());
    let now = Utc::now().timestamp();
    let secret = open_setup(keys, &token, user.id, now)
        .ok_or_else(|| AccountError::invalid("setup_token", SETUP_EXPIRED))?;
    let step = totp::verify(&secret, &code, u64::try_from(now).unwrap_or(0), None)
        .ok_or_else(|| AccountError::invalid("code", WRONG_CODE))?;
    let data = serde_json::to_string(&TotpData {
        secret: keys.seal(&secret, &totp_context(user.id)),
        last_step: Some(step),
    })
    .map_err(|e| AccountError::Internal(e.into()))?;
    let fresh = recovery_codes::generate(keys, user.id);
    let fresh_data =
        serde_json::to_string(&fresh.1).map_err(|e| AccountError::Internal(e.into()))?;
    let notice = notice(user, mail, "an authenticator app was added")?;
    let added = Event::new(Kind::SecondFactorAdded, Some(user.id), Some(client)).detail(TOTP);
    let factor = (Factor::Totp, TOTP, data.as_str());
    let outcome = add_factor(
        db,
        user,
        factor,
        None,
        &fresh_data,
        &added,
        notice.as_ref(),
        now,
    )
    .await;
    match outcome {
        Ok(Ok(with_codes)) => {
            added.log();
            Ok(with_codes.then_some(fresh.0))
        }
        Ok(Err(AddRefusal::Policy(refusal))) => Err(refused(refusal)),
        Ok(Err(AddRefusal::SameCredential)) => Err(refused(Refusal::AlreadyEnrolled)),
        // A racing set-up won (one app per account, by a unique index).
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(refused(Refusal::AlreadyEnrolled))
        }
        Err(error) => Err(DbError::from(error).into()),
    }
}

/// Replaces `user`'s recovery codes with a new set; returns the codes (show them once).
///
/// Errors: [`AccountError::Invalid`] ([`NO_RECOVERY_CODES`]), [`AccountError::Internal`].
pub async fn regenerate_recovery_codes(
    db: &Db,
    keys: &MfaKeys,
    mail: &MailContext<'_>,
    user: &User,
    client: &Client,
) -> Result<Vec<String>, AccountError> {
    let (codes, stored) = recovery_codes::generate(keys, user.id);
    let data = serde_json::to_string(&stored).map_err(|e| AccountError::Internal(e.into()))?;
    let notice = notice(
        user,
        mail,
        "new recovery codes were made (the old ones no longer work)",
    )?;
    let event = Event::new(Kind::RecoveryCodesRegenerated, Some(user.id), Some(client));
    let replaced = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let done = sqlx::query(
            "UPDATE mfa_authenticators SET data = $1, created_at = $2, last_used_at = NULL \
             WHERE user_id = $3 AND type = $4",
        )
        .bind(&data)
        .bind(Utc::now().timestamp())
        .bind(user.id)
        .bind(RECOVERY_CODES)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_event!(&mut *tx, &event)?;
        if let Some(message) = &notice {
            enqueue_in!(&mut *tx, message).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(true)
    }
    .await)
    .map_err(DbError::from)?;
    if !replaced {
        return Err(AccountError::invalid(NON_FIELD_ERRORS, NO_RECOVERY_CODES));
    }
    event.log();
    Ok(codes)
}

/// Whether `fields` say yes to switching two-factor sign-in off: `confirm`, a boolean
/// (DRF's `BooleanField`; an HTML checkbox sends `on`).
///
/// Errors: [`AccountError::Invalid`] (`confirm`: "Must be a valid boolean.").
pub fn confirmed(fields: &Fields) -> Result<bool, AccountError> {
    let mut errors = FieldErrors::new();
    let yes = fields.boolean("confirm", &mut errors);
    errors.into_result()?;
    Ok(yes)
}

/// Removes `user`'s authenticator app. When it is the last second factor, `confirmed` must
/// be true, and the recovery codes go with it (two-factor sign-in is then off).
///
/// Errors: [`AccountError::Invalid`] ([`NOT_SET_UP`]; `confirm`: [`CONFIRM_LAST`]),
/// [`AccountError::Internal`].
pub async fn remove_totp(
    db: &Db,
    mail: &MailContext<'_>,
    user: &User,
    client: &Client,
    confirmed: bool,
) -> Result<(), AccountError> {
    let removed = Event::new(Kind::SecondFactorRemoved, Some(user.id), Some(client)).detail(TOTP);
    let rows = store::of_user(db, user.id).await?;
    let last = store::factors(&rows)
        .remove(Factor::Totp, true)
        .is_ok_and(|r| r.recovery_codes_too);
    let change = if last {
        "the authenticator app was removed, and with it two-factor sign-in and the recovery codes"
    } else {
        "the authenticator app was removed"
    };
    let notice = notice(user, mail, change)?;
    remove_factor(
        db,
        user,
        Factor::Totp,
        None,
        confirmed,
        &removed,
        notice.as_ref(),
    )
    .await?
    .map_err(refused)?;
    removed.log();
    Ok(())
}

/// Why [`add_factor`] added nothing.
pub(super) enum AddRefusal {
    /// The rules refuse it ([`Factors::enrol`](crate::mfa::policy::Factors::enrol)).
    Policy(Refusal),
    /// The account has this passkey already.
    SameCredential,
}

/// Adds a second factor to `user` in one transaction, as [`Factors::enrol`] rules: `factor`
/// is the policy's name for it, its row type and `data`; `credential_id` (a passkey's)
/// must not be the account's already; a first second factor brings the recovery-code set
/// `codes_data`; records `added` and queues `notice`. Returns whether the codes were added.
/// The account's row is locked first, as [`remove_factor`] does.
///
/// [`Factors::enrol`]: crate::mfa::policy::Factors::enrol
#[allow(clippy::too_many_arguments)] // One transaction's inputs; each is different.
pub(super) async fn add_factor(
    db: &Db,
    user: &User,
    (factor, kind, data): (Factor, &str, &str),
    credential_id: Option<&str>,
    codes_data: &str,
    added: &Event<'_>,
    notice: Option<&Message>,
    now: i64,
) -> Result<Result<bool, AddRefusal>, sqlx::Error> {
    with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE users SET has_mfa = has_mfa WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        let rows: Vec<Authenticator> = sqlx::query_as(store::SELECT_OF_USER)
            .bind(user.id)
            .fetch_all(&mut *tx)
            .await?;
        if credential_id.is_some_and(|id| super::passkeys::has_credential(&rows, id)) {
            return Ok(Err(AddRefusal::SameCredential));
        }
        let with_codes = match store::factors(&rows).enrol(factor) {
            Ok(with_codes) => with_codes,
            Err(refusal) => return Ok(Err(AddRefusal::Policy(refusal))),
        };
        store::insert_factor!(&mut *tx, user.id, kind, data, now)?;
        if with_codes {
            store::insert_factor!(&mut *tx, user.id, RECOVERY_CODES, codes_data, now)?;
        }
        insert_event!(&mut *tx, added)?;
        if let Some(message) = notice {
            enqueue_in!(&mut *tx, message).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(with_codes))
    }
    .await)
}

/// Removes one second factor of `user` in one transaction, as [`Factors::remove`] rules:
/// the app (`passkey`: `None`) or passkey row `passkey`; with the recovery codes when it was
/// the last; recording `removed` and queuing `notice`. The account's row is locked first
/// (PostgreSQL; SQLite has one writer anyway), so racing changes see each other.
///
/// [`Factors::remove`]: crate::mfa::policy::Factors::remove
pub(super) async fn remove_factor(
    db: &Db,
    user: &User,
    factor: Factor,
    passkey: Option<i64>,
    confirmed: bool,
    removed: &Event<'_>,
    notice: Option<&Message>,
) -> Result<Result<(), Refusal>, DbError> {
    let kind = if passkey.is_some() { WEBAUTHN } else { TOTP };
    Ok(with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE users SET has_mfa = has_mfa WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        let rows: Vec<Authenticator> = sqlx::query_as(store::SELECT_OF_USER)
            .bind(user.id)
            .fetch_all(&mut *tx)
            .await?;
        if passkey.is_some_and(|id| !rows.iter().any(|r| r.id == id && r.kind == WEBAUTHN)) {
            return Ok(Err(Refusal::NotEnrolled));
        }
        let removal = match store::factors(&rows).remove(factor, confirmed) {
            Ok(removal) => removal,
            Err(refusal) => return Ok(Err(refusal)),
        };
        sqlx::query(
            "DELETE FROM mfa_authenticators \
             WHERE user_id = $1 AND type = $2 AND ($3 IS NULL OR id = $3)",
        )
        .bind(user.id)
        .bind(kind)
        .bind(passkey)
        .execute(&mut *tx)
        .await?;
        if removal.recovery_codes_too {
            sqlx::query("DELETE FROM mfa_authenticators WHERE user_id = $1 AND type = $2")
                .bind(user.id)
                .bind(RECOVERY_CODES)
                .execute(&mut *tx)
                .await?;
        }
        insert_event!(&mut *tx, removed)?;
        if let Some(message) = notice {
            enqueue_in!(&mut *tx, message).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(Ok(()))
    }
    .await)?)
}

/// Removes every second factor of account `user_id` (app, recovery codes, passkeys): the
/// way back in for someone who lost them all, after the operator or a superuser checked who
/// they are. `event` is the `mfa_reset` to record (by whom, from where); its detail
/// becomes how many rows went. Returns that number (0: nothing to remove, nothing recorded).
///
/// Errors: [`AccountError::Internal`].
pub async fn reset(db: &Db, user_id: i64, event: Event<'_>) -> Result<u64, AccountError> {
    let event = |n: u64| event.clone().detail(n.to_string());
    let removed = with_db_write!(db, pool => async {
        let mut tx = pool.begin().await?;
        let removed = sqlx::query("DELETE FROM mfa_authenticators WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // A half-finished sign-in would otherwise still ask for a factor that is gone.
        sqlx::query("DELETE FROM mfa_challenges WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if removed > 0 {
            insert_event!(&mut *tx, &event(removed))?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(removed)
    }
    .await)
    .map_err(DbError::Query)?;
    if removed > 0 {
        event(removed).log();
    }
    Ok(removed)
}

fn refused(refusal: Refusal) -> AccountError {
    match refusal {
        Refusal::AlreadyEnrolled => AccountError::invalid(NON_FIELD_ERRORS, ALREADY_SET_UP),
        Refusal::NotEnrolled => AccountError::invalid(NON_FIELD_ERRORS, NOT_SET_UP),
        Refusal::LastFactor => AccountError::invalid("confirm", CONFIRM_LAST),
    }
}

/// The "two-factor sign-in changed" mail to `user`, if they have an address.
pub(super) fn notice(
    user: &User,
    mail: &MailContext<'_>,
    change: &str,
) -> Result<Option<Message>, AccountError> {
    let Some(address) = user.email.as_deref().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    SecondFactorChanged {
        site_name: mail.site_name,
        username: &user.username,
        change,
        reset_url: &mail.url("/password-reset"),
        profile_url: &mail.url("/profile"),
    }
    .message(address)
    .map(Some)
    .map_err(|e| AccountError::Internal(e.into()))
}
