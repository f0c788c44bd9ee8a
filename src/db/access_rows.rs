//! Rows of roles, permissions, memberships, membership profiles and versions, and the writes
//! their handlers share.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Map, Value};

use crate::db::resources::ResourceType;
use crate::db::schema::{membership_profiles, memberships, permissions, roles, versions};
use crate::db::sql::Select;
use crate::db::AnyConnection;
use crate::jsonapi::spec::ResourceSpec;
use crate::views::{roles as view, ResourceObject};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = roles)]
pub struct Role {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub kind: String,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = permissions)]
pub struct Permission {
    pub id: String,
    pub organization_id: String,
    pub role_id: String,
    pub subject: String,
    pub can_create: bool,
    pub can_read: bool,
    pub can_update: bool,
    pub can_destroy: bool,
    pub restrictions: String,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub id: String,
    pub organization_id: String,
    pub role_id: String,
    pub membership_profile_id: Option<String>,
    pub user_id: Option<String>,
    pub user_email: String,
    pub user_first_name: Option<String>,
    pub user_last_name: Option<String>,
    pub status: String,
    pub owner: bool,
    pub access_scope: String,
    pub test_enabled: bool,
    pub invited_at: Option<NaiveDateTime>,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = membership_profiles)]
pub struct MembershipProfile {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub access_scope: String,
    pub test_enabled: bool,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = versions)]
pub struct Version {
    pub id: String,
    pub organization_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub event: String,
    pub changes: String,
    pub who: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub uuid: Option<String>,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

macro_rules! resource_type {
    ($name:ident, $row:ty, $spec:expr, $render:path) => {
        pub struct $name;

        impl ResourceType for $name {
            fn spec(&self) -> &'static ResourceSpec {
                &$spec
            }

            fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
                Ok(select.rows().load::<$row>(conn)?.into_iter().map($render).collect())
            }
        }
    };
}

resource_type!(Roles, Role, view::ROLES, view::render_role);
resource_type!(Permissions, Permission, view::PERMISSIONS, view::render_permission);
resource_type!(Memberships, Membership, view::MEMBERSHIPS, view::render_membership);
resource_type!(MembershipProfiles, MembershipProfile, view::MEMBERSHIP_PROFILES, view::render_membership_profile);
resource_type!(Versions, Version, view::VERSIONS, view::render_version);

/// Who made a change, from where: what every version records.
#[derive(Debug, Clone)]
pub struct Audit {
    pub user_id: String,
    pub email: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

/// Attributes that never go into a version: they change on every write, or are secret.
const UNVERSIONED: &[&str] = &["created_at", "updated_at", "client_secret", "client_secret_hash"];

/// `{"name": ["before", "after"]}` for every attribute and relationship id that differs.
pub fn changes(before: Option<&ResourceObject>, after: Option<&ResourceObject>) -> Map<String, Value> {
    let mut changes = Map::new();
    let empty = Map::new();
    let attributes = |o: Option<&ResourceObject>| o.map(|o| &o.attributes).unwrap_or(&empty).clone();
    let (old, new) = (attributes(before), attributes(after));
    let keys: Vec<&String> = new.keys().chain(old.keys().filter(|k| !new.contains_key(*k))).collect();
    for key in keys {
        if UNVERSIONED.contains(&key.as_str()) {
            continue;
        }
        let (a, b) = (old.get(key).cloned().unwrap_or(Value::Null), new.get(key).cloned().unwrap_or(Value::Null));
        if a != b {
            changes.insert(key.clone(), json!([a, b]));
        }
    }
    let foreign_keys = |o: Option<&ResourceObject>| o.map(|o| o.foreign_keys.clone()).unwrap_or_default();
    let (old_keys, new_keys) = (foreign_keys(before), foreign_keys(after));
    let columns: Vec<&str> = new_keys.iter().chain(old_keys.iter()).map(|(c, _)| *c).collect();
    for column in columns {
        if changes.contains_key(column) {
            continue;
        }
        let find =
            |keys: &[(&str, Option<String>)]| keys.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.clone());
        let (a, b) = (find(&old_keys), find(&new_keys));
        if a != b {
            changes.insert(column.to_string(), json!([a, b]));
        }
    }
    changes
}

/// Writes one version of `resource` (the state after the event, or before a destroy).
pub fn record(
    conn: &mut AnyConnection,
    audit: &Audit,
    event: &str,
    before: Option<&ResourceObject>,
    after: Option<&ResourceObject>,
) -> QueryResult<()> {
    let Some(subject) = after.or(before) else { return Ok(()) };
    let organization_id = subject.foreign_key_value("organization_id").unwrap_or_default().to_string();
    let now = crate::domain::now();
    let version = Version {
        id: crate::domain::new_id(),
        organization_id,
        resource_type: subject.type_name().to_string(),
        resource_id: subject.id.clone(),
        event: event.to_string(),
        changes: Value::Object(changes(before, after)).to_string(),
        who: json!({"user": {"id": audit.user_id, "email": audit.email}}).to_string(),
        ip_address: audit.ip_address.clone(),
        user_agent: audit.user_agent.clone(),
        uuid: Some(audit.request_id.clone()),
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(versions::table).values(&version).execute(conn)?;
    Ok(())
}

fn common_now() -> (NaiveDateTime, String) {
    (crate::domain::now(), "{}".to_string())
}

pub fn find_role(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Role>> {
    roles::table.find(id).select(Role::as_select()).first(conn).optional()
}

pub fn find_membership(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Membership>> {
    memberships::table.find(id).select(Membership::as_select()).first(conn).optional()
}

pub fn find_profile(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<MembershipProfile>> {
    membership_profiles::table.find(id).select(MembershipProfile::as_select()).first(conn).optional()
}

pub fn find_permission(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Permission>> {
    permissions::table.find(id).select(Permission::as_select()).first(conn).optional()
}

pub fn new_role(organization_id: &str, name: &str, kind: &str) -> Role {
    let (now, metadata) = common_now();
    Role {
        id: crate::domain::new_id(),
        organization_id: organization_id.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
        reference: None,
        reference_origin: None,
        metadata,
        created_at: now,
        updated_at: now,
    }
}

pub fn insert_role(conn: &mut AnyConnection, role: &Role) -> QueryResult<()> {
    diesel::insert_into(roles::table).values(role).execute(conn).map(|_| ())
}

pub fn new_permission(role: &Role, subject: &str, grants: (bool, bool, bool, bool)) -> Permission {
    let (now, metadata) = common_now();
    Permission {
        id: crate::domain::new_id(),
        organization_id: role.organization_id.clone(),
        role_id: role.id.clone(),
        subject: subject.to_string(),
        can_create: grants.0,
        can_read: grants.1,
        can_update: grants.2,
        can_destroy: grants.3,
        restrictions: "{}".into(),
        reference: None,
        reference_origin: None,
        metadata,
        created_at: now,
        updated_at: now,
    }
}

pub fn insert_permission(conn: &mut AnyConnection, permission: &Permission) -> QueryResult<()> {
    diesel::insert_into(permissions::table).values(permission).execute(conn).map(|_| ())
}

/// Adds the base permissions `role` lacks, one per subject; returns the new ones.
pub fn add_missing_base_permissions(conn: &mut AnyConnection, role: &Role) -> QueryResult<Vec<Permission>> {
    let existing: Vec<String> =
        permissions::table.filter(permissions::role_id.eq(&role.id)).select(permissions::subject).load(conn)?;
    let mut added = Vec::new();
    for subject in crate::domain::members::SUBJECTS.iter().filter(|s| !existing.iter().any(|e| e == *s)) {
        let permission = new_permission(role, subject, crate::domain::members::base_grants(&role.kind));
        insert_permission(conn, &permission)?;
        added.push(permission);
    }
    Ok(added)
}

pub fn insert_membership(conn: &mut AnyConnection, membership: &Membership) -> QueryResult<()> {
    diesel::insert_into(memberships::table).values(membership).execute(conn).map(|_| ())
}

pub fn insert_profile(conn: &mut AnyConnection, profile: &MembershipProfile) -> QueryResult<()> {
    diesel::insert_into(membership_profiles::table).values(profile).execute(conn).map(|_| ())
}

/// The organization's role of `kind` (`admin`, `read_only`).
pub fn builtin_role(conn: &mut AnyConnection, organization_id: &str, kind: &str) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::organization_id.eq(organization_id))
        .filter(roles::kind.eq(kind))
        .order(roles::created_at.asc())
        .select(Role::as_select())
        .first(conn)
        .optional()
}

/// The active membership of `email` in the organization.
pub fn membership_by_email(
    conn: &mut AnyConnection,
    organization_id: &str,
    email: &str,
) -> QueryResult<Option<Membership>> {
    let mut sql = crate::db::sql::Sql::new("SELECT * FROM memberships WHERE organization_id = ");
    sql.text(organization_id).push(" AND lower(user_email) = lower(").text(email).push(")");
    Ok(sql.load::<Membership>(conn)?.into_iter().next())
}
