//! The `users` resource: the caller's own user, at `/api/user`.

use crate::db::users::User;
use crate::jsonapi::spec::{Attribute, Kind, ResourceSpec, Tenancy, CREATE, FILTER, REQUIRED, SORT, UPDATE};
use crate::views::ResourceObject;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "users",
    attributes: &[
        Attribute::new("email", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("first_name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("last_name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("time_zone", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("otp_required_for_login", Kind::Boolean, 0),
    ],
    relationships: &[],
    tenancy: Tenancy::Caller,
};

/// The credential never renders: the secret is shown once, by the command that made it.
pub fn render(row: User) -> ResourceObject {
    ResourceObject::new(&SPEC, row.id)
        .attribute("email", row.email)
        .attribute("first_name", row.first_name)
        .attribute("last_name", row.last_name)
        .attribute("time_zone", row.time_zone)
        .attribute("otp_required_for_login", row.otp_required_for_login)
        .common(row.created_at, row.updated_at, row.reference, row.reference_origin, &row.metadata)
}
