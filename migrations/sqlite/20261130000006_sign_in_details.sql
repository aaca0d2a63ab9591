-- What each sign-in (token family) is, for "Where you're signed in": how it started
-- (method: password, registration or a social provider's id; channel: browser or api),
-- the client's user agent as people read it ("Firefox on Linux"), and the client's IP
-- address at sign-in and at last use. last_used_at (Unix seconds) moves at most once a
-- minute per family; SESSION_IDLE_TIMEOUT is judged against it. Sign-ins made before this
-- migration are of unknown method and client.
ALTER TABLE token_families ADD COLUMN method TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE token_families ADD COLUMN channel TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE token_families ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE token_families ADD COLUMN created_ip TEXT;
ALTER TABLE token_families ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE token_families ADD COLUMN last_used_ip TEXT;
UPDATE token_families SET last_used_at = created_at;
