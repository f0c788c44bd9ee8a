//! `memberships`: who belongs to an organization, with which role. An invitation is a pending
//! membership for an email, activated when a user with that email signs in.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{memberships, organizations};
use crate::db::sql::Sql;
use crate::db::statements;
use crate::db::AnyConnection;
use crate::domain::letters;
use crate::domain::policy::{Authorized, CreateIn, RoleKind};
use crate::domain::{new_id, now, parse_access_scope, parse_email, test_enabled};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::membership_profiles::MembershipProfiles;
use crate::resources::model::{common_changes, row, stored, Resource};
use crate::resources::roles::{self, Roles};
use crate::resources::users::{self, User};
use crate::resources::write::{duplicate, forbid, required_link, Create, Delete, Tx, Update};
use crate::spec::*;

pub struct Memberships;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "memberships",
    attributes: &[
        Attribute::new("user_email", Kind::String, REQUIRED | CREATE | FILTER | SORT),
        Attribute::new("user_first_name", Kind::String, 0),
        Attribute::new("user_last_name", Kind::String, 0),
        Attribute::new("status", Kind::String, FILTER | SORT),
        Attribute::new("owner", Kind::Boolean, FILTER),
        Attribute::new("access_scope", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("test_enabled", Kind::Boolean, 0),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("role", "roles", "role_id", CREATE | UPDATE | REQUIRED),
        Relationship::to_many("application_memberships", "application_memberships", "membership_id"),
        Relationship::to_one("membership_profile", "membership_profiles", "membership_profile_id", CREATE | UPDATE),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct Membership in memberships {
        pub organization_id: String,
        pub role_id: String,
        pub membership_profile_id: Option<String>,
        pub user_id: Option<String>,
        pub user_email: String,
        pub user_first_name: Option<String>,
        pub user_last_name: Option<String>,
        pub status: String,
        pub owner: bool,
        pub access_scope: String,
        pub test_enabled: bool,
        pub invited_at: Option<NaiveDateTime>,
    }
}

impl Resource for Memberships {
    stored!(memberships, Membership, [organization_id, role_id, membership_profile_id]);

    /// Its user's grants change with it.
    fn grants_changed(
        conn: &mut AnyConnection,
        before: Option<&Membership>,
        after: Option<&Membership>,
    ) -> QueryResult<()> {
        for user_id in before.iter().chain(after.iter()).filter_map(|m| m.user_id.as_deref()) {
            statements::touch_user_grants(conn, user_id)?;
        }
        Ok(())
    }

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &Membership) -> Attributes<'_> {
        Attributes {
            user_email: &row.user_email,
            user_first_name: row.user_first_name.as_deref(),
            user_last_name: row.user_last_name.as_deref(),
            status: &row.status,
            owner: row.owner,
            access_scope: &row.access_scope,
            test_enabled: row.test_enabled,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    user_email: &'a str,
    user_first_name: Option<&'a str>,
    user_last_name: Option<&'a str>,
    status: &'a str,
    owner: bool,
    access_scope: &'a str,
    test_enabled: bool,
}

/// The founder's membership: owner, admin, active.
pub fn owner(organization_id: &str, admin_role_id: &str, user: &User) -> Membership {
    let now = now();
    Membership {
        id: new_id(),
        organization_id: organization_id.to_string(),
        role_id: admin_role_id.to_string(),
        membership_profile_id: None,
        user_id: Some(user.id.clone()),
        user_email: user.email.to_lowercase(),
        user_first_name: Some(user.first_name.clone()),
        user_last_name: Some(user.last_name.clone()),
        status: "active".into(),
        owner: true,
        access_scope: "all_access".into(),
        test_enabled: true,
        invited_at: None,
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    }
}

/// The membership of `email` in the organization.
pub fn by_email(conn: &mut AnyConnection, organization_id: &str, email: &str) -> QueryResult<Option<Membership>> {
    let mut sql = Sql::new("SELECT * FROM memberships WHERE organization_id = ");
    sql.text(organization_id).push(" AND lower(user_email) = lower(").text(email).push(")");
    Ok(sql.load::<Membership>(conn)?.into_iter().next())
}

/// The membership of a user in the organization.
pub fn of_user(conn: &mut AnyConnection, organization_id: &str, user_id: &str) -> QueryResult<Option<Membership>> {
    memberships::table
        .filter(memberships::organization_id.eq(organization_id))
        .filter(memberships::user_id.eq(user_id))
        .select(Membership::as_select())
        .first(conn)
        .optional()
}

pub struct NewMembership {
    role_id: String,
    profile_id: Option<String>,
    email: String,
    access_scope: Option<String>,
    common: Common,
}

impl Create for Memberships {
    type New = NewMembership;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<NewMembership, ApiError> {
        let mut reader = Reader::new(document);
        let email = reader.required("user_email", |v| parse_email(v).map(|e| e.to_lowercase()));
        let access_scope = reader.required("access_scope", parse_access_scope);
        let common = Common::read(&mut reader);
        reader.finish()?;
        Ok(NewMembership {
            role_id: required_link(document, "role")?,
            profile_id: document.linked("membership_profile").flatten(),
            email: email.unwrap_or_default(),
            access_scope,
            common,
        })
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: NewMembership) -> Result<Membership, ApiError> {
        let organization_id = place.organization_id.clone();
        roles::assignable(tx, &new.role_id, &organization_id)?;
        let profile = match &new.profile_id {
            Some(id) => Some(tx.related::<MembershipProfiles>("membership_profile", id, &organization_id)?),
            None => None,
        };
        if by_email(tx.conn, &organization_id, &new.email)?.is_some() {
            return Err(duplicate("user_email", "This email already has a membership in this organization."));
        }
        let user = users::find_by_email(tx.conn, &new.email)?;
        let access_scope = new
            .access_scope
            .or_else(|| profile.as_ref().map(|p| p.access_scope.clone()))
            .unwrap_or_else(|| "live_access".into());
        let now = now();
        let membership = tx.insert::<Memberships>(Membership {
            id: new_id(),
            organization_id,
            role_id: new.role_id,
            membership_profile_id: profile.map(|p| p.id),
            user_id: user.as_ref().map(|u| u.id.clone()),
            user_email: new.email,
            user_first_name: user.as_ref().map(|u| u.first_name.clone()),
            user_last_name: user.as_ref().map(|u| u.last_name.clone()),
            status: if user.is_some() { "active" } else { "pending" }.into(),
            owner: false,
            test_enabled: test_enabled(&access_scope),
            access_scope,
            invited_at: Some(now),
            reference: new.common.reference.value(),
            reference_origin: new.common.reference_origin.value(),
            metadata: new.common.metadata.unwrap_or_else(|| "{}".into()),
            created_at: now,
            updated_at: now,
        })?;
        invite(tx, &membership)?;
        Ok(membership)
    }
}

/// Mails the invitation to the membership's email, from the caller, once the write commits.
pub fn invite(tx: &mut Tx, membership: &Membership) -> Result<(), ApiError> {
    let organization: String =
        organizations::table.find(&membership.organization_id).select(organizations::name).first(tx.conn)?;
    let role = Roles::find(tx.conn, &membership.role_id)?
        .ok_or_else(|| ApiError::internal("a membership without its role"))?;
    let inviter =
        users::find(tx.conn, &tx.caller.user_id)?.ok_or_else(|| ApiError::internal("a caller without a user"))?;
    let inviter_name = format!("{} {}", inviter.first_name, inviter.last_name);
    tx.mail(letters::invitation(&letters::Invitation {
        email: &membership.user_email,
        organization: &organization,
        role: &role.name,
        inviter_name: inviter_name.trim(),
        inviter_email: &inviter.email,
        active: membership.status == "active",
    }));
    Ok(())
}

pub struct MembershipChanges {
    role: Option<Option<String>>,
    profile: Option<Option<String>>,
    access_scope: Option<String>,
    common: Common,
}

impl Update for Memberships {
    type Changes = MembershipChanges;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<MembershipChanges, ApiError> {
        let mut reader = Reader::new(document);
        let access_scope = reader.required("access_scope", parse_access_scope);
        let common = Common::read(&mut reader);
        if document.linked("role") == Some(None) {
            reader.errors.push(Invalid::relationship("role", "role cannot be null."));
        }
        reader.finish()?;
        Ok(MembershipChanges {
            role: document.linked("role"),
            profile: document.linked("membership_profile"),
            access_scope,
            common,
        })
    }

    fn update(
        tx: &mut Tx,
        membership: &Authorized<Membership>,
        changes: MembershipChanges,
    ) -> Result<&'static str, ApiError> {
        let organization_id = &membership.organization_id;
        let role_id = match changes.role.flatten() {
            Some(role_id) => {
                roles::assignable(tx, &role_id, organization_id)?;
                let admin = roles::builtin(tx.conn, organization_id, RoleKind::Admin)?.map(|r| r.id);
                if membership.owner && Some(&role_id) != admin.as_ref() {
                    return Err(ApiError::invalid(Invalid::relationship(
                        "role",
                        "The owner keeps the admin role; transfer ownership first.",
                    )));
                }
                Some(role_id)
            }
            None => None,
        };
        let profile_id = match changes.profile {
            Some(Some(id)) => {
                Some(Some(tx.related::<MembershipProfiles>("membership_profile", &id, organization_id)?.id))
            }
            other => other.map(|_| None),
        };
        let access_scope = changes.access_scope;
        diesel::update(memberships::table.find(&membership.id))
            .set((
                role_id.map(|v| memberships::role_id.eq(v)),
                profile_id.map(|v| memberships::membership_profile_id.eq(v)),
                access_scope.as_ref().map(|v| memberships::access_scope.eq(v.clone())),
                access_scope.as_ref().map(|v| memberships::test_enabled.eq(test_enabled(v))),
                common_changes!(memberships, changes.common),
            ))
            .execute(tx.conn)?;
        Ok("update")
    }
}

impl Delete for Memberships {
    fn check(_: &mut Tx, membership: &Authorized<Membership>) -> Result<(), ApiError> {
        if membership.owner {
            return Err(forbid("The owner's membership cannot be deleted; transfer the ownership first."));
        }
        Ok(())
    }
}
