-- Bumped by every write that changes what a user may do (memberships, their roles'
-- permissions), so instances can keep a user's grants in memory and still see a change at once.
ALTER TABLE users ADD COLUMN grants_version BIGINT NOT NULL DEFAULT 0;
