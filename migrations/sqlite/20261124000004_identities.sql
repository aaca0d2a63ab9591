-- Accounts at social sign-in providers, linked to local users. (provider, subject) is
-- the provider's stable id for the person; email is what the provider said at linking.
CREATE TABLE identities (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT,
    created_at BIGINT  NOT NULL,
    UNIQUE (provider, subject),
    -- One account per provider per user keeps "unlink Google" unambiguous.
    UNIQUE (user_id, provider)
);
