-- Sign-ins through an identity provider (OpenID Connect, authorization code with PKCE), from
-- /oauth/authorize to the code the client exchanges at /oauth/token. `id` is the state sent
-- upstream; the PKCE verifier sent upstream is sealed under the master key; the code we hand the
-- client is kept as its SHA-256 only. A row is good for ten minutes, its code for one, once.
CREATE TABLE sso_logins (
    id                       TEXT PRIMARY KEY NOT NULL,
    identity_provider_id     TEXT NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    api_credential_id        TEXT NOT NULL REFERENCES api_credentials (id) ON DELETE CASCADE,
    redirect_uri             TEXT NOT NULL,
    client_state             TEXT,
    code_challenge           TEXT NOT NULL,
    nonce                    TEXT NOT NULL,
    upstream_verifier_sealed TEXT NOT NULL,
    created_at               TIMESTAMP NOT NULL,
    expires_at               TIMESTAMP NOT NULL,
    returned_at              TIMESTAMP,
    user_id                  TEXT REFERENCES users (id) ON DELETE CASCADE,
    code_hash                TEXT,
    code_expires_at          TIMESTAMP,
    code_used_at             TIMESTAMP
);
CREATE UNIQUE INDEX sso_logins_code_key ON sso_logins (code_hash);
CREATE INDEX sso_logins_expiry_idx ON sso_logins (expires_at);
