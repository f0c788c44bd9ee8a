DROP TABLE upstream_credentials;
DROP INDEX api_resources_credential_provider_idx;
ALTER TABLE api_resources DROP COLUMN credential_provider_id;
DROP TABLE credential_providers;
