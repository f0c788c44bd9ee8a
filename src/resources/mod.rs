//! The resource types this service serves, one module each, the registry that lists them (made
//! by `http::types!`, with each type's routes), and the machinery they share.

pub mod model;
pub mod read;
pub mod sealed;
pub mod write;

pub mod api_credentials;
pub mod api_resources;
pub mod api_scopes;
pub mod application_memberships;
pub mod credential_providers;
pub mod identity_providers;
pub mod membership_profiles;
pub mod memberships;
pub mod organizations;
pub mod permissions;
pub mod roles;
pub mod users;
pub mod versions;

use model::AnyResource;

use crate::spec::{Catalog, ResourceSpec, Tenancy};

pub struct Registry {
    types: &'static [&'static dyn AnyResource],
}

impl Registry {
    pub const fn new(types: &'static [&'static dyn AnyResource]) -> Registry {
        Registry { types }
    }

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
