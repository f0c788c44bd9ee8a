//! Query parameters, parsed once against the type's allow-lists: `include`, `fields[type]`,
//! `sort`, `page[number]`/`page[size]`, `filter[ids]` and Commerce Layer's Ransack-style
//! `filter[q][<attribute>_<predicate>]`. Anything not understood answers 400 naming the
//! parameter (JSON:API 1.1 §5.4: unsupported parameters are an error).
//!
//! The `jsonapi` crate's own query parser cannot express `filter[q][…]`, so this is ours.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::error::ApiError;
use crate::spec::query::{Cursor, Filter, IncludeTree, Operand, Predicate, Query, Sort, Value, MAX_PAGE_SIZE};
use crate::spec::{Catalog, Field, Kind, ResourceSpec};

/// Bounds the offset so it always fits the database's integer.
const MAX_PAGE_NUMBER: u64 = 1_000_000_000;
/// A filter value list longer than this is refused rather than sent to the database.
pub const MAX_LIST_VALUES: usize = 500;
/// Filters (`filter[q][…]` parameters) in one request.
pub const MAX_FILTERS: usize = 20;
/// Attributes joined with `_or_`/`_and_` in one filter.
pub const MAX_FILTER_TERMS: usize = 8;
/// Values all filters together bind (each list item counts): well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bind parameters.
pub const MAX_FILTER_VALUES: usize = 1_000;
/// Sort keys.
pub const MAX_SORT_KEYS: usize = 8;
/// Include paths, and relationships along one path.
pub const MAX_INCLUDE_PATHS: usize = 10;
pub const MAX_INCLUDE_DEPTH: usize = 3;
/// Names in one sparse fieldset.
pub const MAX_FIELDS: usize = 64;
/// The longest query string read; a longer one answers 414.
pub const MAX_QUERY_LENGTH: usize = 8_192;

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

/// What a filter's value is, for the OpenAPI document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterValue {
    /// One value of the attribute's kind.
    One,
    /// Comma-separated values of the attribute's kind.
    List,
    /// `true` or `false`.
    Flag,
    /// A JSON object (`_jcont`).
    Json,
}

/// The predicates an attribute of `kind` takes (`filter[q][<name>_<predicate>]`), with what
/// each one's value is.
pub fn predicates(kind: Kind) -> impl Iterator<Item = (&'static str, FilterValue)> {
    let mut all: Vec<_> = PREDICATES.iter().filter(|(_, p)| p.applies_to(kind)).collect();
    all.sort_by_key(|(name, _)| *name);
    all.into_iter().map(|(name, p)| {
        let operand = match p {
            Predicate::Jcont => FilterValue::Json,
            p if p.takes_flag() => FilterValue::Flag,
            p if p.takes_list() => FilterValue::List,
            _ => FilterValue::One,
        };
        (*name, operand)
    })
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
        let mut values = 0;
        let mut cursor: Option<(String, String)> = None;
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
                "page[after]" | "page[before]" if allowed == Allowed::List => {
                    if let Some((other, _)) = &cursor {
                        return Err(ApiError::parameter(&key, format!("{key} and {other} cannot go together.")));
                    }
                    cursor = Some((key.clone(), value.clone()));
                }
                "filter[ids]" if allowed == Allowed::List => query.ids = Some(split_list(&key, &value)?),
                _ if key.starts_with("fields[") && key.ends_with(']') => {
                    let type_name = &key["fields[".len()..key.len() - 1];
                    let fields = parse_fieldset(catalog, &key, type_name, &value)?;
                    query.fields.0.insert(type_name.to_string(), fields);
                }
                _ if allowed == Allowed::List && key.starts_with("filter[q][") && key.ends_with(']') => {
                    if query.filters.len() == MAX_FILTERS {
                        return Err(ApiError::filter(&key, format!("A request takes at most {MAX_FILTERS} filters.")));
                    }
                    let expression = &key["filter[q][".len()..key.len() - 1];
                    let filter = parse_filter(spec, &key, expression, &value)?;
                    values += filter.terms.iter().map(|(_, operand)| operand_values(operand)).sum::<usize>();
                    if values > MAX_FILTER_VALUES {
                        return Err(ApiError::filter(
                            &key,
                            format!("The filters of a request take at most {MAX_FILTER_VALUES} values in all."),
                        ));
                    }
                    query.filters.push(filter);
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
        if let Some((key, text)) = cursor {
            if seen.iter().any(|k| k == "page[number]") {
                return Err(ApiError::parameter(&key, format!("{key} and page[number] cannot go together.")));
            }
            let order = crate::spec::query::total_order(&query.sort);
            query.page.cursor = Some(Cursor::read(&text, &order, key == "page[before]").ok_or_else(|| {
                ApiError::parameter(
                    &key,
                    format!("{key} must be a cursor from a link of this list, with the same sort."),
                )
            })?);
        }
        Ok(query)
    }
}

/// How many values an operand binds.
fn operand_values(operand: &Operand) -> usize {
    match operand {
        Operand::List(items) => items.len(),
        _ => 1,
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
    if value.split(',').count() > MAX_INCLUDE_PATHS {
        return Err(ApiError::parameter("include", format!("include takes at most {MAX_INCLUDE_PATHS} paths.")));
    }
    for path in value.split(',').map(str::trim) {
        if path.is_empty() {
            return Err(ApiError::parameter("include", "include has an empty relationship path."));
        }
        let mut current = spec;
        let mut names = Vec::new();
        let segments: Vec<&str> = path.split('.').collect();
        if segments.len() > MAX_INCLUDE_DEPTH {
            return Err(ApiError::parameter(
                "include",
                format!("{path:?}: an include path follows at most {MAX_INCLUDE_DEPTH} relationships."),
            ));
        }
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
    let mut sort: Vec<Sort> = Vec::new();
    if value.split(',').count() > MAX_SORT_KEYS {
        return Err(ApiError::parameter("sort", format!("sort takes at most {MAX_SORT_KEYS} fields.")));
    }
    for item in value.split(',').map(str::trim) {
        let (name, descending) = match item.strip_prefix('-') {
            Some(name) => (name, true),
            None => (item, false),
        };
        let field = spec.sortable(name).ok_or_else(|| {
            ApiError::parameter("sort", format!("{name:?} is not a sortable field of {}.", spec.type_name))
        })?;
        sort.push(Sort { column: field.column, descending, kind: field.kind });
    }
    Ok(sort)
}

fn parse_fieldset(catalog: &dyn Catalog, key: &str, type_name: &str, value: &str) -> Result<Vec<String>, ApiError> {
    let spec = catalog
        .spec(type_name)
        .ok_or_else(|| ApiError::parameter(key, format!("{type_name:?} is not a resource type.")))?;
    // JSON:API 1.1 §6.3: an empty value asks for no fields; otherwise a comma-separated list of
    // names, each a field of the type (no blanks around them, no empty ones).
    if value.is_empty() {
        return Ok(Vec::new());
    }
    if value.split(',').count() > MAX_FIELDS {
        return Err(ApiError::parameter(key, format!("{key} takes at most {MAX_FIELDS} names.")));
    }
    value
        .split(',')
        .map(|name| match spec.has_field(name) {
            true => Ok(name.to_string()),
            false => Err(ApiError::parameter(key, format!("{name:?} is not a field of {type_name}."))),
        })
        .collect()
}

/// Splits `name_or_slug_cont` into its fields, joiner and predicate. Attribute names may hold
/// underscores, so each reading is checked against the allow-list rather than split blindly.
fn parse_filter(spec: &'static ResourceSpec, key: &str, expression: &str, value: &str) -> Result<Filter, ApiError> {
    // Each joined attribute is tried at every split point: bound the work before it starts.
    let joined = expression.matches("_or_").count() + expression.matches("_and_").count();
    if joined >= MAX_FILTER_TERMS {
        return Err(ApiError::filter(key, format!("A filter joins at most {MAX_FILTER_TERMS} attributes.")));
    }
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
    if crate::jsonapi::text::nul_in(value).is_some() {
        return Err(ApiError::filter(key, format!("{key}: text must not contain a NUL character.")));
    }
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
        Kind::Strings => Err(ApiError::filter(key, format!("{key}: arrays are not filtered."))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Source;
    use crate::spec::{Attribute, Relationship, Tenancy, CREATE, FILTER, SORT, TRIGGER, UPDATE};

    static ROLES: ResourceSpec = ResourceSpec {
        type_name: "roles",
        attributes: &[
            Attribute::new("name", Kind::String, CREATE | FILTER | SORT),
            Attribute::new("seats", Kind::Integer, FILTER | SORT),
            Attribute::new("active", Kind::Boolean, FILTER),
            Attribute::new("config", Kind::Object, FILTER),
            Attribute::new("hidden", Kind::String, 0),
            Attribute::new("_refresh", Kind::Boolean, UPDATE | TRIGGER),
        ],
        relationships: &[
            Relationship::to_one("organization", "organizations", "organization_id", CREATE),
            Relationship::to_many("permissions", "permissions", "role_id"),
        ],
        tenancy: Tenancy::OrganizationColumn("organization_id"),
    };
    static ORGANIZATIONS: ResourceSpec = ResourceSpec {
        type_name: "organizations",
        attributes: &[Attribute::new("name", Kind::String, FILTER)],
        relationships: &[Relationship::to_many("roles", "roles", "organization_id")],
        tenancy: Tenancy::Organization,
    };

    struct Types;

    impl Catalog for Types {
        fn spec(&self, type_name: &str) -> Option<&'static ResourceSpec> {
            [&ROLES, &ORGANIZATIONS].into_iter().find(|s| s.type_name == type_name)
        }
        fn subjects(&self) -> Vec<&'static str> {
            vec!["roles", "organizations"]
        }
    }

    fn list(query: &str) -> Result<Query, ApiError> {
        parse(&Types, &ROLES, query, Allowed::List)
    }

    /// The parameter a 400 names, and its code.
    fn refused(result: Result<Query, ApiError>) -> (String, &'static str) {
        match result {
            Err(ApiError::BadRequest { code, location: Source::Parameter(name), .. }) => (name, code),
            other => panic!("expected a 400 naming a parameter, got {other:?}"),
        }
    }

    #[test]
    fn include_follows_relationships_through_their_types() {
        let query = list("include=organization.roles,permissions").unwrap();
        assert_eq!(query.include.0.len(), 2);
        assert!(query.include.get("organization").unwrap().get("roles").is_some());
        assert_eq!(refused(list("include=nothing")), ("include".into(), "INVALID_PARAMETER"));
        assert_eq!(refused(list("include=permissions.role")).0, "include", "permissions are not in the catalog");
        assert_eq!(refused(list("include=,organization")).0, "include");
        assert_eq!(refused(list("include=organization..roles")).0, "include");
    }

    #[test]
    fn fields_name_known_members_of_known_types() {
        assert_eq!(list("fields[roles]=").unwrap().fields.of("roles").map(<[String]>::len), Some(0), "no fields");
        for sloppy in
            ["fields[roles]=name,", "fields[roles]=,name", "fields[roles]=%20name", "fields[roles]=name,,kind"]
        {
            assert_eq!(refused(list(sloppy)).0, "fields[roles]", "{sloppy}");
        }
        let query = list("fields[roles]=name,organization&fields[organizations]=name").unwrap();
        assert_eq!(query.fields.of("roles").unwrap(), ["name", "organization"]);
        assert_eq!(refused(list("fields[spaceships]=name")).0, "fields[spaceships]");
        assert_eq!(refused(list("fields[roles]=secret")).0, "fields[roles]");
        assert_eq!(refused(list("fields[roles]=_refresh")).0, "fields[roles]", "triggers are not fields");
    }

    #[test]
    fn sort_takes_sortable_fields_either_way() {
        let query = list("sort=-seats,name,id").unwrap();
        let sorts: Vec<(&str, bool)> = query.sort.iter().map(|s| (s.column, s.descending)).collect();
        assert_eq!(sorts, [("seats", true), ("name", false), ("id", false)]);
        assert_eq!(refused(list("sort=active")).0, "sort", "filterable is not sortable");
        assert_eq!(refused(list("sort=hidden")).0, "sort");
        assert_eq!(refused(list("sort=")).0, "sort");
    }

    #[test]
    fn pages_are_bounded_whole_numbers() {
        let query = list("page[number]=3&page[size]=25").unwrap();
        assert_eq!((query.page.number, query.page.size, query.page.offset()), (3, 25, 50));
        for bad in ["page[number]=0", "page[number]=-1", "page[number]=x", "page[size]=26", "page[size]=0"] {
            let (name, _) = refused(list(bad));
            assert_eq!(name, bad.split('=').next().unwrap(), "{bad}");
        }
        assert_eq!(refused(list("page[number]=1000000001")).0, "page[number]");
    }

    #[test]
    fn ids_filter_is_a_bounded_list() {
        assert_eq!(list("filter[ids]=a,b, c").unwrap().ids.unwrap(), ["a", "b", "c"]);
        assert_eq!(refused(list("filter[ids]=,")), ("filter[ids]".into(), "INVALID_FILTER"));
        let many = vec!["x"; 501].join(",");
        assert_eq!(refused(list(&format!("filter[ids]={many}"))).0, "filter[ids]");
    }

    #[test]
    fn filters_pair_each_predicate_with_its_operand() {
        let query = list("filter[q][name_cont]=ab&filter[q][seats_gteq]=3&filter[q][active_true]=1").unwrap();
        assert_eq!(query.filters.len(), 3);
        assert_eq!(query.filters[0].predicate, Predicate::Cont);
        assert_eq!(query.filters[1].terms[0].1, Operand::One(Value::Integer(3)));
        assert_eq!(query.filters[2].terms[0].1, Operand::Flag(true));
        let listed = list("filter[q][name_in]=a,b").unwrap();
        assert_eq!(listed.filters[0].terms[0].1, Operand::List(vec![Value::Text("a".into()), Value::Text("b".into())]));
        let dated = list("filter[q][created_at_gt]=2018-01-01T12:00:00%2B02:00").unwrap();
        let expected = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap().and_hms_opt(10, 0, 0).unwrap();
        assert_eq!(dated.filters[0].terms[0].1, Operand::One(Value::Timestamp(expected)));
        let contained = list("filter[q][config_jcont]=%7B%22a%22%3A%5B1%2C2%5D%7D").unwrap();
        assert!(matches!(&contained.filters[0].terms[0].1, Operand::Json(j) if j["a"][1] == 2));
    }

    #[test]
    fn joined_filters_split_at_attribute_names() {
        let any = list("filter[q][name_or_organization_id_eq]=x").unwrap();
        let columns: Vec<&str> = any.filters[0].terms.iter().map(|(f, _)| f.column).collect();
        assert_eq!((columns, any.filters[0].any), (vec!["name", "organization_id"], true));
        let all = list("filter[q][name_and_id_start]=x").unwrap();
        assert!(!all.filters[0].any);
        assert_eq!(list("filter[q][name_not_eq_or_null]=x").unwrap().filters[0].predicate, Predicate::NotEqOrNull);
    }

    #[test]
    fn filters_refuse_what_they_cannot_apply() {
        for bad in [
            "filter[q][hidden_eq]=x",
            "filter[q][nothing_eq]=x",
            "filter[q][name_frobnicates]=x",
            "filter[q][seats_eq]=many",
            "filter[q][seats_cont]=1",
            "filter[q][active_eq]=maybe",
            "filter[q][created_at_lt]=yesterday",
            "filter[q][config_eq]=x",
            "filter[q][name_jcont]=%7B%7D",
            "filter[q][config_jcont]=%5B1%5D",
            "filter[q][config_jcont]=%7B%22a.b%22%3A1%7D",
            "filter[q][config_jcont]=%7B%22a%22%3A%5B%7B%7D%5D%7D",
            "filter[q][name_null]=perhaps",
        ] {
            let key = url::form_urlencoded::parse(bad.as_bytes()).next().unwrap().0.into_owned();
            assert_eq!(refused(list(bad)), (key, "INVALID_FILTER"), "{bad}");
        }
    }

    #[test]
    fn every_endpoint_kind_refuses_what_it_does_not_take() {
        assert_eq!(refused(list("page[size]=2&page[size]=3")).0, "page[size]", "given twice");
        assert_eq!(refused(list("unknown=1")).0, "unknown");
        let single = |q| parse(&Types, &ROLES, q, Allowed::Single);
        assert!(single("include=organization&fields[roles]=name").is_ok());
        for bad in ["sort=name", "page[size]=2", "filter[ids]=a", "filter[q][name_eq]=x"] {
            assert_eq!(refused(single(bad)).0, bad.split('=').next().unwrap(), "{bad}");
        }
        let linkage = |q| parse(&Types, &ROLES, q, Allowed::Linkage);
        assert!(linkage("").is_ok());
        for bad in ["include=organization", "sort=name", "foo=1", "fields[roles]=name"] {
            assert_eq!(refused(linkage(bad)).0, bad.split('=').next().unwrap(), "{bad}");
        }
    }

    #[test]
    fn the_raw_query_is_kept_for_links() {
        let query = list("filter%5Bq%5D%5Bname_cont%5D=a%26b&page[size]=2").unwrap();
        assert_eq!(
            query.pairs,
            [("filter[q][name_cont]".to_string(), "a&b".to_string()), ("page[size]".into(), "2".into())]
        );
    }
}
