//! Rows become JSON:API resource objects here, and resource objects become documents with
//! self and related links (JSON:API 1.1 §7.2, §7.6 links, §7.7 compound documents).
//!
//! The `jsonapi` crate's `Resource` keeps attributes in a `HashMap`, which shuffles them on
//! every response; these documents are built on `serde_json::Map` (insertion-ordered), and
//! link to the crate's `ResourceIdentifier` for linkage.

pub mod apis;
pub mod credentials;
pub mod organizations;
pub mod roles;
pub mod users;

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use chrono::{NaiveDateTime, SecondsFormat, TimeZone, Utc};
use jsonapi::api::ResourceIdentifier;
use serde_json::{json, Map, Value};

use crate::jsonapi::query::{Fieldsets, Query};
use crate::jsonapi::spec::{Cardinality, ResourceSpec};
use crate::jsonapi::{version_object, MEDIA_TYPE};

/// A resource as loaded, before links and sparse fieldsets are applied.
#[derive(Debug, Clone)]
pub struct ResourceObject {
    pub spec: &'static ResourceSpec,
    pub id: String,
    /// Rendered attribute values, in the spec's order.
    pub attributes: Map<String, Value>,
    /// The values of the to-one relationship columns (`organization_id`).
    pub foreign_keys: Vec<(&'static str, Option<String>)>,
    /// Linkage loaded for to-many relationships that were included.
    pub to_many: HashMap<&'static str, Vec<String>>,
    /// For included to-one relationships: the target, when the caller may read it.
    pub to_one_visible: HashMap<&'static str, Option<String>>,
}

impl ResourceObject {
    pub fn new(spec: &'static ResourceSpec, id: String) -> Self {
        ResourceObject {
            spec,
            id,
            attributes: Map::new(),
            foreign_keys: Vec::new(),
            to_many: HashMap::new(),
            to_one_visible: HashMap::new(),
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.spec.type_name
    }

    pub fn attribute(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attributes.insert(name.to_string(), value.into());
        self
    }

    pub fn foreign_key(mut self, column: &'static str, value: Option<String>) -> Self {
        self.foreign_keys.push((column, value));
        self
    }

    pub fn foreign_key_value(&self, column: &str) -> Option<&str> {
        self.foreign_keys.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }

    /// The common attributes every type renders last.
    pub fn common(
        self,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        reference: Option<String>,
        reference_origin: Option<String>,
        metadata: &str,
    ) -> Self {
        self.attribute("created_at", timestamp(created_at))
            .attribute("updated_at", timestamp(updated_at))
            .attribute("reference", reference)
            .attribute("reference_origin", reference_origin)
            .attribute("metadata", json_text(Some(metadata)).unwrap_or_else(|| json!({})))
    }
}

/// `2018-01-01T12:00:00.000Z`: ISO 8601, UTC, milliseconds.
pub fn timestamp(t: NaiveDateTime) -> String {
    Utc.from_utc_datetime(&t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A JSON column (stored as text) back to JSON.
pub fn json_text(text: Option<&str>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(t).ok())
}

/// Renders resource objects into documents, with links under `base` (`<PUBLIC_URL>/api`).
pub struct Renderer<'a> {
    pub base: &'a str,
    pub fields: &'a Fieldsets,
}

impl Renderer<'_> {
    pub fn self_link(&self, type_name: &str, id: &str) -> String {
        // The caller's own user lives at the singleton `/user`, as in the reference.
        if type_name == users::SPEC.type_name {
            return format!("{}/user", self.base);
        }
        format!("{}/{}/{}", self.base, type_name, id)
    }

    fn relationship_links(&self, type_name: &str, id: &str, name: &str) -> Value {
        json!({
            "self": format!("{}/{}/{}/relationships/{}", self.base, type_name, id, name),
            "related": format!("{}/{}/{}/{}", self.base, type_name, id, name),
        })
    }

    pub fn resource(&self, object: &ResourceObject) -> Value {
        let type_name = object.type_name();
        let attributes: Map<String, Value> = object
            .attributes
            .iter()
            .filter(|(name, _)| self.fields.allows(type_name, name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut relationships = Map::new();
        for relationship in object.spec.relationships {
            if !self.fields.allows(type_name, relationship.name) {
                continue;
            }
            let mut member = Map::new();
            member.insert("links".into(), self.relationship_links(type_name, &object.id, relationship.name));
            match relationship.cardinality {
                Cardinality::ToOne { column } => {
                    // Included: full linkage to what was included. Otherwise the id we hold.
                    let id = match object.to_one_visible.get(relationship.name) {
                        Some(visible) => visible.as_deref(),
                        None => object.foreign_key_value(column),
                    };
                    let data = id.map(|id| identifier(relationship.target, id)).unwrap_or(Value::Null);
                    member.insert("data".into(), data);
                }
                Cardinality::ToMany { .. } | Cardinality::ToManyTagged { .. } | Cardinality::ToManyThrough { .. } => {
                    if let Some(ids) = object.to_many.get(relationship.name) {
                        let data = ids.iter().map(|id| identifier(relationship.target, id)).collect();
                        member.insert("data".into(), Value::Array(data));
                    }
                }
            }
            relationships.insert(relationship.name.into(), Value::Object(member));
        }
        let mut resource = Map::new();
        resource.insert("id".into(), object.id.clone().into());
        resource.insert("type".into(), type_name.into());
        resource.insert("links".into(), json!({ "self": self.self_link(type_name, &object.id) }));
        resource.insert("attributes".into(), Value::Object(attributes));
        if !relationships.is_empty() {
            resource.insert("relationships".into(), Value::Object(relationships));
        }
        Value::Object(resource)
    }

    /// A single-resource document; `included` is present whenever `include` was asked for.
    pub fn single(&self, object: &ResourceObject, included: Option<&[ResourceObject]>) -> Value {
        let mut document = Map::new();
        document.insert("data".into(), self.resource(object));
        if let Some(included) = included {
            document.insert("included".into(), included.iter().map(|o| self.resource(o)).collect());
        }
        document.insert("links".into(), json!({ "self": self.self_link(object.type_name(), &object.id) }));
        document.insert("jsonapi".into(), version_object());
        Value::Object(document)
    }

    /// A page of a collection with `meta.record_count`, `meta.page_count` and pagination links
    /// that keep every other query parameter.
    pub fn page(
        &self,
        path: &str,
        query: &Query,
        objects: &[ResourceObject],
        included: Option<&[ResourceObject]>,
        record_count: i64,
    ) -> Value {
        let size = query.page.size as i64;
        let page_count = (record_count + size - 1) / size;
        let number = query.page.number as i64;
        let link = |page: i64| page_link(self.base, path, query, page);
        let mut links = Map::new();
        links.insert("self".into(), link(number).into());
        links.insert("first".into(), link(1).into());
        if number > 1 && page_count > 0 {
            links.insert("prev".into(), link((number - 1).min(page_count)).into());
        }
        if number < page_count {
            links.insert("next".into(), link(number + 1).into());
        }
        links.insert("last".into(), link(page_count.max(1)).into());

        let mut document = Map::new();
        document.insert("data".into(), objects.iter().map(|o| self.resource(o)).collect());
        if let Some(included) = included {
            document.insert("included".into(), included.iter().map(|o| self.resource(o)).collect());
        }
        document.insert("meta".into(), json!({ "record_count": record_count, "page_count": page_count }));
        document.insert("links".into(), Value::Object(links));
        document.insert("jsonapi".into(), version_object());
        Value::Object(document)
    }

    /// `GET /<type>/<id>/relationships/<name>`: the linkage alone (JSON:API 1.1 §7.6.1).
    pub fn linkage(&self, type_name: &str, id: &str, name: &str, data: Value) -> Value {
        let mut document = Map::new();
        document.insert("data".into(), data);
        document.insert("links".into(), self.relationship_links(type_name, id, name));
        document.insert("jsonapi".into(), version_object());
        Value::Object(document)
    }
}

pub fn identifier(type_name: &str, id: &str) -> Value {
    serde_json::to_value(ResourceIdentifier { _type: type_name.to_string(), id: id.to_string() })
        .expect("an identifier always serializes")
}

/// Characters kept as they are in rendered query strings: RFC 3986 unreserved, plus the
/// brackets and commas JSON:API parameters are made of, for links a person can read.
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'[')
    .remove(b']')
    .remove(b',');

fn page_link(base: &str, path: &str, query: &Query, number: i64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string();
    let mut wrote_number = false;
    for (key, value) in &query.pairs {
        if key == "page[number]" {
            parts.push(format!("page[number]={number}"));
            wrote_number = true;
        } else {
            parts.push(format!("{}={}", encode(key), encode(value)));
        }
    }
    if !wrote_number {
        parts.push(format!("page[number]={number}"));
    }
    if !query.pairs.iter().any(|(k, _)| k == "page[size]") {
        parts.push(format!("page[size]={}", query.page.size));
    }
    format!("{base}{path}?{}", parts.join("&"))
}

/// A JSON:API response with the media type every response carries.
pub fn respond(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).insert_header((header::CONTENT_TYPE, MEDIA_TYPE)).body(body.to_string())
}
