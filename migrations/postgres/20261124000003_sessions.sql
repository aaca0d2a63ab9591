-- Browser sessions (tower-sessions records). `data` is the session's JSON map; the id is
-- the cookie's value, so only its owner can name a row.
CREATE TABLE sessions (
    id         TEXT   PRIMARY KEY,
    data       TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
