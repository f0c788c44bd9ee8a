//! The `organizations` resource: its fields as in the reference's per-field table (commerce-only
//! settings left out), and how a row renders.

use crate::db::organizations::Organization;
use crate::jsonapi::spec::{
    Attribute, Kind, Relationship, ResourceSpec, Tenancy, CREATE, FILTER, REQUIRED, SORT, UPDATE,
};
use crate::views::{json_text, ResourceObject};

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "organizations",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("slug", Kind::String, FILTER | SORT),
        Attribute::new("domain", Kind::String, FILTER | SORT),
        Attribute::new("support_phone", Kind::String, CREATE | UPDATE),
        Attribute::new("support_email", Kind::String, CREATE | UPDATE),
        Attribute::new("logo_url", Kind::String, CREATE | UPDATE),
        Attribute::new("favicon_url", Kind::String, CREATE | UPDATE),
        Attribute::new("primary_color", Kind::String, CREATE | UPDATE),
        Attribute::new("contrast_color", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("gtm_id", Kind::String, CREATE | UPDATE),
        Attribute::new("gtm_id_test", Kind::String, CREATE | UPDATE),
        Attribute::new("region", Kind::String, CREATE | FILTER),
        Attribute::new("can_switch_live", Kind::Boolean, 0),
        Attribute::new("subscription_info", Kind::Object, 0),
        Attribute::new("config", Kind::Object, CREATE | UPDATE),
    ],
    relationships: &[
        Relationship::to_many("memberships", "memberships", "organization_id"),
        Relationship::to_many("roles", "roles", "organization_id"),
        Relationship::to_many("permissions", "permissions", "organization_id"),
        Relationship::to_many("api_credentials", "api_credentials", "organization_id"),
    ],
    tenancy: Tenancy::Organization,
};

pub fn render(row: Organization) -> ResourceObject {
    ResourceObject::new(&SPEC, row.id)
        .attribute("name", row.name)
        .attribute("slug", row.slug)
        .attribute("domain", row.domain)
        .attribute("support_phone", row.support_phone)
        .attribute("support_email", row.support_email)
        .attribute("logo_url", row.logo_url)
        .attribute("favicon_url", row.favicon_url)
        .attribute("primary_color", row.primary_color)
        .attribute("contrast_color", row.contrast_color)
        .attribute("gtm_id", row.gtm_id)
        .attribute("gtm_id_test", row.gtm_id_test)
        .attribute("region", row.region)
        .attribute("can_switch_live", row.can_switch_live)
        .attribute("subscription_info", json_text(row.subscription_info.as_deref()))
        .attribute("config", json_text(row.config.as_deref()))
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}
