//! The resource types this service serves, one module each, and the registry that lists them.
//! Adding a type adds its module and one line in `REGISTRY`.

pub mod model;
pub mod read;
pub mod write;

pub mod api_credentials;
pub mod api_resources;
pub mod api_scopes;
pub mod application_memberships;
pub mod membership_profiles;
pub mod memberships;
pub mod organizations;
pub mod permissions;
pub mod roles;
pub mod users;
pub mod versions;

use model::{AnyResource, Registered};

use crate::spec::{Catalog, ResourceSpec, Tenancy};

pub struct Registry {
    types: &'static [&'static dyn AnyResource],
}

pub static REGISTRY: Registry = Registry {
    types: &[
        &Registered::<organizations::Organizations>::TYPE,
        &Registered::<users::Users>::TYPE,
        &Registered::<roles::Roles>::TYPE,
        &Registered::<permissions::Permissions>::TYPE,
        &Registered::<memberships::Memberships>::TYPE,
        &Registered::<membership_profiles::MembershipProfiles>::TYPE,
        &Registered::<versions::Versions>::TYPE,
        &Registered::<api_credentials::ApiCredentials>::TYPE,
        &Registered::<application_memberships::ApplicationMemberships>::TYPE,
        &Registered::<api_resources::ApiResources>::TYPE,
        &Registered::<api_scopes::ApiScopes>::TYPE,
    ],
};

impl Registry {
    pub fn find(&self, type_name: &str) -> Option<&'static dyn AnyResource> {
        self.types.iter().copied().find(|t| t.spec().type_name == type_name)
    }

    pub fn types(&self) -> &'static [&'static dyn AnyResource] {
        self.types
    }
}

impl Catalog for Registry {
    fn spec(&self, type_name: &str) -> Option<&'static ResourceSpec> {
        self.find(type_name).map(|t| t.spec())
    }

    fn subjects(&self) -> Vec<&'static str> {
        self.types.iter().map(|t| t.spec()).filter(|s| s.tenancy != Tenancy::Caller).map(|s| s.type_name).collect()
    }
}
