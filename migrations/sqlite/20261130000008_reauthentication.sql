-- When the person behind each sign-in last proved who they are (Unix seconds): at sign-in,
-- and again when they type their password (or sign in afresh with a provider) for a
-- sensitive action. Actions such as deleting the account need it within REAUTH_MAX_AGE.
ALTER TABLE token_families ADD COLUMN authenticated_at BIGINT NOT NULL DEFAULT 0;
UPDATE token_families SET authenticated_at = created_at;
