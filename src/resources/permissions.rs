//! `permissions`: what a custom role may do on one subject (a resource type). The built-in
//! roles' permissions are fixed.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{permissions, roles};
use crate::db::{statements, AnyConnection};
use crate::domain::policy::{Authorized, CreateIn, RoleKind};
use crate::domain::{new_id, now};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::document::{Common, Given, Reader, ResourceDocument};
use crate::resources::model::{common_changes, row, stored, Resource};
use crate::resources::write::{duplicate, required_link, Create, Tx, Update};
use crate::spec::*;

pub struct Permissions;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "permissions",
    attributes: &[
        Attribute::new("can_create", Kind::Boolean, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("can_read", Kind::Boolean, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("can_update", Kind::Boolean, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("can_destroy", Kind::Boolean, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("subject", Kind::String, REQUIRED | CREATE | FILTER | SORT),
        Attribute::new("restrictions", Kind::Object, FILTER),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE),
        Relationship::to_one("role", "roles", "role_id", CREATE | REQUIRED),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct Permission in permissions {
        pub organization_id: String,
        pub role_id: String,
        pub subject: String,
        pub can_create: bool,
        pub can_read: bool,
        pub can_update: bool,
        pub can_destroy: bool,
        #[serde(serialize_with = "crate::views::json")]
        pub restrictions: String,
    }
}

impl Resource for Permissions {
    stored!(permissions, Permission, [organization_id, role_id]);

    /// The grants of every member holding its role change with it.
    fn grants_changed(
        conn: &mut AnyConnection,
        before: Option<&Permission>,
        after: Option<&Permission>,
    ) -> QueryResult<()> {
        if let Some(permission) = after.or(before) {
            statements::touch_role_grants(conn, &permission.role_id)?;
        }
        Ok(())
    }

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &Permission) -> Attributes<'_> {
        Attributes {
            can_create: row.can_create,
            can_read: row.can_read,
            can_update: row.can_update,
            can_destroy: row.can_destroy,
            subject: &row.subject,
            restrictions: &row.restrictions,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    can_create: bool,
    can_read: bool,
    can_update: bool,
    can_destroy: bool,
    subject: &'a str,
    #[serde(serialize_with = "crate::views::json")]
    #[schema(value_type = Object)]
    restrictions: &'a str,
}

/// A role's base permission on `subject`, as its kind grants.
pub fn base(role_id: &str, organization_id: &str, kind: RoleKind, subject: &str) -> Permission {
    let now = now();
    let [can_create, can_read, can_update, can_destroy] = kind.base_grants();
    Permission {
        id: new_id(),
        organization_id: organization_id.to_string(),
        role_id: role_id.to_string(),
        subject: subject.to_string(),
        can_create,
        can_read,
        can_update,
        can_destroy,
        restrictions: "{}".into(),
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    }
}

/// The role a permission belongs to, as far as its rules need it.
#[derive(QueryableByName)]
#[diesel(table_name = roles)]
struct RoleOf {
    organization_id: String,
    kind: String,
}

fn role_of(tx: &mut Tx, role_id: &str) -> Result<RoleOf, ApiError> {
    let role: Option<RoleOf> = crate::db::rows::find(tx.conn, "roles", role_id)?;
    role.ok_or_else(|| ApiError::not_found("roles", role_id))
}

fn builtin_role_refusal() -> ApiError {
    ApiError::invalid(Invalid::relationship(
        "role",
        "The permissions of the built-in roles (admin, read_only) are fixed; give custom roles their own.",
    ))
}

fn flags(reader: &mut Reader) -> [Given<bool>; 4] {
    ["can_create", "can_read", "can_update", "can_destroy"].map(|name| {
        let given = reader.boolean(name);
        if given == Given::Null {
            reader.errors.push(Invalid::attribute(name, format!("{name} cannot be null.")));
        }
        given
    })
}

pub struct NewPermission {
    role_id: String,
    organization_id: Option<Option<String>>,
    flags: [bool; 4],
    subject: String,
    common: Common,
}

impl Create for Permissions {
    type New = NewPermission;

    fn decode(document: &ResourceDocument, catalog: &dyn Catalog) -> Result<NewPermission, ApiError> {
        let mut reader = Reader::new(document);
        let flags = flags(&mut reader).map(|g| g == Given::Value(true));
        let subjects = catalog.subjects();
        let subject = reader.required("subject", |v| crate::domain::one_of(v, &subjects));
        let common = Common::read(&mut reader);
        reader.finish()?;
        Ok(NewPermission {
            role_id: required_link(document, "role")?,
            organization_id: document.linked("organization"),
            flags,
            subject: subject.unwrap_or_default(),
            common,
        })
    }

    fn organization(tx: &mut Tx, new: &NewPermission, _: Option<String>) -> Result<Option<String>, ApiError> {
        Ok(Some(role_of(tx, &new.role_id)?.organization_id))
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: NewPermission) -> Result<Permission, ApiError> {
        let role = role_of(tx, &new.role_id)?;
        if new.organization_id.is_some_and(|o| o.as_deref() != Some(place.organization_id.as_str())) {
            return Err(ApiError::invalid(Invalid::relationship("organization", "organization must be the role's.")));
        }
        if RoleKind::parse(&role.kind) != RoleKind::Custom {
            return Err(builtin_role_refusal());
        }
        if tx.taken("permissions", &[("role_id", &new.role_id), ("subject", &new.subject)], "")? {
            return Err(duplicate(
                "subject",
                "This role already has a permission for this subject; update it instead.",
            ));
        }
        let mut permission = base(&new.role_id, &place.organization_id, RoleKind::Custom, &new.subject);
        [permission.can_create, permission.can_read, permission.can_update, permission.can_destroy] = new.flags;
        permission.reference = new.common.reference.value();
        permission.reference_origin = new.common.reference_origin.value();
        permission.metadata = new.common.metadata.unwrap_or_else(|| "{}".into());
        tx.insert::<Permissions>(permission)
    }
}

pub struct PermissionChanges {
    flags: [Option<bool>; 4],
    common: Common,
}

impl Update for Permissions {
    type Changes = PermissionChanges;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<PermissionChanges, ApiError> {
        let mut reader = Reader::new(document);
        let flags = flags(&mut reader).map(Given::value);
        let common = Common::read(&mut reader);
        reader.finish()?;
        Ok(PermissionChanges { flags, common })
    }

    fn update(
        tx: &mut Tx,
        permission: &Authorized<Permission>,
        changes: PermissionChanges,
    ) -> Result<&'static str, ApiError> {
        if RoleKind::parse(&role_of(tx, &permission.role_id)?.kind) != RoleKind::Custom {
            return Err(builtin_role_refusal());
        }
        let [can_create, can_read, can_update, can_destroy] = changes.flags;
        diesel::update(permissions::table.find(&permission.id))
            .set((
                can_create.map(|v| permissions::can_create.eq(v)),
                can_read.map(|v| permissions::can_read.eq(v)),
                can_update.map(|v| permissions::can_update.eq(v)),
                can_destroy.map(|v| permissions::can_destroy.eq(v)),
                common_changes!(permissions, changes.common),
            ))
            .execute(tx.conn)?;
        Ok("update")
    }
}
