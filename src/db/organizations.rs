//! Organization rows: insert (with a unique slug), update, and loading for the shared queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::resources::ResourceType;
use crate::db::schema::organizations;
use crate::db::sql::{Select, Sql};
use crate::db::AnyConnection;
use crate::error::ApiError;
use crate::jsonapi::spec::ResourceSpec;
use crate::views::{self, ResourceObject};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub domain: String,
    pub support_phone: Option<String>,
    pub support_email: Option<String>,
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    pub primary_color: Option<String>,
    pub contrast_color: Option<String>,
    pub gtm_id: Option<String>,
    pub gtm_id_test: Option<String>,
    pub region: String,
    pub can_switch_live: bool,
    pub subscription_info: Option<String>,
    pub config: Option<String>,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub domain: String,
    pub support_phone: Option<String>,
    pub support_email: Option<String>,
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    pub primary_color: Option<String>,
    pub contrast_color: Option<String>,
    pub gtm_id: Option<String>,
    pub gtm_id_test: Option<String>,
    pub region: String,
    pub can_switch_live: bool,
    pub subscription_info: Option<String>,
    pub config: Option<String>,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// `None` keeps a column; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub support_phone: Option<Option<String>>,
    pub support_email: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub favicon_url: Option<Option<String>>,
    pub primary_color: Option<Option<String>>,
    pub contrast_color: Option<Option<String>>,
    pub gtm_id: Option<Option<String>>,
    pub gtm_id_test: Option<Option<String>>,
    pub config: Option<Option<String>>,
    pub metadata: Option<String>,
    pub reference: Option<Option<String>>,
    pub reference_origin: Option<Option<String>>,
    pub updated_at: NaiveDateTime,
}

pub struct Organizations;

impl ResourceType for Organizations {
    fn spec(&self) -> &'static ResourceSpec {
        &views::organizations::SPEC
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
        Ok(select.rows().load::<Organization>(conn)?.into_iter().map(views::organizations::render).collect())
    }
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Organization>> {
    organizations::table.find(id).select(Organization::as_select()).first(conn).optional()
}

/// The first of `base`, `base-2`, `base-3`… that no organization uses.
fn free_slug(conn: &mut AnyConnection, base: &str) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Slug {
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
    }
    // Slugs hold only [a-z0-9-], so the LIKE pattern needs no escaping.
    let mut sql = Sql::new("SELECT slug FROM organizations WHERE slug = ");
    sql.text(base).push(" OR slug LIKE ").text(format!("{base}-%"));
    let taken: std::collections::HashSet<String> = sql.load::<Slug>(conn)?.into_iter().map(|s| s.slug).collect();
    Ok((1..)
        .map(|n| if n == 1 { base.to_string() } else { format!("{base}-{n}") })
        .find(|candidate| !taken.contains(candidate))
        .expect("some suffix is free"))
}

/// Inserts `new` under the first free slug (and the domain made from it). Two requests racing
/// for one slug both succeed: the loser of the unique index tries the next free one.
pub fn insert(
    conn: &mut AnyConnection,
    mut new: NewOrganization,
    domain_suffix: &str,
) -> Result<Organization, ApiError> {
    let base = new.slug.clone();
    for _ in 0..10 {
        new.slug = free_slug(conn, &base)?;
        new.domain = format!("{}.{domain_suffix}", new.slug);
        // A savepoint, so a unique violation leaves any outer transaction usable.
        let inserted = conn.transaction(|c| diesel::insert_into(organizations::table).values(&new).execute(c));
        match inserted {
            Ok(_) => return find(conn, &new.id)?.ok_or_else(|| ApiError::internal("inserted organization vanished")),
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Unavailable("could not find a free slug under contention".into()))
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &OrganizationChanges) -> Result<Organization, ApiError> {
    diesel::update(organizations::table.find(id)).set(changes).execute(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found("organizations", id))
}
