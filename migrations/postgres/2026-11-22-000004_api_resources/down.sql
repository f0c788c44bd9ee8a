DROP TABLE api_credential_scopes;
DROP TABLE api_scopes;
DROP TABLE api_resources;
