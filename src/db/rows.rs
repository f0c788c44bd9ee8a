//! Typed rows by the statements every resource type shares: one by id, a page with its total,
//! and the rows behind a condition. Rows come back as the type's own diesel struct; nothing
//! here renders.

use diesel::{QueryResult, QueryableByName};

use crate::db::sql::{Counted, Select, Sql};
use crate::db::{AnyConnection, MultiBackend};

pub trait Row: QueryableByName<MultiBackend> + Send + 'static {}

impl<R: QueryableByName<MultiBackend> + Send + 'static> Row for R {}

pub fn find<R: Row>(conn: &mut AnyConnection, table: &'static str, id: &str) -> QueryResult<Option<R>> {
    let select = Select::from(table).filter(Sql::column_in("id", [id.to_string()]));
    Ok(select.rows().load::<R>(conn)?.into_iter().next())
}

pub fn load<R: Row>(conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<R>> {
    select.rows().load(conn)
}

/// One page and the number of rows its conditions match, in one round trip; a second only
/// when the page lies past the last row (then the window function has no row to ride on).
pub fn page<R: Row>(conn: &mut AnyConnection, select: &Select) -> QueryResult<(Vec<R>, i64)> {
    let rows: Vec<Counted<R>> = select.counted_rows().load(conn)?;
    let total = match rows.first() {
        Some(row) => row.total,
        None if select.offset == 0 => 0,
        None => select.count().load::<crate::db::sql::Count>(conn)?.first().map_or(0, |c| c.count),
    };
    Ok((rows.into_iter().map(|r| r.row).collect(), total))
}
