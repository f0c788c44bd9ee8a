-- Signing key rotation (`provisioning keys rotate`): empty while the key signs; once retired,
-- when the last token it can have signed expires, and the key stops verifying and leaves the
-- JWKS (src/auth/keys.rs).
ALTER TABLE signing_keys ADD COLUMN verify_until TIMESTAMP;
