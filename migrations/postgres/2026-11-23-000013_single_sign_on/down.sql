DROP TABLE sso_logins;
