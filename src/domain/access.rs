//! Who may do what. Inside an organization the caller's membership role decides: `admin` may
//! do everything, `read_only` may only read, a `custom` role follows its permissions for the
//! subject (the resource type). Records of organizations the caller is no active member of do
//! not exist for them (404); a refused action answers 403.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text};

use crate::auth::Caller;
use crate::db::sql::{Sql, Value};
use crate::db::AnyConnection;
use crate::error::{ApiError, Source};
use crate::jsonapi::spec::{ResourceSpec, Tenancy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Destroy,
}

impl Action {
    fn column(self) -> &'static str {
        match self {
            Action::Create => "can_create",
            Action::Read => "can_read",
            Action::Update => "can_update",
            Action::Destroy => "can_destroy",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Read => "read",
            Action::Update => "update",
            Action::Destroy => "delete",
        }
    }
}

/// `SELECT organization_id …` of the organizations where the caller may `action` `subject`;
/// `None` for subject means any active membership will do.
pub fn organizations_where(caller: &Caller, permitted: Option<(&str, Action)>) -> Sql {
    let mut sql = Sql::new(
        "SELECT m.organization_id FROM memberships m JOIN roles r ON r.id = m.role_id \
         WHERE m.status = 'active' AND m.user_id = ",
    );
    sql.text(&caller.user_id);
    if let Some((subject, action)) = permitted {
        sql.push(" AND (r.kind = 'admin'");
        if action == Action::Read {
            sql.push(" OR r.kind = 'read_only'");
        }
        sql.push(&format!(
            " OR (r.kind = 'custom' AND EXISTS (SELECT 1 FROM permissions p WHERE p.role_id = r.id AND p.{} = ",
            action.column()
        ));
        sql.bind(Value::Bool(true)).push(" AND p.subject = ").text(subject).push(")))");
    }
    sql
}

/// The condition limiting `spec`'s rows to those the caller may see: in organizations where
/// they may read the type (lists, includes), or merely belong to (`permitted` None).
pub fn scope(spec: &ResourceSpec, caller: &Caller, permitted: Option<Action>) -> Sql {
    let organizations = organizations_where(caller, permitted.map(|a| (spec.type_name, a)));
    let column = match spec.tenancy {
        Tenancy::Organization => "id",
        Tenancy::OrganizationColumn(column) => column,
        Tenancy::Caller => {
            let mut sql = Sql::new("id = ");
            sql.text(&caller.user_id);
            return sql;
        }
    };
    let mut sql = Sql::new(&format!("{} IN (", crate::db::sql::quote(column)));
    sql.append(organizations).push(")");
    sql
}

#[derive(QueryableByName)]
struct Grant {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Bool>)]
    allowed: Option<bool>,
}

/// The caller's role kind in `organization_id` and whether it allows `action` on `subject`;
/// `None` when the caller is no active member.
fn grant(
    conn: &mut AnyConnection,
    caller: &Caller,
    organization_id: &str,
    subject: &str,
    action: Action,
) -> QueryResult<Option<(String, bool)>> {
    let mut sql = Sql::new(&format!(
        "SELECT r.kind AS kind, (SELECT p.{} FROM permissions p WHERE p.role_id = r.id AND p.subject = ",
        action.column()
    ));
    sql.text(subject)
        .push(") AS allowed FROM memberships m JOIN roles r ON r.id = m.role_id WHERE m.status = 'active' AND m.user_id = ")
        .text(&caller.user_id)
        .push(" AND m.organization_id = ")
        .text(organization_id);
    Ok(sql.load::<Grant>(conn)?.into_iter().next().map(|g| {
        let allowed = match g.kind.as_str() {
            "admin" => true,
            "read_only" => action == Action::Read,
            _ => g.allowed.unwrap_or(false),
        };
        (g.kind, allowed)
    }))
}

/// 404 unless the caller is an active member of `organization_id` (`missing` names what was
/// looked for), 403 unless their role allows `action` on `subject`.
pub fn authorize(
    conn: &mut AnyConnection,
    caller: &Caller,
    organization_id: &str,
    subject: &str,
    action: Action,
    missing: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    match grant(conn, caller, organization_id, subject, action)? {
        None => Err(missing()),
        Some((_, true)) => Ok(()),
        Some((kind, false)) => Err(ApiError::Forbidden {
            detail: format!(
                "Your role ({kind}) does not allow you to {} {subject} in this organization.",
                action.verb()
            ),
            location: Source::None,
        }),
    }
}
