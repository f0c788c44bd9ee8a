//! `membership_profiles`: a name and an access scope that memberships can share.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{membership_profiles, memberships};
use crate::domain::policy::{Authorized, CreateIn};
use crate::domain::{parse_access_scope, parse_text, test_enabled};
use crate::error::ApiError;
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::model::{common_changes, new_row, row, stored, Resource};
use crate::resources::write::{Create, Delete, Tx, Update};
use crate::spec::*;

pub struct MembershipProfiles;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "membership_profiles",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("access_scope", Kind::String, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("test_enabled", Kind::Boolean, 0),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_many("memberships", "memberships", "membership_profile_id"),
        Relationship::to_many("application_memberships", "application_memberships", "membership_profile_id"),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct MembershipProfile in membership_profiles {
        pub organization_id: String,
        pub name: String,
        pub access_scope: String,
        pub test_enabled: bool,
    }
}

impl Resource for MembershipProfiles {
    stored!(membership_profiles, MembershipProfile, [organization_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &MembershipProfile) -> Attributes<'_> {
        Attributes { name: &row.name, access_scope: &row.access_scope, test_enabled: row.test_enabled }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    access_scope: &'a str,
    test_enabled: bool,
}

pub struct Values {
    name: Option<String>,
    access_scope: Option<String>,
    common: Common,
}

fn read(document: &ResourceDocument) -> Result<Values, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.required("name", |v| parse_text(v, 100));
    let access_scope = reader.required("access_scope", parse_access_scope);
    let common = Common::read(&mut reader);
    reader.finish()?;
    Ok(Values { name, access_scope, common })
}

impl Create for MembershipProfiles {
    type New = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<MembershipProfile, ApiError> {
        let access_scope = new.access_scope.unwrap_or_default();
        let row = new_row!(
            MembershipProfile {
                organization_id: place.organization_id.clone(),
                name: new.name.unwrap_or_default(),
                test_enabled: test_enabled(&access_scope),
                access_scope,
            },
            new.common
        );
        tx.insert::<MembershipProfiles>(row)
    }
}

impl Update for MembershipProfiles {
    type Changes = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn update(tx: &mut Tx, profile: &Authorized<MembershipProfile>, changes: Values) -> Result<&'static str, ApiError> {
        let access_scope = changes.access_scope;
        diesel::update(membership_profiles::table.find(&profile.id))
            .set((
                changes.name.map(|v| membership_profiles::name.eq(v)),
                access_scope.as_ref().map(|v| membership_profiles::access_scope.eq(v.clone())),
                access_scope.as_ref().map(|v| membership_profiles::test_enabled.eq(test_enabled(v))),
                common_changes!(membership_profiles, changes.common),
            ))
            .execute(tx.conn)?;
        Ok("update")
    }
}

impl Delete for MembershipProfiles {
    /// Memberships keep going without the profile.
    fn check(tx: &mut Tx, profile: &Authorized<MembershipProfile>) -> Result<(), ApiError> {
        diesel::update(memberships::table.filter(memberships::membership_profile_id.eq(&profile.id)))
            .set(memberships::membership_profile_id.eq(None::<String>))
            .execute(tx.conn)?;
        Ok(())
    }
}
