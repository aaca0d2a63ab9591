-- One namespace for sign-in identifiers: the identity key (NFKC, lowercase) of every
-- username and every email address belongs to one account, so that an identifier typed at
-- sign-in names exactly one account. The users table's unique indexes keep usernames and
-- addresses unique among themselves; this table keeps the two apart from each other (a
-- username may not be another account's address, nor the reverse).
CREATE TABLE login_names (
    name_key TEXT   PRIMARY KEY NOT NULL,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX login_names_user ON login_names (user_id);

-- Existing accounts: usernames first (sign-in looked usernames up first, so an older clash
-- keeps resolving to the account it resolved to before).
INSERT INTO login_names (name_key, user_id)
    SELECT username_key, id FROM users WHERE TRUE ON CONFLICT DO NOTHING;
INSERT INTO login_names (name_key, user_id)
    SELECT email_key, id FROM users WHERE email_key IS NOT NULL ON CONFLICT DO NOTHING;

-- Data steps the application runs once, in Rust (what SQL cannot compute on both engines,
-- such as Unicode normalisation), by name.
CREATE TABLE data_migrations (
    name       TEXT   PRIMARY KEY NOT NULL,
    applied_at BIGINT NOT NULL
);
