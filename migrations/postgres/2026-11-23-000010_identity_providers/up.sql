-- An organization's upstream OpenID Connect providers, for single sign-on (Commerce Layer's
-- identity_providers). `organization` is the organization's id (the attribute of that name);
-- the client secret is sealed under the master key (src/domain/sealed.rs), never in clear.
CREATE TABLE identity_providers (
    id                   TEXT PRIMARY KEY NOT NULL,
    organization         TEXT NOT NULL REFERENCES organizations (id),
    user_id              TEXT REFERENCES users (id) ON DELETE SET NULL,
    name                 TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed TEXT NOT NULL,
    issuer               TEXT NOT NULL,
    domains              TEXT NOT NULL,
    authorize_url        TEXT NOT NULL,
    token_url            TEXT NOT NULL,
    jwks_url             TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'pending',
    txt_record           TEXT NOT NULL,
    disabled_at          TIMESTAMP(3),
    reference            TEXT,
    reference_origin     TEXT,
    metadata             TEXT NOT NULL DEFAULT '{}',
    created_at           TIMESTAMP(3) NOT NULL,
    updated_at           TIMESTAMP(3) NOT NULL
);
CREATE INDEX identity_providers_organization_idx ON identity_providers (organization, created_at, id);
