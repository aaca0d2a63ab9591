-- Security activity: an append-only record of what happened to each account, written in
-- the same transaction as the change it records. user_id has no foreign key on purpose:
-- a deleted account's events go with it, all but a tombstone that names only its id.
-- at: Unix seconds. kind: signed_in, sign_in_failed, signed_out, ... (backend/src/audit.rs).
-- detail: a short class or name (sign-in method, failure reason, provider), never a secret.
-- ip, user_agent (the summary people read), session_id (the sign-in the event happened in,
-- or that it ended) and request_id (X-Request-Id, to find the log lines).
CREATE TABLE audit_events (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT  NOT NULL,
    user_id    BIGINT,
    kind       TEXT    NOT NULL,
    detail     TEXT,
    ip         TEXT,
    user_agent TEXT,
    session_id TEXT,
    request_id TEXT
);
CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_at ON audit_events (at);
