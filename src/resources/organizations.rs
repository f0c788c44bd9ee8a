//! `organizations`: the caller who creates one becomes its owner, with the two built-in roles
//! and their base permissions. Its fields are the reference's (commerce-only settings left out).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;

use crate::db::schema::organizations;
use crate::db::sql::Sql;
use crate::domain::policy::{Authorized, CreateIn, RoleKind};
use crate::domain::{new_id, now, parse_email, parse_http_url, parse_text};
use crate::error::ApiError;
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::model::{row, stored, Resource};
use crate::resources::write::{Create, Tx, Update};
use crate::resources::{memberships, permissions, roles, users};
use crate::spec::*;

pub struct Organizations;

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
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::Organization,
};

row! {
    pub struct Organization in organizations {
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
        #[serde(serialize_with = "crate::views::optional_json")]
        pub subscription_info: Option<String>,
        #[serde(serialize_with = "crate::views::optional_json")]
        pub config: Option<String>,
    }
}

impl Resource for Organizations {
    stored!(organizations, Organization, []);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &Organization) -> Attributes<'_> {
        Attributes {
            name: &row.name,
            slug: &row.slug,
            domain: &row.domain,
            support_phone: row.support_phone.as_deref(),
            support_email: row.support_email.as_deref(),
            logo_url: row.logo_url.as_deref(),
            favicon_url: row.favicon_url.as_deref(),
            primary_color: row.primary_color.as_deref(),
            contrast_color: row.contrast_color.as_deref(),
            gtm_id: row.gtm_id.as_deref(),
            gtm_id_test: row.gtm_id_test.as_deref(),
            region: &row.region,
            can_switch_live: row.can_switch_live,
            subscription_info: &row.subscription_info,
            config: &row.config,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    slug: &'a str,
    domain: &'a str,
    support_phone: Option<&'a str>,
    support_email: Option<&'a str>,
    logo_url: Option<&'a str>,
    favicon_url: Option<&'a str>,
    primary_color: Option<&'a str>,
    contrast_color: Option<&'a str>,
    gtm_id: Option<&'a str>,
    gtm_id_test: Option<&'a str>,
    region: &'a str,
    can_switch_live: bool,
    #[serde(serialize_with = "crate::views::optional_json")]
    #[schema(value_type = Option<Object>)]
    subscription_info: &'a Option<String>,
    #[serde(serialize_with = "crate::views::optional_json")]
    #[schema(value_type = Option<Object>)]
    config: &'a Option<String>,
}

pub const DEFAULT_REGION: &str = "eu-west-1";
const MAX_SLUG: usize = 40;

/// `#RRGGBB`.
pub fn parse_hex_color(value: &str) -> Result<String, String> {
    let valid = value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit());
    valid.then(|| value.to_ascii_uppercase()).ok_or_else(|| "must be a hex color like #C8984E".into())
}

/// A Google Tag Manager container id, `GTM-XXXXXX`.
pub fn parse_gtm_id(value: &str) -> Result<String, String> {
    let valid = value
        .strip_prefix("GTM-")
        .is_some_and(|rest| (1..=16).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    valid.then(|| value.to_string()).ok_or_else(|| "must be a Google Tag Manager id like GTM-5FJXX6".into())
}

pub fn parse_phone(value: &str) -> Result<String, String> {
    let value = value.trim();
    let valid = (3..=40).contains(&value.len())
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_digit() || " +-().x/".contains(c));
    valid.then(|| value.to_string()).ok_or_else(|| "must be a phone number like +01 30800857".into())
}

/// A cloud region name such as `eu-west-1` or `ap-southeast-2`.
pub fn parse_region(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split('-').collect();
    let valid = value.len() <= 32
        && parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    valid.then(|| value.to_string()).ok_or_else(|| "must be a region like eu-west-1".into())
}

/// The URL-safe form of a name: `The Blue Brand!` becomes `the-blue-brand`.
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(MAX_SLUG).collect();
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "organization".into()
    } else {
        slug.to_string()
    }
}

/// The settings an organization's document may carry, as the columns they change.
#[derive(AsChangeset, Default)]
#[diesel(table_name = organizations)]
pub struct Changes {
    name: Option<String>,
    support_phone: Option<Option<String>>,
    support_email: Option<Option<String>>,
    logo_url: Option<Option<String>>,
    favicon_url: Option<Option<String>>,
    primary_color: Option<Option<String>>,
    contrast_color: Option<Option<String>>,
    gtm_id: Option<Option<String>>,
    gtm_id_test: Option<Option<String>>,
    region: Option<String>,
    config: Option<Option<String>>,
    metadata: Option<String>,
    reference: Option<Option<String>>,
    reference_origin: Option<Option<String>>,
    updated_at: Option<NaiveDateTime>,
}

fn read(document: &ResourceDocument) -> Result<Changes, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.string("name", |v| parse_text(v, 255));
    let mut setting = |name: &str, rule: fn(&str) -> Result<String, String>| reader.string(name, rule).into_change();
    let mut changes = Changes {
        support_phone: setting("support_phone", parse_phone),
        support_email: setting("support_email", parse_email),
        logo_url: setting("logo_url", parse_http_url),
        favicon_url: setting("favicon_url", parse_http_url),
        primary_color: setting("primary_color", parse_hex_color),
        contrast_color: setting("contrast_color", parse_hex_color),
        gtm_id: setting("gtm_id", parse_gtm_id),
        gtm_id_test: setting("gtm_id_test", parse_gtm_id),
        ..Default::default()
    };
    changes.name = reader.not_null("name", name);
    let region = reader.string("region", parse_region);
    changes.region = reader.not_null("region", region);
    changes.config = reader.object("config").into_change();
    let common = Common::read(&mut reader);
    reader.finish()?;
    changes.metadata = common.metadata;
    changes.reference = common.reference.into_change();
    changes.reference_origin = common.reference_origin.into_change();
    changes.updated_at = Some(now());
    Ok(changes)
}

impl Create for Organizations {
    type New = Changes;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Changes, ApiError> {
        read(document)
    }

    /// A new organization is the caller's to found: it needs no one's permission.
    fn organization(_: &mut Tx, _: &Changes, _: Option<String>) -> Result<Option<String>, ApiError> {
        Ok(None)
    }

    fn create(tx: &mut Tx, _: Authorized<CreateIn>, new: Changes) -> Result<Organization, ApiError> {
        let now = now();
        let name = new.name.unwrap_or_default();
        let organization = Organization {
            id: new_id(),
            slug: slug_from_name(&name),
            domain: String::new(),
            name,
            support_phone: new.support_phone.flatten(),
            support_email: new.support_email.flatten(),
            logo_url: new.logo_url.flatten(),
            favicon_url: new.favicon_url.flatten(),
            primary_color: new.primary_color.flatten(),
            contrast_color: new.contrast_color.flatten(),
            gtm_id: new.gtm_id.flatten(),
            gtm_id_test: new.gtm_id_test.flatten(),
            region: new.region.unwrap_or_else(|| DEFAULT_REGION.into()),
            can_switch_live: false,
            subscription_info: None,
            config: new.config.flatten(),
            reference: new.reference.flatten(),
            reference_origin: new.reference_origin.flatten(),
            metadata: new.metadata.unwrap_or_else(|| "{}".into()),
            created_at: now,
            updated_at: now,
        };
        let organization = insert_with_free_slug(tx, organization)?;
        found(tx, &organization.id)?;
        tx.caller.joined(&organization.id);
        Ok(organization)
    }
}

/// The first of `base`, `base-2`, `base-3`… past `base-<after>` that no committed organization
/// uses.
fn free_slug(tx: &mut Tx, base: &str, after: usize) -> Result<(String, usize), ApiError> {
    #[derive(QueryableByName)]
    struct Slug {
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
    }
    // Slugs hold only [a-z0-9-], so the LIKE pattern needs no escaping.
    let mut sql = Sql::new("SELECT slug FROM organizations WHERE slug = ");
    sql.text(base).push(" OR slug LIKE ").text(format!("{base}-%"));
    let taken: std::collections::HashSet<String> = sql.load::<Slug>(tx.conn)?.into_iter().map(|s| s.slug).collect();
    Ok((after + 1..)
        .map(|n| (if n == 1 { base.to_string() } else { format!("{base}-{n}") }, n))
        .find(|(c, _)| !taken.contains(c))
        .unwrap_or_default())
}

/// Requests racing for one slug all succeed: the loser of the unique index tries a number past
/// the one it lost with (others still in flight are invisible until they commit), and after a
/// few losses a random suffix, which no racer shares.
fn insert_with_free_slug(tx: &mut Tx, mut organization: Organization) -> Result<Organization, ApiError> {
    let base = organization.slug.clone();
    let mut tried = 0;
    for attempt in 0..12 {
        organization.slug = if attempt < 4 {
            let (slug, n) = free_slug(tx, &base, tried)?;
            tried = n;
            slug
        } else {
            let suffix = crate::domain::secrets::generate_client_id().to_lowercase();
            let suffix: String = suffix.chars().filter(char::is_ascii_alphanumeric).take(6).collect();
            format!("{}-{suffix}", base.chars().take(MAX_SLUG - 7).collect::<String>())
        };
        organization.domain = format!("{}.{}", organization.slug, tx.domain_suffix);
        // A savepoint, so a unique violation leaves the transaction usable.
        let inserted = tx.conn.transaction(|c| Organizations::insert(c, &organization));
        match inserted {
            Ok(()) => {
                tx.record::<Organizations>("create", None, Some(&organization))?;
                return Ok(organization);
            }
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Unavailable("could not find a free slug under contention".into()))
}

/// The organization's built-in roles with their base permissions, and the caller as its owner.
fn found(tx: &mut Tx, organization_id: &str) -> Result<(), ApiError> {
    let subjects = tx.registry.subjects();
    let mut admin_role_id = String::new();
    for kind in [RoleKind::Admin, RoleKind::ReadOnly] {
        let name = if kind == RoleKind::Admin { "Admin" } else { "Read-only" };
        let role = tx.insert::<roles::Roles>(roles::new_role(organization_id, name, kind))?;
        for subject in &subjects {
            tx.insert::<permissions::Permissions>(permissions::base(&role.id, organization_id, kind, subject))?;
        }
        if kind == RoleKind::Admin {
            admin_role_id = role.id;
        }
    }
    let user = users::find(tx.conn, &tx.caller.user_id)?
        .ok_or_else(|| ApiError::Unauthorized("Your user no longer exists.".into()))?;
    tx.insert::<memberships::Memberships>(memberships::owner(organization_id, &admin_role_id, &user))?;
    Ok(())
}

impl Update for Organizations {
    type Changes = Changes;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Changes, ApiError> {
        read(document)
    }

    fn update(tx: &mut Tx, record: &Authorized<Organization>, changes: Changes) -> Result<&'static str, ApiError> {
        diesel::update(organizations::table.find(&record.id)).set(&changes).execute(tx.conn)?;
        Ok("update")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug_from_name("The Blue Brand!"), "the-blue-brand");
        assert_eq!(slug_from_name("  --Café  Crème-- "), "caf-cr-me");
        assert_eq!(slug_from_name("!!!"), "organization");
        assert!(slug_from_name(&"a b ".repeat(40)).len() <= MAX_SLUG);
        assert!(!slug_from_name(&"a b ".repeat(40)).ends_with('-'));
    }

    #[test]
    fn colors_regions_gtm_phones() {
        assert_eq!(parse_hex_color("#c8984e").unwrap(), "#C8984E");
        assert!(parse_hex_color("C8984E").is_err());
        assert!(parse_region("eu-west-1").is_ok());
        assert!(parse_region("mars").is_err());
        assert!(parse_gtm_id("GTM-5FJXX6").is_ok());
        assert!(parse_gtm_id("UA-1").is_err());
        assert!(parse_phone("+01 30800857").is_ok());
        assert!(parse_phone("call me").is_err());
    }
}
