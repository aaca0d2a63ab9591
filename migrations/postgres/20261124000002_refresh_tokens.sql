-- Sign-in sessions ("families") and their refresh tokens. Times are Unix seconds, the
-- same unit as the JWT claims they mirror, on both engines.
CREATE TABLE token_families (
    -- The `sid` claim of every token issued for this sign-in.
    id             TEXT    PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     BIGINT  NOT NULL,
    -- Absolute lifetime: no refresh, however recent, extends a sign-in past this.
    expires_at     BIGINT  NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX token_families_user_id ON token_families (user_id);
-- Instances poll this to keep their in-memory revocation sets current.
CREATE INDEX token_families_revoked_at ON token_families (revoked_at);

CREATE TABLE refresh_tokens (
    -- SHA-256 of the token's jti: a database leak yields no usable refresh token.
    jti_hash      TEXT   PRIMARY KEY,
    family_id     TEXT   NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    -- Set when the token is exchanged. A replay shortly after gets the same successor
    -- (racing tabs), a later one revokes the family (a stolen token). The successor's jti
    -- alone cannot be turned into a token without the signing key.
    rotated_at    BIGINT,
    successor_jti TEXT
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);
