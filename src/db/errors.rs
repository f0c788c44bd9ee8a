//! Database failures as API errors: a lost connection or a busy lock is 503 (retry), a unique
//! violation is 409 naming the attribute (never the constraint's text), anything else a 500
//! that keeps the database's error as its source for the log.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};

use crate::error::{ApiError, Source};

/// Unique indexes, by name, and the attribute each protects (PostgreSQL names the index; SQLite
/// names it for expression indexes and lists the columns otherwise).
const UNIQUE_INDEXES: &[(&str, &str)] = &[
    ("organizations_slug_key", "slug"),
    ("organizations_domain_key", "domain"),
    ("users_email_key", "email"),
    ("users_client_id_key", "client_id"),
    ("permissions_role_subject_key", "subject"),
    ("memberships_organization_email_key", "user_email"),
    ("api_credentials_client_id_key", "client_id"),
    ("api_resources_identifier_key", "identifier"),
    ("api_scopes_name_key", "name"),
];

fn unique_attribute(info: &dyn DatabaseErrorInformation) -> Option<&'static str> {
    if let Some(name) = info.constraint_name() {
        return UNIQUE_INDEXES.iter().find(|(index, _)| *index == name).map(|(_, attribute)| *attribute);
    }
    // SQLite: "UNIQUE constraint failed: index 'users_email_key'" or "…: t.a, t.b".
    let message = info.message();
    if let Some((_, attribute)) = UNIQUE_INDEXES.iter().find(|(index, _)| message.contains(index)) {
        return Some(attribute);
    }
    let last = message.rsplit([',', ' ']).next()?.rsplit('.').next()?;
    UNIQUE_INDEXES.iter().map(|(_, attribute)| *attribute).find(|attribute| *attribute == last)
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound => ApiError::NotFound("The record was not found.".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let attribute = unique_attribute(info.as_ref());
                ApiError::Conflict {
                    detail: match attribute {
                        Some(name) => format!("Another record already has this {name}."),
                        None => "Another record already has one of these unique values.".into(),
                    },
                    location: attribute.map(Source::attribute).unwrap_or(Source::None),
                }
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => ApiError::Unavailable(error.into()),
            // SQLite's lock stayed busy past busy_timeout: the client may retry.
            Error::DatabaseError(_, ref info) if info.message().contains("database is locked") => {
                ApiError::Unavailable(error.into())
            }
            other => ApiError::Internal { context: "database", source: Some(other.into()) },
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(error: r2d2::Error) -> Self {
        ApiError::Unavailable(error.into())
    }
}
