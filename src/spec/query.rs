//! The parsed query of a request, the same for every layer: what `jsonapi::query` makes of
//! `include`, `fields[…]`, `sort`, `page[…]` and `filter[…]`, what `db` turns into SQL and
//! `views` into links. Values are typed here (the parser's own operands), never SQL binds.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::spec::Field;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub number: u64,
    pub size: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page { number: 1, size: DEFAULT_PAGE_SIZE }
    }
}

impl Page {
    pub fn offset(&self) -> i64 {
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
