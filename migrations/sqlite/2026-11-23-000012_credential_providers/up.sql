-- An organization's upstream OAuth 2.0 / OpenID authorization servers (Keycard's credential
-- providers): they issue the credentials a client needs to call one of its API resources.
-- The client secret is sealed under the master key (src/domain/sealed.rs), never in clear.
CREATE TABLE credential_providers (
    id                                  TEXT PRIMARY KEY NOT NULL,
    organization_id                     TEXT NOT NULL REFERENCES organizations (id),
    identifier                          TEXT NOT NULL,
    name                                TEXT NOT NULL,
    description                         TEXT,
    client_id                           TEXT NOT NULL,
    client_secret_sealed                TEXT,
    issuer                              TEXT,
    authorization_endpoint              TEXT,
    token_endpoint                      TEXT NOT NULL,
    jwks_uri                            TEXT,
    scopes_supported                    TEXT NOT NULL DEFAULT '[]',
    scope_separator                     TEXT NOT NULL DEFAULT ' ',
    token_response_access_token_pointer TEXT NOT NULL DEFAULT '/access_token',
    token_exchange                      BOOLEAN NOT NULL DEFAULT FALSE,
    reference                           TEXT,
    reference_origin                    TEXT,
    metadata                            TEXT NOT NULL DEFAULT '{}',
    created_at                          TIMESTAMP NOT NULL,
    updated_at                          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX credential_providers_identifier_key ON credential_providers (organization_id, identifier);
CREATE INDEX credential_providers_organization_idx ON credential_providers (organization_id, created_at, id);

-- The provider whose credential a token for the resource carries (upstream_access_token).
ALTER TABLE api_resources ADD COLUMN credential_provider_id TEXT REFERENCES credential_providers (id);
CREATE INDEX api_resources_credential_provider_idx ON api_resources (credential_provider_id);

-- Upstream credentials, sealed, kept until shortly before they expire. `id` is what they were
-- obtained for: the provider, the client (token exchange only: its own token was exchanged)
-- and the scope.
CREATE TABLE upstream_credentials (
    id                     TEXT PRIMARY KEY NOT NULL,
    credential_provider_id TEXT NOT NULL REFERENCES credential_providers (id) ON DELETE CASCADE,
    access_token_sealed    TEXT NOT NULL,
    expires_at             TIMESTAMP NOT NULL
);
CREATE INDEX upstream_credentials_provider_idx ON upstream_credentials (credential_provider_id);
