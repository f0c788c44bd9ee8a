ALTER TABLE users DROP COLUMN grants_version;
