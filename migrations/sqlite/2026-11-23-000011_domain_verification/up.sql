-- Why an identity provider's last domain check failed (status `error`), as people read it:
-- the domain and what its TXT records said instead.
ALTER TABLE identity_providers ADD COLUMN verification_error TEXT;
