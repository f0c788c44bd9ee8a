-- Users and their personal provisioning credential (the secret only as an argon2id PHC string).
CREATE TABLE users (
    id                     TEXT PRIMARY KEY NOT NULL,
    email                  TEXT NOT NULL,
    first_name             TEXT NOT NULL,
    last_name              TEXT NOT NULL,
    time_zone              TEXT,
    otp_required_for_login BOOLEAN NOT NULL DEFAULT FALSE,
    client_id              TEXT NOT NULL,
    client_secret_hash     TEXT NOT NULL,
    reference              TEXT,
    reference_origin       TEXT,
    metadata               TEXT NOT NULL DEFAULT '{}',
    created_at             TIMESTAMP(3) NOT NULL,
    updated_at             TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_client_id_key ON users (client_id);

-- Token signing keys, shared by every instance on this database.
CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    algorithm       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    public_n        TEXT NOT NULL,
    public_e        TEXT NOT NULL,
    created_at      TIMESTAMP(3) NOT NULL
);

-- Revoked access tokens, by jti, kept until they would have expired anyway.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP(3) NOT NULL,
    revoked_at TIMESTAMP(3) NOT NULL
);

CREATE TABLE roles (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    reference        TEXT,
    reference_origin TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP(3) NOT NULL,
    updated_at       TIMESTAMP(3) NOT NULL
);
CREATE INDEX roles_organization_idx ON roles (organization_id, created_at, id);

CREATE TABLE permissions (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    role_id          TEXT NOT NULL REFERENCES roles (id),
    subject          TEXT NOT NULL,
    can_create       BOOLEAN NOT NULL,
    can_read         BOOLEAN NOT NULL,
    can_update       BOOLEAN NOT NULL,
    can_destroy      BOOLEAN NOT NULL,
    restrictions     TEXT NOT NULL DEFAULT '{}',
    reference        TEXT,
    reference_origin TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP(3) NOT NULL,
    updated_at       TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX permissions_role_subject_key ON permissions (role_id, subject);
CREATE INDEX permissions_organization_idx ON permissions (organization_id, created_at, id);

CREATE TABLE membership_profiles (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    name             TEXT NOT NULL,
    access_scope     TEXT NOT NULL,
    test_enabled     BOOLEAN NOT NULL,
    reference        TEXT,
    reference_origin TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP(3) NOT NULL,
    updated_at       TIMESTAMP(3) NOT NULL
);
CREATE INDEX membership_profiles_organization_idx ON membership_profiles (organization_id, created_at, id);

CREATE TABLE memberships (
    id                    TEXT PRIMARY KEY NOT NULL,
    organization_id       TEXT NOT NULL REFERENCES organizations (id),
    role_id               TEXT NOT NULL REFERENCES roles (id),
    membership_profile_id TEXT REFERENCES membership_profiles (id) ON DELETE SET NULL,
    user_id               TEXT REFERENCES users (id),
    user_email            TEXT NOT NULL,
    user_first_name       TEXT,
    user_last_name        TEXT,
    status                TEXT NOT NULL,
    owner                 BOOLEAN NOT NULL DEFAULT FALSE,
    access_scope          TEXT NOT NULL,
    test_enabled          BOOLEAN NOT NULL,
    invited_at            TIMESTAMP(3),
    reference             TEXT,
    reference_origin      TEXT,
    metadata              TEXT NOT NULL DEFAULT '{}',
    created_at            TIMESTAMP(3) NOT NULL,
    updated_at            TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX memberships_organization_email_key ON memberships (organization_id, lower(user_email));
CREATE INDEX memberships_user_idx ON memberships (user_id, status, organization_id);
CREATE INDEX memberships_role_idx ON memberships (role_id);
CREATE INDEX memberships_organization_idx ON memberships (organization_id, created_at, id);

-- An audit trail: one row per create, update and destroy of versioned resources.
CREATE TABLE versions (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    resource_type    TEXT NOT NULL,
    resource_id      TEXT NOT NULL,
    event            TEXT NOT NULL,
    changes          TEXT NOT NULL,
    who              TEXT NOT NULL,
    ip_address       TEXT,
    user_agent       TEXT,
    uuid             TEXT,
    reference        TEXT,
    reference_origin TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP(3) NOT NULL,
    updated_at       TIMESTAMP(3) NOT NULL
);
CREATE INDEX versions_resource_idx ON versions (resource_type, resource_id, created_at);
CREATE INDEX versions_organization_idx ON versions (organization_id, created_at, id);
