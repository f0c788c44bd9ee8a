//! Query parameters, parsed once against the type's allow-lists: `include`, `fields[type]`,
//! `sort`, `page[number]`/`page[size]`, `filter[ids]` and Commerce Layer's Ransack-style
//! `filter[q][<attribute>_<predicate>]`. Anything not understood answers 400 naming the
//! parameter (JSON:API 1.1 §5.4: unsupported parameters are an error).
//!
//! The `jsonapi` crate's own query parser cannot express `filter[q][…]`, so this is ours.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::error::ApiError;
use crate::spec::query::{Filter, IncludeTree, Operand, Predicate, Query, Sort, Value, MAX_PAGE_SIZE};
use crate::spec::{Catalog, Field, Kind, ResourceSpec};

/// Bounds the offset so it always fits the database's integer.
const MAX_PAGE_NUMBER: u64 = 1_000_000_000;
/// A filter value list longer than this is refused rather than sent to the database.
const MAX_LIST_VALUES: usize = 500;

/// Which parameters an endpoint understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// One resource (GET one, POST, PATCH): `include` and `fields`.
    Single,
    /// A collection: everything.
    List,
    /// A relationship's linkage (`/relationships/<name>`): nothing.
    Linkage,
}

/// Longest names first, so `not_eq_or_null` is never read as `null`.
const PREDICATES: &[(&str, Predicate)] = &[
    ("not_in_or_null", Predicate::NotInOrNull),
    ("not_eq_or_null", Predicate::NotEqOrNull),
    ("does_not_match", Predicate::DoesNotMatch),
    ("eq_or_null", Predicate::EqOrNull),
    ("not_start", Predicate::NotStart),
    ("start_any", Predicate::StartAny),
    ("not_null", Predicate::NotNull),
    ("not_cont", Predicate::NotCont),
    ("cont_any", Predicate::ContAny),
    ("cont_all", Predicate::ContAll),
    ("end_any", Predicate::EndAny),
    ("matches", Predicate::Matches),
    ("present", Predicate::Present),
    ("not_end", Predicate::NotEnd),
    ("not_eq", Predicate::NotEq),
    ("not_in", Predicate::NotIn),
    ("start", Predicate::Start),
    ("blank", Predicate::Blank),
    ("false", Predicate::False),
    ("jcont", Predicate::Jcont),
    ("cont", Predicate::Cont),
    ("lteq", Predicate::Lteq),
    ("gteq", Predicate::Gteq),
    ("null", Predicate::Null),
    ("true", Predicate::True),
    ("end", Predicate::End),
    ("eq", Predicate::Eq),
    ("lt", Predicate::Lt),
    ("gt", Predicate::Gt),
    ("in", Predicate::In),
];

impl Predicate {
    /// Which attribute kinds the predicate makes sense for.
    fn applies_to(self, kind: Kind) -> bool {
        use Predicate::*;
        match self {
            Null | NotNull | Present | Blank => true,
            Jcont => kind == Kind::Object,
            True | False => kind == Kind::Boolean,
            Eq | NotEq | EqOrNull | NotEqOrNull | In | NotIn | NotInOrNull => kind != Kind::Object,
            Lt | Lteq | Gt | Gteq => matches!(kind, Kind::String | Kind::Integer | Kind::Datetime),
            Matches | DoesNotMatch | Start | NotStart | End | NotEnd | Cont | NotCont | ContAny | ContAll
            | StartAny | EndAny => kind == Kind::String,
        }
    }

    fn takes_list(self) -> bool {
        use Predicate::*;
        matches!(self, In | NotIn | NotInOrNull | ContAny | ContAll | StartAny | EndAny)
    }

    fn takes_flag(self) -> bool {
        use Predicate::*;
        matches!(self, Null | NotNull | Present | Blank | True | False)
    }
}

/// Parses a request's query string for `spec`; `catalog` knows the other types (`include`
/// paths, `fields[type]`).
pub fn parse(
    catalog: &dyn Catalog,
    spec: &'static ResourceSpec,
    query_string: &str,
    allowed: Allowed,
) -> Result<Query, ApiError> {
    {
        let mut query = Query::default();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
            let (key, value) = (key.into_owned(), value.into_owned());
            if seen.contains(&key) {
                return Err(ApiError::parameter(&key, format!("The parameter {key} is given more than once.")));
            }
            seen.push(key.clone());
            match key.as_str() {
                _ if allowed == Allowed::Linkage => {
                    return Err(ApiError::parameter(
                        &key,
                        format!("The parameter {key} is not supported: a relationship's linkage takes none."),
                    ))
                }
                "include" => query.include = parse_include(catalog, spec, &value)?,
                "sort" if allowed == Allowed::List => query.sort = parse_sort(spec, &value)?,
                "page[number]" if allowed == Allowed::List => {
                    query.page.number = parse_number(&key, &value, 1, MAX_PAGE_NUMBER)?
                }
                "page[size]" if allowed == Allowed::List => {
                    query.page.size = parse_number(&key, &value, 1, MAX_PAGE_SIZE)?
                }
                "filter[ids]" if allowed == Allowed::List => query.ids = Some(split_list(&key, &value)?),
                _ if key.starts_with("fields[") && key.ends_with(']') => {
                    let type_name = &key["fields[".len()..key.len() - 1];
                    let fields = parse_fieldset(catalog, &key, type_name, &value)?;
                    query.fields.0.insert(type_name.to_string(), fields);
                }
                _ if allowed == Allowed::List && key.starts_with("filter[q][") && key.ends_with(']') => {
                    let expression = &key["filter[q][".len()..key.len() - 1];
                    query.filters.push(parse_filter(spec, &key, expression, &value)?);
                }
                _ => {
                    let detail = match allowed {
                        Allowed::Single => format!(
                            "The parameter {key} is not supported here; a single resource accepts include and fields[…]."
                        ),
                        Allowed::List | Allowed::Linkage => format!("The parameter {key} is not supported."),
                    };
                    return Err(ApiError::parameter(key, detail));
                }
            }
            query.pairs.push((key, value));
        }
        Ok(query)
    }
}

fn parse_number(key: &str, value: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| ApiError::parameter(key, format!("{key} must be a whole number from {min} to {max}.")))
}

fn split_list(key: &str, value: &str) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if items.is_empty() {
        return Err(ApiError::filter(key, format!("{key} needs at least one value.")));
    }
    if items.len() > MAX_LIST_VALUES {
        return Err(ApiError::filter(key, format!("{key} takes at most {MAX_LIST_VALUES} values.")));
    }
    Ok(items)
}

fn parse_include(catalog: &dyn Catalog, spec: &'static ResourceSpec, value: &str) -> Result<IncludeTree, ApiError> {
    let mut tree = IncludeTree::default();
    for path in value.split(',').map(str::trim) {
        if path.is_empty() {
            return Err(ApiError::parameter("include", "include has an empty relationship path."));
        }
        let mut current = spec;
        let mut names = Vec::new();
        let segments: Vec<&str> = path.split('.').collect();
        for (index, segment) in segments.iter().enumerate() {
            let relationship = current.relationship(segment).ok_or_else(|| {
                ApiError::parameter(
                    "include",
                    format!("{path:?} is not a relationship path of {}: {segment:?} is unknown.", spec.type_name),
                )
            })?;
            names.push(relationship.name);
            if index + 1 < segments.len() {
                current = catalog.spec(relationship.target).ok_or_else(|| {
                    ApiError::parameter("include", format!("{path:?}: {segment} has no relationships to follow yet."))
                })?;
            }
        }
        tree.insert(&names);
    }
    Ok(tree)
}

fn parse_sort(spec: &'static ResourceSpec, value: &str) -> Result<Vec<Sort>, ApiError> {
    let mut sort = Vec::new();
    for item in value.split(',').map(str::trim) {
        let (name, descending) = match item.strip_prefix('-') {
            Some(name) => (name, true),
            None => (item, false),
        };
        let field = spec.sortable(name).ok_or_else(|| {
            ApiError::parameter("sort", format!("{name:?} is not a sortable field of {}.", spec.type_name))
        })?;
        sort.push(Sort { column: field.column, descending });
    }
    Ok(sort)
}

fn parse_fieldset(catalog: &dyn Catalog, key: &str, type_name: &str, value: &str) -> Result<Vec<String>, ApiError> {
    let spec = catalog
        .spec(type_name)
        .ok_or_else(|| ApiError::parameter(key, format!("{type_name:?} is not a resource type.")))?;
    let mut fields = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !spec.has_field(name) {
            return Err(ApiError::parameter(key, format!("{name:?} is not a field of {type_name}.")));
        }
        fields.push(name.to_string());
    }
    Ok(fields)
}

/// Splits `name_or_slug_cont` into its fields, joiner and predicate. Attribute names may hold
/// underscores, so each reading is checked against the allow-list rather than split blindly.
fn parse_filter(spec: &'static ResourceSpec, key: &str, expression: &str, value: &str) -> Result<Filter, ApiError> {
    for (suffix, predicate) in PREDICATES {
        let Some(fields) = expression.strip_suffix(suffix).and_then(|s| s.strip_suffix('_')) else { continue };
        let Some((fields, any)) = split_fields(spec, fields) else { continue };
        let mut terms = Vec::with_capacity(fields.len());
        for field in fields {
            if !predicate.applies_to(field.kind) {
                return Err(ApiError::filter(
                    key,
                    format!("The predicate {suffix} does not apply to {} ({:?}).", field.column, field.kind),
                ));
            }
            terms.push((field, parse_operand(key, *predicate, field.kind, value)?));
        }
        return Ok(Filter { terms, any, predicate: *predicate });
    }
    Err(ApiError::filter(
        key,
        format!(
            "{expression:?} is not <attribute>_<predicate> with a filterable attribute of {} and a known predicate.",
            spec.type_name
        ),
    ))
}

fn split_fields(spec: &ResourceSpec, expression: &str) -> Option<(Vec<Field>, bool)> {
    if let Some(field) = spec.filterable(expression) {
        return Some((vec![field], true));
    }
    for (joiner, any) in [("_or_", true), ("_and_", false)] {
        // Try each split point: `reference_or_name` must not split inside an attribute name.
        for (index, _) in expression.match_indices(joiner) {
            let (head, tail) = (&expression[..index], &expression[index + joiner.len()..]);
            let Some(field) = spec.filterable(head) else { continue };
            let rest = split_joined(spec, tail, joiner);
            if let Some(mut fields) = rest {
                fields.insert(0, field);
                return Some((fields, any));
            }
        }
    }
    None
}

fn split_joined(spec: &ResourceSpec, expression: &str, joiner: &str) -> Option<Vec<Field>> {
    if let Some(field) = spec.filterable(expression) {
        return Some(vec![field]);
    }
    for (index, _) in expression.match_indices(joiner) {
        let Some(field) = spec.filterable(&expression[..index]) else { continue };
        if let Some(mut rest) = split_joined(spec, &expression[index + joiner.len()..], joiner) {
            rest.insert(0, field);
            return Some(rest);
        }
    }
    None
}

fn parse_operand(key: &str, predicate: Predicate, kind: Kind, value: &str) -> Result<Operand, ApiError> {
    if predicate == Predicate::Jcont {
        let json: serde_json::Value = serde_json::from_str(value)
            .ok()
            .filter(serde_json::Value::is_object)
            .ok_or_else(|| ApiError::filter(key, format!("{key} takes a JSON object, e.g. {{\"key\":\"value\"}}.")))?;
        check_containment(key, &json)?;
        return Ok(Operand::Json(json));
    }
    if predicate.takes_flag() {
        return match value {
            "true" | "1" | "t" => Ok(Operand::Flag(true)),
            "false" | "0" | "f" => Ok(Operand::Flag(false)),
            _ => Err(ApiError::filter(key, format!("{key} takes true or false."))),
        };
    }
    if predicate.takes_list() {
        let values = split_list(key, value)?;
        return values.iter().map(|v| parse_value(key, kind, v)).collect::<Result<_, _>>().map(Operand::List);
    }
    Ok(Operand::One(parse_value(key, kind, value)?))
}

/// What `jcont` can look for the same way on both backends: nested objects, scalars, and
/// arrays of scalars; keys without quotes or backslashes (they would need escaping in a path).
fn check_containment(key: &str, value: &serde_json::Value) -> Result<(), ApiError> {
    use serde_json::Value as J;
    match value {
        J::Object(map) => {
            for (name, inner) in map {
                if name.contains(['"', '\\', '.']) || name.is_empty() {
                    return Err(ApiError::filter(key, format!("{key}: the key {name:?} cannot be searched.")));
                }
                check_containment(key, inner)?;
            }
            Ok(())
        }
        J::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => Ok(()),
        J::Array(_) => {
            Err(ApiError::filter(key, format!("{key}: arrays may hold only strings, numbers, booleans or null.")))
        }
        _ => Ok(()),
    }
}

fn parse_value(key: &str, kind: Kind, value: &str) -> Result<Value, ApiError> {
    match kind {
        Kind::String => Ok(Value::Text(value.to_string())),
        Kind::Integer => value
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| ApiError::filter(key, format!("{key} takes a whole number, not {value:?}."))),
        Kind::Boolean => match value {
            "true" | "1" | "t" => Ok(Value::Bool(true)),
            "false" | "0" | "f" => Ok(Value::Bool(false)),
            _ => Err(ApiError::filter(key, format!("{key} takes true or false, not {value:?}."))),
        },
        Kind::Datetime => parse_datetime(value).map(Value::Timestamp).ok_or_else(|| {
            ApiError::filter(
                key,
                format!("{key} takes an ISO 8601 date or time (2018-01-01T12:00:00Z), not {value:?}."),
            )
        }),
        Kind::Object => Err(ApiError::filter(key, format!("{key}: objects are filtered with _jcont."))),
    }
}

/// RFC 3339 with any offset (converted to UTC), or a plain date (midnight UTC).
pub fn parse_datetime(value: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc).naive_utc());
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
}
