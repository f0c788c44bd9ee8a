//! `application_memberships`: an API credential's role in its organization, optionally tied
//! to a member or a membership profile.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::application_memberships;
use crate::domain::policy::{Authorized, CreateIn};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::api_credentials::ApiCredentials;
use crate::resources::membership_profiles::MembershipProfiles;
use crate::resources::memberships::Memberships;
use crate::resources::model::{common_changes, new_row, row, stored, Resource};
use crate::resources::roles::{self};
use crate::resources::write::{Create, Delete, Tx, Update};
use crate::spec::*;

pub struct ApplicationMemberships;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "application_memberships",
    attributes: &[Attribute::new("filters", Kind::Object, CREATE | UPDATE | FILTER)],
    relationships: &[
        Relationship::to_one("api_credential", "api_credentials", "api_credential_id", CREATE | REQUIRED),
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("role", "roles", "role_id", CREATE | UPDATE | REQUIRED),
        Relationship::to_one("membership", "memberships", "membership_id", CREATE | UPDATE),
        Relationship::to_one("membership_profile", "membership_profiles", "membership_profile_id", CREATE | UPDATE),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct ApplicationMembership in application_memberships {
        pub organization_id: String,
        pub api_credential_id: String,
        pub role_id: String,
        pub membership_id: Option<String>,
        pub membership_profile_id: Option<String>,
        #[serde(serialize_with = "crate::views::json")]
        pub filters: String,
    }
}

impl Resource for ApplicationMemberships {
    stored!(
        application_memberships,
        ApplicationMembership,
        [organization_id, api_credential_id, role_id, membership_id, membership_profile_id]
    );

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &ApplicationMembership) -> Attributes<'_> {
        Attributes { filters: &row.filters }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    #[serde(serialize_with = "crate::views::json")]
    #[schema(value_type = Object)]
    filters: &'a str,
}

/// The document's values; relationships as sent (`Some(None)` clears a to-one).
pub struct Values {
    credential_id: Option<String>,
    role: Option<Option<String>>,
    membership: Option<Option<String>>,
    profile: Option<Option<String>>,
    filters: Option<String>,
    common: Common,
}

fn read(document: &ResourceDocument) -> Result<Values, ApiError> {
    let mut reader = Reader::new(document);
    let filters = reader.object("filters").into_change().map(|f| f.unwrap_or_else(|| "{}".into()));
    let common = Common::read(&mut reader);
    if document.linked("role") == Some(None) {
        reader.errors.push(Invalid::relationship("role", "role cannot be null."));
    }
    reader.finish()?;
    Ok(Values {
        credential_id: document.linked("api_credential").flatten(),
        role: document.linked("role"),
        membership: document.linked("membership"),
        profile: document.linked("membership_profile"),
        filters,
        common,
    })
}

/// Every related record belongs to the organization (422 at the relationship otherwise).
fn check(tx: &mut Tx, organization_id: &str, values: &Values) -> Result<(), ApiError> {
    if let Some(id) = &values.credential_id {
        tx.related::<ApiCredentials>("api_credential", id, organization_id)?;
    }
    if let Some(Some(id)) = &values.role {
        roles::assignable(tx, id, organization_id)?;
    }
    if let Some(Some(id)) = &values.membership {
        tx.related::<Memberships>("membership", id, organization_id)?;
    }
    if let Some(Some(id)) = &values.profile {
        tx.related::<MembershipProfiles>("membership_profile", id, organization_id)?;
    }
    Ok(())
}

impl Create for ApplicationMemberships {
    type New = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<ApplicationMembership, ApiError> {
        check(tx, &place.organization_id, &new)?;
        let row = new_row!(
            ApplicationMembership {
                organization_id: place.organization_id.clone(),
                api_credential_id: new.credential_id.unwrap_or_default(),
                role_id: new.role.flatten().unwrap_or_default(),
                membership_id: new.membership.flatten(),
                membership_profile_id: new.profile.flatten(),
                filters: new.filters.unwrap_or_else(|| "{}".into()),
            },
            new.common
        );
        tx.insert::<ApplicationMemberships>(row)
    }
}

impl Update for ApplicationMemberships {
    type Changes = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn update(tx: &mut Tx, row: &Authorized<ApplicationMembership>, changes: Values) -> Result<&'static str, ApiError> {
        check(tx, &row.organization_id, &changes)?;
        diesel::update(application_memberships::table.find(&row.id))
            .set((
                changes.role.flatten().map(|v| application_memberships::role_id.eq(v)),
                changes.membership.map(|v| application_memberships::membership_id.eq(v)),
                changes.profile.map(|v| application_memberships::membership_profile_id.eq(v)),
                changes.filters.map(|v| application_memberships::filters.eq(v)),
                common_changes!(application_memberships, changes.common),
            ))
            .execute(tx.conn)?;
        Ok("update")
    }
}

impl Delete for ApplicationMemberships {}
