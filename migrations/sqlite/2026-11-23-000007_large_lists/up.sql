-- Lists of many API credentials (issue 12): the same B-tree indexes as on PostgreSQL, for the
-- default order and cursors (created_at, id), updated_at, name, reference, reference_origin
-- and mode. SQLite has no trigram or JSON index: `cont` and `jcont` filters read the caller's
-- rows (PostgreSQL is the backend for lists of millions).
CREATE INDEX api_credentials_created_at_idx ON api_credentials (created_at, id);
CREATE INDEX api_credentials_updated_at_idx ON api_credentials (updated_at, id);
CREATE INDEX api_credentials_name_idx ON api_credentials (name, id);
CREATE INDEX api_credentials_reference_idx ON api_credentials (reference, id);
CREATE INDEX api_credentials_reference_origin_idx ON api_credentials (reference_origin, id);
CREATE INDEX api_credentials_mode_idx ON api_credentials (mode, id);
