-- An email change waits here until the user sends back the code mailed to the new address:
-- users.email is always an address its user has shown they receive mail at (or the one the
-- operator gave on the command line). The code is stored hashed, single use, with an expiry.
ALTER TABLE users ADD COLUMN unconfirmed_email TEXT;
ALTER TABLE users ADD COLUMN email_code_hash TEXT;
ALTER TABLE users ADD COLUMN email_code_expires_at TIMESTAMP(3);
