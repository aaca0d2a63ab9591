//! The single-use links this server mails (password reset, address verification, address
//! change): a token of 256 random bits, of which only the SHA-256 is stored (the
//! `account_tokens` table), so a copy of the database spends nothing. A token is spent by
//! deleting its row in the transaction that makes the change it allows, so two requests
//! with one token cannot both succeed; expired rows are pruned.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::{with_db, with_db_write, Db, DbError};

/// What a token allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Choosing a new password without the old one.
    PasswordReset,
    /// Marking the account's current address verified.
    VerifyEmail,
    /// Moving the account to a new, thereby verified, address.
    ChangeEmail,
}

impl Purpose {
    /// The `purpose` column's value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::VerifyEmail => "verify_email",
            Purpose::ChangeEmail => "change_email",
        }
    }

    fn parse(value: &str) -> Option<Purpose> {
        [
            Purpose::PasswordReset,
            Purpose::VerifyEmail,
            Purpose::ChangeEmail,
        ]
        .into_iter()
        .find(|p| p.as_str() == value)
    }
}

/// A token as mailed (base64url, 43 characters) and the hash stored for it.
pub(crate) struct NewToken {
    /// Goes into the link, and nowhere else.
    pub token: String,
    /// Goes into the database.
    pub hash: String,
}

/// 256 bits from the operating system's generator (ASVS V2.3.1 asks for at least 112; the
/// issue for 128).
pub(crate) fn new_token() -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    NewToken { token, hash }
}

/// The stored form of a token: SHA-256, hex. Tokens are random and long, so no salt or
/// slow hash is needed to make a stolen table useless.
pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of one of ours: anything else is refused before a query.
pub(crate) fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Stores a token. Bind, in order: hash, user id, purpose, address (or NULL), now, expiry
/// (Unix seconds). For the transaction that also queues the mail carrying it.
pub(crate) const INSERT: &str = "INSERT INTO account_tokens \
     (token_hash, user_id, purpose, email, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Spends a token: deletes its row if it is live and returns the user and address. Bind:
/// hash, purpose, now.
pub(crate) const SPEND: &str = "DELETE FROM account_tokens \
     WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 RETURNING user_id, email";

/// Deletes a user's tokens of one purpose (a newer request, or the change they were for,
/// makes them pointless). Bind: user id, purpose.
pub(crate) const FORGET: &str = "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2";

/// Deletes a user's links that act on the account's credentials (password reset, address
/// change): a password change or reset ends them, so that someone who was signed in (or
/// read the old inbox) cannot use a link asked for before. Bind: user id.
pub(crate) const FORGET_CREDENTIAL_LINKS: &str = "DELETE FROM account_tokens \
     WHERE user_id = $1 AND purpose IN ('password_reset', 'change_email')";

/// Deletes every link of a user (deactivation: a link must not come back to life if the
/// account is reactivated). Bind: user id.
pub(crate) const FORGET_EVERY: &str = "DELETE FROM account_tokens WHERE user_id = $1";

/// A live token, looked at without spending it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    /// Whose it is.
    pub user_id: i64,
    /// What it allows.
    pub purpose: Purpose,
    /// The address it proves (verification, change).
    pub email: Option<String>,
}

/// The live (unexpired) token `token` if it is one of `purposes`; a GET of a link uses
/// this, and spends nothing.
pub(crate) async fn peek(
    db: &Db,
    token: &str,
    purposes: &[Purpose],
) -> Result<Option<Link>, DbError> {
    if !well_formed(token) {
        return Ok(None);
    }
    let now = chrono::Utc::now().timestamp();
    let row: Option<(i64, String, Option<String>)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT user_id, purpose, email FROM account_tokens \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(hash_token(token))
        .bind(now)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.and_then(|(user_id, purpose, email)| {
        let purpose = Purpose::parse(&purpose).filter(|p| purposes.contains(p))?;
        Some(Link {
            user_id,
            purpose,
            email,
        })
    }))
}

/// Deletes expired tokens; returns how many.
pub async fn prune(db: &Db) -> Result<u64, DbError> {
    let now = chrono::Utc::now().timestamp();
    Ok(with_db_write!(db, pool => {
        sqlx::query("DELETE FROM account_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.token, b.token);
        assert!(well_formed(&a.token), "{}", a.token);
        assert_eq!(a.hash, hash_token(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}=", &a.token[..42])));
    }
}
