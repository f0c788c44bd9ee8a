//! Queries every resource type shares: a filtered, sorted page; one record by id; the records
//! behind a relationship; and the compound-document includes. Each type supplies only how to
//! load its rows (`ResourceType::load`).

use std::collections::HashSet;

use diesel::QueryResult;

use crate::auth::Caller;
use crate::db::sql::{filter_condition, quote, Count, IdPair, Select, Sql};
use crate::db::AnyConnection;
use crate::domain::access::{scope, Action};
use crate::jsonapi::query::{IncludeTree, Query};
use crate::jsonapi::spec::{Cardinality, Relationship, ResourceSpec};
use crate::resources;
use crate::views::ResourceObject;

pub trait ResourceType: Sync + Send {
    fn spec(&self) -> &'static ResourceSpec;

    /// Runs `select` (always `SELECT * FROM <type>`) and renders each row.
    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>>;
}

/// A page of `resource_type` matching the query's filters and `conditions`, with the total count.
pub fn list(
    conn: &mut AnyConnection,
    resource_type: &dyn ResourceType,
    query: &Query,
    conditions: Vec<Sql>,
) -> QueryResult<(Vec<ResourceObject>, i64)> {
    let backend = conn.backend();
    let mut select = Select::from(resource_type.spec().type_name);
    select.conditions = conditions;
    if let Some(ids) = &query.ids {
        select.conditions.push(Sql::column_in("id", ids.iter().cloned()));
    }
    for filter in &query.filters {
        select.conditions.push(filter_condition(filter, backend));
    }
    let count = select.count().load::<Count>(conn)?.first().map_or(0, |c| c.count);
    select.order = query.sort.clone();
    select.limit = Some(query.page.size as i64);
    select.offset = query.page.offset();
    let rows = resource_type.load(conn, &select)?;
    Ok((rows, count))
}

pub fn find(
    conn: &mut AnyConnection,
    resource_type: &dyn ResourceType,
    id: &str,
    conditions: Vec<Sql>,
) -> QueryResult<Option<ResourceObject>> {
    let mut select = Select::from(resource_type.spec().type_name).filter(Sql::column_in("id", [id.to_string()]));
    select.conditions.extend(conditions);
    Ok(resource_type.load(conn, &select)?.into_iter().next())
}

/// The condition selecting the records `relationship` of `source` points at, or `None` when
/// its target type is not served yet (then there are none).
pub fn related_condition(source: &ResourceObject, relationship: &Relationship) -> Option<Sql> {
    resources::find(relationship.target)?;
    Some(match relationship.cardinality {
        Cardinality::ToOne { column } => Sql::column_in("id", source.foreign_key_value(column).map(String::from)),
        Cardinality::ToMany { foreign_key } => Sql::column_in(foreign_key, [source.id.clone()]),
        Cardinality::ToManyTagged { type_column, id_column } => {
            let mut sql = Sql::column_in(id_column, [source.id.clone()]);
            sql.push(&format!(" AND {} = ", crate::db::sql::quote(type_column))).text(source.type_name());
            sql
        }
        Cardinality::ToManyThrough { table, source_column, target_column } => {
            let mut sql = Sql::new(&format!(
                "\"id\" IN (SELECT {} FROM {} WHERE {} = ",
                quote(target_column),
                quote(table),
                quote(source_column)
            ));
            sql.text(source.id.clone()).push(")");
            sql
        }
    })
}

/// Loads the includes of `tree` for `objects`, recording to-many linkage on them, and returns
/// every included resource once, never one of `objects` itself (JSON:API 1.1 §7.7).
pub fn include(
    conn: &mut AnyConnection,
    caller: &Caller,
    objects: &mut [ResourceObject],
    tree: &IncludeTree,
) -> QueryResult<Vec<ResourceObject>> {
    let mut included = Vec::new();
    include_into(conn, caller, objects, tree, &mut included)?;
    let primary: HashSet<(&str, &str)> = objects.iter().map(|o| (o.type_name(), o.id.as_str())).collect();
    let mut seen = HashSet::new();
    let mut unique: Vec<ResourceObject> = Vec::new();
    for object in included {
        if primary.contains(&(object.type_name(), object.id.as_str())) {
            continue;
        }
        let key = (object.type_name(), object.id.clone());
        if seen.insert(key) {
            unique.push(object);
        } else if let Some(existing) =
            unique.iter_mut().find(|o| o.type_name() == object.type_name() && o.id == object.id)
        {
            // The same record reached by two paths: keep the linkage both loaded.
            existing.to_many.extend(object.to_many);
        }
    }
    Ok(unique)
}

fn include_into(
    conn: &mut AnyConnection,
    caller: &Caller,
    objects: &mut [ResourceObject],
    tree: &IncludeTree,
    included: &mut Vec<ResourceObject>,
) -> QueryResult<()> {
    let Some(first) = objects.first() else { return Ok(()) };
    let spec = first.spec;
    for (name, subtree) in &tree.0 {
        let relationship = spec.relationship(name).expect("include paths are checked when parsed");
        let Some(target) = resources::find(relationship.target) else {
            // A type not served yet has no records: the linkage is empty.
            for object in objects.iter_mut() {
                object.to_many.insert(relationship.name, Vec::new());
            }
            continue;
        };
        // Only what the caller may read is included, and linked.
        let readable = Select::from(target.spec().type_name).filter(scope(target.spec(), caller, Some(Action::Read)));
        let mut related = match relationship.cardinality {
            Cardinality::ToOne { column } => {
                let ids: HashSet<String> =
                    objects.iter().filter_map(|o| o.foreign_key_value(column).map(String::from)).collect();
                let related = target.load(conn, &readable.filter(Sql::column_in("id", ids)))?;
                for object in objects.iter_mut() {
                    let visible = object.foreign_key_value(column).filter(|id| related.iter().any(|r| r.id == *id));
                    object.to_one_visible.insert(relationship.name, visible.map(String::from));
                }
                related
            }
            Cardinality::ToMany { foreign_key } => {
                let owners = objects.iter().map(|o| o.id.clone());
                let related = target.load(conn, &readable.filter(Sql::column_in(foreign_key, owners)))?;
                for object in objects.iter_mut() {
                    let ids = related
                        .iter()
                        .filter(|r| r.foreign_key_value(foreign_key) == Some(object.id.as_str()))
                        .map(|r| r.id.clone())
                        .collect();
                    object.to_many.insert(relationship.name, ids);
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
                pairs.append(Sql::column_in(source_column, objects.iter().map(|o| o.id.clone())));
                let pairs = pairs.load::<IdPair>(conn)?;
                let ids: HashSet<String> = pairs.iter().map(|p| p.id.clone()).collect();
                let related = target.load(conn, &readable.filter(Sql::column_in("id", ids)))?;
                for object in objects.iter_mut() {
                    let ids = pairs
                        .iter()
                        .filter(|p| p.owner == object.id && related.iter().any(|r| r.id == p.id))
                        .map(|p| p.id.clone())
                        .collect();
                    object.to_many.insert(relationship.name, ids);
                }
                related
            }
            Cardinality::ToManyTagged { type_column, id_column } => {
                let owners = objects.iter().map(|o| o.id.clone());
                let mut tag = Sql::new(&format!("{} = ", crate::db::sql::quote(type_column)));
                tag.text(spec.type_name);
                let related = target.load(conn, &readable.filter(tag).filter(Sql::column_in(id_column, owners)))?;
                for object in objects.iter_mut() {
                    let ids = related
                        .iter()
                        .filter(|r| r.attributes.get(id_column).and_then(|v| v.as_str()) == Some(object.id.as_str()))
                        .map(|r| r.id.clone())
                        .collect();
                    object.to_many.insert(relationship.name, ids);
                }
                related
            }
        };
        if !subtree.is_empty() {
            include_into(conn, caller, &mut related, subtree, included)?;
        }
        included.extend(related);
    }
    Ok(())
}

/// The ids behind a to-many relationship of one record that the caller may read.
pub fn to_many_ids(
    conn: &mut AnyConnection,
    caller: &Caller,
    source: &ResourceObject,
    relationship: &Relationship,
) -> QueryResult<Vec<String>> {
    let Some(target) = resources::find(relationship.target) else { return Ok(Vec::new()) };
    let Some(condition) = related_condition(source, relationship) else { return Ok(Vec::new()) };
    let select = Select::from(target.spec().type_name).filter(condition).filter(scope(
        target.spec(),
        caller,
        Some(Action::Read),
    ));
    let mut sql = Sql::new(&format!("SELECT id, id AS owner FROM {}", crate::db::sql::quote(target.spec().type_name)));
    for (i, condition) in select.conditions.into_iter().enumerate() {
        sql.push(if i == 0 { " WHERE (" } else { " AND (" }).append(condition).push(")");
    }
    sql.push(" ORDER BY \"created_at\", \"id\"");
    Ok(sql.load::<IdPair>(conn)?.into_iter().map(|p| p.id).collect())
}
