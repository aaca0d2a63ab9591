-- Browser sessions are stored under SHA-256 (hex) of their id, never the id itself, and
-- their data (which holds the browser's refresh token) sealed under a key derived from the
-- id: the cookie is the only place the id exists, so a copy of this table (a backup, a
-- replica, a dump) opens no session. Existing rows cannot be sealed in SQL, so existing
-- sessions end here: their token families are revoked (the tokens their pages held stop
-- working) and the rows deleted; those browsers sign in again.
UPDATE token_families
   SET revoked_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT),
       revoked_reason = 'browser sessions re-keyed'
 WHERE revoked_at IS NULL
   AND id IN (SELECT (data::json) -> 'auth' ->> 'sid' FROM sessions);
DELETE FROM sessions;
ALTER TABLE sessions RENAME COLUMN id TO id_hash;
