-- Accounts copied from a Django database by `server import-django` (same primary key as
-- Django's auth_user). No foreign key on purpose: the row outlives an account deleted here,
-- so that a later import does not bring it back.
-- imported_at: Unix seconds of the import that wrote (or last updated) the row.
-- django: what Django held at that import (JSON; the password as the SHA-256 of its hash),
--   against which a later import tells Django's changes from changes made here.
-- tokens_valid_after: Unix seconds; simplejwt tokens of the account issued at or before it
--   are refused (set by a password change or reset, a deactivation, ending the other
--   sign-ins, and a sign-out with a simplejwt token).
-- password_set_here: the owner changed or reset the password here since (a later import
--   then keeps it; a mere upgrade of the hash at sign-in does not count).
CREATE TABLE imported_users (
    user_id            BIGINT  NOT NULL PRIMARY KEY,
    imported_at        BIGINT  NOT NULL,
    django             TEXT    NOT NULL,
    tokens_valid_after BIGINT  NOT NULL DEFAULT 0,
    password_set_here  BOOLEAN NOT NULL DEFAULT FALSE
);

-- simplejwt refresh tokens issued by the Django stack, by the SHA-256 (hex) of their jti:
-- those its token_blacklist app had blacklisted (imported, state 'blacklisted'), and those
-- exchanged here once for a sign-in of ours (state 'exchanged', family_id: that sign-in,
-- successor_jti: the jti of that sign-in's first refresh token, handed out again to a
-- request racing the exchange within JWT_REFRESH_REUSE_GRACE).
-- A token found here is never exchanged again; one found 'exchanged' later ends its family.
-- expires_at: the token's own exp (Unix seconds); rows past it are pruned.
CREATE TABLE legacy_refresh_tokens (
    jti_hash      TEXT   NOT NULL PRIMARY KEY,
    user_id       BIGINT NOT NULL,
    state         TEXT   NOT NULL,
    family_id     TEXT,
    successor_jti TEXT,
    expires_at    BIGINT NOT NULL,
    at            BIGINT NOT NULL
);
