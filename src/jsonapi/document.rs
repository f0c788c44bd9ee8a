//! Request documents (JSON:API 1.1 §7.1, §9.1 creating, §9.2 updating), decoded and checked
//! against the type's allow-lists before any value reaches the domain.
//!
//! The `jsonapi` crate's `Resource` requires `id`, so it cannot read a create document, which
//! has none; this small decoder is ours.

use serde_json::{Map, Value};

use crate::domain::{object_text, parse_token};
use crate::error::{ApiError, Invalid, Source};
use crate::spec::{Cardinality, Kind, ResourceSpec, CREATE, REQUIRED, TRIGGER, UPDATE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    Create,
    Update {
        id: &'a str,
    },
    /// A singleton such as `/user`: the id may be left out, but must match when given.
    Singleton {
        id: &'a str,
    },
}

/// A relationship member as sent: `null`, one identifier, or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linkage {
    One(Option<String>),
    Many(Vec<String>),
}

/// What one attribute of the document says.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Given<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Given<T> {
    /// For PATCH: `None` keeps the column, `Some(None)` clears it.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Given::Absent => None,
            Given::Null => Some(None),
            Given::Value(v) => Some(Some(v)),
        }
    }

    pub fn value(self) -> Option<T> {
        match self {
            Given::Value(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct ResourceDocument {
    pub spec: &'static ResourceSpec,
    pub attributes: Map<String, Value>,
    pub relationships: Vec<(&'static str, Linkage)>,
    /// Whether the document had these members: a missing attribute or relationship is reported
    /// at the member that exists (JSON:API 1.1 §11.2: a pointer names what is in the request).
    pub has_attributes: bool,
    pub has_relationships: bool,
}

/// The names of what a document holds, not the values: a trigger such as `_confirm_email_code`
/// carries a secret.
impl std::fmt::Debug for ResourceDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceDocument")
            .field("type", &self.spec.type_name)
            .field("attributes", &self.attributes.keys().collect::<Vec<_>>())
            .field("relationships", &self.relationships.iter().map(|(name, _)| *name).collect::<Vec<_>>())
            .finish()
    }
}

/// JSON:API 1.1 §7.1: members whose names start with `@` are at-members, which a server that
/// does not understand them ignores.
fn drop_at_members(object: &mut Map<String, Value>) {
    object.retain(|name, _| !name.starts_with('@'));
}

/// JSON:API 1.1 §7.2.2.1: no object inside an attribute value may have a `relationships` or
/// `links` member.
fn reserved_member(pointer: &str, value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(name, inner)| {
            let here = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
            if name == "links" || name == "relationships" {
                Some(here)
            } else {
                reserved_member(&here, inner)
            }
        }),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, inner)| reserved_member(&format!("{pointer}/{i}"), inner))
        }
        _ => None,
    }
}

fn shape(pointer: &str, detail: impl Into<String>) -> ApiError {
    ApiError::document(pointer, detail)
}

impl ResourceDocument {
    /// Reads `body` as a document for `spec`, refusing what the endpoint cannot accept:
    /// malformed JSON or shape (400), a client-generated id (403), a type or id other than the
    /// endpoint's (409), unknown or read-only attributes and relationships (400), and missing
    /// required ones on create (422).
    pub fn decode(body: &[u8], spec: &'static ResourceSpec, mode: Mode) -> Result<ResourceDocument, ApiError> {
        let document: Value = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
            code: "INVALID_DOCUMENT",
            detail: format!("The request body is not valid JSON: {e}."),
            location: crate::error::Source::None,
        })?;
        if let Some(pointer) = crate::jsonapi::text::nul_in(&document) {
            let detail = "Text must not contain a NUL character.";
            return Err(match pointer.strip_prefix("/data/attributes/") {
                Some(_) => ApiError::invalid(crate::error::Invalid {
                    location: crate::error::Source::Pointer(pointer),
                    detail: detail.into(),
                }),
                None => ApiError::document(pointer, detail),
            });
        }
        let Value::Object(mut document) = document else {
            return Err(shape("", "The request body must be a JSON object with a data member."));
        };
        drop_at_members(&mut document);
        let Some(data) = document.remove("data") else {
            return Err(shape("/data", "The document has no data member."));
        };
        let Value::Object(mut data) = data else {
            return Err(shape("/data", "data must be a resource object."));
        };
        drop_at_members(&mut data);

        match data.remove("type") {
            Some(Value::String(t)) if t == spec.type_name => {}
            Some(Value::String(t)) => {
                return Err(ApiError::conflict(
                    "/data/type",
                    format!("This endpoint takes {} resources, not {t:?}.", spec.type_name),
                ))
            }
            Some(_) => return Err(shape("/data/type", "type must be a string.")),
            None => return Err(shape("/data/type", "The resource object has no type.")),
        }

        match (mode, data.remove("id")) {
            (Mode::Create, None) => {}
            (Mode::Create, Some(_)) => {
                return Err(ApiError::Forbidden {
                    detail: "Ids are generated by the server; a client-generated id is not supported.".into(),
                    location: crate::error::Source::pointer("/data/id"),
                })
            }
            (Mode::Update { id }, Some(Value::String(given))) if given == id => {}
            (Mode::Update { .. }, Some(Value::String(given))) => {
                return Err(ApiError::conflict("/data/id", format!("The id {given:?} does not match the URL.")))
            }
            (Mode::Update { .. }, Some(_)) => return Err(shape("/data/id", "id must be a string.")),
            (Mode::Update { .. }, None) => return Err(shape("/data/id", "The resource object has no id.")),
            (Mode::Singleton { .. }, None) => {}
            (Mode::Singleton { id }, Some(Value::String(given))) if given == id => {}
            (Mode::Singleton { .. }, Some(Value::String(given))) => {
                return Err(ApiError::conflict("/data/id", format!("The id {given:?} is not this resource's.")))
            }
            (Mode::Singleton { .. }, Some(_)) => return Err(shape("/data/id", "id must be a string.")),
        }

        let has_attributes = data.contains_key("attributes");
        let has_relationships = data.contains_key("relationships");
        let mut attributes = match data.remove("attributes") {
            None => Map::new(),
            Some(Value::Object(a)) => a,
            Some(_) => return Err(shape("/data/attributes", "attributes must be an object.")),
        };
        drop_at_members(&mut attributes);
        let flag = match mode {
            Mode::Create => CREATE,
            Mode::Update { .. } | Mode::Singleton { .. } => UPDATE,
        };
        for (name, value) in &attributes {
            let pointer = format!("/data/attributes/{name}");
            if let Some(reserved) = reserved_member(&pointer, value) {
                return Err(ApiError::document(
                    reserved,
                    "An attribute value may not hold a links or relationships member (JSON:API 1.1 §7.2.2.1).",
                ));
            }
            match spec.attribute(name) {
                Some(a) if a.has(flag) => {}
                Some(_) => {
                    let action = if flag == CREATE { "set on create" } else { "changed" };
                    return Err(ApiError::not_allowed(pointer, format!("{name} cannot be {action}.")));
                }
                None => {
                    return Err(ApiError::not_allowed(
                        pointer,
                        format!("{name} is not an attribute of {}.", spec.type_name),
                    ))
                }
            }
        }

        let mut relationships = Vec::new();
        match data.remove("relationships") {
            None => {}
            Some(Value::Object(mut members)) => {
                drop_at_members(&mut members);
                for (name, member) in members {
                    let pointer = format!("/data/relationships/{name}");
                    let relationship = match spec.relationship(&name) {
                        Some(r) if r.has(flag) => r,
                        // JSON:API 1.1 §9.2.2: an unsupported relationship update is forbidden.
                        Some(_) if flag == UPDATE => {
                            return Err(ApiError::Forbidden {
                                detail: format!("The relationship {name} cannot be changed here."),
                                location: Source::pointer(pointer),
                            })
                        }
                        _ => {
                            return Err(ApiError::not_allowed(
                                &pointer,
                                format!("The relationship {name} cannot be set here."),
                            ))
                        }
                    };
                    let linkage = decode_linkage(&pointer, relationship.target, relationship.cardinality, member)?;
                    relationships.push((relationship.name, linkage));
                }
            }
            Some(_) => return Err(shape("/data/relationships", "relationships must be an object.")),
        }

        if mode == Mode::Create {
            let mut missing = Vec::new();
            for attribute in spec.all_attributes().filter(|a| a.has(REQUIRED) && !a.has(TRIGGER)) {
                match attributes.get(attribute.name) {
                    Some(Value::Null) => {
                        missing.push(Invalid::attribute(attribute.name, format!("{} is required.", attribute.name)))
                    }
                    Some(_) => {}
                    None => missing.push(Invalid {
                        location: parent(has_attributes, "/data/attributes"),
                        detail: format!("{} is required.", attribute.name),
                    }),
                }
            }
            for relationship in spec.relationships.iter().filter(|r| r.has(REQUIRED)) {
                match relationships.iter().find(|(n, _)| *n == relationship.name) {
                    Some((_, Linkage::One(None))) => missing
                        .push(Invalid::relationship(relationship.name, format!("{} is required.", relationship.name))),
                    Some(_) => {}
                    None => missing.push(Invalid {
                        location: parent(has_relationships, "/data/relationships"),
                        detail: format!("{} is required.", relationship.name),
                    }),
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::Validation(missing));
            }
        }

        Ok(ResourceDocument { spec, attributes, relationships, has_attributes, has_relationships })
    }

    /// Where to report a problem with attribute `name`: at it when the request has it, else
    /// at its parent.
    pub fn attribute_source(&self, name: &str) -> Source {
        if self.attributes.contains_key(name) {
            Source::attribute(name)
        } else {
            parent(self.has_attributes, "/data/attributes")
        }
    }

    pub fn relationship_source(&self, name: &str) -> Source {
        if self.relationship(name).is_some() {
            Source::relationship(name)
        } else {
            parent(self.has_relationships, "/data/relationships")
        }
    }

    /// The id a to-one relationship points at: `None` when not given, `Some(None)` for null.
    pub fn linked(&self, name: &str) -> Option<Option<String>> {
        match self.relationship(name) {
            Some(Linkage::One(id)) => Some(id.clone()),
            _ => None,
        }
    }

    /// The ids a to-many relationship lists, when given.
    pub fn linked_many(&self, name: &str) -> Option<Vec<String>> {
        match self.relationship(name) {
            Some(Linkage::Many(ids)) => Some(ids.clone()),
            _ => None,
        }
    }

    fn given(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }

    /// Reads an attribute of the JSON type its spec says, or records a 422.
    fn typed<T>(&self, name: &str, errors: &mut Vec<Invalid>, read: impl FnOnce(&Value) -> Option<T>) -> Given<T> {
        match self.given(name) {
            None => Given::Absent,
            Some(Value::Null) => Given::Null,
            Some(value) => match read(value) {
                Some(v) => Given::Value(v),
                None => {
                    let kind = self.spec.attribute(name).map(|a| a.kind).unwrap_or(Kind::String);
                    let expected = match kind {
                        Kind::String => "a string",
                        Kind::Boolean => "true or false",
                        Kind::Integer => "a whole number",
                        Kind::Datetime => "an ISO 8601 time",
                        Kind::Object => "a JSON object",
                        Kind::Strings => "an array of strings",
                    };
                    errors.push(Invalid::attribute(name, format!("{name} must be {expected}.")));
                    Given::Absent
                }
            },
        }
    }

    pub fn string(&self, name: &str, errors: &mut Vec<Invalid>) -> Given<String> {
        self.typed(name, errors, |v| v.as_str().map(String::from))
    }

    pub fn boolean(&self, name: &str, errors: &mut Vec<Invalid>) -> Given<bool> {
        self.typed(name, errors, Value::as_bool)
    }

    pub fn integer(&self, name: &str, errors: &mut Vec<Invalid>) -> Given<i64> {
        self.typed(name, errors, Value::as_i64)
    }

    pub fn object(&self, name: &str, errors: &mut Vec<Invalid>) -> Given<Map<String, Value>> {
        self.typed(name, errors, |v| v.as_object().cloned())
    }

    pub fn strings(&self, name: &str, errors: &mut Vec<Invalid>) -> Given<Vec<String>> {
        self.typed(name, errors, |v| {
            v.as_array()?.iter().map(|item| item.as_str().map(String::from)).collect::<Option<Vec<String>>>()
        })
    }

    /// Whether a trigger attribute (`_add_missing_base_permissions`) was sent as true.
    pub fn trigger(&self, name: &str, errors: &mut Vec<Invalid>) -> bool {
        self.boolean(name, errors) == Given::Value(true)
    }

    pub fn relationship(&self, name: &str) -> Option<&Linkage> {
        self.relationships.iter().find(|(n, _)| *n == name).map(|(_, l)| l)
    }
}

fn parent(present: bool, pointer: &str) -> Source {
    if present {
        Source::pointer(pointer)
    } else {
        Source::pointer("/data")
    }
}

fn decode_linkage(pointer: &str, target: &str, cardinality: Cardinality, member: Value) -> Result<Linkage, ApiError> {
    let Value::Object(mut member) = member else {
        return Err(shape(pointer, "A relationship must be an object with a data member."));
    };
    let Some(data) = member.remove("data") else {
        return Err(shape(&format!("{pointer}/data"), "A relationship needs a data member."));
    };
    let identifier = |value: Value, pointer: String| -> Result<String, ApiError> {
        let Value::Object(mut object) = value else {
            return Err(shape(&pointer, "A resource identifier must be an object with type and id."));
        };
        match object.remove("type") {
            Some(Value::String(t)) if t == target => {}
            Some(Value::String(t)) => {
                return Err(ApiError::conflict(
                    format!("{pointer}/type"),
                    format!("Expected type {target:?}, not {t:?}."),
                ))
            }
            _ => return Err(shape(&format!("{pointer}/type"), "A resource identifier needs a type string.")),
        }
        match object.remove("id") {
            Some(Value::String(id)) => Ok(id),
            _ => Err(shape(&format!("{pointer}/id"), "A resource identifier needs an id string.")),
        }
    };
    match (cardinality, data) {
        (Cardinality::ToOne { .. }, Value::Null) => Ok(Linkage::One(None)),
        (Cardinality::ToOne { .. }, value @ Value::Object(_)) => {
            Ok(Linkage::One(Some(identifier(value, format!("{pointer}/data"))?)))
        }
        (
            Cardinality::ToMany { .. } | Cardinality::ToManyTagged { .. } | Cardinality::ToManyThrough { .. },
            Value::Array(items),
        ) => {
            let mut ids: Vec<String> = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let id = identifier(item, format!("{pointer}/data/{i}"))?;
                // The same member twice is the same member (JSON:API 1.1 §9.3.2).
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Ok(Linkage::Many(ids))
        }
        (Cardinality::ToOne { .. }, _) => {
            Err(shape(&format!("{pointer}/data"), "A to-one relationship takes null or one identifier."))
        }
        (Cardinality::ToMany { .. } | Cardinality::ToManyTagged { .. } | Cardinality::ToManyThrough { .. }, _) => {
            Err(shape(&format!("{pointer}/data"), "A to-many relationship takes an array of identifiers."))
        }
    }
}

/// Collects problems while reading a document's attributes through their rules, and reports
/// them all at once (422, each with its pointer).
pub struct Reader<'a> {
    pub document: &'a ResourceDocument,
    pub errors: Vec<Invalid>,
}

impl<'a> Reader<'a> {
    pub fn new(document: &'a ResourceDocument) -> Self {
        Reader { document, errors: Vec::new() }
    }

    fn check<T, U>(&mut self, name: &str, given: Given<T>, rule: impl FnOnce(T) -> Result<U, String>) -> Given<U> {
        match given {
            Given::Value(v) => match rule(v) {
                Ok(v) => Given::Value(v),
                Err(why) => {
                    self.errors.push(Invalid::attribute(name, format!("{name} {why}.")));
                    Given::Absent
                }
            },
            Given::Null => Given::Null,
            Given::Absent => Given::Absent,
        }
    }

    /// A string attribute passed through `rule`.
    pub fn string(&mut self, name: &str, rule: impl FnOnce(&str) -> Result<String, String>) -> Given<String> {
        let given = self.document.string(name, &mut self.errors);
        self.check(name, given, |v| rule(&v))
    }

    /// An object attribute, as the text we store.
    pub fn object(&mut self, name: &str) -> Given<String> {
        let given = self.document.object(name, &mut self.errors);
        self.check(name, given, |v| object_text(&v))
    }

    pub fn boolean(&mut self, name: &str) -> Given<bool> {
        self.document.boolean(name, &mut self.errors)
    }

    /// An array of strings, each passed through `rule`, at most `most` of them, as the JSON
    /// text we store.
    pub fn strings(&mut self, name: &str, most: usize, rule: impl Fn(&str) -> Result<String, String>) -> Given<String> {
        let given = self.document.strings(name, &mut self.errors);
        self.check(name, given, |items| {
            if items.len() > most {
                return Err(format!("must list at most {most} values"));
            }
            let items = items.iter().map(|item| rule(item)).collect::<Result<Vec<String>, String>>()?;
            Ok(serde_json::to_string(&items).expect("strings serialize"))
        })
    }

    /// A whole number passed through `rule`.
    pub fn integer(&mut self, name: &str, rule: impl FnOnce(i64) -> Result<i64, String>) -> Given<i64> {
        let given = self.document.integer(name, &mut self.errors);
        self.check(name, given, rule)
    }

    /// Whether a trigger attribute (`_rotate_secret`) was sent as true.
    pub fn trigger(&mut self, name: &str) -> bool {
        self.document.trigger(name, &mut self.errors)
    }

    /// An attribute that may be left out but not set to null.
    pub fn not_null<T>(&mut self, name: &str, given: Given<T>) -> Option<T> {
        match given {
            Given::Null => {
                self.errors.push(Invalid::attribute(name, format!("{name} cannot be null.")));
                None
            }
            other => other.value(),
        }
    }

    /// A string attribute that may be left out but not set to null.
    pub fn required(&mut self, name: &str, rule: impl FnOnce(&str) -> Result<String, String>) -> Option<String> {
        let given = self.string(name, rule);
        self.not_null(name, given)
    }

    /// A problem the value of one attribute has with another (reported where it exists).
    pub fn refuse_attribute(&mut self, name: &str, detail: impl Into<String>) {
        let location = self.document.attribute_source(name);
        self.errors.push(Invalid { location, detail: detail.into() });
    }

    pub fn refuse_relationship(&mut self, name: &str, detail: impl Into<String>) {
        let location = self.document.relationship_source(name);
        self.errors.push(Invalid { location, detail: detail.into() });
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// The attributes every type shares, as a create or update sends them.
#[derive(Debug, Clone, Default)]
pub struct Common {
    pub reference: Given<String>,
    pub reference_origin: Given<String>,
    /// The metadata to store, when it changes: null clears it to `{}`.
    pub metadata: Option<String>,
}

impl Common {
    pub fn read(reader: &mut Reader) -> Common {
        Common {
            reference: reader.string("reference", |v| parse_token(v, 255)),
            reference_origin: reader.string("reference_origin", |v| parse_token(v, 255)),
            metadata: match reader.object("metadata") {
                Given::Absent => None,
                Given::Null => Some("{}".into()),
                Given::Value(v) => Some(v),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Attribute, Relationship, Tenancy, FILTER};
    use serde_json::json;

    static ROLES: ResourceSpec = ResourceSpec {
        type_name: "roles",
        attributes: &[
            Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER),
            Attribute::new("kind", Kind::String, FILTER),
            Attribute::new("_refresh", Kind::Boolean, UPDATE | TRIGGER),
        ],
        relationships: &[
            Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
            Relationship::to_many("permissions", "permissions", "role_id"),
            Relationship::through("api_scopes", "grants", "role_id", "api_scope_id").with(CREATE | UPDATE),
        ],
        tenancy: Tenancy::OrganizationColumn("organization_id"),
    };

    fn decode(document: serde_json::Value, mode: Mode) -> Result<ResourceDocument, ApiError> {
        ResourceDocument::decode(document.to_string().as_bytes(), &ROLES, mode)
    }

    fn create(data: serde_json::Value) -> Result<ResourceDocument, ApiError> {
        decode(json!({ "data": data }), Mode::Create)
    }

    fn organization() -> serde_json::Value {
        json!({"organization": {"data": {"type": "organizations", "id": "o"}}})
    }

    /// Status, code and pointer of a refusal.
    fn refusal(result: Result<ResourceDocument, ApiError>) -> (u16, String, Option<String>) {
        use actix_web::ResponseError;
        let error = result.expect_err("refused");
        let body = error.document_body();
        let first = &body["errors"][0];
        (
            error.status_code().as_u16(),
            first["code"].as_str().unwrap().into(),
            first["source"]["pointer"].as_str().map(String::from),
        )
    }

    #[test]
    fn a_valid_create_keeps_attributes_and_linkage() {
        let document =
            create(json!({"type": "roles", "attributes": {"name": "Support"}, "relationships": organization()}))
                .unwrap();
        assert_eq!(document.attributes["name"], "Support");
        assert_eq!(document.linked("organization"), Some(Some("o".to_string())));
        assert_eq!(document.linked("missing"), None);
    }

    #[test]
    fn shape_errors_are_400_at_what_is_wrong() {
        assert_eq!(refusal(ResourceDocument::decode(b"{", &ROLES, Mode::Create)).0, 400);
        assert_eq!(refusal(decode(json!([]), Mode::Create)), (400, "INVALID_DOCUMENT".into(), Some("".into())));
        assert_eq!(refusal(decode(json!({}), Mode::Create)).2.as_deref(), Some("/data"));
        assert_eq!(refusal(create(json!({"attributes": {}}))).2.as_deref(), Some("/data/type"));
        assert_eq!(refusal(create(json!({"type": "roles", "attributes": []}))).2.as_deref(), Some("/data/attributes"));
        let to_one_array =
            json!({"type": "roles", "attributes": {"name": "x"}, "relationships": {"organization": {"data": []}}});
        assert_eq!(refusal(create(to_one_array)).2.as_deref(), Some("/data/relationships/organization/data"));
    }

    #[test]
    fn ids_and_types_must_match_the_endpoint() {
        assert_eq!(
            refusal(create(json!({"type": "users", "attributes": {"name": "x"}}))),
            (409, "CONFLICT".into(), Some("/data/type".into()))
        );
        assert_eq!(refusal(create(json!({"type": "roles", "id": "x", "attributes": {"name": "x"}}))).0, 403);
        let update = |data| decode(json!({ "data": data }), Mode::Update { id: "r1" });
        assert!(update(json!({"type": "roles", "id": "r1", "attributes": {"name": "x"}})).is_ok());
        assert_eq!(
            refusal(update(json!({"type": "roles", "id": "r2"}))),
            (409, "CONFLICT".into(), Some("/data/id".into()))
        );
        assert_eq!(refusal(update(json!({"type": "roles"}))).2.as_deref(), Some("/data/id"));
        let linkage = json!({"type": "roles", "attributes": {"name": "x"}, "relationships": {"organization": {"data": {"type": "roles", "id": "o"}}}});
        assert_eq!(
            refusal(create(linkage)),
            (409, "CONFLICT".into(), Some("/data/relationships/organization/data/type".into()))
        );
    }

    #[test]
    fn members_the_endpoint_does_not_take_are_refused() {
        assert_eq!(
            refusal(create(json!({"type": "roles", "attributes": {"name": "x", "kind": "admin"}}))),
            (400, "PARAM_NOT_ALLOWED".into(), Some("/data/attributes/kind".into()))
        );
        assert_eq!(
            refusal(create(json!({"type": "roles", "attributes": {"name": "x", "nope": 1}}))).2.as_deref(),
            Some("/data/attributes/nope")
        );
        assert_eq!(
            refusal(create(json!({"type": "roles", "attributes": {"name": "x", "_refresh": true}}))).0,
            400,
            "triggers are for updates"
        );
        let to_many =
            json!({"type": "roles", "attributes": {"name": "x"}, "relationships": {"permissions": {"data": []}}});
        assert_eq!(
            refusal(create(to_many.clone())),
            (400, "PARAM_NOT_ALLOWED".into(), Some("/data/relationships/permissions".into()))
        );
        let update = decode(
            json!({"data": {"type": "roles", "id": "r", "relationships": {"permissions": {"data": []}}}}),
            Mode::Update { id: "r" },
        );
        assert_eq!(refusal(update), (403, "FORBIDDEN".into(), Some("/data/relationships/permissions".into())));
    }

    #[test]
    fn missing_members_are_reported_where_the_request_has_something() {
        let (status, code, pointer) = refusal(create(json!({"type": "roles", "attributes": {}, "relationships": {}})));
        assert_eq!((status, code.as_str()), (422, "VALIDATION_ERROR"));
        assert_eq!(pointer.as_deref(), Some("/data/attributes"));
        let error = create(json!({"type": "roles"})).unwrap_err();
        let pointers: Vec<String> = match error {
            ApiError::Validation(problems) => problems.into_iter().map(|p| format!("{:?}", p.location)).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(pointers, ["Pointer(\"/data\")", "Pointer(\"/data\")"]);
        let null = create(
            json!({"type": "roles", "attributes": {"name": null}, "relationships": {"organization": {"data": null}}}),
        );
        let pointers: Vec<String> = match null.unwrap_err() {
            ApiError::Validation(problems) => problems.into_iter().map(|p| format!("{:?}", p.location)).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(pointers, ["Pointer(\"/data/attributes/name\")", "Pointer(\"/data/relationships/organization\")"]);
    }

    #[test]
    fn at_members_are_ignored_and_reserved_members_refused() {
        let at = json!({"@context": 1, "data": {"@x": 2, "type": "roles", "attributes": {"name": "x", "@note": 3}, "relationships": organization()}});
        assert!(decode(at, Mode::Create).unwrap().attributes.get("@note").is_none());
        let reserved = create(json!({"type": "roles", "attributes": {"name": {"deep": [{"links": {}}]}}}));
        assert_eq!(refusal(reserved).2.as_deref(), Some("/data/attributes/name/deep/0/links"));
    }

    #[test]
    fn a_member_listed_twice_is_listed_once() {
        let scope = json!({"type": "api_scopes", "id": "s"});
        let mut relationships = organization();
        relationships["api_scopes"] = json!({"data": [scope, scope]});
        let document =
            create(json!({"type": "roles", "attributes": {"name": "x"}, "relationships": relationships})).unwrap();
        assert_eq!(document.linked_many("api_scopes").unwrap(), ["s"]);
    }

    #[test]
    fn the_reader_collects_every_problem_with_its_pointer() {
        let document =
            create(json!({"type": "roles", "attributes": {"name": 5}, "relationships": organization()})).unwrap();
        let mut reader = Reader::new(&document);
        assert_eq!(reader.required("name", |v| Ok(v.to_string())), None);
        reader.refuse_attribute("kind", "kind is missing");
        reader.refuse_relationship("organization", "organization is wrong");
        let locations: Vec<Source> = match reader.finish().unwrap_err() {
            ApiError::Validation(problems) => problems.into_iter().map(|p| p.location).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            locations,
            [Source::attribute("name"), Source::pointer("/data/attributes"), Source::relationship("organization")]
        );
    }
}
