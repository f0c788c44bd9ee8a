//! The parsed query of a request, the same for every layer: what `jsonapi::query` makes of
//! `include`, `fields[…]`, `sort`, `page[…]` and `filter[…]`, what `db` turns into SQL and
//! `views` into links. Values are typed here (the parser's own operands), never SQL binds.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::spec::{Field, Kind};

pub const DEFAULT_PAGE_SIZE: u64 = 10;
pub const MAX_PAGE_SIZE: u64 = 25;

/// A value a filter compares a column with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Integer(i64),
    Bool(bool),
    Timestamp(NaiveDateTime),
}

/// `include=a,b.c` as a tree of relationship names, in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncludeTree(pub Vec<(&'static str, IncludeTree)>);

impl IncludeTree {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn insert(&mut self, path: &[&'static str]) {
        let Some((first, rest)) = path.split_first() else { return };
        let index = match self.0.iter().position(|(name, _)| name == first) {
            Some(i) => i,
            None => {
                self.0.push((first, IncludeTree::default()));
                self.0.len() - 1
            }
        };
        self.0[index].1.insert(rest);
    }

    pub fn get(&self, name: &str) -> Option<&IncludeTree> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }
}

/// `fields[type]=a,b`: for each type named, the only members to render.
#[derive(Debug, Clone, Default)]
pub struct Fieldsets(pub HashMap<String, Vec<String>>);

impl Fieldsets {
    pub fn allows(&self, type_name: &str, field: &str) -> bool {
        self.0.get(type_name).is_none_or(|fields| fields.iter().any(|f| f == field))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: &'static str,
    pub descending: bool,
    /// The column's kind, which a cursor's values are read as.
    pub kind: Kind,
}

impl Sort {
    pub const fn ascending(column: &'static str, kind: Kind) -> Sort {
        Sort { column, descending: false, kind }
    }

    /// Whether the column may hold NULL: all but the ones every table fills.
    pub fn nullable(&self) -> bool {
        !matches!(self.column, "id" | "created_at" | "updated_at")
    }

    pub fn reversed(self) -> Sort {
        Sort { descending: !self.descending, ..self }
    }
}

/// The order a list is read in: the requested sort, then `created_at` when nothing was asked,
/// then `id`, so the order is total and pages never overlap or skip rows.
pub fn total_order(sort: &[Sort]) -> Vec<Sort> {
    let mut order = sort.to_vec();
    if !order.iter().any(|s| s.column == "id") {
        if order.is_empty() {
            order.push(Sort::ascending("created_at", Kind::Datetime));
        }
        order.push(Sort::ascending("id", Kind::String));
    }
    order
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub number: u64,
    pub size: u64,
    /// `page[after]` or `page[before]`: read from a row rather than by number.
    pub cursor: Option<Cursor>,
}

impl Default for Page {
    fn default() -> Self {
        Page { number: 1, size: DEFAULT_PAGE_SIZE, cursor: None }
    }
}

/// How many rows a list's conditions match: exact up to a bound, an estimate past it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Total {
    pub count: i64,
    pub estimated: bool,
}

/// What a page knows of its list: how many rows it has, and whether more lie beyond the page
/// in the cursor's direction (known only when reading by cursor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageInfo {
    pub total: Total,
    pub more: bool,
}

/// A position in a list: the values of the total order's columns at one row, and whether the
/// page is the rows after it or before it. Clients see it opaque: base64url of a JSON array
/// whose first item names the order it was made for.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub before: bool,
    /// None at all for the list's very start (`page[after]=`) or end (`page[before]=`).
    pub values: Vec<Option<Value>>,
}

/// How timestamps are written in cursors.
const CURSOR_TIME: &str = "%Y-%m-%dT%H:%M:%S%.f";

fn order_signature(order: &[Sort]) -> String {
    order.iter().map(|s| format!("{}{}", if s.descending { "-" } else { "" }, s.column)).collect::<Vec<_>>().join(",")
}

impl Cursor {
    /// The cursor of a row whose order columns hold `values` (as the row serializes them).
    pub fn at(order: &[Sort], values: &[Option<serde_json::Value>]) -> String {
        use base64::Engine;
        let mut items = vec![serde_json::Value::String(order_signature(order))];
        items.extend(values.iter().map(|v| v.clone().unwrap_or(serde_json::Value::Null)));
        let json = serde_json::Value::Array(items).to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor made for `order`; `None` for anything else (another order, another
    /// server's text, values of the wrong kind, text with a NUL).
    pub fn read(text: &str, order: &[Sort], before: bool) -> Option<Cursor> {
        use base64::Engine;
        if text.is_empty() {
            // `page[after]=`: from the first row; `page[before]=`: up to the last.
            return Some(Cursor { before, values: Vec::new() });
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        let items: Vec<serde_json::Value> = serde_json::from_slice(&bytes).ok()?;
        let (signature, values) = items.split_first()?;
        if signature.as_str()? != order_signature(order) || values.len() != order.len() {
            return None;
        }
        let values = order
            .iter()
            .zip(values)
            .map(|(sort, value)| match (sort.kind, value) {
                (_, serde_json::Value::Null) if sort.nullable() => Some(None),
                (Kind::String, serde_json::Value::String(s)) if !s.contains('\0') => Some(Some(Value::Text(s.clone()))),
                (Kind::Integer, serde_json::Value::Number(n)) => n.as_i64().map(|n| Some(Value::Integer(n))),
                (Kind::Boolean, serde_json::Value::Bool(b)) => Some(Some(Value::Bool(*b))),
                (Kind::Datetime, serde_json::Value::String(s)) => {
                    NaiveDateTime::parse_from_str(s, CURSOR_TIME).ok().map(|t| Some(Value::Timestamp(t)))
                }
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Cursor { before, values })
    }
}

impl Page {
    pub fn offset(&self) -> i64 {
        if self.cursor.is_some() {
            return 0;
        }
        ((self.number - 1) * self.size) as i64
    }
}

/// Ransack's predicates, as Commerce Layer documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predicate {
    Eq,
    NotEq,
    EqOrNull,
    NotEqOrNull,
    Matches,
    DoesNotMatch,
    Lt,
    Lteq,
    Gt,
    Gteq,
    In,
    NotIn,
    NotInOrNull,
    Start,
    NotStart,
    End,
    NotEnd,
    Cont,
    NotCont,
    ContAny,
    ContAll,
    StartAny,
    EndAny,
    Present,
    Blank,
    Null,
    NotNull,
    True,
    False,
    Jcont,
}

/// The typed value a filter compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    One(Value),
    List(Vec<Value>),
    /// `true` applies the predicate, `false` its opposite (`name_null=false` is `name_not_null`).
    Flag(bool),
    /// `jcont`: the object the column must contain.
    Json(serde_json::Value),
}

/// One `filter[q][…]` parameter: several fields joined by `_or_` (any) or `_and_` (all).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub terms: Vec<(Field, Operand)>,
    pub any: bool,
    pub predicate: Predicate,
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub include: IncludeTree,
    pub fields: Fieldsets,
    pub sort: Vec<Sort>,
    pub page: Page,
    pub filters: Vec<Filter>,
    pub ids: Option<Vec<String>>,
    /// Every parameter as sent, to rebuild pagination links.
    pub pairs: Vec<(String, String)>,
}

impl Fieldsets {
    /// The members `fields[type]` names, when it does.
    pub fn of(&self, type_name: &str) -> Option<&[String]> {
        self.0.get(type_name).map(Vec::as_slice)
    }
}
