DROP TABLE used_assertions;
DROP TABLE application_memberships;
DROP TABLE api_credentials;
