-- The signing key's private half, sealed under the master key (src/domain/sealed.rs). Keys
-- stored in clear before are sealed on the next start, and private_key_pem emptied.
ALTER TABLE signing_keys ADD COLUMN private_key_sealed TEXT;
