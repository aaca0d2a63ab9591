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
