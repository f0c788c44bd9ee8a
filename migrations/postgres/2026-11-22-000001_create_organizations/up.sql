-- Timestamps are diesel `Timestamp` (timestamp(3) on PostgreSQL); JSON objects are text on both backends.
CREATE TABLE organizations (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,
    slug              TEXT NOT NULL,
    domain            TEXT NOT NULL,
    support_phone     TEXT,
    support_email     TEXT,
    logo_url          TEXT,
    favicon_url       TEXT,
    primary_color     TEXT,
    contrast_color    TEXT,
    gtm_id            TEXT,
    gtm_id_test       TEXT,
    region            TEXT NOT NULL,
    can_switch_live   BOOLEAN NOT NULL DEFAULT FALSE,
    subscription_info TEXT,
    config            TEXT,
    reference         TEXT,
    reference_origin  TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}',
    created_at        TIMESTAMP(3) NOT NULL,
    updated_at        TIMESTAMP(3) NOT NULL
);
CREATE UNIQUE INDEX organizations_slug_key ON organizations (slug);
CREATE UNIQUE INDEX organizations_domain_key ON organizations (domain);
CREATE INDEX organizations_created_at_idx ON organizations (created_at, id);
