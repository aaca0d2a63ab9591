-- Whether the account's address is proven to be its owner's: by a verification link, or
-- by the social provider that supplied it. Accounts without a password got their address
-- only from a provider that vouched for it.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET email_verified = TRUE WHERE password_hash IS NULL AND email IS NOT NULL;

-- Single-use tokens sent by mail. Only the SHA-256 of a token is stored (hex), so a copy of
-- the database spends nothing. purpose: password_reset, verify_email (email: the address
-- it proves) or change_email (email: the address the account moves to). A token is deleted
-- when spent; expired ones are pruned.
CREATE TABLE account_tokens (
    token_hash TEXT   PRIMARY KEY NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT   NOT NULL,
    email      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
