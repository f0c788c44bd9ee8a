-- OAuth clients of organizations. Secrets only as argon2id PHC strings: the current one, and
-- during a rotation's grace period the previous one. `secret_version` counts rotations, so a
-- token knows which secret it was granted under.
CREATE TABLE api_credentials (
    id                                TEXT PRIMARY KEY NOT NULL,
    organization_id                   TEXT NOT NULL REFERENCES organizations (id),
    role_id                           TEXT REFERENCES roles (id),
    name                              TEXT NOT NULL,
    kind                              TEXT NOT NULL,
    redirect_uri                      TEXT,
    expires_in                        BIGINT NOT NULL,
    mode                              TEXT NOT NULL,
    custom                            BOOLEAN NOT NULL DEFAULT FALSE,
    auth_method                       TEXT NOT NULL,
    public_key                        TEXT,
    confidential                      BOOLEAN NOT NULL,
    scopes                            TEXT NOT NULL DEFAULT '',
    client_id                         TEXT NOT NULL,
    client_secret_hash                TEXT,
    secret_version                    BIGINT NOT NULL DEFAULT 1,
    client_secret_expires_at          TIMESTAMP(3),
    previous_secret_hash              TEXT,
    client_secret_previous_expires_at TIMESTAMP(3),
    reference                         TEXT,
    reference_origin                  TEXT,
    metadata                          TEXT NOT NULL DEFAULT '{}',
    created_at                        TIMESTAMP(3) NOT NULL,
    updated_at                        TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX api_credentials_client_id_key ON api_credentials (client_id);
CREATE INDEX api_credentials_organization_idx ON api_credentials (organization_id, created_at, id);
CREATE INDEX api_credentials_role_idx ON api_credentials (role_id);

CREATE TABLE application_memberships (
    id                    TEXT PRIMARY KEY NOT NULL,
    organization_id       TEXT NOT NULL REFERENCES organizations (id),
    api_credential_id     TEXT NOT NULL REFERENCES api_credentials (id) ON DELETE CASCADE,
    role_id               TEXT NOT NULL REFERENCES roles (id),
    membership_id         TEXT REFERENCES memberships (id) ON DELETE CASCADE,
    membership_profile_id TEXT REFERENCES membership_profiles (id) ON DELETE CASCADE,
    filters               TEXT NOT NULL DEFAULT '{}',
    reference             TEXT,
    reference_origin      TEXT,
    metadata              TEXT NOT NULL DEFAULT '{}',
    created_at            TIMESTAMP(3) NOT NULL,
    updated_at            TIMESTAMP(3) NOT NULL
);
CREATE INDEX application_memberships_organization_idx ON application_memberships (organization_id, created_at, id);
CREATE INDEX application_memberships_credential_idx ON application_memberships (api_credential_id);
CREATE INDEX application_memberships_membership_idx ON application_memberships (membership_id);
CREATE INDEX application_memberships_profile_idx ON application_memberships (membership_profile_id);

-- Client assertions (RFC 7523) already used, by jti, until they expire: each is good once.
CREATE TABLE used_assertions (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP(3) NOT NULL
);
