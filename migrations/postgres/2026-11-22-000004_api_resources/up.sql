-- APIs an organization protects, named by an identifier URI, with their scopes; and which
-- scopes each API credential may request.
CREATE TABLE api_resources (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    application_id   TEXT REFERENCES api_credentials (id) ON DELETE SET NULL,
    name             TEXT NOT NULL,
    identifier       TEXT NOT NULL,
    description      TEXT,
    access_token_ttl BIGINT NOT NULL,
    prefix           BOOLEAN NOT NULL DEFAULT FALSE,
    is_default       BOOLEAN NOT NULL DEFAULT FALSE,
    reference        TEXT,
    reference_origin TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP(3) NOT NULL,
    updated_at       TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX api_resources_identifier_key ON api_resources (organization_id, identifier);
CREATE INDEX api_resources_organization_idx ON api_resources (organization_id, created_at, id);

CREATE TABLE api_scopes (
    id               TEXT PRIMARY KEY NOT NULL,
    organization_id  TEXT NOT NULL REFERENCES organizations (id),
    api_resource_id  TEXT NOT NULL REFERENCES api_resources (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT,
    reference        TEXT,
    reference_origin TEXT,
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TIMESTAMP(3) NOT NULL,
    updated_at       TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX api_scopes_name_key ON api_scopes (api_resource_id, name);
CREATE INDEX api_scopes_organization_idx ON api_scopes (organization_id, created_at, id);

CREATE TABLE api_credential_scopes (
    api_credential_id TEXT NOT NULL REFERENCES api_credentials (id) ON DELETE CASCADE,
    api_scope_id      TEXT NOT NULL REFERENCES api_scopes (id) ON DELETE CASCADE,
    created_at        TIMESTAMP(3) NOT NULL,
    PRIMARY KEY (api_credential_id, api_scope_id)
);
CREATE INDEX api_credential_scopes_scope_idx ON api_credential_scopes (api_scope_id);
