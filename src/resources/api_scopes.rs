//! `api_scopes`: the scopes of an API resource, which API credentials are granted.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::grants;
use crate::db::schema::api_scopes;
use crate::domain::policy::{Authorized, CreateIn};
use crate::domain::{new_id, now, parse_text};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::document::{Common, Given, Reader, ResourceDocument};
use crate::resources::model::{common_changes, row, stored, Resource};
use crate::resources::write::{refuse, required_link, Create, Delete, Tx, Update};
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
        Relationship::through(
            "api_credentials",
            "api_credentials",
            "api_credential_scopes",
            "api_scope_id",
            "api_credential_id",
            0,
        ),
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

    fn attributes(row: &ApiScope) -> impl Serialize + '_ {
        Attributes { name: &row.name, description: row.description.as_deref() }
    }
}

#[derive(Serialize)]
pub struct Attributes<'a> {
    name: &'a str,
    description: Option<&'a str>,
}

/// 1 to 256 characters, no whitespace (a scope string separates names with spaces).
pub fn parse_scope_name(value: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().count() > 256 {
        return Err("must be 1 to 256 characters".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\') {
        return Err("must not contain whitespace, control characters, quotes or backslashes".into());
    }
    Ok(value.to_string())
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
    let taken: i64 = api_scopes::table
        .filter(api_scopes::api_resource_id.eq(resource_id))
        .filter(api_scopes::name.eq(name))
        .filter(api_scopes::id.ne(other_than))
        .count()
        .get_result(tx.conn)?;
    if taken > 0 {
        return Err(refuse("name", "This API resource already has a scope with this name."));
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
        #[derive(diesel::QueryableByName)]
        #[diesel(table_name = crate::db::schema::api_resources)]
        struct ResourceOf {
            organization_id: String,
        }
        let resource: Option<ResourceOf> = crate::db::rows::find(tx.conn, "api_resources", &new.resource_id)?;
        Ok(Some(resource.ok_or_else(|| ApiError::not_found("api_resources", &new.resource_id))?.organization_id))
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<ApiScope, ApiError> {
        if new.organization.is_some_and(|o| o.as_deref() != Some(place.organization_id.as_str())) {
            return Err(ApiError::invalid(Invalid::relationship(
                "organization",
                "organization must be the API resource's.",
            )));
        }
        let name = new.name.unwrap_or_default();
        check_name(tx, &new.resource_id, &name, "")?;
        let now = now();
        tx.insert::<ApiScopes>(ApiScope {
            id: new_id(),
            organization_id: place.organization_id.clone(),
            api_resource_id: new.resource_id,
            name,
            description: new.description.value(),
            reference: new.common.reference.value(),
            reference_origin: new.common.reference_origin.value(),
            metadata: new.common.metadata.unwrap_or_else(|| "{}".into()),
            created_at: now,
            updated_at: now,
        })
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
        let holders = grants::grantees(tx.conn, std::slice::from_ref(&scope.id))?;
        grants::refresh_credential_scopes(tx.conn, &holders)?;
        Ok("update")
    }
}

impl Delete for ApiScopes {
    fn check(tx: &mut Tx, scope: &Authorized<ApiScope>) -> Result<(), ApiError> {
        let holders = grants::grantees(tx.conn, std::slice::from_ref(&scope.id))?;
        grants::revoke_all(tx.conn, std::slice::from_ref(&scope.id))?;
        // The scope goes after this returns; the holders' scope strings must not name it.
        diesel::delete(api_scopes::table.find(&scope.id)).execute(tx.conn)?;
        grants::refresh_credential_scopes(tx.conn, &holders)?;
        Ok(())
    }
}
