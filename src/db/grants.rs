//! Which API scopes each API credential holds (`api_credential_scopes`), and the read-only
//! `scopes` attribute of credentials that mirrors it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{api_credential_scopes, api_credentials, api_scopes};
use crate::db::sql::Sql;
use crate::db::AnyConnection;
use crate::spec::query::Value;

/// The names of the scopes of `resource_id` granted to the credential.
pub fn granted_scopes(conn: &mut AnyConnection, credential_id: &str, resource_id: &str) -> QueryResult<Vec<String>> {
    api_credential_scopes::table
        .inner_join(api_scopes::table)
        .filter(api_credential_scopes::api_credential_id.eq(credential_id))
        .filter(api_scopes::api_resource_id.eq(resource_id))
        .order(api_scopes::name.asc())
        .select(api_scopes::name)
        .load(conn)
}

pub fn granted_scope_ids(conn: &mut AnyConnection, credential_id: &str) -> QueryResult<Vec<String>> {
    api_credential_scopes::table
        .filter(api_credential_scopes::api_credential_id.eq(credential_id))
        .select(api_credential_scopes::api_scope_id)
        .load(conn)
}

/// The organizations of these scopes, by scope id (a scope that does not exist is absent).
pub fn scope_organizations(conn: &mut AnyConnection, scope_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    api_scopes::table
        .filter(api_scopes::id.eq_any(scope_ids))
        .select((api_scopes::id, api_scopes::organization_id))
        .load(conn)
}

/// Rewrites the read-only `scopes` attribute of these credentials from their grants.
pub fn refresh_credential_scopes(conn: &mut AnyConnection, credential_ids: &[String]) -> QueryResult<()> {
    for id in credential_ids {
        let mut names: Vec<String> = api_credential_scopes::table
            .inner_join(api_scopes::table)
            .filter(api_credential_scopes::api_credential_id.eq(id))
            .order(api_scopes::name.asc())
            .select(api_scopes::name)
            .load(conn)?;
        names.dedup();
        diesel::update(api_credentials::table.find(id))
            .set(api_credentials::scopes.eq(names.join(" ")))
            .execute(conn)?;
    }
    Ok(())
}

/// The credentials holding a grant of any of these scopes.
pub fn grantees(conn: &mut AnyConnection, scope_ids: &[String]) -> QueryResult<Vec<String>> {
    let mut ids: Vec<String> = api_credential_scopes::table
        .filter(api_credential_scopes::api_scope_id.eq_any(scope_ids))
        .select(api_credential_scopes::api_credential_id)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Adds the grants the credential lacks; returns how many. A grant made meanwhile by another
/// transaction is the same grant (ON CONFLICT DO NOTHING, on both backends).
pub fn grant(
    conn: &mut AnyConnection,
    credential_id: &str,
    scope_ids: &[String],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut added = 0;
    for scope_id in scope_ids {
        let mut sql =
            Sql::new("INSERT INTO api_credential_scopes (api_credential_id, api_scope_id, created_at) VALUES (");
        sql.text(credential_id).push(", ").text(scope_id.as_str()).push(", ").bind(Value::Timestamp(now));
        sql.push(") ON CONFLICT DO NOTHING");
        added += sql.execute(conn)?;
    }
    Ok(added)
}

pub fn revoke(conn: &mut AnyConnection, credential_id: &str, scope_ids: &[String]) -> QueryResult<usize> {
    diesel::delete(
        api_credential_scopes::table
            .filter(api_credential_scopes::api_credential_id.eq(credential_id))
            .filter(api_credential_scopes::api_scope_id.eq_any(scope_ids)),
    )
    .execute(conn)
}

/// Removes every grant of these scopes.
pub fn revoke_all(conn: &mut AnyConnection, scope_ids: &[String]) -> QueryResult<usize> {
    diesel::delete(api_credential_scopes::table.filter(api_credential_scopes::api_scope_id.eq_any(scope_ids)))
        .execute(conn)
}

/// These scopes are renamed or gone: their holders' `scopes` attributes say so.
pub fn refresh_holders(conn: &mut AnyConnection, scope_ids: &[String]) -> QueryResult<()> {
    let holders = grantees(conn, scope_ids)?;
    refresh_credential_scopes(conn, &holders)
}
