ALTER TABLE identity_providers DROP COLUMN verification_error;
