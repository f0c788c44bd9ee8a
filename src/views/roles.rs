//! `roles`, `permissions`, `memberships`, `membership_profiles` and `versions`: their fields as in
//! the reference's per-field table, and how rows render.

use crate::db::access_rows::{Membership, MembershipProfile, Permission, Role, Version};
use crate::jsonapi::spec::{
    Attribute, Kind, Relationship, ResourceSpec, Tenancy, CREATE, FILTER, REQUIRED, SORT, TRIGGER, UPDATE,
};
use crate::views::{json_text, ResourceObject};

const ORGANIZATION: Tenancy = Tenancy::OrganizationColumn("organization_id");

pub static ROLES: ResourceSpec = ResourceSpec {
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
    tenancy: ORGANIZATION,
};

pub static PERMISSIONS: ResourceSpec = ResourceSpec {
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
    tenancy: ORGANIZATION,
};

pub static MEMBERSHIPS: ResourceSpec = ResourceSpec {
    type_name: "memberships",
    attributes: &[
        Attribute::new("user_email", Kind::String, REQUIRED | CREATE | FILTER | SORT),
        Attribute::new("user_first_name", Kind::String, 0),
        Attribute::new("user_last_name", Kind::String, 0),
        Attribute::new("status", Kind::String, FILTER | SORT),
        Attribute::new("owner", Kind::Boolean, FILTER),
        Attribute::new("access_scope", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("test_enabled", Kind::Boolean, 0),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("role", "roles", "role_id", CREATE | UPDATE | REQUIRED),
        Relationship::to_many("application_memberships", "application_memberships", "membership_id"),
        Relationship::to_one("membership_profile", "membership_profiles", "membership_profile_id", CREATE | UPDATE),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: ORGANIZATION,
};

pub static MEMBERSHIP_PROFILES: ResourceSpec = ResourceSpec {
    type_name: "membership_profiles",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("access_scope", Kind::String, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("test_enabled", Kind::Boolean, 0),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_many("memberships", "memberships", "membership_profile_id"),
        Relationship::to_many("application_memberships", "application_memberships", "membership_profile_id"),
    ],
    tenancy: ORGANIZATION,
};

pub static VERSIONS: ResourceSpec = ResourceSpec {
    type_name: "versions",
    attributes: &[
        Attribute::new("resource_type", Kind::String, FILTER | SORT),
        Attribute::new("resource_id", Kind::String, FILTER),
        Attribute::new("event", Kind::String, FILTER),
        Attribute::new("changes", Kind::Object, 0),
        Attribute::new("who", Kind::Object, 0),
        Attribute::new("ip_address", Kind::String, 0),
        Attribute::new("user_agent", Kind::String, 0),
        Attribute::new("uuid", Kind::String, FILTER),
    ],
    relationships: &[Relationship::to_one("organization", "organizations", "organization_id", 0)],
    tenancy: ORGANIZATION,
};

pub fn render_role(row: Role) -> ResourceObject {
    ResourceObject::new(&ROLES, row.id)
        .attribute("name", row.name)
        .attribute("kind", row.kind)
        .foreign_key("organization_id", Some(row.organization_id))
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}

pub fn render_permission(row: Permission) -> ResourceObject {
    ResourceObject::new(&PERMISSIONS, row.id)
        .attribute("can_create", row.can_create)
        .attribute("can_read", row.can_read)
        .attribute("can_update", row.can_update)
        .attribute("can_destroy", row.can_destroy)
        .attribute("subject", row.subject)
        .attribute("restrictions", json_text(Some(&row.restrictions)))
        .foreign_key("organization_id", Some(row.organization_id))
        .foreign_key("role_id", Some(row.role_id))
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}

pub fn render_membership(row: Membership) -> ResourceObject {
    ResourceObject::new(&MEMBERSHIPS, row.id)
        .attribute("user_email", row.user_email)
        .attribute("user_first_name", row.user_first_name)
        .attribute("user_last_name", row.user_last_name)
        .attribute("status", row.status)
        .attribute("owner", row.owner)
        .attribute("access_scope", row.access_scope)
        .attribute("test_enabled", row.test_enabled)
        .foreign_key("organization_id", Some(row.organization_id))
        .foreign_key("role_id", Some(row.role_id))
        .foreign_key("membership_profile_id", row.membership_profile_id)
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}

pub fn render_membership_profile(row: MembershipProfile) -> ResourceObject {
    ResourceObject::new(&MEMBERSHIP_PROFILES, row.id)
        .attribute("name", row.name)
        .attribute("access_scope", row.access_scope)
        .attribute("test_enabled", row.test_enabled)
        .foreign_key("organization_id", Some(row.organization_id))
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}

pub fn render_version(row: Version) -> ResourceObject {
    ResourceObject::new(&VERSIONS, row.id)
        .attribute("resource_type", row.resource_type)
        .attribute("resource_id", row.resource_id)
        .attribute("event", row.event)
        .attribute("changes", json_text(Some(&row.changes)))
        .attribute("who", json_text(Some(&row.who)))
        .attribute("ip_address", row.ip_address)
        .attribute("user_agent", row.user_agent)
        .attribute("uuid", row.uuid)
        .foreign_key("organization_id", Some(row.organization_id))
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}
