//! `api_resources` and `api_scopes`: the APIs an organization protects, and their scopes.

use crate::db::apis::{ApiResource, ApiScope};
use crate::jsonapi::spec::{
    Attribute, Kind, Relationship, ResourceSpec, Tenancy, CREATE, FILTER, REQUIRED, SORT, UPDATE,
};
use crate::views::ResourceObject;

pub static API_RESOURCES: ResourceSpec = ResourceSpec {
    type_name: "api_resources",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("identifier", Kind::String, REQUIRED | CREATE | FILTER | SORT),
        Attribute::new("description", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("access_token_ttl", Kind::Integer, CREATE | UPDATE | FILTER | SORT),
        Attribute::new("prefix", Kind::Boolean, CREATE | UPDATE | FILTER),
        Attribute::new("is_default", Kind::Boolean, CREATE | UPDATE | FILTER),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("application", "api_credentials", "application_id", CREATE | UPDATE),
        Relationship::to_many("scopes", "api_scopes", "api_resource_id"),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

pub static API_SCOPES: ResourceSpec = ResourceSpec {
    type_name: "api_scopes",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("description", Kind::String, CREATE | UPDATE | FILTER),
    ],
    relationships: &[
        Relationship::to_one("api_resource", "api_resources", "api_resource_id", CREATE | REQUIRED),
        Relationship::to_one("organization", "organizations", "organization_id", CREATE),
        Relationship::through(
            "api_credentials",
            "api_credentials",
            "api_credential_scopes",
            "api_scope_id",
            "api_credential_id",
            0,
        ),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

pub fn render_resource(row: ApiResource) -> ResourceObject {
    ResourceObject::new(&API_RESOURCES, row.id)
        .attribute("name", row.name)
        .attribute("identifier", row.identifier)
        .attribute("description", row.description)
        .attribute("access_token_ttl", row.access_token_ttl)
        .attribute("prefix", row.prefix)
        .attribute("is_default", row.is_default)
        .foreign_key("organization_id", Some(row.organization_id))
        .foreign_key("application_id", row.application_id)
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}

pub fn render_scope(row: ApiScope) -> ResourceObject {
    ResourceObject::new(&API_SCOPES, row.id)
        .attribute("name", row.name)
        .attribute("description", row.description)
        .foreign_key("api_resource_id", Some(row.api_resource_id))
        .foreign_key("organization_id", Some(row.organization_id))
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}
