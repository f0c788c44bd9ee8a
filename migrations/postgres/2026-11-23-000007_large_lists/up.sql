-- Lists of a million API credentials (issue 12): an index for every filter and sort the API
-- allows on them, so a page costs about what it costs on a thousand.
--
-- Served by an index:
--   the default order and cursors, created_at filters and sorts: (created_at, id)
--   updated_at filters and sorts:                               (updated_at, id)
--   organization_id (every caller's scope), role_id, client_id: earlier migrations
--   name eq/in/start/lt/gt:                                      (name, id)
--   name cont/start/end/matches/…, case-insensitive:             trigram GIN on lower(name)
--   redirect_uri (eq, cont…):                                    trigram GIN on lower(redirect_uri)
--   reference, reference_origin (filters and sorts):             (column, id)
--   mode (filters and sorts):                                    (mode, id)
--   metadata_jcont:                                              GIN on metadata as jsonb
-- Not indexed, on purpose: kind, auth_method, scopes, expires_in, custom, confidential hold a
-- handful of values each; within a caller's organizations an index would not narrow them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX api_credentials_created_at_idx ON api_credentials (created_at, id);
CREATE INDEX api_credentials_updated_at_idx ON api_credentials (updated_at, id);
CREATE INDEX api_credentials_name_idx ON api_credentials (name, id);
CREATE INDEX api_credentials_name_trgm_idx ON api_credentials USING gin (lower(name) gin_trgm_ops);
CREATE INDEX api_credentials_redirect_uri_trgm_idx ON api_credentials USING gin (lower(redirect_uri) gin_trgm_ops);
CREATE INDEX api_credentials_reference_idx ON api_credentials (reference, id);
CREATE INDEX api_credentials_reference_origin_idx ON api_credentials (reference_origin, id);
CREATE INDEX api_credentials_mode_idx ON api_credentials (mode, id);
CREATE INDEX api_credentials_metadata_idx ON api_credentials USING gin (CAST(metadata AS jsonb));
-- Grants by credential are the primary key; by scope, an earlier migration.
