//! The end of the road: loaded records become JSON:API documents with self and related links
//! (JSON:API 1.1 §7.2, §7.6 links, §7.7 compound documents), serialized once, straight into
//! the response body. Attributes come from each type's typed struct (`fields::Entries`); the
//! document around them is a handful of `#[derive(Serialize)]` structs.

pub mod fields;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use chrono::{NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::MEDIA_TYPE;
use crate::spec::query::{total_order, Cursor, PageInfo, Query};
use crate::spec::{Cardinality, ResourceSpec, Tenancy};

/// One loaded row, whatever its type: its id, the values of its key columns, and its
/// attributes as JSON.
pub trait RowView: Send {
    fn id(&self) -> &str;
    /// The value of a key column (`organization_id`, `role_id`, `resource_id`…).
    fn key(&self, column: &str) -> Option<&str>;
    fn attributes(
        &self,
        fields: Option<&[String]>,
        reveal: Option<&(&'static str, String)>,
    ) -> serde_json::Result<Box<RawValue>>;
    /// A column's value as the row serializes it (for cursors: two rows a page).
    fn column(&self, name: &str) -> Option<serde_json::Value>;
}

/// A record on its way out, with the linkage its includes found.
pub struct Record {
    pub spec: &'static ResourceSpec,
    pub row: Box<dyn RowView>,
    /// Linkage of to-many relationships that were included.
    pub to_many: Vec<(&'static str, Vec<String>)>,
    /// For included to-one relationships: the target, when the caller may read it.
    pub to_one_visible: Vec<(&'static str, Option<String>)>,
    /// An attribute shown in place of its stored value (a new secret, once).
    pub reveal: Option<(&'static str, String)>,
}

impl Record {
    pub fn new(spec: &'static ResourceSpec, row: Box<dyn RowView>) -> Record {
        Record { spec, row, to_many: Vec::new(), to_one_visible: Vec::new(), reveal: None }
    }

    pub fn id(&self) -> &str {
        self.row.id()
    }

    pub fn type_name(&self) -> &'static str {
        self.spec.type_name
    }

    pub fn key(&self, column: &str) -> Option<&str> {
        self.row.key(column)
    }

    pub fn set_to_many(&mut self, name: &'static str, ids: Vec<String>) {
        match self.to_many.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                for id in ids {
                    if !existing.contains(&id) {
                        existing.push(id);
                    }
                }
            }
            None => self.to_many.push((name, ids)),
        }
    }
}

/// `2018-01-01T12:00:00.000Z`: ISO 8601, UTC, milliseconds.
pub fn timestamp(t: NaiveDateTime) -> String {
    Utc.from_utc_datetime(&t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `#[serde(serialize_with = "views::time")]`: `2018-01-01T12:00:00.000Z`, written straight
/// from the date's parts (chrono's `format` reads its format string anew every time).
pub fn time<S: Serializer>(t: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    use chrono::{Datelike, Timelike};
    let millis = t.and_utc().timestamp_subsec_millis().min(999);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return serializer.collect_str(&Utc.from_utc_datetime(t).to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 3, millis);
    serializer.serialize_str(std::str::from_utf8(&text).expect("ASCII digits"))
}

/// A string made of `parts`, serialized without going through `fmt` (links are most of a
/// document, and `format_args!` costs more than the copying).
fn joined<S: Serializer>(serializer: S, parts: &[&str]) -> Result<S::Ok, S::Error> {
    thread_local!(static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) });
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        parts.iter().for_each(|part| buffer.push_str(part));
        serializer.serialize_str(&buffer)
    })
}

/// `joined` as a value to serialize.
struct Joined<'a, const N: usize>([&'a str; N]);

impl<const N: usize> Serialize for Joined<'_, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        joined(serializer, &self.0)
    }
}

pub fn optional_time<S: Serializer>(t: &Option<NaiveDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => time(t, serializer),
        None => serializer.serialize_none(),
    }
}

/// A JSON column stored as text, written as the JSON it holds (an object, `null` when absent
/// or unreadable): `#[serde(serialize_with = "views::json")]`.
pub fn json<S: Serializer, T: AsRef<str>>(text: &T, serializer: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<&RawValue>(text.as_ref()) {
        Ok(raw) => raw.serialize(serializer),
        Err(_) => serializer.serialize_none(),
    }
}

pub fn optional_json<S: Serializer>(text: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => json(text, serializer),
        None => serializer.serialize_none(),
    }
}

/// Links are built under `base` (`<PUBLIC_URL>/api`).
#[derive(Clone, Copy)]
pub struct Links<'a> {
    pub base: &'a str,
}

impl Links<'_> {
    pub fn resource(&self, spec: &ResourceSpec, id: &str) -> String {
        // The caller's own user lives at the singleton `/user`, as in the reference.
        if spec.tenancy == Tenancy::Caller {
            return format!("{}/user", self.base);
        }
        format!("{}/{}/{}", self.base, spec.type_name, id)
    }

    pub fn relationship<'a>(&self, type_name: &'a str, id: &'a str, name: &'a str) -> RelationshipLinks<'a>
    where
        Self: 'a,
    {
        RelationshipLinks { base: self.base, type_name, id, name }
    }
}

/// A relationship's `self` and `related` links, written straight into the document.
pub struct RelationshipLinks<'a> {
    base: &'a str,
    type_name: &'a str,
    id: &'a str,
    name: &'a str,
}

impl Serialize for RelationshipLinks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let RelationshipLinks { base, type_name, id, name } = self;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("self", &Joined([base, "/", type_name, "/", id, "/relationships/", name]))?;
        map.serialize_entry("related", &Joined([base, "/", type_name, "/", id, "/", name]))?;
        map.end()
    }
}

/// A resource's own link: `{"self": …}`.
struct ResourceLink<'a> {
    links: Links<'a>,
    spec: &'a ResourceSpec,
    id: &'a str,
}

impl Serialize for ResourceLink<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        if self.spec.tenancy == Tenancy::Caller {
            map.serialize_entry("self", &Joined([self.links.base, "/user"]))?;
        } else {
            map.serialize_entry("self", &Joined([self.links.base, "/", self.spec.type_name, "/", self.id]))?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    self_link: String,
}

#[derive(Serialize)]
struct Version {
    version: &'static str,
}

const JSONAPI: Version = Version { version: "1.1" };

#[derive(Serialize)]
pub struct Identifier<'a> {
    #[serde(rename = "type")]
    pub type_name: &'a str,
    pub id: &'a str,
}

/// A resource object, as `fields` allows.
struct Resource<'a> {
    record: &'a Record,
    links: Links<'a>,
    fields: &'a Query,
}

impl Serialize for Resource<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.record;
        let spec = record.spec;
        let fields = self.fields.fields.of(spec.type_name);
        let attributes = record.row.attributes(fields, record.reveal.as_ref()).map_err(serde::ser::Error::custom)?;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", record.id())?;
        map.serialize_entry("type", spec.type_name)?;
        map.serialize_entry("links", &ResourceLink { links: self.links, spec, id: record.id() })?;
        map.serialize_entry("attributes", &attributes)?;
        let shown = spec.relationships.iter().filter(|r| fields.is_none_or(|f| f.iter().any(|n| n == r.name)));
        if shown.clone().next().is_some() {
            map.serialize_entry("relationships", &Relationships { record, links: self.links, fields })?;
        }
        map.end()
    }
}

struct Relationships<'a> {
    record: &'a Record,
    links: Links<'a>,
    fields: Option<&'a [String]>,
}

#[derive(Serialize)]
struct Relationship<'a> {
    links: RelationshipLinks<'a>,
    #[serde(skip_serializing_if = "Linkage::is_absent")]
    data: Linkage<'a>,
}

enum Linkage<'a> {
    Absent,
    One(Option<Identifier<'a>>),
    Many(&'static str, &'a [String]),
}

impl Linkage<'_> {
    fn is_absent(&self) -> bool {
        matches!(self, Linkage::Absent)
    }
}

impl Serialize for Linkage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Linkage::Absent | Linkage::One(None) => serializer.serialize_none(),
            Linkage::One(Some(identifier)) => identifier.serialize(serializer),
            Linkage::Many(type_name, ids) => serializer.collect_seq(ids.iter().map(|id| Identifier { type_name, id })),
        }
    }
}

impl Serialize for Relationships<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let record = self.record;
        let mut map = serializer.serialize_map(None)?;
        for relationship in record.spec.relationships {
            if self.fields.is_some_and(|f| !f.iter().any(|n| n == relationship.name)) {
                continue;
            }
            let data = match relationship.cardinality {
                Cardinality::ToOne { column } => {
                    // Included: full linkage to what was included. Otherwise the id we hold.
                    let id = match record.to_one_visible.iter().find(|(n, _)| *n == relationship.name) {
                        Some((_, visible)) => visible.as_deref(),
                        None => record.key(column),
                    };
                    Linkage::One(id.map(|id| Identifier { type_name: relationship.target, id }))
                }
                _ => match record.to_many.iter().find(|(n, _)| *n == relationship.name) {
                    Some((_, ids)) => Linkage::Many(relationship.target, ids),
                    None => Linkage::Absent,
                },
            };
            let links = self.links.relationship(record.type_name(), record.id(), relationship.name);
            map.serialize_entry(relationship.name, &Relationship { links, data })?;
        }
        map.end()
    }
}

struct Resources<'a> {
    records: &'a [Record],
    links: Links<'a>,
    query: &'a Query,
}

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.records.iter().map(|record| Resource {
            record,
            links: self.links,
            fields: self.query,
        }))
    }
}

/// A top-level document: its primary data, what was included, page counts, links.
#[derive(Serialize)]
struct Document<'a, D, L> {
    data: D,
    #[serde(skip_serializing_if = "Option::is_none")]
    included: Option<Resources<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<PageMeta>,
    links: L,
    jsonapi: Version,
}

#[derive(Serialize)]
struct PageMeta {
    record_count: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    record_count_estimated: bool,
    page_count: i64,
}

#[derive(Serialize)]
struct PageLinks {
    #[serde(rename = "self")]
    self_link: String,
    first: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<String>,
}

fn to_bytes(value: &impl Serialize) -> Vec<u8> {
    // Every value here serializes: attributes of rows just loaded, strings, numbers.
    serde_json::to_vec(value).unwrap_or_else(|error| {
        tracing::error!(%error, "rendering a document");
        br#"{"errors":[{"status":"500","code":"INTERNAL_SERVER_ERROR","title":"Internal server error","detail":"The response could not be rendered."}]}"#.to_vec()
    })
}

/// A single-resource document; `included` is present whenever `include` was asked for.
pub fn single(links: Links, record: &Record, included: Option<&[Record]>, query: &Query) -> Vec<u8> {
    to_bytes(&Document {
        data: Resource { record, links, fields: query },
        included: included.map(|records| Resources { records, links, query }),
        meta: None,
        links: SelfLink { self_link: links.resource(record.spec, record.id()) },
        jsonapi: JSONAPI,
    })
}

/// A page of a collection at `path` with `meta.record_count` (flagged
/// `record_count_estimated` when it is an estimate), `meta.page_count` and pagination links
/// that keep every other query parameter: by number, or, for a page read by cursor, `prev`
/// and `next` by cursor.
pub fn page(
    links: Links,
    path: &str,
    query: &Query,
    records: &[Record],
    included: Option<&[Record]>,
    info: PageInfo,
) -> Vec<u8> {
    let count = info.total.count;
    let size = query.page.size as i64;
    let page_count = (count + size - 1) / size;
    let number = query.page.number as i64;
    let link = |page: PageAt| page_link(links.base, path, query, page);
    let page_links = match &query.page.cursor {
        None => PageLinks {
            self_link: link(PageAt::Number(number)),
            first: link(PageAt::Number(1)),
            prev: (number > 1 && page_count > 0).then(|| link(PageAt::Number((number - 1).min(page_count)))),
            next: (number < page_count).then(|| link(PageAt::Number(number + 1))),
            last: Some(link(PageAt::Number(page_count.max(1)))),
        },
        Some(cursor) => {
            let order = total_order(&query.sort);
            let at = |record: &Record| {
                let values: Vec<_> = order.iter().map(|s| record.row.column(s.column)).collect();
                Cursor::at(&order, &values)
            };
            // Rows lie past the cursor's own row, unless it is the list's start or end.
            let past_cursor = !cursor.values.is_empty();
            let (earlier, later) = if cursor.before { (info.more, past_cursor) } else { (past_cursor, info.more) };
            PageLinks {
                self_link: link(PageAt::AsSent),
                first: link(PageAt::After(String::new())),
                prev: records.first().filter(|_| earlier).map(|r| link(PageAt::Before(at(r)))),
                next: records.last().filter(|_| later).map(|r| link(PageAt::After(at(r)))),
                last: Some(link(PageAt::Before(String::new()))),
            }
        }
    };
    to_bytes(&Document {
        data: Resources { records, links, query },
        included: included.map(|records| Resources { records, links, query }),
        meta: Some(PageMeta { record_count: count, record_count_estimated: info.total.estimated, page_count }),
        links: page_links,
        jsonapi: JSONAPI,
    })
}

/// `GET /<type>/<id>/relationships/<name>`: the linkage alone (JSON:API 1.1 §7.6.1); `ids` is
/// `None` for an empty to-one.
pub fn linkage(
    links: Links,
    spec: &ResourceSpec,
    id: &str,
    name: &str,
    target: &'static str,
    to_many: bool,
    ids: &[String],
) -> Vec<u8> {
    let data = match (to_many, ids.first()) {
        (true, _) => Linkage::Many(target, ids),
        (false, first) => Linkage::One(first.map(|id| Identifier { type_name: target, id })),
    };
    let links = links.relationship(spec.type_name, id, name);
    to_bytes(&Document { data, included: None, meta: None, links, jsonapi: JSONAPI })
}

/// An empty to-one relationship's related resource: `data: null`.
pub fn null(self_link: String) -> Vec<u8> {
    to_bytes(&Document {
        data: None::<()>,
        included: None,
        meta: None,
        links: SelfLink { self_link },
        jsonapi: JSONAPI,
    })
}

/// Query strings in links are percent-encoded (RFC 3986 §3.4: brackets are not allowed
/// there as they are); the server reads both forms.
const QUERY_COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Which page a pagination link points at.
enum PageAt {
    Number(i64),
    After(String),
    Before(String),
    /// The page as requested.
    AsSent,
}

fn page_link(base: &str, path: &str, query: &Query, page: PageAt) -> String {
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, QUERY_COMPONENT).to_string();
    let replaced =
        |key: &str| !matches!(page, PageAt::AsSent) && matches!(key, "page[number]" | "page[after]" | "page[before]");
    let mut parts: Vec<String> = query
        .pairs
        .iter()
        .filter(|(key, _)| !replaced(key))
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect();
    match page {
        PageAt::Number(number) => parts.push(format!("{}={number}", encode("page[number]"))),
        PageAt::After(cursor) => parts.push(format!("{}={cursor}", encode("page[after]"))),
        PageAt::Before(cursor) => parts.push(format!("{}={cursor}", encode("page[before]"))),
        PageAt::AsSent => {}
    }
    if !query.pairs.iter().any(|(k, _)| k == "page[size]") {
        parts.push(format!("{}={}", encode("page[size]"), query.page.size));
    }
    format!("{base}{path}?{}", parts.join("&"))
}

/// A JSON:API response with the media type every response carries.
pub fn respond(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CONTENT_TYPE, MEDIA_TYPE)).body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_percent_encoded() {
        let query = Query { pairs: vec![("filter[q][name_cont]".into(), "a b".into())], ..Default::default() };
        let link = page_link("http://x/api", "/roles", &query, PageAt::Number(2));
        assert_eq!(link, "http://x/api/roles?filter%5Bq%5D%5Bname_cont%5D=a%20b&page%5Bnumber%5D=2&page%5Bsize%5D=10");
        assert!(url::Url::parse(&link).is_ok());
    }

    #[test]
    fn times_render_with_milliseconds() {
        let t = chrono::NaiveDate::from_ymd_opt(2018, 1, 1).unwrap().and_hms_milli_opt(12, 0, 0, 5).unwrap();
        assert_eq!(timestamp(t), "2018-01-01T12:00:00.005Z");
        let mut out = Vec::new();
        time(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert_eq!(out, b"\"2018-01-01T12:00:00.005Z\"");
    }
}
