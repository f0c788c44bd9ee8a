//! The resource types this service serves. Adding a type adds one line here.

use crate::db::resources::ResourceType;
use crate::jsonapi::spec::ResourceSpec;

static TYPES: &[&dyn ResourceType] = &[&crate::db::organizations::Organizations];

pub fn find(type_name: &str) -> Option<&'static dyn ResourceType> {
    TYPES.iter().copied().find(|t| t.spec().type_name == type_name)
}

pub fn spec(type_name: &str) -> Option<&'static ResourceSpec> {
    find(type_name).map(|t| t.spec())
}
