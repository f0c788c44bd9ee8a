//! HTTP: the app state, the routes, and thin handlers. Every resource type gets the same
//! routes from its registration (`routes::<T>()`), its writes where it implements them, and
//! each request does its database work, authentication included, in one blocking-pool hop.

pub mod actions;
pub mod answers;
pub mod auth;
pub mod caching;
pub mod context;
pub mod cors;
pub mod endpoint;
pub mod gate;
pub mod limits;
pub mod oauth;
pub mod observe;
pub mod openapi;
pub mod operate;
pub mod read;
pub mod state;
pub mod users;
pub mod write;

use std::marker::PhantomData;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::http::endpoint::resource;
use crate::resources::api_credentials::ApiCredentials;
use crate::resources::api_resources::ApiResources;
use crate::resources::api_scopes::ApiScopes;
use crate::resources::application_memberships::ApplicationMemberships;
use crate::resources::credential_providers::CredentialProviders;
use crate::resources::identity_providers::IdentityProviders;
use crate::resources::membership_profiles::MembershipProfiles;
use crate::resources::memberships::Memberships;
use crate::resources::model::{AnyResource, Registered, Resource};
use crate::resources::organizations::Organizations;
use crate::resources::permissions::Permissions;
use crate::resources::roles::Roles;
use crate::resources::users::Users;
use crate::resources::versions::Versions;
use crate::resources::write::{Create, Delete, Update};
use crate::resources::Registry;

/// The registered types: each line makes a type part of the registry (a permission subject,
/// a target of includes and relationships) and mounts its routes, with the writes it has.
macro_rules! types {
    ($($type:ty => $routes:tt,)*) => {
        pub static REGISTRY: Registry = Registry::new(&[$(&Registered::<$type>::TYPE,)*]);

        /// What `mount_types` mounts, for the OpenAPI document.
        pub static MOUNTED: &[Mounted] = &[$(Mounted { resource: &Registered::<$type>::TYPE, writes: writes!($routes) },)*];

        fn mount_types(cfg: &mut web::ServiceConfig) {
            $(mount!(cfg, $type, $routes);)*
        }
    };
}

/// A registered type and the writes its shared routes take (`None`: routes of its own).
pub struct Mounted {
    pub resource: &'static dyn AnyResource,
    pub writes: Option<&'static [&'static str]>,
}

macro_rules! writes {
    (singleton) => {
        None
    };
    ([$($write:ident)*]) => {
        Some(&[$(stringify!($write)),*])
    };
}

/// `[create update delete]`: the shared routes with these writes; `singleton`: routes of its
/// own (`/user`).
macro_rules! mount {
    ($cfg:ident, $type:ty, singleton) => {};
    ($cfg:ident, $type:ty, [$($write:ident)*]) => {
        routes::<$type>()$(.$write())*.mount($cfg)
    };
}

types! {
    // No DELETE: the reference has none for organizations.
    Organizations => [create update],
    Users => singleton,
    Roles => [create update],
    Permissions => [create update],
    Memberships => [create update delete],
    MembershipProfiles => [create update delete],
    Versions => [],
    ApiCredentials => [create update delete],
    ApplicationMemberships => [create update delete],
    ApiResources => [create update delete],
    ApiScopes => [create update delete],
    IdentityProviders => [create update delete],
    CredentialProviders => [create update delete],
}

/// Mounts every resource type under `/api`. Specific routes (custom actions, the writable
/// relationship) go before the generic ones they would otherwise match.
pub fn configure_api(cfg: &mut web::ServiceConfig) {
    cfg.configure(users::configure).configure(actions::configure).configure(mount_types);
}

/// The routes of one type: reads always; creates, updates and deletes as the type allows.
pub struct Routes<T> {
    collection: Vec<(&'static str, actix_web::Route)>,
    member: Vec<(&'static str, actix_web::Route)>,
    updatable: bool,
    _type: PhantomData<T>,
}

pub fn routes<T: Resource>() -> Routes<T> {
    Routes {
        collection: vec![("GET", web::get().to(read::list::<T>))],
        member: vec![("GET", web::get().to(read::show::<T>))],
        updatable: false,
        _type: PhantomData,
    }
}

impl<T: Resource> Routes<T> {
    pub fn create(mut self) -> Self
    where
        T: Create,
    {
        self.collection.push(("POST", web::post().to(write::create::<T>)));
        self
    }

    pub fn update(mut self) -> Self
    where
        T: Update,
    {
        self.member.push(("PATCH", web::patch().to(write::update::<T>)));
        self.updatable = true;
        self
    }

    pub fn delete(mut self) -> Self
    where
        T: Delete,
    {
        self.member.push(("DELETE", web::delete().to(write::delete::<T>)));
        self
    }

    pub fn mount(self, cfg: &mut web::ServiceConfig) {
        let name = T::SPEC.type_name;
        let allow = |routes: &[(&str, actix_web::Route)]| routes.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ");
        let mut collection = resource(&format!("/{name}"), allow(&self.collection));
        for (_, route) in self.collection {
            collection = collection.route(route);
        }
        let mut member = resource(&format!("/{name}/{{id}}"), allow(&self.member));
        for (_, route) in self.member {
            member = member.route(route);
        }
        if !self.updatable {
            // JSON:API 1.1 §9.2: an update the server does not support is forbidden.
            member = member.route(web::patch().to(move || async move {
                Err::<HttpResponse, _>(ApiError::Forbidden {
                    detail: format!("{name} cannot be updated."),
                    location: crate::error::Source::None,
                })
            }));
        }
        cfg.service(collection).service(member);
        cfg.service(
            resource(&format!("/{name}/{{id}}/relationships/{{relationship}}"), "GET".into())
                .route(web::get().to(read::linkage::<T>))
                .route(web::post().to(actions::unsupported_relationship_update))
                .route(web::patch().to(actions::unsupported_relationship_update))
                .route(web::delete().to(actions::unsupported_relationship_update)),
        );
        cfg.service(
            resource(&format!("/{name}/{{id}}/{{relationship}}"), "GET".into())
                .route(web::get().to(read::related::<T>)),
        );
    }
}
