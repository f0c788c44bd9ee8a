//! `api_resources`: the APIs an organization protects, each named by an identifier URI
//! (RFC 8707), with its own scopes and token lifetime. One may be the organization's default.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_resources, api_scopes};
use crate::db::{grants, AnyConnection};
use crate::domain::parse_text;
use crate::domain::policy::{Authorized, CreateIn};
use crate::error::ApiError;
use crate::jsonapi::document::{Common, Given, Reader, ResourceDocument};
use crate::resources::api_credentials::ApiCredentials;
use crate::resources::api_scopes::{ApiScope, ApiScopes};
use crate::resources::credential_providers::CredentialProviders;
use crate::resources::model::{common_changes, new_row, row, stored, Resource};
use crate::resources::write::{duplicate, Create, Delete, Tx, Update};
use crate::spec::*;

pub struct ApiResources;

pub static SPEC: ResourceSpec = ResourceSpec {
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
        Relationship::to_one("credential_provider", "credential_providers", "credential_provider_id", CREATE | UPDATE),
        Relationship::to_many("scopes", "api_scopes", "api_resource_id"),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct ApiResource in api_resources {
        pub organization_id: String,
        pub application_id: Option<String>,
        pub name: String,
        pub identifier: String,
        pub description: Option<String>,
        pub access_token_ttl: i64,
        pub prefix: bool,
        pub is_default: bool,
        /// Whose credential a token for this resource carries (`upstream_access_token`).
        pub credential_provider_id: Option<String>,
    }
}

impl ApiResource {
    /// RFC 8707 resource matching: the identifier itself, or, for a prefix resource, any URI
    /// that continues it at a path boundary (`…/v1` matches `…/v1/orders`, not `…/v10`).
    pub fn matches(&self, requested: &str) -> bool {
        requested == self.identifier
            || (self.prefix
                && requested
                    .strip_prefix(self.identifier.as_str())
                    .is_some_and(|rest| self.identifier.ends_with('/') || rest.starts_with(['/', '?', '#'])))
    }
}

impl Resource for ApiResources {
    stored!(api_resources, ApiResource, [organization_id, application_id, credential_provider_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &ApiResource) -> Attributes<'_> {
        Attributes {
            name: &row.name,
            identifier: &row.identifier,
            description: row.description.as_deref(),
            access_token_ttl: row.access_token_ttl,
            prefix: row.prefix,
            is_default: row.is_default,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    identifier: &'a str,
    description: Option<&'a str>,
    access_token_ttl: i64,
    prefix: bool,
    is_default: bool,
}

pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 3600;

/// An absolute URI (RFC 8707 §2: the resource indicator), at most 2048 characters, without a
/// fragment.
pub fn parse_identifier(value: &str) -> Result<String, String> {
    if parse_text(value, 2048)? != value {
        return Err("must not start or end with spaces".into());
    }
    match url::Url::parse(value) {
        Ok(url) if url.fragment().is_none() && !value.contains(char::is_whitespace) => Ok(value.to_string()),
        Ok(_) => Err("must be an absolute URI without a fragment".into()),
        Err(_) => Err("must be an absolute URI such as https://api.example.com".into()),
    }
}

pub fn check_ttl(value: i64) -> Result<i64, String> {
    (60..=86_400).contains(&value).then_some(value).ok_or_else(|| "must be from 60 to 86400 seconds".into())
}

pub fn resources_of(conn: &mut AnyConnection, organization_id: &str) -> QueryResult<Vec<ApiResource>> {
    api_resources::table
        .filter(api_resources::organization_id.eq(organization_id))
        .select(ApiResource::as_select())
        .load(conn)
}

/// The resource a token request names: the exact identifier, else the longest matching
/// prefix resource; with no `resource` parameter, the organization's default.
pub fn resolve(resources: Vec<ApiResource>, requested: Option<&str>) -> Option<ApiResource> {
    match requested {
        Some(requested) => {
            let mut candidates: Vec<ApiResource> = resources.into_iter().filter(|r| r.matches(requested)).collect();
            if let Some(exact) = candidates.iter().position(|r| r.identifier == requested) {
                return Some(candidates.swap_remove(exact));
            }
            candidates.into_iter().max_by_key(|r| r.identifier.len())
        }
        None => resources.into_iter().find(|r| r.is_default),
    }
}

pub struct Values {
    application: Option<Option<String>>,
    credential_provider: Option<Option<String>>,
    name: Option<String>,
    identifier: Option<String>,
    description: Given<String>,
    ttl: Option<i64>,
    prefix: Option<bool>,
    is_default: Option<bool>,
    common: Common,
}

fn read(document: &ResourceDocument) -> Result<Values, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.required("name", |v| parse_text(v, 255));
    let identifier = reader.required("identifier", parse_identifier);
    let description = reader.string("description", |v| parse_text(v, 2000));
    let ttl = reader.integer("access_token_ttl", check_ttl);
    let ttl = reader.not_null("access_token_ttl", ttl);
    let prefix = reader.boolean("prefix");
    let prefix = reader.not_null("prefix", prefix);
    let is_default = reader.boolean("is_default");
    let is_default = reader.not_null("is_default", is_default);
    let common = Common::read(&mut reader);
    reader.finish()?;
    let application = document.linked("application");
    let credential_provider = document.linked("credential_provider");
    Ok(Values { application, credential_provider, name, identifier, description, ttl, prefix, is_default, common })
}

fn identifier_taken() -> ApiError {
    duplicate("identifier", "Another API resource of this organization has this identifier.")
}

/// At most one default resource per organization: setting one clears the others.
fn keep_one_default(tx: &mut Tx, resource: &ApiResource, is_default: Option<bool>) -> Result<(), ApiError> {
    if is_default == Some(true) {
        diesel::update(
            api_resources::table
                .filter(api_resources::organization_id.eq(&resource.organization_id))
                .filter(api_resources::id.ne(&resource.id)),
        )
        .set(api_resources::is_default.eq(false))
        .execute(tx.conn)?;
    }
    Ok(())
}

impl Create for ApiResources {
    type New = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<ApiResource, ApiError> {
        let organization_id = place.organization_id.clone();
        if let Some(Some(application)) = &new.application {
            tx.related::<ApiCredentials>("application", application, &organization_id)?;
        }
        if let Some(Some(provider)) = &new.credential_provider {
            tx.related::<CredentialProviders>("credential_provider", provider, &organization_id)?;
        }
        let identifier = new.identifier.unwrap_or_default();
        if tx.taken("api_resources", &[("organization_id", &organization_id), ("identifier", &identifier)], "")? {
            return Err(identifier_taken());
        }
        let row = new_row!(
            ApiResource {
                organization_id,
                application_id: new.application.flatten(),
                name: new.name.unwrap_or_default(),
                identifier,
                description: new.description.value(),
                access_token_ttl: new.ttl.unwrap_or(DEFAULT_ACCESS_TOKEN_TTL),
                prefix: new.prefix.unwrap_or(false),
                is_default: new.is_default.unwrap_or(false),
                credential_provider_id: new.credential_provider.flatten(),
            },
            new.common
        );
        let resource = tx.insert::<ApiResources>(row)?;
        keep_one_default(tx, &resource, new.is_default)?;
        Ok(resource)
    }
}

impl Update for ApiResources {
    type Changes = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn update(tx: &mut Tx, resource: &Authorized<ApiResource>, changes: Values) -> Result<&'static str, ApiError> {
        if let Some(Some(application)) = &changes.application {
            tx.related::<ApiCredentials>("application", application, &resource.organization_id)?;
        }
        if let Some(Some(provider)) = &changes.credential_provider {
            tx.related::<CredentialProviders>("credential_provider", provider, &resource.organization_id)?;
        }
        diesel::update(api_resources::table.find(&resource.id))
            .set((
                changes.name.map(|v| api_resources::name.eq(v)),
                changes.description.into_change().map(|v| api_resources::description.eq(v)),
                changes.ttl.map(|v| api_resources::access_token_ttl.eq(v)),
                changes.prefix.map(|v| api_resources::prefix.eq(v)),
                changes.is_default.map(|v| api_resources::is_default.eq(v)),
                changes.application.map(|v| api_resources::application_id.eq(v)),
                changes.credential_provider.map(|v| api_resources::credential_provider_id.eq(v)),
                common_changes!(api_resources, changes.common),
            ))
            .execute(tx.conn)?;
        keep_one_default(tx, resource, changes.is_default)?;
        Ok("update")
    }
}

impl Delete for ApiResources {
    /// Its scopes, and their grants, go with it; each scope's version says so.
    fn check(tx: &mut Tx, resource: &Authorized<ApiResource>) -> Result<(), ApiError> {
        let scopes: Vec<ApiScope> = api_scopes::table
            .filter(api_scopes::api_resource_id.eq(&resource.id))
            .select(ApiScope::as_select())
            .load(tx.conn)?;
        let scope_ids: Vec<String> = scopes.iter().map(|s| s.id.clone()).collect();
        let holders = grants::grantees(tx.conn, &scope_ids)?;
        grants::revoke_all(tx.conn, &scope_ids)?;
        diesel::delete(api_scopes::table.filter(api_scopes::api_resource_id.eq(&resource.id))).execute(tx.conn)?;
        grants::refresh_credential_scopes(tx.conn, &holders)?;
        for scope in &scopes {
            tx.record::<ApiScopes>("destroy", Some(scope), None)?;
        }
        Ok(())
    }
}

/// A row for unit tests here and elsewhere (the grant policy's).
#[cfg(test)]
pub fn sample(identifier: &str, prefix: bool, is_default: bool) -> ApiResource {
    let now = crate::domain::now();
    ApiResource {
        id: identifier.into(),
        organization_id: "o".into(),
        application_id: None,
        name: "n".into(),
        identifier: identifier.into(),
        description: None,
        access_token_ttl: 3600,
        prefix,
        is_default,
        credential_provider_id: None,
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::sample as resource;
    use super::*;

    #[test]
    fn prefixes_match_at_path_boundaries_and_the_longest_wins() {
        let v1 = resource("https://api.example.com/v1", true, false);
        assert!(v1.matches("https://api.example.com/v1/orders"));
        assert!(!v1.matches("https://api.example.com/v10"));
        assert!(!resource("https://api.example.com/v1", false, false).matches("https://api.example.com/v1/orders"));
        let all = vec![
            v1,
            resource("https://api.example.com/v1/orders", true, false),
            resource("https://other.example", false, true),
        ];
        let found = |r: Option<&str>| resolve(all.clone(), r).map(|r| r.identifier);
        assert_eq!(found(Some("https://api.example.com/v1/orders/7")).unwrap(), "https://api.example.com/v1/orders");
        assert_eq!(found(Some("https://api.example.com/v1/x")).unwrap(), "https://api.example.com/v1");
        assert!(found(Some("https://api.example.com/v10")).is_none());
        assert_eq!(found(None).unwrap(), "https://other.example");
        assert!(parse_identifier("urn:example:orders").is_ok());
        assert!(parse_identifier("https://api.example.com/#frag").is_err());
    }
}
