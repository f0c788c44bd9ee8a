ALTER TABLE users DROP COLUMN email_code_expires_at;
ALTER TABLE users DROP COLUMN email_code_hash;
ALTER TABLE users DROP COLUMN unconfirmed_email;
