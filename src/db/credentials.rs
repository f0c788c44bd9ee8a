//! API credentials (organizations' OAuth clients) and application memberships.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::resources::ResourceType;
use crate::db::schema::{api_credentials, application_memberships, used_assertions};
use crate::db::sql::Select;
use crate::db::AnyConnection;
use crate::jsonapi::spec::ResourceSpec;
use crate::views::{credentials as view, ResourceObject};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = api_credentials)]
pub struct ApiCredential {
    pub id: String,
    pub organization_id: String,
    pub role_id: Option<String>,
    pub name: String,
    pub kind: String,
    pub redirect_uri: Option<String>,
    pub expires_in: i64,
    pub mode: String,
    pub custom: bool,
    pub auth_method: String,
    pub public_key: Option<String>,
    pub confidential: bool,
    pub scopes: String,
    pub client_id: String,
    pub client_secret_hash: Option<String>,
    pub secret_version: i64,
    pub client_secret_expires_at: Option<NaiveDateTime>,
    pub previous_secret_hash: Option<String>,
    pub client_secret_previous_expires_at: Option<NaiveDateTime>,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ApiCredential {
    /// The secret hashes that authenticate this client now: the current one, and the previous
    /// one until its grace period ends.
    pub fn valid_secret_hashes(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut hashes: Vec<&str> = self.client_secret_hash.as_deref().into_iter().collect();
        if let (Some(previous), Some(until)) = (&self.previous_secret_hash, self.client_secret_previous_expires_at) {
            if now < until {
                hashes.push(previous);
            }
        }
        hashes
    }

    /// Whether a token granted under `version` of the secret still stands.
    pub fn accepts_secret_version(&self, version: i64, now: NaiveDateTime) -> bool {
        version == self.secret_version
            || (version == self.secret_version - 1
                && self.client_secret_previous_expires_at.is_some_and(|until| now < until))
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = application_memberships)]
pub struct ApplicationMembership {
    pub id: String,
    pub organization_id: String,
    pub api_credential_id: String,
    pub role_id: String,
    pub membership_id: Option<String>,
    pub membership_profile_id: Option<String>,
    pub filters: String,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub struct ApiCredentials;

impl ResourceType for ApiCredentials {
    fn spec(&self) -> &'static ResourceSpec {
        &view::API_CREDENTIALS
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
        Ok(select.rows().load::<ApiCredential>(conn)?.into_iter().map(view::render_credential).collect())
    }
}

pub struct ApplicationMemberships;

impl ResourceType for ApplicationMemberships {
    fn spec(&self) -> &'static ResourceSpec {
        &view::APPLICATION_MEMBERSHIPS
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
        Ok(select
            .rows()
            .load::<ApplicationMembership>(conn)?
            .into_iter()
            .map(view::render_application_membership)
            .collect())
    }
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ApiCredential>> {
    api_credentials::table.find(id).select(ApiCredential::as_select()).first(conn).optional()
}

pub fn find_by_client_id(conn: &mut AnyConnection, client_id: &str) -> QueryResult<Option<ApiCredential>> {
    api_credentials::table
        .filter(api_credentials::client_id.eq(client_id))
        .select(ApiCredential::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut AnyConnection, credential: &ApiCredential) -> QueryResult<()> {
    diesel::insert_into(api_credentials::table).values(credential).execute(conn).map(|_| ())
}

pub fn find_application_membership(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<ApplicationMembership>> {
    application_memberships::table.find(id).select(ApplicationMembership::as_select()).first(conn).optional()
}

/// Records a client assertion's jti; false when it was already used (a replay).
pub fn use_assertion(conn: &mut AnyConnection, jti: &str, expires_at: NaiveDateTime) -> QueryResult<bool> {
    let now = crate::domain::now();
    diesel::delete(used_assertions::table.filter(used_assertions::expires_at.lt(now))).execute(conn)?;
    let used: i64 = used_assertions::table.filter(used_assertions::jti.eq(jti)).count().get_result(conn)?;
    if used > 0 {
        return Ok(false);
    }
    diesel::insert_into(used_assertions::table)
        .values((used_assertions::jti.eq(jti), used_assertions::expires_at.eq(expires_at)))
        .execute(conn)?;
    Ok(true)
}
