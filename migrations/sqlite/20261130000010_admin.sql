-- The staff pages (/admin).
--
-- actor_id: the administrator who made the change an event records (NULL when the account's
-- owner or nobody in particular did). No foreign key, as for user_id: the record outlives
-- the accounts it names.
ALTER TABLE audit_events ADD COLUMN actor_id BIGINT;
-- "Security activity" filters by kind and by address, newest first.
CREATE INDEX audit_events_kind ON audit_events (kind, id);
CREATE INDEX audit_events_ip ON audit_events (ip, id);

-- The user list's keyset pagination: one index per sort order, so page 5,000 costs what
-- page 1 does. Staff accounts are few: their own index keeps the "staff" filter from
-- reading past every other account. (Prefix search uses the identity keys' unique indexes:
-- SQLite compares text as bytes.)
CREATE INDEX users_joined ON users (date_joined, id);
CREATE INDEX users_last_login ON users (last_login, id);
CREATE INDEX users_staff_joined ON users (date_joined, id) WHERE is_staff;
CREATE INDEX users_staff_last_login ON users (last_login, id) WHERE is_staff;
-- The accounts that never signed in, by id: the last-sign-in orders list them as the oldest.
CREATE INDEX users_never_signed_in ON users (id) WHERE last_login IS NULL;

-- Whether the account has a linked provider / a second factor, kept by triggers on the
-- tables that say so (every writer: sign-in, linking, the Django import, the MFA flows), so
-- the user list filters on a column and its partial indexes: a page of "has social
-- sign-in" reads 50 index entries, however many accounts have one.
ALTER TABLE users ADD COLUMN has_social BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN has_mfa BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET has_social = TRUE WHERE id IN (SELECT user_id FROM identities);
CREATE INDEX users_social_joined ON users (date_joined, id) WHERE has_social;
CREATE INDEX users_social_last_login ON users (last_login, id) WHERE has_social;
CREATE INDEX users_mfa_joined ON users (date_joined, id) WHERE has_mfa;
CREATE INDEX users_mfa_last_login ON users (last_login, id) WHERE has_mfa;

CREATE TRIGGER identities_has_social_insert AFTER INSERT ON identities BEGIN
    UPDATE users SET has_social = TRUE WHERE id = NEW.user_id AND NOT has_social;
END;
CREATE TRIGGER identities_has_social_delete AFTER DELETE ON identities BEGIN
    UPDATE users SET has_social = EXISTS (SELECT 1 FROM identities WHERE user_id = OLD.user_id)
        WHERE id = OLD.user_id;
END;
CREATE TRIGGER identities_has_social_update AFTER UPDATE OF user_id ON identities BEGIN
    UPDATE users SET has_social = EXISTS (SELECT 1 FROM identities WHERE user_id = OLD.user_id)
        WHERE id = OLD.user_id;
    UPDATE users SET has_social = TRUE WHERE id = NEW.user_id;
END;

-- Second factors, shaped like allauth.mfa's Authenticator: type is totp, recovery_codes or
-- webauthn; data is the factor's JSON (secrets encrypted); times are Unix seconds.
CREATE TABLE mfa_authenticators (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT   NOT NULL,
    data         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX mfa_authenticators_user ON mfa_authenticators (user_id);

CREATE TRIGGER mfa_authenticators_has_mfa_insert AFTER INSERT ON mfa_authenticators BEGIN
    UPDATE users SET has_mfa = TRUE WHERE id = NEW.user_id AND NOT has_mfa;
END;
CREATE TRIGGER mfa_authenticators_has_mfa_delete AFTER DELETE ON mfa_authenticators BEGIN
    UPDATE users
        SET has_mfa = EXISTS (SELECT 1 FROM mfa_authenticators WHERE user_id = OLD.user_id)
        WHERE id = OLD.user_id;
END;
CREATE TRIGGER mfa_authenticators_has_mfa_update AFTER UPDATE OF user_id ON mfa_authenticators
BEGIN
    UPDATE users
        SET has_mfa = EXISTS (SELECT 1 FROM mfa_authenticators WHERE user_id = OLD.user_id)
        WHERE id = OLD.user_id;
    UPDATE users SET has_mfa = TRUE WHERE id = NEW.user_id;
END;

-- Rate-limit refusals per hour (every refusal of every limit), for the staff pages' chart.
-- hour: Unix seconds of the hour's start. Each instance adds what it counted every second;
-- rows older than two days are deleted.
CREATE TABLE rate_limit_hours (
    hour BIGINT PRIMARY KEY NOT NULL,
    hits BIGINT NOT NULL
);
