//! A small SQL builder for the queries whose shape depends on the request (filters, sorts,
//! pages, includes). Identifiers come only from the static allow-lists in `jsonapi::spec`;
//! every value the client sent is a bind parameter. The text is written with `?` and numbered
//! `$n` for PostgreSQL when it runs, so one builder serves both backends.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text, Timestamp};
use diesel::QueryableByName;

use crate::db::{AnyConnection, Backend, MultiBackend};
use crate::jsonapi::query::{Filter, Operand, Predicate, Sort};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    BigInt(i64),
    Bool(bool),
    Timestamp(NaiveDateTime),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    text: String,
    binds: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), binds: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
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
        self
    }

    /// `"column" IN (?, ?, …)`; an empty list matches nothing.
    pub fn column_in(column: &str, values: impl IntoIterator<Item = String>) -> Sql {
        let mut sql = Sql::new("");
        let values: Vec<String> = values.into_iter().collect();
        if values.is_empty() {
            sql.push("1 = 0");
            return sql;
        }
        sql.push(&quote(column)).push(" IN (");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.text(value);
        }
        sql.push(")");
        sql
    }

    pub fn render(&self, backend: Backend) -> String {
        match backend {
            Backend::Sqlite => self.text.clone(),
            Backend::Postgres => {
                let mut out = String::with_capacity(self.text.len() + 8);
                let mut n = 0;
                for c in self.text.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    fn boxed(
        &self,
        backend: Backend,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, MultiBackend, diesel::query_builder::SqlQuery> {
        let mut query = diesel::sql_query(self.render(backend)).into_boxed::<MultiBackend>();
        for value in &self.binds {
            query = match value.clone() {
                Value::Text(v) => query.bind::<Text, _>(v),
                Value::BigInt(v) => query.bind::<BigInt, _>(v),
                Value::Bool(v) => query.bind::<Bool, _>(v),
                Value::Timestamp(v) => query.bind::<Timestamp, _>(v),
            };
        }
        query
    }

    pub fn load<T>(&self, conn: &mut AnyConnection) -> QueryResult<Vec<T>>
    where
        T: QueryableByName<MultiBackend> + 'static,
    {
        let backend = conn.backend();
        self.boxed(backend).load(conn)
    }

    pub fn execute(&self, conn: &mut AnyConnection) -> QueryResult<usize> {
        let backend = conn.backend();
        self.boxed(backend).execute(conn)
    }
}

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

/// A `SELECT * FROM <table>` with conditions joined by AND, an order and a page.
#[derive(Debug, Clone, Default)]
pub struct Select {
    pub table: &'static str,
    pub conditions: Vec<Sql>,
    pub order: Vec<Sort>,
    pub limit: Option<i64>,
    pub offset: i64,
}

impl Select {
    pub fn from(table: &'static str) -> Select {
        Select { table, ..Default::default() }
    }

    pub fn filter(mut self, condition: Sql) -> Select {
        self.conditions.push(condition);
        self
    }

    fn where_clause(&self) -> Sql {
        let mut sql = Sql::default();
        for (i, condition) in self.conditions.iter().enumerate() {
            sql.push(if i == 0 { " WHERE (" } else { " AND (" });
            sql.append(condition.clone()).push(")");
        }
        sql
    }

    pub fn rows(&self) -> Sql {
        let mut sql = Sql::new(&format!("SELECT * FROM {}", quote(self.table)));
        sql.append(self.where_clause());
        let mut order: Vec<String> = self
            .order
            .iter()
            .map(|s| format!("{} {}", quote(s.column), if s.descending { "DESC" } else { "ASC" }))
            .collect();
        // A total order, so pages never overlap or skip rows.
        if !self.order.iter().any(|s| s.column == "id") {
            if self.order.is_empty() {
                order.push("\"created_at\" ASC".into());
            }
            order.push("\"id\" ASC".into());
        }
        sql.push(" ORDER BY ").push(&order.join(", "));
        if let Some(limit) = self.limit {
            sql.push(" LIMIT ").bind(Value::BigInt(limit)).push(" OFFSET ").bind(Value::BigInt(self.offset));
        }
        sql
    }

    pub fn count(&self) -> Sql {
        let mut sql = Sql::new(&format!("SELECT COUNT(*) AS count FROM {}", quote(self.table)));
        sql.append(self.where_clause());
        sql
    }
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
    let parts =
        filter.terms.iter().map(|(field, operand)| term(field.column, filter.predicate, operand, backend)).collect();
    joined(parts, if filter.any { " OR " } else { " AND " })
}

fn term(column: &'static str, predicate: Predicate, operand: &Operand, backend: Backend) -> Sql {
    use Predicate::*;
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
                Some(i) => sql.bind(Value::BigInt(i)),
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
                        Some(i) => sql.bind(Value::BigInt(i)),
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
