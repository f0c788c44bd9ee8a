//! Reading through the policy: one record for an action, a page within the caller's scope,
//! the records behind a relationship, and the compound document's includes.

use std::collections::{HashMap, HashSet};

use diesel::QueryResult;

use crate::db::sql::{filter_condition, quote, IdPair, Select, Sql};
use crate::db::AnyConnection;
use crate::domain::policy::{Action, Authorized, Caller, Scope};
use crate::error::ApiError;
use crate::resources::model::{owner, AnyResource, Resource};
use crate::resources::Registry;
use crate::spec::query::{total_order, IncludeTree, PageInfo, Query, Sort};
use crate::spec::{Cardinality, Relationship, ResourceSpec, Tenancy};
use crate::views::Record;

/// One record for `action`: 404 unless it exists where the caller may see it, 403 unless
/// their role allows the action.
pub fn find<T: Resource>(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
    action: Action,
) -> Result<Authorized<T::Row>, ApiError> {
    let row = T::find(conn, id)?.ok_or_else(|| ApiError::not_found(T::SPEC.type_name, id))?;
    caller.authorize(T::SPEC, row, owner::<T>, id, action)
}

/// The condition that keeps a list of `spec` within what the caller may read.
pub fn scope_condition(spec: &ResourceSpec, scope: Scope) -> Sql {
    match (scope, spec.tenancy) {
        (Scope::User(id), _) => Sql::column_in("id", [id]),
        (Scope::Organizations(ids), Tenancy::OrganizationColumn(column)) => Sql::column_in(column, ids),
        (Scope::Organizations(ids), _) => Sql::column_in("id", ids),
    }
}

/// A page of `target` under `conditions` (and the query's filters), within the caller's scope.
pub fn page(
    conn: &mut AnyConnection,
    caller: &Caller,
    target: &dyn AnyResource,
    query: &Query,
    mut conditions: Vec<Sql>,
) -> QueryResult<(Vec<Record>, PageInfo)> {
    let spec = target.spec();
    conditions.push(scope_condition(spec, caller.scope(spec)));
    let backend = conn.backend();
    let mut select = Select::from(spec.type_name);
    select.conditions = conditions;
    if let Some(ids) = &query.ids {
        select.conditions.push(Sql::column_in("id", ids.iter().cloned()).uncached());
    }
    for filter in &query.filters {
        select.conditions.push(filter_condition(filter, backend));
    }
    let size = query.page.size as usize;
    match &query.page.cursor {
        None => {
            select.order = query.sort.clone();
            select.limit = Some(size as i64);
            select.offset = query.page.offset();
        }
        Some(cursor) => {
            // One row more than the page tells whether there are more; before a cursor, the
            // rows are read backwards from it and turned around.
            let order = total_order(&query.sort);
            select.order = if cursor.before { order.into_iter().map(Sort::reversed).collect() } else { order };
            select.after = Some(cursor.values.clone()).filter(|values| !values.is_empty());
            select.limit = Some(size as i64 + 1);
        }
    }
    let (mut records, total) = target.page(conn, &select)?;
    let more = records.len() > size;
    records.truncate(size);
    if query.page.cursor.as_ref().is_some_and(|c| c.before) {
        records.reverse();
    }
    Ok((records, PageInfo { total, more }))
}

/// The condition selecting the records `relationship` of `source` points at.
pub fn related_condition(source: &Record, relationship: &Relationship) -> Sql {
    match relationship.cardinality {
        Cardinality::ToOne { column } => Sql::column_in("id", source.key(column).map(String::from)),
        Cardinality::ToMany { foreign_key } => Sql::column_in(foreign_key, [source.id().to_string()]),
        Cardinality::ToManyTagged { type_column, id_column } => {
            let mut sql = Sql::column_in(id_column, [source.id().to_string()]);
            sql.push(&format!(" AND {} = ", quote(type_column))).text(source.type_name());
            sql
        }
        Cardinality::ToManyThrough { table, source_column, target_column } => {
            let mut sql = Sql::new(&format!(
                "\"id\" IN (SELECT {} FROM {} WHERE {} = ",
                quote(target_column),
                quote(table),
                quote(source_column)
            ));
            sql.text(source.id().to_string()).push(")");
            sql
        }
    }
}

/// The ids behind a relationship of one record that the caller may read.
pub fn linked_ids(
    conn: &mut AnyConnection,
    caller: &Caller,
    registry: &Registry,
    source: &Record,
    relationship: &Relationship,
) -> QueryResult<Vec<String>> {
    let Some(target) = registry.find(relationship.target) else { return Ok(Vec::new()) };
    let spec = target.spec();
    let mut sql = Sql::new(&format!("SELECT id, id AS owner FROM {} WHERE (", quote(spec.type_name)));
    sql.append(related_condition(source, relationship));
    sql.push(") AND (").append(scope_condition(spec, caller.scope(spec))).push(") ORDER BY \"created_at\", \"id\"");
    Ok(sql.load::<IdPair>(conn)?.into_iter().map(|p| p.id).collect())
}

/// Loads the includes of `tree` for `records`, recording linkage on them, and returns every
/// included resource once, never one of `records` itself (JSON:API 1.1 §7.7).
pub fn include(
    conn: &mut AnyConnection,
    caller: &Caller,
    registry: &Registry,
    records: &mut [Record],
    tree: &IncludeTree,
) -> QueryResult<Vec<Record>> {
    let mut included = Vec::new();
    include_into(conn, caller, registry, records, tree, &mut included)?;
    let primary: HashSet<(&str, &str)> = records.iter().map(|r| (r.type_name(), r.id())).collect();
    let mut unique: Vec<Record> = Vec::with_capacity(included.len());
    let mut positions: HashMap<(&'static str, String), usize> = HashMap::with_capacity(included.len());
    for record in included {
        if primary.contains(&(record.type_name(), record.id())) {
            continue;
        }
        match positions.get(&(record.type_name(), record.id().to_string())) {
            // The same record reached by two paths: keep the linkage both loaded.
            Some(&position) => {
                for (name, ids) in record.to_many {
                    unique[position].set_to_many(name, ids);
                }
            }
            None => {
                positions.insert((record.type_name(), record.id().to_string()), unique.len());
                unique.push(record);
            }
        }
    }
    Ok(unique)
}

/// The ids of `records` grouped by the value of their key `column`.
fn by_key(records: &[Record], column: &str) -> HashMap<String, Vec<String>> {
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for record in records {
        if let Some(key) = record.key(column) {
            groups.entry(key.to_string()).or_default().push(record.id().to_string());
        }
    }
    groups
}

fn include_into(
    conn: &mut AnyConnection,
    caller: &Caller,
    registry: &Registry,
    records: &mut [Record],
    tree: &IncludeTree,
    included: &mut Vec<Record>,
) -> QueryResult<()> {
    let Some(first) = records.first() else { return Ok(()) };
    let spec = first.spec;
    for (name, subtree) in &tree.0 {
        let Some(relationship) = spec.relationship(name) else { continue };
        let Some(target) = registry.find(relationship.target) else { continue };
        // Only what the caller may read is included, and linked.
        let target_spec = target.spec();
        let readable =
            Select::from(target_spec.type_name).filter(scope_condition(target_spec, caller.scope(target_spec)));
        let mut related = match relationship.cardinality {
            Cardinality::ToOne { column } => {
                let ids: HashSet<String> = records.iter().filter_map(|r| r.key(column).map(String::from)).collect();
                let related = target.load(conn, &readable.filter(Sql::column_in("id", ids)))?;
                let visible: HashSet<&str> = related.iter().map(|r| r.id()).collect();
                for record in records.iter_mut() {
                    let id = record.key(column).filter(|id| visible.contains(id)).map(String::from);
                    record.to_one_visible.push((relationship.name, id));
                }
                related
            }
            Cardinality::ToMany { foreign_key: column } | Cardinality::ToManyTagged { id_column: column, .. } => {
                let owners = records.iter().map(|r| r.id().to_string());
                let mut select = readable.filter(Sql::column_in(column, owners));
                if let Cardinality::ToManyTagged { type_column, .. } = relationship.cardinality {
                    let mut tag = Sql::new(&format!("{} = ", quote(type_column)));
                    tag.text(spec.type_name);
                    select = select.filter(tag);
                }
                let related = target.load(conn, &select)?;
                let mut groups = by_key(&related, column);
                for record in records.iter_mut() {
                    let ids = groups.remove(record.id()).unwrap_or_default();
                    record.set_to_many(relationship.name, ids);
                }
                related
            }
            Cardinality::ToManyThrough { table, source_column, target_column } => {
                let mut pairs = Sql::new(&format!(
                    "SELECT {} AS id, {} AS owner FROM {} WHERE ",
                    quote(target_column),
                    quote(source_column),
                    quote(table)
                ));
                pairs.append(Sql::column_in(source_column, records.iter().map(|r| r.id().to_string())));
                let pairs = pairs.load::<IdPair>(conn)?;
                let ids: HashSet<String> = pairs.iter().map(|p| p.id.clone()).collect();
                let related = target.load(conn, &readable.filter(Sql::column_in("id", ids)))?;
                let visible: HashSet<&str> = related.iter().map(|r| r.id()).collect();
                let mut groups: HashMap<&str, Vec<String>> = HashMap::new();
                for pair in pairs.iter().filter(|p| visible.contains(p.id.as_str())) {
                    groups.entry(pair.owner.as_str()).or_default().push(pair.id.clone());
                }
                for record in records.iter_mut() {
                    let ids = groups.remove(record.id()).unwrap_or_default();
                    record.set_to_many(relationship.name, ids);
                }
                related
            }
        };
        if !subtree.is_empty() {
            include_into(conn, caller, registry, &mut related, subtree, included)?;
        }
        included.extend(related);
    }
    Ok(())
}

/// The included records `query` asks for (an empty list when none matched, `None` when it
/// asks for none).
pub fn included(
    conn: &mut AnyConnection,
    caller: &Caller,
    registry: &Registry,
    records: &mut [Record],
    query: &Query,
) -> QueryResult<Option<Vec<Record>>> {
    if query.include.is_empty() {
        return Ok(None);
    }
    include(conn, caller, registry, records, &query.include).map(Some)
}
