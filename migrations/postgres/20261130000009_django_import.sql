-- Accounts copied from a Django database by `server import-django` (same primary key as
-- Django's auth_user). A second import compares against these rows only: an account made
-- here is never overwritten, and one that clashes with an import stops it.
-- imported_at: Unix seconds of the import that wrote (or last updated) the row.
CREATE TABLE imported_users (
    user_id     BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    imported_at BIGINT NOT NULL
);

-- simplejwt refresh tokens issued by the Django stack, by the SHA-256 (hex) of their jti:
-- those its token_blacklist app had blacklisted (imported, state 'blacklisted'), and those
-- exchanged here once for a sign-in of ours (state 'exchanged', family_id: that sign-in).
-- A token found here is never exchanged again; one found 'exchanged' ends its family.
-- expires_at: the token's own exp (Unix seconds); rows past it are pruned.
CREATE TABLE legacy_refresh_tokens (
    jti_hash   TEXT   NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL,
    state      TEXT   NOT NULL,
    family_id  TEXT,
    expires_at BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
