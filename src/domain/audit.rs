//! The audit trail: a version for every create, update, destroy and custom action, with who
//! made it, from where, and what changed. Changes are diffed on the typed rows (column names,
//! stored values), so renaming a wire attribute never rewrites history; secret columns never
//! serialize.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::db::statements::{insert_version, NewVersion};
use crate::db::AnyConnection;
use crate::error::ApiError;

/// Who made a change, from where: what every version records.
#[derive(Debug, Clone)]
pub struct Audit {
    pub user_id: String,
    pub email: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

/// Columns that change on every write: a version does not repeat them.
const UNVERSIONED: &[&str] = &["created_at", "updated_at"];

fn columns(row: Option<&impl Serialize>) -> Result<Map<String, Value>, ApiError> {
    match row.map(serde_json::to_value).transpose() {
        Ok(Some(Value::Object(map))) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(error) => {
            Err(ApiError::Internal { context: "serializing a row for its version", source: Some(error.into()) })
        }
    }
}

/// `{"column": [before, after]}` for every column that differs.
pub fn changes<R: Serialize>(before: Option<&R>, after: Option<&R>) -> Result<Map<String, Value>, ApiError> {
    let (old, new) = (columns(before)?, columns(after)?);
    let mut changes = Map::new();
    for key in new.keys().chain(old.keys().filter(|k| !new.contains_key(*k))) {
        if UNVERSIONED.contains(&key.as_str()) {
            continue;
        }
        let (a, b) = (old.get(key).unwrap_or(&Value::Null), new.get(key).unwrap_or(&Value::Null));
        if a != b {
            changes.insert(key.clone(), json!([a, b]));
        }
    }
    Ok(changes)
}

/// What one version says.
pub struct Event<'a> {
    pub resource_type: &'static str,
    pub resource_id: &'a str,
    pub organization_id: &'a str,
    pub name: &'a str,
    pub changes: Map<String, Value>,
}

pub fn record(conn: &mut AnyConnection, audit: &Audit, event: Event) -> Result<(), ApiError> {
    let now = crate::domain::now();
    let id = crate::domain::new_id();
    let changes = Value::Object(event.changes).to_string();
    let who = json!({"user": {"id": audit.user_id, "email": audit.email}}).to_string();
    insert_version(
        conn,
        &NewVersion {
            id: &id,
            organization_id: event.organization_id,
            resource_type: event.resource_type,
            resource_id: event.resource_id,
            event: event.name,
            changes: &changes,
            who: &who,
            ip_address: audit.ip_address.as_deref(),
            user_agent: audit.user_agent.as_deref(),
            uuid: Some(&audit.request_id),
            metadata: "{}",
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        name: &'static str,
        #[serde(skip)]
        _secret: &'static str,
        updated_at: u32,
    }

    #[test]
    fn diffs_columns_not_secrets_nor_timestamps() {
        let before = Row { name: "Support", _secret: "a", updated_at: 1 };
        let after = Row { name: "Helpdesk", _secret: "b", updated_at: 2 };
        assert_eq!(
            Value::Object(changes(Some(&before), Some(&after)).unwrap()),
            json!({"name": ["Support", "Helpdesk"]})
        );
        assert_eq!(Value::Object(changes(Some(&before), None::<&Row>).unwrap()), json!({"name": ["Support", null]}));
        assert!(changes(Some(&before), Some(&before)).unwrap().is_empty());
    }
}
