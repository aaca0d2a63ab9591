//! The `mfa_authenticators` rows of an account: read, added, changed only if unchanged
//! meanwhile (compare-and-set on `data`, so two requests cannot both spend one code or one
//! TOTP step), removed.

use serde::{Deserialize, Serialize};

use crate::db::{with_db, Db, DbError};

use super::policy::Factors;
use super::recovery_codes::RecoveryCodes;

/// `mfa_authenticators.type` values (allauth.mfa's names).
pub const TOTP: &str = "totp";
/// See [`TOTP`].
pub const RECOVERY_CODES: &str = "recovery_codes";
/// See [`TOTP`].
pub const WEBAUTHN: &str = "webauthn";

/// Every row of account `$1`, oldest first (for a use case's own transaction too).
pub const SELECT_OF_USER: &str = "SELECT id, type, data, created_at, last_used_at \
     FROM mfa_authenticators WHERE user_id = $1 ORDER BY id";

/// Adds a row through `$executor` (a transaction, inside `with_db_write!`): account
/// `$user_id`, type `$kind`, `data` `$data`, created `$now`. Evaluates to
/// `Result<_, sqlx::Error>`.
macro_rules! insert_factor {
    ($executor:expr, $user_id:expr, $kind:expr, $data:expr, $now:expr) => {
        sqlx::query(
            "INSERT INTO mfa_authenticators (user_id, type, data, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind($user_id)
        .bind($kind)
        .bind($data)
        .bind($now)
        .execute($executor)
        .await
    };
}
pub(crate) use insert_factor;

/// One row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Authenticator {
    /// The row's id.
    pub id: i64,
    /// [`TOTP`], [`RECOVERY_CODES`] or [`WEBAUTHN`].
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The factor's JSON ([`TotpData`], [`RecoveryCodes`]).
    pub data: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last sign-in with it.
    pub last_used_at: Option<i64>,
}

/// The `data` of a TOTP row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TotpData {
    /// The secret, sealed by [`MfaKeys::seal`](super::keys::MfaKeys::seal) with context
    /// [`totp_context`].
    pub secret: String,
    /// The step of the last code accepted (replay protection).
    #[serde(default)]
    pub last_step: Option<u64>,
}

/// The sealing context of `user_id`'s TOTP secret.
pub fn totp_context(user_id: i64) -> String {
    format!("totp:{user_id}")
}

impl Authenticator {
    /// The recovery-code set this row holds, if it is one.
    pub fn recovery_codes(&self) -> Option<RecoveryCodes> {
        (self.kind == RECOVERY_CODES)
            .then(|| serde_json::from_str(&self.data).ok())
            .flatten()
    }

    /// The TOTP data this row holds, if it is one.
    pub fn totp(&self) -> Option<TotpData> {
        (self.kind == TOTP)
            .then(|| serde_json::from_str(&self.data).ok())
            .flatten()
    }
}

/// What `rows` amount to, for [`policy`](super::policy).
pub fn factors(rows: &[Authenticator]) -> Factors {
    Factors {
        totp: rows.iter().any(|r| r.kind == TOTP),
        passkeys: rows.iter().filter(|r| r.kind == WEBAUTHN).count(),
        recovery_codes: rows
            .iter()
            .find(|r| r.kind == RECOVERY_CODES)
            .map(|r| r.recovery_codes().map_or(0, |c| c.remaining())),
    }
}

/// Every row of `user_id`, oldest first.
pub async fn of_user(db: &Db, user_id: i64) -> Result<Vec<Authenticator>, DbError> {
    Ok(with_db!(db, pool => {
        sqlx::query_as(SELECT_OF_USER)
        .bind(user_id)
        .fetch_all(pool)
        .await
    })?)
}
