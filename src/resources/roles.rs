//! `roles`: an organization's built-in `admin` and `read_only` roles, and the custom roles its
//! admins make. A custom role may gain the base permissions it lacks.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{permissions as permission_rows, roles};
use crate::domain::policy::{Authorized, CreateIn, RoleKind};
use crate::domain::{new_id, now, parse_text};
use crate::error::ApiError;
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::model::{common_changes, row, stored, Resource};
use crate::resources::permissions::{self, Permissions};
use crate::resources::write::{refuse, Create, Tx, Update};
use crate::spec::*;

pub struct Roles;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "roles",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("kind", Kind::String, FILTER | SORT),
        Attribute::new("_add_missing_base_permissions", Kind::Boolean, UPDATE | TRIGGER),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_many("permissions", "permissions", "role_id"),
        Relationship::to_many("memberships", "memberships", "role_id"),
        Relationship::to_many("api_credentials", "api_credentials", "role_id"),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct Role in roles {
        pub organization_id: String,
        pub name: String,
        pub kind: String,
    }
}

impl Resource for Roles {
    stored!(roles, Role, [organization_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &Role) -> Attributes<'_> {
        Attributes { name: &row.name, kind: &row.kind }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    kind: &'a str,
}

pub fn new_role(organization_id: &str, name: &str, kind: RoleKind) -> Role {
    let now = now();
    Role {
        id: new_id(),
        organization_id: organization_id.to_string(),
        name: name.to_string(),
        kind: kind.as_str().to_string(),
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    }
}

/// The organization's role of `kind` (`admin`, `read_only`).
pub fn builtin(
    conn: &mut crate::db::AnyConnection,
    organization_id: &str,
    kind: RoleKind,
) -> QueryResult<Option<Role>> {
    roles::table
        .filter(roles::organization_id.eq(organization_id))
        .filter(roles::kind.eq(kind.as_str()))
        .order(roles::created_at.asc())
        .select(Role::as_select())
        .first(conn)
        .optional()
}

/// A role of the organization the caller may give (to a membership, an application
/// membership or an API credential): never more than the caller's own (`Caller::may_give`).
pub fn assignable(tx: &mut Tx, role_id: &str, organization_id: &str) -> Result<Role, ApiError> {
    let role = tx.related::<Roles>("role", role_id, organization_id)?;
    let permissions: Vec<(String, bool, bool, bool, bool)> = permission_rows::table
        .filter(permission_rows::role_id.eq(&role.id))
        .select((
            permission_rows::subject,
            permission_rows::can_create,
            permission_rows::can_read,
            permission_rows::can_update,
            permission_rows::can_destroy,
        ))
        .load(tx.conn)?;
    let permissions: Vec<(String, [bool; 4])> =
        permissions.into_iter().map(|(s, c, r, u, d)| (s, [c, r, u, d])).collect();
    let subjects = tx.registry.subjects();
    tx.caller.may_give(organization_id, RoleKind::parse(&role.kind), &permissions, &subjects)?;
    Ok(role)
}

pub struct NewRole {
    name: String,
    common: Common,
}

impl Create for Roles {
    type New = NewRole;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<NewRole, ApiError> {
        let mut reader = Reader::new(document);
        let name = reader.required("name", |v| parse_text(v, 100));
        let common = Common::read(&mut reader);
        reader.finish()?;
        Ok(NewRole { name: name.unwrap_or_default(), common })
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: NewRole) -> Result<Role, ApiError> {
        let mut role = new_role(&place.organization_id, &new.name, RoleKind::Custom);
        role.reference = new.common.reference.value();
        role.reference_origin = new.common.reference_origin.value();
        role.metadata = new.common.metadata.unwrap_or_else(|| "{}".into());
        tx.insert::<Roles>(role)
    }
}

pub struct RoleChanges {
    name: Option<String>,
    add_missing_base_permissions: bool,
    common: Common,
}

impl Update for Roles {
    type Changes = RoleChanges;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<RoleChanges, ApiError> {
        let mut reader = Reader::new(document);
        let name = reader.required("name", |v| parse_text(v, 100));
        let add_missing_base_permissions = reader.trigger("_add_missing_base_permissions");
        let common = Common::read(&mut reader);
        reader.finish()?;
        Ok(RoleChanges { name, add_missing_base_permissions, common })
    }

    fn update(tx: &mut Tx, role: &Authorized<Role>, changes: RoleChanges) -> Result<&'static str, ApiError> {
        let kind = RoleKind::parse(&role.kind);
        if changes.name.as_ref().is_some_and(|n| *n != role.name) && kind != RoleKind::Custom {
            return Err(refuse("name", "The built-in roles admin and read_only keep their names."));
        }
        diesel::update(roles::table.find(&role.id))
            .set((changes.name.map(|n| roles::name.eq(n)), common_changes!(roles, changes.common)))
            .execute(tx.conn)?;
        if changes.add_missing_base_permissions {
            let existing: Vec<String> = permission_rows::table
                .filter(permission_rows::role_id.eq(&role.id))
                .select(permission_rows::subject)
                .load(tx.conn)?;
            for subject in tx.registry.subjects().into_iter().filter(|s| !existing.iter().any(|e| e == s)) {
                tx.insert::<Permissions>(permissions::base(&role.id, &role.organization_id, kind, subject))?;
            }
        }
        Ok("update")
    }
}
