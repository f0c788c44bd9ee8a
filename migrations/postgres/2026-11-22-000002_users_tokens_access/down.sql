DROP TABLE versions;
DROP TABLE memberships;
DROP TABLE membership_profiles;
DROP TABLE permissions;
DROP TABLE roles;
DROP TABLE revoked_tokens;
DROP TABLE signing_keys;
DROP TABLE users;
