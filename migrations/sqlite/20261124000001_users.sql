-- Users. Uniqueness is case-insensitive through the *_key columns, which the
-- application fills with the Unicode-lowercased value (SQLite's lower() only
-- folds ASCII, so the database cannot be trusted to do it the same way on both
-- engines).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    username_key  TEXT    NOT NULL UNIQUE,
    email         TEXT,
    email_key     TEXT    UNIQUE,
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    -- NULL for accounts that only sign in through a social provider.
    password_hash TEXT,
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff      BOOLEAN NOT NULL DEFAULT FALSE,
    is_superuser  BOOLEAN NOT NULL DEFAULT FALSE,
    date_joined   TIMESTAMP NOT NULL,
    last_login    TIMESTAMP
);
