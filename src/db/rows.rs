//! Typed rows by the statements every resource type shares: one by id, a page with its total,
//! and the rows behind a condition. Rows come back as the type's own diesel struct; nothing
//! here renders.

use diesel::{QueryResult, QueryableByName};

use crate::db::sql::{Count, Counted, Select, Sql, EXACT_COUNT_UP_TO};
use crate::db::{AnyConnection, Backend};
use crate::spec::query::Total;

pub use crate::db::sql::Row;

pub fn find<R: Row>(conn: &mut AnyConnection, table: &'static str, id: &str) -> QueryResult<Option<R>> {
    let select = Select::from(table).filter(Sql::column_in("id", [id.to_string()]));
    Ok(select.rows().load::<R>(conn)?.into_iter().next())
}

pub fn load<R: Row>(conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<R>> {
    select.rows().load(conn)
}

/// One page and the number of rows its conditions match, in one round trip; a second only
/// when the page lies past the last row (then the count has no row to ride on) or the count
/// passes `EXACT_COUNT_UP_TO` (then an estimate).
pub fn page<R: Row>(conn: &mut AnyConnection, select: &Select) -> QueryResult<(Vec<R>, Total)> {
    let rows: Vec<Counted<R>> = select.counted_rows().load(conn)?;
    let bounded = match rows.first() {
        Some(row) => row.total,
        None if select.offset == 0 && select.after.is_none() => 0,
        None => select.bounded_count().load::<Count>(conn)?.first().map_or(0, |c| c.count),
    };
    let total =
        if bounded > EXACT_COUNT_UP_TO { estimate(conn, select)? } else { Total { count: bounded, estimated: false } };
    Ok((rows.into_iter().map(|r| r.row).collect(), total))
}

/// The number of rows of a long list: PostgreSQL's planner estimate (never below what was
/// counted); SQLite, which keeps none, counts them.
fn estimate(conn: &mut AnyConnection, select: &Select) -> QueryResult<Total> {
    if conn.backend() == Backend::Sqlite {
        let count = select.count().load::<Count>(conn)?.first().map_or(0, |c| c.count);
        return Ok(Total { count, estimated: false });
    }
    let plan: Vec<PlanLine> = select.explain_count().load(conn)?;
    let planned = plan
        .first()
        .and_then(|line| line.text.split(" rows=").nth(1))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse::<i64>().ok())
        .unwrap_or(0);
    Ok(Total { count: planned.max(EXACT_COUNT_UP_TO + 1), estimated: true })
}

/// A line of `EXPLAIN`'s output.
struct PlanLine {
    text: String,
}

impl<DB> QueryableByName<DB> for PlanLine
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn build<'a>(row: &impl diesel::row::NamedRow<'a, DB>) -> diesel::deserialize::Result<Self> {
        Ok(PlanLine { text: diesel::row::NamedRow::get::<diesel::sql_types::Text, String>(row, "QUERY PLAN")? })
    }
}
