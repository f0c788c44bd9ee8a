//! `api_credentials` and `application_memberships`: fields and rendering. A client secret is
//! rendered only by the response that created or rotated it; every other read shows null.

use crate::db::credentials::{ApiCredential, ApplicationMembership};
use crate::jsonapi::spec::{
    Attribute, Kind, Relationship, ResourceSpec, Tenancy, CREATE, FILTER, REQUIRED, SORT, TRIGGER, UPDATE,
};
use crate::views::{json_text, timestamp, ResourceObject};

pub static API_CREDENTIALS: ResourceSpec = ResourceSpec {
    type_name: "api_credentials",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("kind", Kind::String, REQUIRED | CREATE | FILTER),
        Attribute::new("confidential", Kind::Boolean, FILTER),
        Attribute::new("redirect_uri", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("client_id", Kind::String, FILTER),
        Attribute::new("client_secret", Kind::String, 0),
        Attribute::new("scopes", Kind::String, FILTER),
        Attribute::new("expires_in", Kind::Integer, CREATE | UPDATE | FILTER),
        Attribute::new("mode", Kind::String, CREATE | FILTER | SORT),
        Attribute::new("custom", Kind::Boolean, CREATE | FILTER),
        Attribute::new("auth_method", Kind::String, CREATE | FILTER),
        Attribute::new("public_key", Kind::String, CREATE),
        Attribute::new("client_secret_expires_at", Kind::Datetime, 0),
        Attribute::new("client_secret_previous_expires_at", Kind::Datetime, 0),
        Attribute::new("_rotate_secret", Kind::Boolean, UPDATE | TRIGGER),
        Attribute::new("_rotate_secret_grace_seconds", Kind::Integer, UPDATE | TRIGGER),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("role", "roles", "role_id", CREATE | UPDATE),
        Relationship::to_many("application_memberships", "application_memberships", "api_credential_id"),
        Relationship::through(
            "api_scopes",
            "api_scopes",
            "api_credential_scopes",
            "api_credential_id",
            "api_scope_id",
            CREATE | UPDATE,
        ),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

pub static APPLICATION_MEMBERSHIPS: ResourceSpec = ResourceSpec {
    type_name: "application_memberships",
    attributes: &[Attribute::new("filters", Kind::Object, CREATE | UPDATE | FILTER)],
    relationships: &[
        Relationship::to_one("api_credential", "api_credentials", "api_credential_id", CREATE | REQUIRED),
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("role", "roles", "role_id", CREATE | UPDATE | REQUIRED),
        Relationship::to_one("membership", "memberships", "membership_id", CREATE | UPDATE),
        Relationship::to_one("membership_profile", "membership_profiles", "membership_profile_id", CREATE | UPDATE),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

pub fn render_credential(row: ApiCredential) -> ResourceObject {
    ResourceObject::new(&API_CREDENTIALS, row.id)
        .attribute("name", row.name)
        .attribute("kind", row.kind)
        .attribute("confidential", row.confidential)
        .attribute("redirect_uri", row.redirect_uri)
        .attribute("client_id", row.client_id)
        .attribute("client_secret", None::<String>)
        .attribute("scopes", row.scopes)
        .attribute("expires_in", row.expires_in)
        .attribute("mode", row.mode)
        .attribute("custom", row.custom)
        .attribute("auth_method", row.auth_method)
        .attribute("public_key", row.public_key)
        .attribute("client_secret_expires_at", row.client_secret_expires_at.map(timestamp))
        .attribute("client_secret_previous_expires_at", row.client_secret_previous_expires_at.map(timestamp))
        .foreign_key("organization_id", Some(row.organization_id))
        .foreign_key("role_id", row.role_id)
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}

pub fn render_application_membership(row: ApplicationMembership) -> ResourceObject {
    ResourceObject::new(&APPLICATION_MEMBERSHIPS, row.id)
        .attribute("filters", json_text(Some(&row.filters)))
        .foreign_key("api_credential_id", Some(row.api_credential_id))
        .foreign_key("organization_id", Some(row.organization_id))
        .foreign_key("role_id", Some(row.role_id))
        .foreign_key("membership_id", row.membership_id)
        .foreign_key("membership_profile_id", row.membership_profile_id)
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}
