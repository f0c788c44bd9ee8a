//! `api_scopes`: the scopes of an API resource, which API credentials are granted.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::grants;
use crate::db::schema::api_scopes;
use crate::domain::policy::{Authorized, CreateIn};
use crate::domain::{parse_scope_name, parse_text};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::document::{Common, Given, Reader, ResourceDocument};
use crate::resources::model::{common_changes, new_row, row, stored, Resource};
use crate::resources::write::{duplicate, required_link, Create, Delete, Tx, Update};
use crate::spec::*;

pub struct ApiScopes;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "api_scopes",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("description", Kind::String, CREATE | UPDATE | FILTER),
    ],
    relationships: &[
        Relationship::to_one("api_resource", "api_resources", "api_resource_id", CREATE | REQUIRED),
        Relationship::to_one("organization", "organizations", "organization_id", CREATE),
        Relationship::through("api_credentials", "api_credential_scopes", "api_scope_id", "api_credential_id"),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct ApiScope in api_scopes {
        pub organization_id: String,
        pub api_resource_id: String,
        pub name: String,
        pub description: Option<String>,
    }
}

impl Resource for ApiScopes {
    stored!(api_scopes, ApiScope, [organization_id, api_resource_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &ApiScope) -> Attributes<'_> {
        Attributes { name: &row.name, description: row.description.as_deref() }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    description: Option<&'a str>,
}

pub struct Values {
    resource_id: String,
    organization: Option<Option<String>>,
    name: Option<String>,
    description: Given<String>,
    common: Common,
}

fn read(document: &ResourceDocument) -> Result<Values, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.required("name", parse_scope_name);
    let description = reader.string("description", |v| parse_text(v, 2000));
    let common = Common::read(&mut reader);
    reader.finish()?;
    let resource_id = document.linked("api_resource").flatten().unwrap_or_default();
    Ok(Values { resource_id, organization: document.linked("organization"), name, description, common })
}

/// Scope names are unique within their API resource.
fn check_name(tx: &mut Tx, resource_id: &str, name: &str, other_than: &str) -> Result<(), ApiError> {
    if tx.taken("api_scopes", &[("api_resource_id", resource_id), ("name", name)], other_than)? {
        return Err(duplicate("name", "This API resource already has a scope with this name."));
    }
    Ok(())
}

impl Create for ApiScopes {
    type New = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        required_link(document, "api_resource")?;
        read(document)
    }

    /// The API resource's organization.
    fn organization(tx: &mut Tx, new: &Values, _: Option<String>) -> Result<Option<String>, ApiError> {
        tx.organization_of("api_resources", &new.resource_id).map(Some)
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<ApiScope, ApiError> {
        if new.organization.is_some_and(|o| o.as_deref() != Some(place.organization_id.as_str())) {
            let problem = Invalid::relationship("organization", "organization must be the API resource's.");
            return Err(ApiError::invalid(problem));
        }
        let name = new.name.unwrap_or_default();
        check_name(tx, &new.resource_id, &name, "")?;
        let scope = new_row!(
            ApiScope {
                organization_id: place.organization_id.clone(),
                api_resource_id: new.resource_id,
                name,
                description: new.description.value(),
            },
            new.common
        );
        tx.insert::<ApiScopes>(scope)
    }
}

impl Update for ApiScopes {
    type Changes = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn update(tx: &mut Tx, scope: &Authorized<ApiScope>, changes: Values) -> Result<&'static str, ApiError> {
        if let Some(name) = &changes.name {
            check_name(tx, &scope.api_resource_id, name, &scope.id)?;
        }
        diesel::update(api_scopes::table.find(&scope.id))
            .set((
                changes.name.map(|v| api_scopes::name.eq(v)),
                changes.description.into_change().map(|v| api_scopes::description.eq(v)),
                common_changes!(api_scopes, changes.common),
            ))
            .execute(tx.conn)?;
        // A renamed scope is renamed in the grants.
        grants::refresh_holders(tx.conn, std::slice::from_ref(&scope.id))?;
        Ok("update")
    }
}

impl Delete for ApiScopes {
    /// Its grants go first; the holders' `scopes` no longer name it.
    fn check(tx: &mut Tx, scope: &Authorized<ApiScope>) -> Result<(), ApiError> {
        let ids = std::slice::from_ref(&scope.id);
        let holders = grants::grantees(tx.conn, ids)?;
        grants::revoke_all(tx.conn, ids)?;
        Ok(grants::refresh_credential_scopes(tx.conn, &holders)?)
    }
}
