//! The resource types this service serves. Adding a type adds one line here.

use crate::db::access_rows::{MembershipProfiles, Memberships, Permissions, Roles, Versions};
use crate::db::apis::{ApiResources, ApiScopes};
use crate::db::credentials::{ApiCredentials, ApplicationMemberships};
use crate::db::organizations::Organizations;
use crate::db::resources::ResourceType;
use crate::db::users::Users;
use crate::jsonapi::spec::ResourceSpec;

static TYPES: &[&dyn ResourceType] = &[
    &Organizations,
    &Users,
    &Roles,
    &Permissions,
    &Memberships,
    &MembershipProfiles,
    &Versions,
    &ApiCredentials,
    &ApplicationMemberships,
    &ApiResources,
    &ApiScopes,
];

pub fn find(type_name: &str) -> Option<&'static dyn ResourceType> {
    TYPES.iter().copied().find(|t| t.spec().type_name == type_name)
}

pub fn spec(type_name: &str) -> Option<&'static ResourceSpec> {
    find(type_name).map(|t| t.spec())
}
