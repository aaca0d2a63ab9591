-- Browser sessions are stored under SHA-256 (hex) of their id, never the id itself: the
-- cookie is the only place the id exists, so a copy of this table (a backup, a replica, a
-- dump) names no session anyone could present. Existing rows are re-keyed in place, so
-- nobody is signed out.
ALTER TABLE sessions RENAME COLUMN id TO id_hash;
UPDATE sessions SET id_hash = encode(sha256(convert_to(id_hash, 'UTF8')), 'hex');
