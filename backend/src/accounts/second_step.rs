//! The second step of signing in, for accounts with a second factor: the first step
//! (password, social sign-in) ends in a [`Challenge`] instead of tokens, and a code from the
//! authenticator app or a recovery code completes it ([`complete_sign_in`]).

use chrono::Utc;

use crate::audit::{self, insert_event, Event, Kind};
use crate::auth::rate_limit::{LoginKey, RateLimits};
use crate::auth::sign_ins::{Channel, SignInOrigin};
use crate::auth::tokens::{TokenPair, Tokens};
use crate::client::Client;
use crate::db::{with_db_write, Db, DbError};
use crate::input::{FieldErrors, Fields, Text, NON_FIELD_ERRORS};
use crate::mail::outbox::enqueue_in;
use crate::mfa::challenge::{self, Challenge};
use crate::mfa::code_check::{match_code, Used};
use crate::mfa::passkeys::{self, Passkeys, Purpose};
use crate::mfa::store::{self, Authenticator};
use crate::mfa::MfaKeys;
use crate::users::{self, User};
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential};

use super::second_factor::{notice, WRONG_CODE};
use super::sign_in::start_sign_in;
use super::{AccountError, MailContext};

/// The half-finished sign-in is unknown, expired, already completed, or its account is gone.
pub const SIGN_IN_EXPIRED: &str =
    "This sign-in has expired or was already completed. Sign in again.";
/// A passkey was asked for, and the account has none.
pub const NO_PASSKEY: &str = "This account has no passkey. Use a code instead.";
/// The last wrong code allowed: the half-finished sign-in is over.
pub const TOO_MANY_CODES: &str = "Too many incorrect codes. Sign in again.";

/// Where a first step left the sign-in.
#[derive(Debug)]
pub enum SignInStep {
    /// No second factor: signed in.
    Complete(TokenPair),
    /// The account has a second factor: the challenge to complete.
    SecondFactor(Challenge),
}

/// Ends a successful first step (`origin.method`: `password` or a provider id): tokens for
/// an account without a second factor ([`start_sign_in`]) or whose provider vouches for one
/// (`origin.provider_mfa`), a [`Challenge`] for one with.
/// `rehash` (a password hash upgraded to the current parameters) is stored either way.
pub async fn begin_sign_in(
    db: &Db,
    tokens: &Tokens,
    user: &User,
    origin: &SignInOrigin,
    rehash: Option<&str>,
) -> Result<SignInStep, AccountError> {
    let factors = if origin.provider_mfa {
        Default::default()
    } else {
        store::factors(&store::of_user(db, user.id).await?)
    };
    if !factors.mfa_enabled() {
        return Ok(SignInStep::Complete(
            start_sign_in(db, tokens, user, origin, rehash).await?,
        ));
    }
    if let Some(hash) = rehash {
        users::upgrade_password_hash(db, user.id, hash).await?;
    }
    let now = Utc::now().timestamp();
    let mut challenge = challenge::create(db, user.id, &origin.method, origin.channel, now).await?;
    challenge.methods = [
        (factors.totp, "totp"),
        (factors.passkeys > 0, "webauthn"),
        (factors.recovery_codes.is_some(), "recovery_codes"),
    ]
    .into_iter()
    .filter_map(|(has, name)| has.then_some(name))
    .collect();
    tracing::info!(
        user_id = user.id,
        method = %origin.method,
        "first step passed; waiting for the second factor"
    );
    Ok(SignInStep::SecondFactor(challenge))
}

/// What completing a sign-in uses.
#[derive(Clone, Copy, Debug)]
pub struct SecondStep<'a> {
    /// The database.
    pub db: &'a Db,
    /// Starts the token family.
    pub tokens: &'a Tokens,
    /// Opens the secrets and hashes the codes.
    pub keys: &'a MfaKeys,
    /// Each code spends the account's sign-in budget.
    pub limits: &'a RateLimits,
    /// For the "recovery code used" mail.
    pub mail: MailContext<'a>,
    /// For a passkey as the second factor.
    pub passkeys: &'a Passkeys,
}

enum Checked {
    Expired,
    Wrong,
    Passed(Used),
}

impl SecondStep<'_> {
    /// Completes the sign-in `mfa_token` names (from `fields`; the browser's comes from its
    /// session) with `code` (an app code or a recovery code), through `channel`. The
    /// challenge is spent with the code in one transaction: a code that checks out is used
    /// once, and so is the challenge.
    ///
    /// Errors: [`AccountError::Invalid`] (`mfa_token`: [`SIGN_IN_EXPIRED`] or
    /// [`TOO_MANY_CODES`]; `code`: [`WRONG_CODE`]), [`AccountError::RateLimited`] (the
    /// account's sign-in budget), [`AccountError::Internal`].
    pub async fn complete_sign_in(
        &self,
        channel: Channel,
        client: &Client,
        fields: &Fields,
    ) -> Result<(User, TokenPair), AccountError> {
        // Both fields' problems at once, as DRF reports them (`pending` reads the token).
        let mut errors = FieldErrors::new();
        let _ = fields.text("mfa_token", Text::REQUIRED, &mut errors);
        let code = fields.text("code", Text::REQUIRED.max(64), &mut errors);
        errors.into_result()?;
        let code = code.unwrap_or_default();
        let expired = || AccountError::invalid("mfa_token", SIGN_IN_EXPIRED);
        let now = Utc::now().timestamp();
        let (token, pending, user) = self.pending(channel, fields, now).await?;
        self.limits
            .login_account(&LoginKey::Account(user.id))
            .await?;
        let attempt = challenge::count_attempt(self.db, &token, now)
            .await?
            .ok_or_else(expired)?;
        match self.check(&user, &token, &code, now, client).await? {
            Checked::Expired => Err(expired()),
            Checked::Wrong => Err(self.wrong(&user, &token, attempt, client, "code").await?),
            Checked::Passed(used) => {
                let origin = SignInOrigin::new(pending.method, channel, client);
                let pair = start_sign_in(self.db, self.tokens, &user, &origin, None).await?;
                tracing::info!(user_id = user.id, second_factor = ?used, "second factor passed");
                Ok((user, pair))
            }
        }
    }

    /// The live challenge `mfa_token` (in `fields`) names, for `channel`, and its account.
    async fn pending(
        &self,
        channel: Channel,
        fields: &Fields,
        now: i64,
    ) -> Result<(String, challenge::Pending, User), AccountError> {
        let mut errors = FieldErrors::new();
        let token = fields.text("mfa_token", Text::REQUIRED, &mut errors);
        errors.into_result()?;
        let token = token.unwrap_or_default();
        let expired = || AccountError::invalid("mfa_token", SIGN_IN_EXPIRED);
        let pending = challenge::find(self.db, &token, now)
            .await?
            .filter(|p| p.channel == channel)
            .ok_or_else(expired)?;
        let user = users::find_by_id(self.db, pending.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(expired)?;
        Ok((token, pending, user))
    }

    /// Starts a passkey as the second factor of the sign-in `mfa_token` names: options for
    /// `navigator.credentials.get()` allowing the account's passkeys, and the ceremony's
    /// token.
    ///
    /// Errors: [`AccountError::Invalid`] (`mfa_token`: [`SIGN_IN_EXPIRED`]; no passkey),
    /// [`AccountError::Internal`].
    pub async fn begin_passkey(
        &self,
        channel: Channel,
        fields: &Fields,
    ) -> Result<(serde_json::Value, String), AccountError> {
        let webauthn = super::passkeys::webauthn(self.passkeys)?;
        let now = Utc::now().timestamp();
        let (_, _, user) = self.pending(channel, fields, now).await?;
        let rows = store::of_user(self.db, user.id).await?;
        let keys: Vec<_> = super::passkeys::registered(&rows)
            .into_iter()
            .map(|(_, d)| d.passkey)
            .collect();
        if keys.is_empty() {
            return Err(AccountError::invalid(NON_FIELD_ERRORS, NO_PASSKEY));
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(|e| AccountError::Internal(anyhow::anyhow!("passkeys: {e}")))?;
        let options =
            serde_json::to_value(options).map_err(|e| AccountError::Internal(e.into()))?;
        let token =
            passkeys::save_ceremony(self.db, Purpose::SecondFactor, Some(user.id), &state, now)
                .await?;
        Ok((options, token))
    }

    /// Completes the sign-in `mfa_token` names with a passkey: `ceremony_token` (from
    /// [`begin_passkey`](Self::begin_passkey)) and the browser's `credential`.
    ///
    /// Errors: as [`complete_sign_in`](Self::complete_sign_in), with `credential`:
    /// [`super::passkeys::NOT_VERIFIED`] and `ceremony_token`:
    /// [`super::passkeys::CEREMONY_EXPIRED`].
    pub async fn complete_with_passkey(
        &self,
        channel: Channel,
        client: &Client,
        fields: &Fields,
    ) -> Result<(User, TokenPair), AccountError> {
        use super::passkeys::CEREMONY_EXPIRED;
        let webauthn = super::passkeys::webauthn(self.passkeys)?;
        let now = Utc::now().timestamp();
        let (token, pending, user) = self.pending(channel, fields, now).await?;
        self.limits
            .login_account(&LoginKey::Account(user.id))
            .await?;
        let mut errors = FieldErrors::new();
        let ceremony = fields.text("ceremony_token", Text::REQUIRED, &mut errors);
        errors.into_result()?;
        let answer: PublicKeyCredential = super::passkeys::credential(fields)?;
        let (state, _) = passkeys::take_ceremony::<PasskeyAuthentication>(
            self.db,
            &ceremony.unwrap_or_default(),
            Purpose::SecondFactor,
            Some(user.id),
            now,
        )
        .await?
        .ok_or_else(|| AccountError::invalid("ceremony_token", CEREMONY_EXPIRED))?;
        let attempt = challenge::count_attempt(self.db, &token, now)
            .await?
            .ok_or_else(|| AccountError::invalid("mfa_token", SIGN_IN_EXPIRED))?;
        let verified = webauthn.finish_passkey_authentication(&answer, &state);
        // The passkey must still be the account's: one removed since the ceremony began
        // proves nothing.
        let rows = store::of_user(self.db, user.id).await?;
        let found = verified.as_ref().ok().and_then(|result| {
            super::passkeys::registered(&rows)
                .into_iter()
                .find(|(_, d)| d.passkey.cred_id() == result.cred_id())
        });
        let (Ok(result), Some((row, mut data))) = (verified, found) else {
            tracing::info!(user_id = user.id, "passkey as second factor refused");
            return Err(self
                .wrong(&user, &token, attempt, client, "credential")
                .await?);
        };
        if !challenge::spend(self.db, &token, now).await? {
            return Err(AccountError::invalid("mfa_token", SIGN_IN_EXPIRED));
        }
        data.passkey.update_credential(&result);
        super::passkeys::record_use(self.db, row, &data, now).await?;
        let origin = SignInOrigin::new(pending.method, channel, client);
        let pair = start_sign_in(self.db, self.tokens, &user, &origin, None).await?;
        Ok((user, pair))
    }

    /// A wrong code (or passkey answer, `field`: `credential`) on attempt `attempt`: recorded,
    /// and the last one allowed ends the challenge.
    async fn wrong(
        &self,
        user: &User,
        token: &str,
        attempt: i64,
        client: &Client,
        field: &str,
    ) -> Result<AccountError, AccountError> {
        let event =
            Event::new(Kind::SignInFailed, Some(user.id), Some(client)).detail("second_factor");
        audit::record(self.db, &event).await?;
        if attempt >= challenge::MAX_ATTEMPTS {
            challenge::cancel(self.db, token).await?;
            return Ok(AccountError::invalid("mfa_token", TOO_MANY_CODES));
        }
        let message = if field == "code" {
            WRONG_CODE
        } else {
            super::passkeys::NOT_VERIFIED
        };
        Ok(AccountError::invalid(field, message))
    }

    async fn check(
        &self,
        user: &User,
        token: &str,
        code: &str,
        now: i64,
        client: &Client,
    ) -> Result<Checked, AccountError> {
        let keys = self.keys;
        let at = u64::try_from(now).unwrap_or(0);
        let id = challenge::id_of(token);
        // Worded ahead (the count is not known yet; the words are the same).
        let used_event = |left: usize| {
            Event::new(Kind::RecoveryCodeUsed, Some(user.id), Some(client)).detail(left.to_string())
        };
        let mail = self.mail;
        let checked = with_db_write!(self.db, pool => async {
            let mut tx = pool.begin().await?;
            let spent = sqlx::query("DELETE FROM mfa_challenges WHERE id = $1 AND expires_at > $2")
                .bind(&id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if spent != 1 {
                return Ok(Ok(Checked::Expired));
            }
            let rows: Vec<Authenticator> = sqlx::query_as(store::SELECT_OF_USER)
            .bind(user.id)
            .fetch_all(&mut *tx)
            .await?;
            // A wrong code rolls back: the challenge stays, its attempts counted apart.
            let Some(found) = match_code(keys, user.id, &rows, code, at) else {
                return Ok(Ok(Checked::Wrong));
            };
            let updated = sqlx::query(
                "UPDATE mfa_authenticators SET data = $1, last_used_at = $2 \
                 WHERE id = $3 AND data = $4",
            )
            .bind(&found.new_data)
            .bind(now)
            .bind(found.id)
            .bind(&found.old_data)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Another request used the same code (or step) a moment ago.
            if updated != 1 {
                return Ok(Ok(Checked::Wrong));
            }
            if let Used::RecoveryCode { remaining } = found.used {
                insert_event!(&mut *tx, &used_event(remaining))?;
                let change = format!(
                    "a recovery code was used to sign in ({remaining} left)"
                );
                match notice(user, &mail, &change) {
                    Ok(Some(message)) => {
                        enqueue_in!(&mut *tx, &message).await?;
                    }
                    Ok(None) => {}
                    Err(error) => return Ok(Err(error)),
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Ok(Checked::Passed(found.used)))
        }
        .await)
        .map_err(DbError::from)??;
        if let Checked::Passed(Used::RecoveryCode { remaining }) = checked {
            used_event(remaining).log();
        }
        Ok(checked)
    }
}
