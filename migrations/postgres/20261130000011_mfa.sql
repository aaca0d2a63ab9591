-- Two-factor sign-in (allauth.mfa's model in mfa_authenticators, since 0010).
--
-- At most one authenticator app and one recovery-code set per account: two racing
-- enrolments cannot both win.
CREATE UNIQUE INDEX mfa_authenticators_one_per_type
    ON mfa_authenticators (user_id, type) WHERE type IN ('totp', 'recovery_codes');

-- Sign-ins waiting for their second factor (the web's second page, the API's mfa_token).
-- id: SHA-256 (hex) of the token the browser's session or the API client holds; the token
-- itself is never stored. method and channel: how the first step went, for the sign-in
-- that completes it. attempts: wrong codes so far (a handful, then the row goes and the
-- person starts over). Times are Unix seconds; rows live 5 minutes.
CREATE TABLE mfa_challenges (
    id          TEXT    PRIMARY KEY NOT NULL,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method      TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);

-- Passkeys (WebAuthn). handle: the random user handle (a UUID) given to authenticators for
-- this account, so a discoverable credential names its account without naming the person.
CREATE TABLE webauthn_user_handles (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    handle  TEXT   NOT NULL UNIQUE
);

-- WebAuthn ceremonies in flight: registration, a passkey as the second factor, sign-in
-- with a passkey alone. id: SHA-256 (hex) of the token the browser's session (or the API
-- client) holds; state: webauthn-rs's ceremony state (JSON: the challenge and what the
-- answer must match); user_id: whose ceremony it is (NULL for a sign-in, where the
-- passkey says whose it is). Single use (deleted when read), 5 minutes.
CREATE TABLE webauthn_ceremonies (
    id         TEXT   PRIMARY KEY NOT NULL,
    purpose    TEXT   NOT NULL,
    user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    state      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);
