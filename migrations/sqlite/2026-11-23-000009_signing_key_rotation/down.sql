ALTER TABLE signing_keys DROP COLUMN verify_until;
