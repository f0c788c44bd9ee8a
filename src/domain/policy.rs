//! Who may do what, decided once, here. Inside an organization the caller's membership role
//! decides: `admin` may do everything, `read_only` may only read, a `custom` role follows its
//! permissions for the subject (the resource type). Records of organizations the caller is no
//! active member of do not exist for them (404); a refused action answers 403.
//!
//! The rules run in Rust on the caller's grants, loaded with the token check in one statement.
//! Lists get the organizations to look in as a `Scope`, records come back as `Authorized<T>`:
//! both are built only here, so no handler can reach a record around the policy.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use crate::db::statements;
use crate::db::AnyConnection;
use crate::error::{ApiError, Source};
use crate::spec::{ResourceSpec, Tenancy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Destroy,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Destroy => "delete",
        }
    }
}

/// A verified access token of a user, before the database has had its say (the user may be
/// gone, the token revoked).
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub jti: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    Admin,
    ReadOnly,
    Custom,
}

impl RoleKind {
    pub fn parse(kind: &str) -> RoleKind {
        match kind {
            "admin" => RoleKind::Admin,
            "read_only" => RoleKind::ReadOnly,
            _ => RoleKind::Custom,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Admin => "admin",
            RoleKind::ReadOnly => "read_only",
            RoleKind::Custom => "custom",
        }
    }

    /// What a role of this kind is granted on every subject by its base permissions:
    /// (create, read, update, destroy). A custom role starts with nothing.
    pub fn base_grants(self) -> [bool; 4] {
        match self {
            RoleKind::Admin => [true; 4],
            RoleKind::ReadOnly => [false, true, false, false],
            RoleKind::Custom => [false; 4],
        }
    }
}

#[derive(Debug, Clone)]
struct Membership {
    organization_id: String,
    kind: RoleKind,
    /// A custom role's permissions: subject and (create, read, update, destroy).
    permissions: Vec<(String, [bool; 4])>,
}

/// Who is calling `/api`: a user whose token verified, is not revoked, and whose user exists,
/// with the grants of every active membership.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub jti: String,
    memberships: Arc<Vec<Membership>>,
}

/// Each user's grants, as this process last loaded them, under the `grants_version` of the
/// user row they were loaded at. Every write that changes what a user may do bumps that
/// version in the database (`db::statements::touch_*_grants`), so a request that finds
/// another version reloads: a change is seen at once, on every instance.
#[derive(Default)]
pub struct GrantsCache {
    entries: Mutex<HashMap<String, Versioned>>,
}

/// A user's memberships and the `grants_version` they were loaded at.
type Versioned = (i64, Arc<Vec<Membership>>);

const MAX_CACHED_USERS: usize = 50_000;

impl GrantsCache {
    fn get(&self, user_id: &str, version: i64) -> Option<Arc<Vec<Membership>>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(user_id).filter(|(v, _)| *v == version).map(|(_, m)| m.clone())
    }

    fn put(&self, user_id: &str, version: i64, memberships: Arc<Vec<Membership>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED_USERS {
            entries.clear();
        }
        entries.insert(user_id.to_string(), (version, memberships));
    }
}

/// Where a record lives, which decides who may see it.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Organization(&'a str),
    User(&'a str),
}

/// A record the policy allowed `action` on. Only this module builds one.
#[derive(Debug, Clone)]
pub struct Authorized<T> {
    record: T,
    action: Action,
}

impl<T> Authorized<T> {
    pub fn action(&self) -> Action {
        self.action
    }

    pub fn into_inner(self) -> T {
        self.record
    }
}

impl<T> Deref for Authorized<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.record
    }
}

/// The organization a new record goes to, once the caller may create the subject there.
#[derive(Debug, Clone)]
pub struct CreateIn {
    pub organization_id: String,
}

/// What a list may show: the organizations where the caller may read the subject, or only the
/// caller's own user.
#[derive(Debug, Clone)]
pub enum Scope {
    Organizations(Vec<String>),
    User(String),
}

impl Caller {
    /// Checks the token against the database (the user exists, the token is not revoked) and
    /// takes the user's grants from `cache` while their version holds, else loads them.
    pub fn authenticate(conn: &mut AnyConnection, session: &Session, cache: &GrantsCache) -> Result<Caller, ApiError> {
        let Some((email, version, revoked)) = statements::holder(conn, &session.user_id, &session.jti)? else {
            return Err(ApiError::Unauthorized("The access token's user no longer exists.".into()));
        };
        if revoked {
            return Err(ApiError::Unauthorized("The access token has been revoked.".into()));
        }
        let memberships = match cache.get(&session.user_id, version) {
            Some(memberships) => memberships,
            None => {
                let memberships = Arc::new(load_memberships(conn, &session.user_id, &session.jti)?);
                cache.put(&session.user_id, version, memberships.clone());
                memberships
            }
        };
        Ok(Caller { user_id: session.user_id.clone(), email, jti: session.jti.clone(), memberships })
    }

    fn membership(&self, organization_id: &str) -> Option<&Membership> {
        self.memberships.iter().find(|m| m.organization_id == organization_id)
    }

    pub fn is_member(&self, organization_id: &str) -> bool {
        self.membership(organization_id).is_some()
    }

    /// The caller's role kind in the organization, when they are an active member.
    pub fn role_in(&self, organization_id: &str) -> Option<RoleKind> {
        self.membership(organization_id).map(|m| m.kind)
    }

    /// The rule: what the caller's role in the organization allows on `subject`.
    pub fn may(&self, organization_id: &str, subject: &str, action: Action) -> Option<bool> {
        let membership = self.membership(organization_id)?;
        Some(match membership.kind {
            RoleKind::Admin => true,
            RoleKind::ReadOnly => action == Action::Read,
            RoleKind::Custom => membership.permissions.iter().any(|(s, flags)| {
                s == subject
                    && match action {
                        Action::Create => flags[0],
                        Action::Read => flags[1],
                        Action::Update => flags[2],
                        Action::Destroy => flags[3],
                    }
            }),
        })
    }

    /// Whether every permission of `grants` is within the caller's own in the organization.
    pub fn holds(&self, organization_id: &str, subject: &str, grants: [bool; 4]) -> bool {
        let actions = [Action::Create, Action::Read, Action::Update, Action::Destroy];
        grants
            .iter()
            .zip(actions)
            .all(|(wanted, action)| !wanted || self.may(organization_id, subject, action) == Some(true))
    }

    fn check(
        &self,
        spec: &ResourceSpec,
        owner: Owner,
        action: Action,
        missing: impl FnOnce() -> ApiError,
    ) -> Result<(), ApiError> {
        match owner {
            Owner::User(user_id) if user_id == self.user_id => Ok(()),
            Owner::User(_) => Err(missing()),
            Owner::Organization(organization_id) => match self.may(organization_id, spec.type_name, action) {
                None => Err(missing()),
                Some(true) => Ok(()),
                Some(false) => Err(self.refusal(organization_id, spec.type_name, action)),
            },
        }
    }

    /// Whether the caller may give a role (to a membership, an application membership or an
    /// API credential): the `admin` role only an admin may give; any other only when every
    /// permission it grants is within the caller's own. 403 otherwise.
    pub fn may_give(
        &self,
        organization_id: &str,
        kind: RoleKind,
        permissions: &[(String, [bool; 4])],
        subjects: &[&str],
    ) -> Result<(), ApiError> {
        let within = match kind {
            RoleKind::Admin => self.role_in(organization_id) == Some(RoleKind::Admin),
            RoleKind::ReadOnly => subjects.iter().all(|s| self.holds(organization_id, s, kind.base_grants())),
            RoleKind::Custom => {
                permissions.iter().all(|(subject, grants)| self.holds(organization_id, subject, *grants))
            }
        };
        if within {
            return Ok(());
        }
        Err(ApiError::Forbidden {
            detail: format!("You cannot give the role {}: it allows more than your own role does.", kind.as_str()),
            location: Source::relationship("role"),
        })
    }

    fn refusal(&self, organization_id: &str, subject: &str, action: Action) -> ApiError {
        let kind = self.role_in(organization_id).map_or("none", RoleKind::as_str);
        ApiError::Forbidden {
            detail: format!(
                "Your role ({kind}) does not allow you to {} {subject} in this organization.",
                action.verb()
            ),
            location: Source::None,
        }
    }

    /// `record` of type `spec`, owned by `owner`, for `action`: 404 unless the caller may see
    /// it, 403 unless their role allows the action.
    pub fn authorize<T>(
        &self,
        spec: &'static ResourceSpec,
        record: T,
        owner: impl for<'r> Fn(&'r T) -> Owner<'r>,
        id: &str,
        action: Action,
    ) -> Result<Authorized<T>, ApiError> {
        self.check(spec, owner(&record), action, || ApiError::not_found(spec.type_name, id))?;
        Ok(Authorized { record, action })
    }

    /// Creating `spec` in the organization: 404 unless the caller belongs to it (JSON:API 1.1
    /// §9.1: a related resource that does not exist), 403 unless their role allows it.
    pub fn create_in(
        &self,
        spec: &'static ResourceSpec,
        organization_id: &str,
    ) -> Result<Authorized<CreateIn>, ApiError> {
        let owner = Owner::Organization(organization_id);
        self.check(spec, owner, Action::Create, || ApiError::not_found("organizations", organization_id))?;
        Ok(Authorized { record: CreateIn { organization_id: organization_id.to_string() }, action: Action::Create })
    }

    /// Any user may found an organization.
    pub fn found(&self) -> Authorized<CreateIn> {
        Authorized { record: CreateIn { organization_id: String::new() }, action: Action::Create }
    }

    /// The caller has just founded this organization and owns it, as its admin.
    pub fn joined(&mut self, organization_id: &str) {
        Arc::make_mut(&mut self.memberships).push(Membership {
            organization_id: organization_id.to_string(),
            kind: RoleKind::Admin,
            permissions: Vec::new(),
        });
    }

    /// Where a list of `spec` may look.
    pub fn scope(&self, spec: &'static ResourceSpec) -> Scope {
        match spec.tenancy {
            Tenancy::Caller => Scope::User(self.user_id.clone()),
            Tenancy::Organization | Tenancy::OrganizationColumn(_) => Scope::Organizations(
                self.memberships
                    .iter()
                    .filter(|m| self.may(&m.organization_id, spec.type_name, Action::Read) == Some(true))
                    .map(|m| m.organization_id.clone())
                    .collect(),
            ),
        }
    }
}

/// Every active membership of the user with its role kind and, for a custom role, its
/// permissions.
fn load_memberships(conn: &mut AnyConnection, user_id: &str, jti: &str) -> Result<Vec<Membership>, ApiError> {
    let mut memberships: Vec<Membership> = Vec::new();
    for row in statements::grants(conn, user_id, jti)? {
        let (Some(organization_id), Some(kind)) = (row.organization_id, row.kind) else { continue };
        let index = match memberships.iter().position(|m| m.organization_id == organization_id) {
            Some(index) => index,
            None => {
                memberships.push(Membership { organization_id, kind: RoleKind::parse(&kind), permissions: Vec::new() });
                memberships.len() - 1
            }
        };
        if let Some(subject) = row.subject {
            let flags = [row.can_create, row.can_read, row.can_update, row.can_destroy].map(|f| f.unwrap_or(false));
            memberships[index].permissions.push((subject, flags));
        }
    }
    Ok(memberships)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Tenancy;

    static ROLES: ResourceSpec = ResourceSpec {
        type_name: "roles",
        attributes: &[],
        relationships: &[],
        tenancy: Tenancy::OrganizationColumn("organization_id"),
    };

    fn caller(memberships: Vec<Membership>) -> Caller {
        Caller {
            user_id: "u".into(),
            email: "u@example.com".into(),
            jti: "j".into(),
            memberships: Arc::new(memberships),
        }
    }

    #[test]
    fn kinds_and_custom_permissions_decide() {
        let caller = caller(vec![
            Membership { organization_id: "a".into(), kind: RoleKind::Admin, permissions: vec![] },
            Membership { organization_id: "r".into(), kind: RoleKind::ReadOnly, permissions: vec![] },
            Membership {
                organization_id: "c".into(),
                kind: RoleKind::Custom,
                permissions: vec![("roles".into(), [false, true, true, false])],
            },
        ]);
        assert_eq!(caller.may("a", "roles", Action::Destroy), Some(true));
        assert_eq!(caller.may("r", "roles", Action::Read), Some(true));
        assert_eq!(caller.may("r", "roles", Action::Update), Some(false));
        assert_eq!(caller.may("c", "roles", Action::Update), Some(true));
        assert_eq!(caller.may("c", "roles", Action::Create), Some(false));
        assert_eq!(caller.may("c", "memberships", Action::Read), Some(false));
        assert_eq!(caller.may("elsewhere", "roles", Action::Read), None);
        assert!(matches!(caller.scope(&ROLES), Scope::Organizations(ids) if ids == ["a", "r", "c"]));
        assert!(caller.holds("c", "roles", [false, true, false, false]));
        assert!(!caller.holds("c", "roles", [true, true, false, false]));
        let refused = caller.authorize(&ROLES, "r", |o| Owner::Organization(o), "x", Action::Update).unwrap_err();
        assert!(matches!(refused, ApiError::Forbidden { .. }));
        let missing = caller.authorize(&ROLES, "z", |o| Owner::Organization(o), "x", Action::Read).unwrap_err();
        assert!(matches!(missing, ApiError::NotFound(_)));
    }
}
