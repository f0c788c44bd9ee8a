//! Rules of roles, permissions, memberships and membership profiles.

use crate::domain::{parse_email, parse_text, Reader};
use crate::error::Invalid;
use crate::jsonapi::document::Given;

/// The resource types a permission can name: every type this service serves.
pub const SUBJECTS: &[&str] = &[
    "organizations",
    "roles",
    "permissions",
    "memberships",
    "membership_profiles",
    "versions",
    "api_credentials",
    "application_memberships",
    "api_resources",
    "api_scopes",
];

pub const ACCESS_SCOPES: &[&str] = &["live_access", "test_access", "all_access"];

/// What a role kind is granted on every subject by its base permissions:
/// (create, read, update, destroy).
pub fn base_grants(kind: &str) -> (bool, bool, bool, bool) {
    match kind {
        "admin" => (true, true, true, true),
        "read_only" => (false, true, false, false),
        // A custom role starts with nothing; an admin grants what it needs.
        _ => (false, false, false, false),
    }
}

pub fn parse_role_name(value: &str) -> Result<String, String> {
    parse_text(value, 100)
}

pub fn parse_subject(value: &str) -> Result<String, String> {
    if SUBJECTS.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("must be one of {}", SUBJECTS.join(", ")))
    }
}

pub fn parse_access_scope(value: &str) -> Result<String, String> {
    if ACCESS_SCOPES.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("must be one of {}", ACCESS_SCOPES.join(", ")))
    }
}

/// `test_enabled` reflects the access scope.
pub fn test_enabled(access_scope: &str) -> bool {
    access_scope != "live_access"
}

pub fn parse_member_email(value: &str) -> Result<String, String> {
    parse_email(value).map(|e| e.to_lowercase())
}

/// The four `can_*` flags of a permission document.
pub struct Grants {
    pub can_create: Given<bool>,
    pub can_read: Given<bool>,
    pub can_update: Given<bool>,
    pub can_destroy: Given<bool>,
}

impl Grants {
    pub fn read(reader: &mut Reader) -> Grants {
        let mut flag = |name: &str| {
            let given = reader.boolean(name);
            if given == Given::Null {
                reader.errors.push(Invalid::attribute(name, format!("{name} cannot be null.")));
            }
            given
        };
        Grants {
            can_create: flag("can_create"),
            can_read: flag("can_read"),
            can_update: flag("can_update"),
            can_destroy: flag("can_destroy"),
        }
    }
}

/// Reads one required, non-null string attribute through `rule`.
pub fn required(reader: &mut Reader, name: &str, rule: impl FnOnce(&str) -> Result<String, String>) -> Option<String> {
    let given = reader.string(name, rule);
    reader.not_null(name, given)
}
