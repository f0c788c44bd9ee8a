//! A small SQL builder for the statements whose shape depends on the request (filters, sorts,
//! pages, includes). Identifiers come only from the static allow-lists in `spec`; every value a
//! client sent is a bind parameter of the parser's own `Value`.
//!
//! `Sql` is a diesel query fragment, so the backend writes its own placeholders (`?` or `$n`)
//! and diesel keeps a prepared statement per distinct text. Only statements of a bounded set of
//! shapes are cached (finds, pages, includes, the caller's grants); one carrying a client's
//! filters is prepared each time, so no client can grow the cache without bound.

use chrono::NaiveDateTime;
use diesel::backend::Backend as DieselBackend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Text, Timestamp, Untyped};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};

use crate::db::{on_backend, AnyConnection, Backend};
use crate::spec::query::{total_order, Filter, Operand, Predicate, Sort, Value};
use crate::spec::{Field, Kind};

/// A row either backend loads by column name.
pub trait Row: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + Send + 'static {}

impl<R: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + Send + 'static> Row for R {}

#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The statement, with `?` where each bind goes.
    text: String,
    binds: Vec<Value>,
    /// Whether diesel may keep this statement prepared (its shape is one of a bounded set).
    cacheable: bool,
}

impl Default for Sql {
    fn default() -> Self {
        Sql { text: String::new(), binds: Vec::new(), cacheable: true }
    }
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), ..Default::default() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        debug_assert!(!text.contains('?'), "binds go through bind()");
        self.text.push_str(text);
        self
    }

    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.text.push('?');
        self.binds.push(value);
        self
    }

    pub fn text(&mut self, value: impl Into<String>) -> &mut Self {
        self.bind(Value::Text(value.into()))
    }

    pub fn append(&mut self, other: Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.binds.extend(other.binds);
        self.cacheable &= other.cacheable;
        self
    }

    /// Marks a statement whose shape a client chose (filters): prepared, used, dropped.
    pub fn uncached(mut self) -> Sql {
        self.cacheable = false;
        self
    }

    /// `"column" IN (?, ?, …)`; an empty list matches nothing.
    pub fn column_in(column: &str, values: impl IntoIterator<Item = String>) -> Sql {
        let mut sql = Sql::default();
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            sql.push("1 = 0");
            return sql;
        }
        sql.push(&quote(column)).push(" IN (");
        for (i, value) in values.enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(value);
        }
        sql.push(")");
        sql
    }

    /// Runs on the backend's own connection (`on_backend`), where diesel finds the prepared
    /// statement by the text it already has.
    pub fn load<T: Row>(self, conn: &mut AnyConnection) -> QueryResult<Vec<T>> {
        on_backend!(conn, |c| RunQueryDsl::load(self, c))
    }

    pub fn execute(self, conn: &mut AnyConnection) -> QueryResult<usize> {
        on_backend!(conn, |c| RunQueryDsl::execute(self, c))
    }

    /// The text as the backend sees it, for tests and logs.
    pub fn render(&self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite => self.text.clone(),
            Backend::Postgres => {
                let mut out = String::with_capacity(self.text.len() + 8);
                for (n, piece) in self.text.split('?').enumerate() {
                    if n > 0 {
                        out.push('$');
                        out.push_str(&n.to_string());
                    }
                    out.push_str(piece);
                }
                out
            }
        }
    }

    pub fn binds(&self) -> &[Value] {
        &self.binds
    }
}

impl<DB> QueryFragment<DB> for Sql
where
    DB: DieselBackend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Bool> + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.cacheable {
            out.unsafe_to_cache_prepared();
        }
        for (n, piece) in self.text.split('?').enumerate() {
            if n > 0 {
                match &self.binds[n - 1] {
                    Value::Text(v) => out.push_bind_param::<Text, _>(v)?,
                    Value::Integer(v) => out.push_bind_param::<BigInt, _>(v)?,
                    Value::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                    Value::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v)?,
                }
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl QueryId for Sql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql {
    type SqlType = Untyped;
}

impl<C> RunQueryDsl<C> for Sql {}

/// Identifiers are double-quoted, which both backends read the same way.
pub fn quote(identifier: &str) -> String {
    debug_assert!(identifier.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    format!("\"{identifier}\"")
}

#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub count: i64,
}

#[derive(QueryableByName)]
pub struct IdPair {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub owner: String,
}

/// A row of a page, with the number of rows the page's conditions match (`COUNT(*) OVER ()`).
pub struct Counted<R> {
    pub row: R,
    pub total: i64,
}

impl<R, DB> QueryableByName<DB> for Counted<R>
where
    R: QueryableByName<DB>,
    DB: DieselBackend,
    i64: diesel::deserialize::FromSql<BigInt, DB>,
{
    fn build<'a>(row: &impl diesel::row::NamedRow<'a, DB>) -> diesel::deserialize::Result<Self> {
        let total = diesel::row::NamedRow::get::<BigInt, i64>(row, "total_count")?;
        Ok(Counted { row: R::build(row)?, total })
    }
}

/// Counts stop here: a list whose conditions match more rows than this gets an estimate
/// (`Count::estimated`) rather than a scan of every row on every page.
pub const EXACT_COUNT_UP_TO: i64 = 1_000;

/// A `SELECT * FROM <table>` with conditions joined by AND, an order and a page.
#[derive(Debug, Clone, Default)]
pub struct Select {
    pub table: &'static str,
    pub conditions: Vec<Sql>,
    pub order: Vec<Sort>,
    pub limit: Option<i64>,
    pub offset: i64,
    /// Keyset pagination: only rows after these values of the total order (which is read
    /// reversed for a cursor that points backwards).
    pub after: Option<Vec<Option<Value>>>,
}

impl Select {
    pub fn from(table: &'static str) -> Select {
        Select { table, ..Default::default() }
    }

    pub fn filter(mut self, condition: Sql) -> Select {
        self.conditions.push(condition);
        self
    }

    fn where_clause(&self, keyset: bool) -> Sql {
        let mut sql = Sql::default();
        let after = self.after.as_ref().filter(|_| keyset).map(|values| after(&total_order(&self.order), values));
        for (i, condition) in self.conditions.iter().chain(after.as_ref()).enumerate() {
            sql.push(if i == 0 { " WHERE (" } else { " AND (" });
            sql.append(condition.clone()).push(")");
        }
        sql
    }

    /// The total order; NULL sorts as the largest value on both backends (PostgreSQL's way,
    /// which its default indexes serve).
    fn order_by(&self) -> String {
        total_order(&self.order)
            .iter()
            .map(|s| {
                let nulls = match (s.nullable(), s.descending) {
                    (false, _) => "",
                    (true, false) => " NULLS LAST",
                    (true, true) => " NULLS FIRST",
                };
                format!("{} {}{nulls}", quote(s.column), if s.descending { "DESC" } else { "ASC" })
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn statement(&self, columns: Sql) -> Sql {
        let mut sql = Sql::new("SELECT ");
        sql.append(columns).push(&format!(" FROM {}", quote(self.table)));
        sql.append(self.where_clause(true));
        sql.push(" ORDER BY ").push(&self.order_by());
        if let Some(limit) = self.limit {
            sql.push(" LIMIT ").bind(Value::Integer(limit)).push(" OFFSET ").bind(Value::Integer(self.offset));
        }
        sql
    }

    pub fn rows(&self) -> Sql {
        self.statement(Sql::new("*"))
    }

    /// The rows with the number of rows the conditions match (cursor aside), counted up to
    /// `EXACT_COUNT_UP_TO + 1`, in one statement.
    pub fn counted_rows(&self) -> Sql {
        let mut columns = Sql::new("*, (");
        columns.append(self.bounded_count()).push(") AS total_count");
        self.statement(columns)
    }

    /// `SELECT COUNT(*)` of the conditions, stopping past `EXACT_COUNT_UP_TO`.
    pub fn bounded_count(&self) -> Sql {
        let mut sql = Sql::new(&format!("SELECT COUNT(*) AS count FROM (SELECT 1 FROM {}", quote(self.table)));
        sql.append(self.where_clause(false));
        sql.push(" LIMIT ").bind(Value::Integer(EXACT_COUNT_UP_TO + 1)).push(") AS bounded");
        sql
    }

    /// Every row the conditions match, counted.
    pub fn count(&self) -> Sql {
        let mut sql = Sql::new(&format!("SELECT COUNT(*) AS count FROM {}", quote(self.table)));
        sql.append(self.where_clause(false));
        sql
    }

    /// PostgreSQL's plan for the conditions, whose first line has the planner's row estimate.
    pub fn explain_count(&self) -> Sql {
        let mut sql = Sql::new(&format!("EXPLAIN SELECT 1 FROM {}", quote(self.table)));
        sql.append(self.where_clause(false));
        sql.uncached()
    }
}

/// The rows after `values` in `order`: for each column, the rows equal on the columns before
/// it and past it on this one. NULL is the largest value. When no column can be NULL and all
/// go one way, a row comparison, which an index on the columns serves.
fn after(order: &[Sort], values: &[Option<Value>]) -> Sql {
    let mut sql = Sql::default();
    let same_way = order.iter().all(|s| s.descending == order[0].descending);
    if same_way && order.iter().zip(values).all(|(s, v)| !s.nullable() && v.is_some()) {
        let columns: Vec<String> = order.iter().map(|s| quote(s.column)).collect();
        sql.push(&format!("({}) {} (", columns.join(", "), if order[0].descending { "<" } else { ">" }));
        for (i, value) in values.iter().flatten().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(value.clone());
        }
        sql.push(")");
        return sql;
    }
    for (i, (sort, value)) in order.iter().zip(values).enumerate() {
        sql.push(if i == 0 { "(" } else { " OR (" });
        for (before, earlier) in order[..i].iter().zip(values) {
            match earlier {
                None => sql.push(&format!("{} IS NULL AND ", quote(before.column))),
                Some(v) => sql.push(&format!("{} = ", quote(before.column))).bind(v.clone()).push(" AND "),
            };
        }
        let column = quote(sort.column);
        match (value, sort.descending) {
            (None, false) => sql.push("1 = 0"),
            (None, true) => sql.push(&format!("{column} IS NOT NULL")),
            (Some(v), false) if sort.nullable() => {
                sql.push(&format!("({column} > ")).bind(v.clone()).push(&format!(" OR {column} IS NULL)"))
            }
            (Some(v), false) => sql.push(&format!("{column} > ")).bind(v.clone()),
            (Some(v), true) => sql.push(&format!("{column} < ")).bind(v.clone()),
        };
        sql.push(")");
    }
    sql
}

/// `LIKE` patterns match the value literally: `%`, `_` and `\` are escaped.
fn like_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Case-insensitive, as Ransack's `matches` is on PostgreSQL (ILIKE) and SQLite's LIKE is.
fn like(column: &str, pattern: String, negate: bool) -> Sql {
    let mut sql = Sql::new(if negate { "NOT (" } else { "(" });
    sql.push(&format!("LOWER({}) LIKE LOWER(", quote(column)));
    sql.text(pattern).push(") ESCAPE '\\')");
    sql
}

fn compare(column: &str, operator: &str, value: Value) -> Sql {
    let mut sql = Sql::new(&format!("{} {operator} ", quote(column)));
    sql.bind(value);
    sql
}

fn joined(parts: Vec<Sql>, joiner: &str) -> Sql {
    let mut sql = Sql::new("(");
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            sql.push(joiner);
        }
        sql.append(part);
    }
    sql.push(")");
    sql
}

fn list(column: &str, values: &[Value], negate: bool) -> Sql {
    let mut sql = Sql::new(&format!("{} {}IN (", quote(column), if negate { "NOT " } else { "" }));
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(value.clone());
    }
    sql.push(")");
    sql
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Text(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// The SQL for one `filter[q][…]` parameter.
pub fn filter_condition(filter: &Filter, backend: Backend) -> Sql {
    let parts = filter.terms.iter().map(|(field, operand)| term(field, filter.predicate, operand, backend)).collect();
    joined(parts, if filter.any { " OR " } else { " AND " }).uncached()
}

fn term(field: &Field, predicate: Predicate, operand: &Operand, backend: Backend) -> Sql {
    use Predicate::*;
    let column = field.column;
    let c = quote(column);
    let null = |negate: bool| Sql::new(&format!("{c} IS {}NULL", if negate { "NOT " } else { "" }));
    match (predicate, operand) {
        (Eq, Operand::One(v)) => compare(column, "=", v.clone()),
        (NotEq, Operand::One(v)) => compare(column, "<>", v.clone()),
        (EqOrNull, Operand::One(v)) => joined(vec![compare(column, "=", v.clone()), null(false)], " OR "),
        (NotEqOrNull, Operand::One(v)) => joined(vec![compare(column, "<>", v.clone()), null(false)], " OR "),
        (Lt, Operand::One(v)) => compare(column, "<", v.clone()),
        (Lteq, Operand::One(v)) => compare(column, "<=", v.clone()),
        (Gt, Operand::One(v)) => compare(column, ">", v.clone()),
        (Gteq, Operand::One(v)) => compare(column, ">=", v.clone()),
        (Matches, Operand::One(v)) => like(column, text_of(v), false),
        (DoesNotMatch, Operand::One(v)) => like(column, text_of(v), true),
        (Start, Operand::One(v)) => like(column, format!("{}%", like_escape(&text_of(v))), false),
        (NotStart, Operand::One(v)) => like(column, format!("{}%", like_escape(&text_of(v))), true),
        (End, Operand::One(v)) => like(column, format!("%{}", like_escape(&text_of(v))), false),
        (NotEnd, Operand::One(v)) => like(column, format!("%{}", like_escape(&text_of(v))), true),
        (Cont, Operand::One(v)) => like(column, format!("%{}%", like_escape(&text_of(v))), false),
        (NotCont, Operand::One(v)) => like(column, format!("%{}%", like_escape(&text_of(v))), true),
        (In, Operand::List(vs)) => list(column, vs, false),
        (NotIn, Operand::List(vs)) => list(column, vs, true),
        (NotInOrNull, Operand::List(vs)) => joined(vec![list(column, vs, true), null(false)], " OR "),
        (ContAny | ContAll | StartAny | EndAny, Operand::List(vs)) => {
            let pattern = |v: &Value| match predicate {
                StartAny => format!("{}%", like_escape(&text_of(v))),
                EndAny => format!("%{}", like_escape(&text_of(v))),
                _ => format!("%{}%", like_escape(&text_of(v))),
            };
            let parts = vs.iter().map(|v| like(column, pattern(v), false)).collect();
            joined(parts, if predicate == ContAll { " AND " } else { " OR " })
        }
        (Null, Operand::Flag(f)) => null(!f),
        (NotNull, Operand::Flag(f)) => null(*f),
        (Present | Blank, Operand::Flag(f)) => {
            let present = (predicate == Present) == *f;
            // Only text (and JSON, stored as text) can be blank; a time or a number is there
            // or not (PostgreSQL would not compare a timestamp with '').
            if !matches!(field.kind, Kind::String | Kind::Object) {
                return null(present);
            }
            let blank_values = "'', '{}', '[]'";
            if present {
                Sql::new(&format!("({c} IS NOT NULL AND {c} NOT IN ({blank_values}))"))
            } else {
                Sql::new(&format!("({c} IS NULL OR {c} IN ({blank_values}))"))
            }
        }
        (True | False, Operand::Flag(f)) => {
            let wanted = (predicate == True) == *f;
            compare(column, "=", Value::Bool(wanted))
        }
        (Jcont, Operand::Json(object)) => json_contains(column, object, backend),
        // The parser pairs each predicate with its operand shape; anything else matches nothing.
        _ => Sql::new("1 = 0"),
    }
}

/// `jcont`: the JSON column contains the given object (PostgreSQL's `@>`). SQLite has no
/// containment operator, so the object is walked into one test per leaf.
fn json_contains(column: &str, object: &serde_json::Value, backend: Backend) -> Sql {
    let c = quote(column);
    match backend {
        Backend::Postgres => {
            let mut sql = Sql::new(&format!("CAST({c} AS jsonb) @> CAST("));
            sql.text(object.to_string()).push(" AS jsonb)");
            sql
        }
        Backend::Sqlite => {
            let mut parts = Vec::new();
            sqlite_leaves(&c, "$", object, &mut parts);
            if parts.is_empty() {
                parts.push(Sql::new(&format!("json_type({c}) = 'object'")));
            }
            joined(parts, " AND ")
        }
    }
}

fn sqlite_scalar_test(expression: &str, type_expression: &str, value: &serde_json::Value) -> Sql {
    use serde_json::Value as J;
    match value {
        J::Null => Sql::new(&format!("{type_expression} = 'null'")),
        J::Bool(true) => Sql::new(&format!("{type_expression} = 'true'")),
        J::Bool(false) => Sql::new(&format!("{type_expression} = 'false'")),
        J::Number(n) => {
            let mut sql = Sql::new(&format!("({type_expression} IN ('integer', 'real') AND {expression} = "));
            match n.as_i64() {
                Some(i) => sql.bind(Value::Integer(i)),
                None => sql.push(&format!("{}", n.as_f64().unwrap_or(f64::NAN))),
            };
            sql.push(")");
            sql
        }
        J::String(s) => {
            let mut sql = Sql::new(&format!("({type_expression} = 'text' AND {expression} = "));
            sql.text(s.clone()).push(")");
            sql
        }
        // Objects inside arrays are refused by the query parser.
        J::Array(_) | J::Object(_) => Sql::new("1 = 0"),
    }
}

fn sqlite_leaves(column: &str, path: &str, value: &serde_json::Value, parts: &mut Vec<Sql>) {
    use serde_json::Value as J;
    match value {
        J::Object(map) if map.is_empty() => {
            let mut sql = Sql::new(&format!("json_type({column}, "));
            sql.text(path).push(") = 'object'");
            parts.push(sql);
        }
        J::Object(map) => {
            for (key, inner) in map {
                sqlite_leaves(column, &format!("{path}.\"{key}\""), inner, parts);
            }
        }
        J::Array(items) => {
            let mut sql = Sql::new(&format!("json_type({column}, "));
            sql.text(path).push(") = 'array'");
            parts.push(sql);
            for item in items {
                let mut exists = Sql::new(&format!("EXISTS (SELECT 1 FROM json_each({column}, "));
                exists.text(path).push(") AS element WHERE ");
                exists.append(sqlite_scalar_test("element.value", "element.type", item)).push(")");
                parts.push(exists);
            }
        }
        scalar => {
            let mut extract = Sql::new(&format!("json_extract({column}, "));
            extract.text(path).push(")");
            let mut kind = Sql::new(&format!("json_type({column}, "));
            kind.text(path).push(")");
            // Each placeholder needs its own bind, so the test is assembled in order.
            let mut sql = Sql::new("(");
            sql.append(kind.clone());
            match scalar {
                J::Null => {
                    sql.push(" = 'null')");
                }
                J::Bool(b) => {
                    sql.push(if *b { " = 'true')" } else { " = 'false')" });
                }
                J::Number(n) => {
                    sql.push(" IN ('integer', 'real') AND ").append(extract).push(" = ");
                    match n.as_i64() {
                        Some(i) => sql.bind(Value::Integer(i)),
                        None => sql.push(&format!("{}", n.as_f64().unwrap_or(f64::NAN))),
                    };
                    sql.push(")");
                }
                J::String(s) => {
                    sql.push(" = 'text' AND ").append(extract).push(" = ");
                    sql.text(s.clone()).push(")");
                }
                _ => unreachable!("arrays and objects are handled above"),
            }
            parts.push(sql);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::query::{Filter, Operand, Predicate, Sort};
    use crate::spec::{Field, Kind};

    fn filter(column: &'static str, kind: Kind, predicate: Predicate, operand: Operand) -> Filter {
        Filter { terms: vec![(Field { column, kind }, operand)], any: true, predicate }
    }

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        let mut sql = Sql::new("SELECT * FROM t WHERE a = ");
        sql.text("x").push(" AND b IN (").bind(Value::Integer(1)).push(", ").bind(Value::Bool(true)).push(")");
        assert_eq!(sql.render(Backend::Sqlite), "SELECT * FROM t WHERE a = ? AND b IN (?, ?)");
        assert_eq!(sql.render(Backend::Postgres), "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(sql.binds(), [Value::Text("x".into()), Value::Integer(1), Value::Bool(true)]);
    }

    #[test]
    fn lists_bind_each_value_and_an_empty_one_matches_nothing() {
        assert_eq!(Sql::column_in("id", Vec::new()).render(Backend::Sqlite), "1 = 0");
        let sql = Sql::column_in("role_id", ["a".to_string(), "b".to_string()]);
        assert_eq!(sql.render(Backend::Postgres), "\"role_id\" IN ($1, $2)");
    }

    #[test]
    fn selects_have_a_total_order_a_page_and_a_count() {
        let mut select = Select::from("roles").filter(Sql::column_in("organization_id", ["o".to_string()]));
        assert_eq!(
            select.rows().render(Backend::Sqlite),
            "SELECT * FROM \"roles\" WHERE (\"organization_id\" IN (?)) ORDER BY \"created_at\" ASC, \"id\" ASC"
        );
        select.order = vec![Sort { column: "name", descending: true, kind: Kind::String }];
        select.limit = Some(25);
        select.offset = 50;
        assert_eq!(
            select.counted_rows().render(Backend::Postgres),
            "SELECT *, (SELECT COUNT(*) AS count FROM (SELECT 1 FROM \"roles\" WHERE (\"organization_id\" IN ($1)) \
             LIMIT $2) AS bounded) AS total_count FROM \"roles\" WHERE (\"organization_id\" IN ($3)) \
             ORDER BY \"name\" DESC NULLS FIRST, \"id\" ASC LIMIT $4 OFFSET $5"
        );
        assert_eq!(select.counted_rows().binds()[1], Value::Integer(EXACT_COUNT_UP_TO + 1));
        assert_eq!(
            select.count().render(Backend::Sqlite),
            "SELECT COUNT(*) AS count FROM \"roles\" WHERE (\"organization_id\" IN (?))"
        );
    }

    #[test]
    fn a_cursor_reads_the_rows_after_it_in_the_total_order_nulls_last() {
        let time = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        // The default order: one row comparison, which the (created_at, id) index serves.
        let mut select = Select::from("roles");
        select.after = Some(vec![Some(Value::Timestamp(time)), Some(Value::Text("r".into()))]);
        assert_eq!(
            select.rows().render(Backend::Postgres),
            "SELECT * FROM \"roles\" WHERE ((\"created_at\", \"id\") > ($1, $2)) ORDER BY \"created_at\" ASC, \"id\" ASC"
        );
        // A nullable column: past a value is greater or NULL; past NULL, only NULLs with a greater id.
        select.order = vec![Sort { column: "reference", descending: false, kind: Kind::String }];
        select.after = Some(vec![Some(Value::Text("m".into())), Some(Value::Text("r".into()))]);
        assert_eq!(
            select.rows().render(Backend::Sqlite),
            "SELECT * FROM \"roles\" WHERE (((\"reference\" > ? OR \"reference\" IS NULL)) OR (\"reference\" = ? AND \"id\" > ?)) \
             ORDER BY \"reference\" ASC NULLS LAST, \"id\" ASC"
        );
        select.after = Some(vec![None, Some(Value::Text("r".into()))]);
        assert!(select
            .rows()
            .render(Backend::Sqlite)
            .contains("WHERE ((1 = 0) OR (\"reference\" IS NULL AND \"id\" > ?))"));
        // Descending, NULLs come first: past NULL is every value.
        select.order = vec![Sort { column: "reference", descending: true, kind: Kind::String }];
        assert!(select.rows().render(Backend::Sqlite).contains("WHERE ((\"reference\" IS NOT NULL) OR"));
    }

    #[test]
    fn like_patterns_escape_wildcards_and_compare_case_insensitively() {
        let sql = filter_condition(
            &filter("name", Kind::String, Predicate::Cont, Operand::One(Value::Text("50%_off".into()))),
            Backend::Sqlite,
        );
        assert_eq!(sql.render(Backend::Sqlite), "((LOWER(\"name\") LIKE LOWER(?) ESCAPE '\\'))");
        assert_eq!(sql.binds(), [Value::Text("%50\\%\\_off%".into())]);
        let start = filter_condition(
            &filter("name", Kind::String, Predicate::NotStart, Operand::One(Value::Text("a".into()))),
            Backend::Sqlite,
        );
        assert!(start.render(Backend::Sqlite).contains("NOT ("));
        assert_eq!(start.binds(), [Value::Text("a%".into())]);
    }

    #[test]
    fn flags_and_lists_become_their_sql() {
        let null = filter_condition(
            &filter("description", Kind::String, Predicate::Null, Operand::Flag(false)),
            Backend::Sqlite,
        );
        assert_eq!(null.render(Backend::Sqlite), "(\"description\" IS NOT NULL)");
        let values = Operand::List(vec![Value::Text("a".into()), Value::Text("b".into())]);
        let not_in = filter_condition(&filter("kind", Kind::String, Predicate::NotInOrNull, values), Backend::Postgres);
        assert_eq!(not_in.render(Backend::Postgres), "((\"kind\" NOT IN ($1, $2) OR \"kind\" IS NULL))");
        let joined = Filter {
            terms: vec![
                (Field { column: "name", kind: Kind::String }, Operand::One(Value::Text("x".into()))),
                (Field { column: "id", kind: Kind::String }, Operand::One(Value::Text("x".into()))),
            ],
            any: false,
            predicate: Predicate::Eq,
        };
        assert_eq!(filter_condition(&joined, Backend::Sqlite).render(Backend::Sqlite), "(\"name\" = ? AND \"id\" = ?)");
    }

    #[test]
    fn containment_is_one_operator_on_postgres_and_a_test_per_leaf_on_sqlite() {
        let object = serde_json::json!({"plan": "growth", "seats": 3, "tags": ["a"]});
        let jcont = filter("metadata", Kind::Object, Predicate::Jcont, Operand::Json(object));
        let postgres = filter_condition(&jcont, Backend::Postgres);
        assert_eq!(postgres.render(Backend::Postgres), "(CAST(\"metadata\" AS jsonb) @> CAST($1 AS jsonb))");
        let sqlite = filter_condition(&jcont, Backend::Sqlite).render(Backend::Sqlite);
        assert!(
            sqlite.contains("json_extract(\"metadata\", ?)") && sqlite.contains("json_each(\"metadata\", ?)"),
            "{sqlite}"
        );
    }

    #[test]
    fn a_clients_filters_are_never_kept_prepared() {
        let mut select = Select::from("roles");
        assert!(select.rows().cacheable);
        select = select.filter(filter_condition(
            &filter("name", Kind::String, Predicate::Eq, Operand::One(Value::Text("x".into()))),
            Backend::Sqlite,
        ));
        assert!(!select.rows().cacheable && !select.counted_rows().cacheable);
    }
}
