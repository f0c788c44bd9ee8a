//! Statements the policy and the audit trail need, kept here so that `domain` never writes SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use crate::db::schema::{memberships, revoked_tokens, users, versions};
use crate::db::sql::Sql;
use crate::db::AnyConnection;

/// One row per (active membership, permission of its custom role) of a user, with the user's
/// email and whether the token is revoked. A user without memberships gives one row of nulls.
#[derive(Debug, QueryableByName)]
pub struct GrantRow {
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = BigInt)]
    pub revoked: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub organization_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub kind: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub subject: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub can_create: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub can_read: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub can_update: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub can_destroy: Option<bool>,
}

/// The user behind a token, its revocation, and every grant of its active memberships: one
/// statement, one round trip, prepared once per connection. No row: the user is gone.
pub fn grants(conn: &mut AnyConnection, user_id: &str, jti: &str) -> QueryResult<Vec<GrantRow>> {
    let mut sql = Sql::new("SELECT u.email AS email, (SELECT COUNT(*) FROM revoked_tokens WHERE jti = ");
    sql.text(jti).push(
        ") AS revoked, m.organization_id AS organization_id, r.kind AS kind, p.subject AS subject, \
         p.can_create AS can_create, p.can_read AS can_read, p.can_update AS can_update, \
         p.can_destroy AS can_destroy \
         FROM users u \
         LEFT JOIN memberships m ON m.user_id = u.id AND m.status = 'active' \
         LEFT JOIN roles r ON r.id = m.role_id \
         LEFT JOIN permissions p ON p.role_id = r.id AND r.kind = 'custom' \
         WHERE u.id = ",
    );
    sql.text(user_id);
    sql.load(conn)
}

/// The user behind a token: their email, the version of their grants, and whether this token
/// is revoked. One indexed lookup; `None` when the user is gone.
pub fn holder(conn: &mut AnyConnection, user_id: &str, jti: &str) -> QueryResult<Option<(String, i64, bool)>> {
    let query = users::table.find(user_id).select((
        users::email,
        users::grants_version,
        diesel::dsl::exists(revoked_tokens::table.find(jti)),
    ));
    crate::db::on_backend!(conn, |c| query.first(c).optional())
}

/// What the user may do has changed: instances keeping their grants reload them.
pub fn touch_user_grants(conn: &mut AnyConnection, user_id: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id)).set(users::grants_version.eq(users::grants_version + 1)).execute(conn)
}

/// What every member holding the role may do has changed.
pub fn touch_role_grants(conn: &mut AnyConnection, role_id: &str) -> QueryResult<usize> {
    let holders = memberships::table.filter(memberships::role_id.eq(role_id)).select(memberships::user_id);
    diesel::update(users::table.filter(users::id.nullable().eq_any(holders)))
        .set(users::grants_version.eq(users::grants_version + 1))
        .execute(conn)
}

/// One entry of the audit trail.
#[derive(Debug, Insertable)]
#[diesel(table_name = versions)]
pub struct NewVersion<'a> {
    pub id: &'a str,
    pub organization_id: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub event: &'a str,
    pub changes: &'a str,
    pub who: &'a str,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub uuid: Option<&'a str>,
    pub metadata: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_version(conn: &mut AnyConnection, version: &NewVersion) -> QueryResult<()> {
    diesel::insert_into(versions::table).values(version).execute(conn).map(drop)
}
