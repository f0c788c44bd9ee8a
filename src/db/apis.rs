//! API resources, their scopes, and the scopes granted to API credentials.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::resources::ResourceType;
use crate::db::schema::{api_credential_scopes, api_credentials, api_resources, api_scopes};
use crate::db::sql::Select;
use crate::db::AnyConnection;
use crate::jsonapi::spec::ResourceSpec;
use crate::views::{apis as view, ResourceObject};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = api_resources)]
pub struct ApiResource {
    pub id: String,
    pub organization_id: String,
    pub application_id: Option<String>,
    pub name: String,
    pub identifier: String,
    pub description: Option<String>,
    pub access_token_ttl: i64,
    pub prefix: bool,
    pub is_default: bool,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ApiResource {
    /// RFC 8707 resource matching: the identifier itself, or, for a prefix resource, any URI
    /// that continues it at a path boundary (`…/v1` matches `…/v1/orders`, not `…/v10`).
    pub fn matches(&self, requested: &str) -> bool {
        if requested == self.identifier {
            return true;
        }
        if !self.prefix {
            return false;
        }
        match requested.strip_prefix(self.identifier.as_str()) {
            Some(rest) => self.identifier.ends_with('/') || rest.starts_with(['/', '?', '#']),
            None => false,
        }
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = api_scopes)]
pub struct ApiScope {
    pub id: String,
    pub organization_id: String,
    pub api_resource_id: String,
    pub name: String,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub struct ApiResources;

impl ResourceType for ApiResources {
    fn spec(&self) -> &'static ResourceSpec {
        &view::API_RESOURCES
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
        Ok(select.rows().load::<ApiResource>(conn)?.into_iter().map(view::render_resource).collect())
    }
}

pub struct ApiScopes;

impl ResourceType for ApiScopes {
    fn spec(&self) -> &'static ResourceSpec {
        &view::API_SCOPES
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
        Ok(select.rows().load::<ApiScope>(conn)?.into_iter().map(view::render_scope).collect())
    }
}

pub fn find_resource(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ApiResource>> {
    api_resources::table.find(id).select(ApiResource::as_select()).first(conn).optional()
}

pub fn find_scope(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ApiScope>> {
    api_scopes::table.find(id).select(ApiScope::as_select()).first(conn).optional()
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

/// The names of the scopes of `resource_id` granted to the credential.
pub fn granted_scopes(conn: &mut AnyConnection, credential_id: &str, resource_id: &str) -> QueryResult<Vec<String>> {
    api_credential_scopes::table
        .inner_join(api_scopes::table)
        .filter(api_credential_scopes::api_credential_id.eq(credential_id))
        .filter(api_scopes::api_resource_id.eq(resource_id))
        .order(api_scopes::name.asc())
        .select(api_scopes::name)
        .load(conn)
}

/// Rewrites the read-only `scopes` attribute of these credentials from their grants.
pub fn refresh_credential_scopes(conn: &mut AnyConnection, credential_ids: &[String]) -> QueryResult<()> {
    for id in credential_ids {
        let names: Vec<String> = api_credential_scopes::table
            .inner_join(api_scopes::table)
            .filter(api_credential_scopes::api_credential_id.eq(id))
            .order(api_scopes::name.asc())
            .select(api_scopes::name)
            .load(conn)?;
        let mut names = names;
        names.dedup();
        diesel::update(api_credentials::table.find(id))
            .set(api_credentials::scopes.eq(names.join(" ")))
            .execute(conn)?;
    }
    Ok(())
}

/// The credentials holding a grant of any of these scopes.
pub fn grantees(conn: &mut AnyConnection, scope_ids: &[String]) -> QueryResult<Vec<String>> {
    let mut ids: Vec<String> = api_credential_scopes::table
        .filter(api_credential_scopes::api_scope_id.eq_any(scope_ids))
        .select(api_credential_scopes::api_credential_id)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Replaces, adds or removes grants of a credential; returns whether anything changed.
pub fn grant(conn: &mut AnyConnection, credential_id: &str, scope_ids: &[String]) -> QueryResult<usize> {
    let existing: Vec<String> = api_credential_scopes::table
        .filter(api_credential_scopes::api_credential_id.eq(credential_id))
        .select(api_credential_scopes::api_scope_id)
        .load(conn)?;
    let mut added = 0;
    let now = crate::domain::now();
    for scope_id in scope_ids.iter().filter(|id| !existing.contains(id)) {
        diesel::insert_into(api_credential_scopes::table)
            .values((
                api_credential_scopes::api_credential_id.eq(credential_id),
                api_credential_scopes::api_scope_id.eq(scope_id),
                api_credential_scopes::created_at.eq(now),
            ))
            .execute(conn)?;
        added += 1;
    }
    Ok(added)
}

pub fn revoke_grants(conn: &mut AnyConnection, credential_id: &str, scope_ids: &[String]) -> QueryResult<usize> {
    diesel::delete(
        api_credential_scopes::table
            .filter(api_credential_scopes::api_credential_id.eq(credential_id))
            .filter(api_credential_scopes::api_scope_id.eq_any(scope_ids)),
    )
    .execute(conn)
}

/// Removes every grant of these scopes.
pub fn revoke_all(conn: &mut AnyConnection, scope_ids: &[String]) -> QueryResult<usize> {
    diesel::delete(api_credential_scopes::table.filter(api_credential_scopes::api_scope_id.eq_any(scope_ids)))
        .execute(conn)
}

pub fn granted_scope_ids(conn: &mut AnyConnection, credential_id: &str) -> QueryResult<Vec<String>> {
    api_credential_scopes::table
        .filter(api_credential_scopes::api_credential_id.eq(credential_id))
        .select(api_credential_scopes::api_scope_id)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(identifier: &str, prefix: bool, is_default: bool) -> ApiResource {
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
            reference: None,
            reference_origin: None,
            metadata: "{}".into(),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn prefixes_match_at_path_boundaries_and_the_longest_wins() {
        let v1 = resource("https://api.example.com/v1", true, false);
        assert!(v1.matches("https://api.example.com/v1"));
        assert!(v1.matches("https://api.example.com/v1/orders"));
        assert!(!v1.matches("https://api.example.com/v10"));
        assert!(!resource("https://api.example.com/v1", false, false).matches("https://api.example.com/v1/orders"));
        let all = vec![
            v1.clone(),
            resource("https://api.example.com/v1/orders", true, false),
            resource("https://other.example", false, true),
        ];
        assert_eq!(
            resolve(all.clone(), Some("https://api.example.com/v1/orders/7")).unwrap().identifier,
            "https://api.example.com/v1/orders"
        );
        assert_eq!(
            resolve(all.clone(), Some("https://api.example.com/v1/x")).unwrap().identifier,
            "https://api.example.com/v1"
        );
        assert!(resolve(all.clone(), Some("https://api.example.com/v10")).is_none());
        assert_eq!(resolve(all, None).unwrap().identifier, "https://other.example");
    }
}
