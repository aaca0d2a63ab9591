//! Passkeys on an account: adding one (a WebAuthn registration ceremony), removing one,
//! and signing in with a passkey alone (a discoverable credential: the passkey says whose it
//! is). A passkey is a second factor too (see [`super::SecondStep`]); the first one brings
//! recovery codes, like the authenticator app, under the same [`mfa::policy`] rules.

use chrono::Utc;
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Webauthn,
};

use crate::audit::{self, Event, Kind};
use crate::auth::rate_limit::RateLimits;
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::auth::tokens::{TokenPair, Tokens};
use crate::client::Client;
use crate::config::EmailVerification;
use crate::db::{with_db_write, Db, DbError};
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::mfa::passkeys::{self, credential_id_text, PasskeyData, Passkeys, Purpose};
use crate::mfa::policy::{Factor, Refusal};
use crate::mfa::store::{self, Authenticator, WEBAUTHN};
use crate::mfa::{recovery_codes, MfaKeys};
use crate::users::{self, User};

use super::second_factor::{notice, AddRefusal};
use super::sign_in::start_sign_in;
use super::{AccountError, MailContext};

/// This deployment has no passkeys (`PUBLIC_URL`'s host is an IP address).
pub const PASSKEYS_OFF: &str = "Passkeys are not available on this server.";
/// The ceremony is unknown, expired, already finished, or someone else's.
pub const CEREMONY_EXPIRED: &str = "This passkey request has expired. Try again.";
/// The browser's answer does not check out.
pub const NOT_VERIFIED: &str = "The passkey could not be verified. Try again.";
/// No account has this passkey.
pub const UNKNOWN_PASSKEY: &str = "This passkey is not registered here.";
/// The same authenticator again.
pub const ALREADY_REGISTERED: &str = "This passkey is already registered.";
/// A passkey id that is not one of the account's.
pub const NO_SUCH_PASSKEY: &str = "No such passkey.";

/// One passkey of an account, as the profile and the API list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRow {
    /// The row's id (what removing it names).
    pub id: i64,
    /// Its owner's name for it.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last sign-in with it.
    pub last_used_at: Option<i64>,
}

fn data_of(row: &Authenticator) -> Option<PasskeyData> {
    (row.kind == WEBAUTHN)
        .then(|| serde_json::from_str(&row.data).ok())
        .flatten()
}

/// Whether `rows` hold the passkey whose credential id (as stored) is `credential_id`.
pub(super) fn has_credential(rows: &[Authenticator], credential_id: &str) -> bool {
    rows.iter()
        .filter_map(data_of)
        .any(|d| d.credential_id == credential_id)
}

/// `rows`' passkeys, oldest first.
pub fn rows_to_passkeys(rows: &[Authenticator]) -> Vec<PasskeyRow> {
    rows.iter()
        .filter_map(|row| {
            Some(PasskeyRow {
                id: row.id,
                name: data_of(row)?.name,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
            })
        })
        .collect()
}

/// The relying party, or [`PASSKEYS_OFF`].
pub(super) fn webauthn(passkeys: &Passkeys) -> Result<&Webauthn, AccountError> {
    passkeys
        .webauthn()
        .ok_or_else(|| AccountError::invalid(NON_FIELD_ERRORS, PASSKEYS_OFF))
}

fn internal(error: impl std::fmt::Display) -> AccountError {
    AccountError::Internal(anyhow::anyhow!("passkeys: {error}"))
}

/// Starts adding a passkey to `user`: the options for `navigator.credentials.create()`
/// (WebAuthn's JSON form, under `publicKey`) and the ceremony's token. The passkey is asked
/// to be discoverable (`residentKey: required`), so it can sign in alone.
///
/// Errors: [`AccountError::Invalid`] ([`PASSKEYS_OFF`]), [`AccountError::Internal`].
pub async fn begin_registration(
    db: &Db,
    passkeys: &Passkeys,
    user: &User,
) -> Result<(Value, String), AccountError> {
    let webauthn = webauthn(passkeys)?;
    let rows = store::of_user(db, user.id).await?;
    let exclude = rows
        .iter()
        .filter_map(data_of)
        .map(|d| d.passkey.cred_id().clone())
        .collect();
    let handle = passkeys::user_handle(db, user.id).await?;
    let display = [user.first_name.as_str(), user.last_name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let display = if display.is_empty() {
        user.username.clone()
    } else {
        display
    };
    let (options, state) = webauthn
        .start_passkey_registration(handle, &user.username, &display, Some(exclude))
        .map_err(internal)?;
    let mut options = serde_json::to_value(options).map_err(internal)?;
    if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection") {
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
    }
    let now = Utc::now().timestamp();
    let token = passkeys::save_ceremony(db, Purpose::Register, Some(user.id), &state, now).await?;
    Ok((options, token))
}

/// The browser's answer in `fields` (`credential`: the JSON of
/// `PublicKeyCredential.toJSON()`, an object or its text).
pub(super) fn credential<T: for<'de> serde::Deserialize<'de>>(
    fields: &Fields,
) -> Result<T, AccountError> {
    let value = fields
        .json("credential")
        .ok_or_else(|| AccountError::invalid("credential", "This field is required."))?;
    serde_json::from_value(value).map_err(|_| AccountError::invalid("credential", NOT_VERIFIED))
}

/// Finishes adding a passkey: `ceremony_token`, `name` (64 characters at most) and the
/// browser's `credential` in `fields`. Returns new recovery codes when this is the first
/// second factor.
///
/// Errors: [`AccountError::Invalid`] (`ceremony_token`: [`CEREMONY_EXPIRED`]; `credential`:
/// [`NOT_VERIFIED`], [`ALREADY_REGISTERED`]; `name`), [`AccountError::Internal`].
pub async fn finish_registration(
    db: &Db,
    passkeys: &Passkeys,
    keys: &MfaKeys,
    mail: &MailContext<'_>,
    user: &User,
    client: &Client,
    fields: &Fields,
) -> Result<Option<Vec<String>>, AccountError> {
    let webauthn = webauthn(passkeys)?;
    let mut errors = FieldErrors::new();
    let token = fields.text("ceremony_token", Text::REQUIRED, &mut errors);
    let name = fields.text(
        "name",
        Text::REQUIRED.max(passkeys::NAME_MAX_CHARS),
        &mut errors,
    );
    errors.into_result()?;
    let (token, name) = (token.unwrap_or_default(), name.unwrap_or_default());
    let answer: RegisterPublicKeyCredential = credential(fields)?;
    let now = Utc::now().timestamp();
    let (state, _) = passkeys::take_ceremony::<PasskeyRegistration>(
        db,
        &token,
        Purpose::Register,
        Some(user.id),
        now,
    )
    .await?
    .ok_or_else(|| AccountError::invalid("ceremony_token", CEREMONY_EXPIRED))?;
    let passkey = webauthn
        .finish_passkey_registration(&answer, &state)
        .map_err(|error| {
            tracing::info!(%error, user_id = user.id, "passkey registration refused");
            AccountError::invalid("credential", NOT_VERIFIED)
        })?;
    let credential_id = credential_id_text(passkey.cred_id());
    let data = serde_json::to_string(&PasskeyData {
        name: name.clone(),
        credential_id: credential_id.clone(),
        passkey,
    })
    .map_err(internal)?;
    let (codes, stored) = recovery_codes::generate(keys, user.id);
    let stored = serde_json::to_string(&stored).map_err(internal)?;
    let notice = notice(user, mail, &format!("a passkey ({name}) was added"))?;
    let added = Event::new(Kind::SecondFactorAdded, Some(user.id), Some(client)).detail(WEBAUTHN);
    let factor = (Factor::Passkey, WEBAUTHN, data.as_str());
    let outcome = super::second_factor::add_factor(
        db,
        user,
        factor,
        Some(&credential_id),
        &stored,
        &added,
        notice.as_ref(),
        now,
    )
    .await
    .map_err(DbError::from)?;
    let with_codes = outcome.map_err(|refused| match refused {
        AddRefusal::SameCredential => AccountError::invalid("credential", ALREADY_REGISTERED),
        AddRefusal::Policy(refusal) => AccountError::invalid(NON_FIELD_ERRORS, refusal.to_string()),
    })?;
    added.log();
    Ok(with_codes.then_some(codes))
}

/// Removes `user`'s passkey `id`. When it is the last second factor, `confirmed` must be
/// true, and the recovery codes go with it.
///
/// Errors: [`AccountError::Invalid`] ([`NO_SUCH_PASSKEY`]; `confirm`:
/// [`super::second_factor::CONFIRM_LAST`]), [`AccountError::Internal`].
pub async fn remove(
    db: &Db,
    mail: &MailContext<'_>,
    user: &User,
    client: &Client,
    id: i64,
    confirmed: bool,
) -> Result<(), AccountError> {
    let rows = store::of_user(db, user.id).await?;
    let name = rows
        .iter()
        .find(|r| r.id == id)
        .and_then(data_of)
        .map(|d| d.name)
        .ok_or_else(|| AccountError::invalid(NON_FIELD_ERRORS, NO_SUCH_PASSKEY))?;
    let notice = notice(user, mail, &format!("the passkey {name} was removed"))?;
    let removed =
        Event::new(Kind::SecondFactorRemoved, Some(user.id), Some(client)).detail(WEBAUTHN);
    let outcome = super::second_factor::remove_factor(
        db,
        user,
        Factor::Passkey,
        Some(id),
        confirmed,
        &removed,
        notice.as_ref(),
    )
    .await?;
    outcome.map_err(|refusal| match refusal {
        Refusal::LastFactor => AccountError::invalid("confirm", super::second_factor::CONFIRM_LAST),
        _ => AccountError::invalid(NON_FIELD_ERRORS, NO_SUCH_PASSKEY),
    })?;
    removed.log();
    Ok(())
}

/// Starts a sign-in with a passkey alone: the options for `navigator.credentials.get()`
/// (no allowed credentials: the browser offers the passkeys it has for this site) and the
/// ceremony's token.
///
/// Errors: [`AccountError::Invalid`] ([`PASSKEYS_OFF`]), [`AccountError::RateLimited`],
/// [`AccountError::Internal`].
pub async fn begin_sign_in(
    db: &Db,
    passkeys: &Passkeys,
    limits: &RateLimits,
    client: &Client,
) -> Result<(Value, String), AccountError> {
    let webauthn = webauthn(passkeys)?;
    // Each begin writes a row: the sign-in budget of the client's address bounds them.
    limits.login_ip(client.ip).await?;
    let (options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(internal)?;
    let mut options = serde_json::to_value(options).map_err(internal)?;
    // The page decides: a button asks at once, autofill (conditional mediation) waits.
    if let Some(object) = options.as_object_mut() {
        object.remove("mediation");
    }
    let now = Utc::now().timestamp();
    let token = passkeys::save_ceremony(db, Purpose::SignIn, None, &state, now).await?;
    Ok((options, token))
}

/// What a passkey sign-in uses.
#[derive(Clone, Copy, Debug)]
pub struct PasskeySignIn<'a> {
    /// The database.
    pub db: &'a Db,
    /// The relying party.
    pub passkeys: &'a Passkeys,
    /// Starts the token family.
    pub tokens: &'a Tokens,
    /// Sign-in attempts per client address.
    pub limits: &'a RateLimits,
    /// `ACCOUNT_EMAIL_VERIFICATION`: under `mandatory`, an unconfirmed address cannot sign
    /// in with a passkey either.
    pub verification: EmailVerification,
}

impl PasskeySignIn<'_> {
    /// Signs in whoever the passkey in `fields` (`ceremony_token`, `credential`) belongs
    /// to, through `channel`. A passkey verifies its user (a PIN, a fingerprint), so it is
    /// two factors in one: no second step follows.
    ///
    /// Errors: [`AccountError::Invalid`] (`ceremony_token`: [`CEREMONY_EXPIRED`];
    /// `credential`: [`UNKNOWN_PASSKEY`], [`NOT_VERIFIED`]), [`AccountError::RateLimited`],
    /// [`AccountError::Internal`].
    pub async fn finish(
        &self,
        channel: Channel,
        client: &Client,
        fields: &Fields,
    ) -> Result<(User, TokenPair), AccountError> {
        let webauthn = webauthn(self.passkeys)?;
        self.limits.login_ip(client.ip).await?;
        let mut errors = FieldErrors::new();
        let token = fields.text("ceremony_token", Text::REQUIRED, &mut errors);
        errors.into_result()?;
        let answer: PublicKeyCredential = credential(fields)?;
        let now = Utc::now().timestamp();
        let (state, _) = passkeys::take_ceremony::<DiscoverableAuthentication>(
            self.db,
            &token.unwrap_or_default(),
            Purpose::SignIn,
            None,
            now,
        )
        .await?
        .ok_or_else(|| AccountError::invalid("ceremony_token", CEREMONY_EXPIRED))?;
        let unknown = || AccountError::invalid("credential", UNKNOWN_PASSKEY);
        let (handle, credential_id) = webauthn
            .identify_discoverable_authentication(&answer)
            .map_err(|_| unknown())?;
        let credential_id = credential_id_text(credential_id);
        let user_id = passkeys::user_of_handle(self.db, handle)
            .await?
            .ok_or_else(unknown)?;
        let user = users::find_by_id(self.db, user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(unknown)?;
        let rows = store::of_user(self.db, user.id).await?;
        let (row, mut data) = rows
            .iter()
            .find_map(|r| Some((r, data_of(r).filter(|d| d.credential_id == credential_id)?)))
            .ok_or_else(unknown)?;
        let result =
            match webauthn.finish_discoverable_authentication_v2(&answer, state, &data.passkey) {
                Ok(result) => result,
                Err(error) => {
                    tracing::info!(%error, user_id, "passkey sign-in refused");
                    let event = Event::new(Kind::SignInFailed, Some(user.id), Some(client))
                        .detail("passkey");
                    audit::record(self.db, &event).await?;
                    return Err(AccountError::invalid("credential", NOT_VERIFIED));
                }
            };
        data.passkey.update_credential(&result);
        record_use(self.db, row, &data, now).await?;
        if self.verification == EmailVerification::Mandatory
            && user.email.is_some()
            && !user.email_verified
        {
            return Err(AccountError::invalid(
                NON_FIELD_ERRORS,
                super::email_address::NOT_VERIFIED,
            ));
        }
        let origin = SignInOrigin::new("passkey", channel, client);
        let pair = start_sign_in(self.db, self.tokens, &user, &origin, None).await?;
        Ok((user, pair))
    }
}

/// Stores `data` (its counter moved on) as `row`'s, with the time of use, unless the row
/// changed meanwhile (a racing use: the other one's counter stands).
pub(super) async fn record_use(
    db: &Db,
    row: &Authenticator,
    data: &PasskeyData,
    now: i64,
) -> Result<(), DbError> {
    let new_data =
        serde_json::to_string(data).map_err(|e| DbError::Query(sqlx::Error::Decode(e.into())))?;
    with_db_write!(db, pool => {
        sqlx::query(
            "UPDATE mfa_authenticators SET data = $1, last_used_at = $2 WHERE id = $3 AND data = $4",
        )
        .bind(&new_data)
        .bind(now)
        .bind(row.id)
        .bind(&row.data)
        .execute(pool)
        .await
        .map(drop)
    })?;
    Ok(())
}

/// The passkeys of `rows` as `webauthn-rs` checks them, with their rows.
pub(super) fn registered(rows: &[Authenticator]) -> Vec<(&Authenticator, PasskeyData)> {
    rows.iter().filter_map(|r| Some((r, data_of(r)?))).collect()
}
