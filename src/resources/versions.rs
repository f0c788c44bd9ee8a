//! `versions`: the audit trail, read-only. Every write of every other type adds one.

use serde::Serialize;

use crate::resources::model::{row, stored, Resource};
use crate::spec::*;

pub struct Versions;

pub static SPEC: ResourceSpec = ResourceSpec {
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
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct Version in versions {
        pub organization_id: String,
        pub resource_type: String,
        pub resource_id: String,
        pub event: String,
        pub changes: String,
        pub who: String,
        pub ip_address: Option<String>,
        pub user_agent: Option<String>,
        pub uuid: Option<String>,
    }
}

impl Resource for Versions {
    stored!(versions, Version, [organization_id, resource_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &Version) -> Attributes<'_> {
        Attributes {
            resource_type: &row.resource_type,
            resource_id: &row.resource_id,
            event: &row.event,
            changes: &row.changes,
            who: &row.who,
            ip_address: row.ip_address.as_deref(),
            user_agent: row.user_agent.as_deref(),
            uuid: row.uuid.as_deref(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    resource_type: &'a str,
    resource_id: &'a str,
    event: &'a str,
    #[serde(serialize_with = "crate::views::json")]
    #[schema(value_type = Object)]
    changes: &'a str,
    #[serde(serialize_with = "crate::views::json")]
    #[schema(value_type = Object)]
    who: &'a str,
    ip_address: Option<&'a str>,
    user_agent: Option<&'a str>,
    uuid: Option<&'a str>,
}
