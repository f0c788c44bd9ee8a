//! The allow-lists name real columns: every filterable and sortable attribute of every
//! registered type, `id`, and every to-one relationship's column exist on the backend the
//! tests run on (both, in CI).

use provisioning::db::sql::Sql;
use provisioning::spec::{Cardinality, FILTER, SORT};

use crate::helpers::{connect, spawn_app};

#[actix_rt::test]
async fn every_filterable_and_sortable_attribute_is_a_column() {
    let app = spawn_app().await;
    let url = app.database_url.clone();
    let checked = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = connect(&url);
        let mut checked = 0;
        for resource_type in provisioning::http::REGISTRY.types() {
            let spec = resource_type.spec();
            let mut columns = vec!["id"];
            columns.extend(spec.all_attributes().filter(|a| a.has(FILTER) || a.has(SORT)).map(|a| a.name));
            columns.extend(spec.relationships.iter().filter_map(|r| match r.cardinality {
                Cardinality::ToOne { column } => Some(column),
                _ => None,
            }));
            for column in columns {
                let sql = Sql::new(&format!("SELECT \"{column}\" FROM \"{}\" WHERE 1 = 0", spec.type_name));
                sql.execute(&mut conn)
                    .unwrap_or_else(|e| panic!("{}.{column} is in the allow-list: {e}", spec.type_name));
                checked += 1;
            }
        }
        checked
    })
    .await
    .unwrap();
    assert!(checked > 60, "{checked} columns checked");
}
