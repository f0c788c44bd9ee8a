//! `GET /openapi.json`: the OpenAPI 3.1 document of everything this service serves, built from
//! what serves it, so the two cannot drift apart:
//!
//! - the paths and methods of each resource type come from its registration (`MOUNTED`), the
//!   same list that mounts its routes;
//! - response attributes are the JSON Schema of the struct that renders them
//!   (`utoipa::ToSchema` on each type's `Attributes`, and on `Common`);
//! - request attributes and relationships are the ones the type's `ResourceSpec` lets a
//!   document carry, with the flags the decoder reads (required, creatable, updatable);
//! - `include`, `sort`, `fields[…]` and `filter[q][…]` list exactly the values the query parser
//!   accepts for the type: each candidate is put to the parser, and only what it takes is
//!   documented.
//!
//! The document is built once per application and served as is.

use actix_web::http::header;
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use crate::http::state::State;
use crate::http::MOUNTED;
use crate::jsonapi::query::{self, predicates, Allowed, FilterValue};
use crate::resources::model::{AnyResource, Common};
use crate::spec::query::MAX_PAGE_SIZE;
use crate::spec::{
    Attribute, Cardinality, Catalog, Kind, Relationship, ResourceSpec, Tenancy, CREATE, ID, REQUIRED, UPDATE,
};

/// The media type of every JSON:API document, request or response.
const JSONAPI: &str = "application/vnd.api+json";

pub async fn serve(state: State) -> HttpResponse {
    let body = state.openapi.get_or_init(|| {
        serde_json::to_vec(&document(state.registry, &state.issuer)).expect("the OpenAPI document serializes")
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body.clone())
}

/// The whole document, for a service whose public URL is `issuer`.
pub fn document(catalog: &dyn Catalog, issuer: &str) -> Value {
    let mut paths = Map::new();
    let mut schemas = shared_schemas();
    for mounted in MOUNTED {
        let resource = mounted.resource;
        let spec = resource.spec();
        schemas.extend(type_schemas(catalog, resource));
        match mounted.writes {
            Some(writes) => type_paths(&mut paths, catalog, spec, writes),
            // The caller's own user, at the singleton `/user`.
            None => user_paths(&mut paths, catalog, spec),
        }
    }
    action_paths(&mut paths);
    oauth_paths(&mut paths);
    operating_paths(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Provisioning API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Organizations, their members and roles, API credentials and the APIs they call, \
                over JSON:API 1.1 (the Commerce Layer Provisioning API's wire format), and the OAuth 2.0 \
                authorization server that issues their tokens.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": issuer}],
        "security": [{"bearer": []}],
        "tags": tags(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses(),
            "parameters": parameter_components(catalog),
            "securitySchemes": {
                "bearer": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "An access token from POST /oauth/token: a user's provisioning token, or an \
                        organization's API credential's.",
                },
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": format!("{issuer}/oauth/token"), "scopes": {
                        crate::auth::tokens::PROVISIONING_SCOPE: "The provisioning API, for a user's credential.",
                    }}},
                },
                "client_basic": {
                    "type": "http", "scheme": "basic",
                    "description": "Client authentication at the OAuth endpoints: the client id and secret \
                        (RFC 6749 §2.3.1). They may go in the body instead.",
                },
            },
        },
    })
}

fn tags() -> Value {
    let mut tags: Vec<Value> = MOUNTED.iter().map(|m| json!({"name": m.resource.spec().type_name})).collect();
    tags.push(json!({"name": "oauth", "description": "The authorization server (RFC 6749, 7009, 7662, 8414)."}));
    tags.push(json!({"name": "operating", "description": "Health, readiness, metrics and this document."}));
    Value::Array(tags)
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn response_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{name}")})
}

/// What every document shares: errors, identifiers, links, page counts.
fn shared_schemas() -> Map<String, Value> {
    let schemas = json!({
        "jsonapi": {
            "type": "object", "properties": {"version": {"type": "string"}},
            "description": "The JSON:API version this server implements.",
        },
        "error": {
            "type": "object",
            "required": ["status", "code", "title", "detail"],
            "properties": {
                "status": {"type": "string", "description": "The HTTP status code, as a string."},
                "code": {"type": "string", "description": "A stable code for the kind of error."},
                "title": {"type": "string"},
                "detail": {"type": "string"},
                "source": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string", "description": "A JSON Pointer (RFC 6901) into the request document."},
                        "parameter": {"type": "string", "description": "The query parameter at fault."},
                    },
                },
                "meta": {"type": "object"},
            },
        },
        "errors": {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {"type": "array", "minItems": 1, "items": schema_ref("error")},
                "jsonapi": schema_ref("jsonapi"),
            },
        },
        "oauth_error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "An RFC 6749 §5.2 error code."},
                "error_description": {"type": "string"},
            },
        },
        "resource_links": {
            "type": "object", "required": ["self"],
            "properties": {"self": {"type": "string", "format": "uri"}},
        },
        "relationship_links": {
            "type": "object", "required": ["self", "related"],
            "properties": {"self": {"type": "string", "format": "uri"}, "related": {"type": "string", "format": "uri"}},
        },
        "page_meta": {
            "type": "object",
            "required": ["record_count", "page_count"],
            "properties": {
                "record_count": {"type": "integer", "minimum": 0},
                "record_count_estimated": {"type": "boolean", "description": "Present (true) when record_count is an estimate."},
                "page_count": {"type": "integer", "minimum": 0},
            },
        },
        "page_links": {
            "type": "object",
            "required": ["self", "first"],
            "properties": {
                "self": {"type": "string", "format": "uri"},
                "first": {"type": "string", "format": "uri"},
                "prev": {"type": "string", "format": "uri"},
                "next": {"type": "string", "format": "uri"},
                "last": {"type": "string", "format": "uri"},
            },
        },
        "linkage_document": {
            "type": "object",
            "required": ["data", "links"],
            "properties": {
                "data": {"oneOf": [
                    {"type": "null"},
                    schema_ref("any_identifier"),
                    {"type": "array", "items": schema_ref("any_identifier")},
                ]},
                "links": schema_ref("relationship_links"),
                "jsonapi": schema_ref("jsonapi"),
            },
        },
        "any_identifier": {
            "type": "object", "required": ["type", "id"],
            "properties": {"type": {"type": "string"}, "id": {"type": "string"}},
        },
        "containment": {
            "type": "object",
            "description": "What `_jcont` looks for: nested objects, scalars and arrays of scalars.",
            "propertyNames": {"minLength": 1, "pattern": "^[^\"\\\\.]+$"},
            "additionalProperties": {"anyOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "array", "items": {"type": ["string", "number", "boolean", "null"]}},
                {"$ref": "#/components/schemas/containment"},
            ]},
        },
        "included": {
            "type": "array",
            "description": "The resources `include` asked for, each once.",
            "items": {"oneOf": MOUNTED.iter().map(|m| schema_ref(m.resource.spec().type_name)).collect::<Vec<_>>()},
        },
    });
    match schemas {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object"),
    }
}

/// The error responses operations refer to, by status.
fn error_responses() -> Value {
    let errors =
        |description: &str| json!({"description": description, "content": {JSONAPI: {"schema": schema_ref("errors")}}});
    let oauth = |description: &str| json!({"description": description, "content": {"application/json": {"schema": schema_ref("oauth_error")}}});
    json!({
        "400": errors("The request is malformed: a query parameter, the document's shape, or a member it may not carry."),
        "401": errors("No valid access token: missing, expired, revoked, or its credential is gone."),
        "403": errors("The caller may not do this, or the server does not support it (JSON:API §9)."),
        "404": errors("No such resource, or none the caller may see; or a related resource the document names."),
        "406": errors("The Accept header admits no JSON:API media type this server sends."),
        "409": errors("A conflict: a value that must be unique is taken, or the document's type or id does not match."),
        "413": errors("The request body is larger than the server takes."),
        "415": errors("The body is not application/vnd.api+json, or carries media type parameters."),
        "422": errors("The document is well formed, but a value is not valid."),
        "429": errors("Too many requests; Retry-After says when to come back."),
        "503": errors("The database or the mail server did not answer; the error says what was saved."),
        "oauth_400": oauth("The request is malformed or the grant is not allowed (RFC 6749 §5.2)."),
        "oauth_401": oauth("Client authentication failed (invalid_client)."),
        "oauth_429": oauth("Too many requests; Retry-After says when to come back."),
    })
}

/// A response's statuses: the success one and the errors it can answer.
fn responses(success: (&str, Value), errors: &[&str]) -> Value {
    let mut map = Map::new();
    map.insert(success.0.to_string(), success.1);
    for status in errors {
        map.insert(status.to_string(), response_ref(status));
    }
    Value::Object(map)
}

fn document_response(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {JSONAPI: {"schema": schema_ref(schema)}}})
}

const READ_ERRORS: &[&str] = &["400", "401", "403", "404", "406", "429", "503"];
const WRITE_ERRORS: &[&str] = &["400", "401", "403", "404", "406", "409", "413", "415", "422", "429", "503"];

/// The JSON Schema of a value of `kind`, as an attribute holds it.
fn kind_schema(kind: Kind) -> Value {
    match kind {
        Kind::String => json!({"type": "string"}),
        Kind::Boolean => json!({"type": "boolean"}),
        Kind::Integer => json!({"type": "integer", "format": "int64"}),
        Kind::Datetime => json!({"type": "string", "format": "date-time"}),
        Kind::Object => json!({"type": "object"}),
        Kind::Strings => json!({"type": "array", "items": {"type": "string"}}),
    }
}

/// The properties of a derived object schema (`ToSchema`).
fn properties(schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>) -> Map<String, Value> {
    let value = serde_json::to_value(schema).expect("a schema serializes");
    match value.get("properties") {
        Some(Value::Object(properties)) => properties.clone(),
        _ => Map::new(),
    }
}

/// The attributes a type renders: its own, then the common ones, each as its struct says.
/// None is required: a sparse fieldset (`fields[type]`) leaves any of them out.
fn rendered_attributes(resource: &dyn AnyResource) -> Map<String, Value> {
    let mut all = properties(resource.attributes_schema());
    all.extend(properties(<Common<'static> as utoipa::PartialSchema>::schema()));
    all
}

/// `schema` without `null` among its types: what a required attribute must be.
fn not_null(mut schema: Value) -> Value {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            schema["type"] = only;
        }
    }
    if let Some(Value::Array(choices)) = schema.get_mut("oneOf") {
        choices.retain(|c| c.get("type") != Some(&json!("null")));
    }
    schema
}

/// `schema`, or null.
fn nullable(schema: Value) -> Value {
    match schema.get("type") {
        Some(Value::String(t)) => {
            let mut schema = schema.clone();
            schema["type"] = json!([t, "null"]);
            schema
        }
        _ => json!({"oneOf": [schema, {"type": "null"}]}),
    }
}

/// The identifier of a resource of `target`.
fn identifier(target: &str) -> Value {
    json!({
        "type": "object", "required": ["type", "id"],
        "properties": {"type": {"type": "string", "const": target}, "id": {"type": "string", "minLength": 1}},
    })
}

fn is_to_one(relationship: &Relationship) -> bool {
    matches!(relationship.cardinality, Cardinality::ToOne { .. })
}

/// A resource object of the type, its request documents, and its response documents.
fn type_schemas(catalog: &dyn Catalog, resource: &dyn AnyResource) -> Map<String, Value> {
    let spec = resource.spec();
    let name = spec.type_name;
    let rendered = rendered_attributes(resource);
    let relationships: Map<String, Value> = spec
        .relationships
        .iter()
        .map(|r| {
            let data = if is_to_one(r) {
                nullable(identifier(r.target))
            } else {
                json!({"type": "array", "items": identifier(r.target)})
            };
            let schema = json!({
                "type": "object", "required": ["links"],
                "properties": {"links": schema_ref("relationship_links"), "data": data},
                "additionalProperties": false,
            });
            (r.name.to_string(), schema)
        })
        .collect();
    let mut object = json!({
        "type": "object",
        "required": ["id", "type", "links", "attributes"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string", "const": name},
            "links": schema_ref("resource_links"),
            "attributes": {"type": "object", "properties": rendered, "additionalProperties": false},
        },
        "additionalProperties": false,
    });
    if !relationships.is_empty() {
        object["properties"]["relationships"] =
            json!({"type": "object", "properties": relationships, "additionalProperties": false});
    }
    let mut schemas = Map::new();
    schemas.insert(name.to_string(), object);
    schemas.insert(
        format!("{name}_response"),
        json!({
            "type": "object", "required": ["data", "links"],
            "properties": {
                "data": schema_ref(name),
                "included": schema_ref("included"),
                "links": schema_ref("resource_links"),
                "jsonapi": schema_ref("jsonapi"),
            },
            "additionalProperties": false,
        }),
    );
    schemas.insert(
        format!("{name}_nullable_response"),
        json!({
            "type": "object", "required": ["data", "links"],
            "properties": {
                "data": {"oneOf": [schema_ref(name), {"type": "null"}]},
                "included": schema_ref("included"),
                "links": schema_ref("resource_links"),
                "jsonapi": schema_ref("jsonapi"),
            },
            "additionalProperties": false,
        }),
    );
    schemas.insert(
        format!("{name}_list"),
        json!({
            "type": "object", "required": ["data", "meta", "links"],
            "properties": {
                "data": {"type": "array", "items": schema_ref(name)},
                "included": schema_ref("included"),
                "meta": schema_ref("page_meta"),
                "links": schema_ref("page_links"),
                "jsonapi": schema_ref("jsonapi"),
            },
            "additionalProperties": false,
        }),
    );
    schemas.insert(format!("{name}_create"), request_document(catalog, spec, &rendered, CREATE));
    schemas.insert(format!("{name}_update"), request_document(catalog, spec, &rendered, UPDATE));
    schemas
}

/// A request document for `spec` with what `flag` (CREATE or UPDATE) lets it carry.
fn request_document(catalog: &dyn Catalog, spec: &ResourceSpec, rendered: &Map<String, Value>, flag: u8) -> Value {
    let creating = flag == CREATE;
    let mut attributes = Map::new();
    let mut required_attributes = Vec::new();
    for attribute in spec.all_attributes().filter(|a| a.has(flag)) {
        let required = creating && attribute.has(REQUIRED);
        attributes.insert(attribute.name.to_string(), request_attribute(attribute, rendered, required));
        if required {
            required_attributes.push(attribute.name);
        }
    }
    let mut relationships = Map::new();
    let mut required_relationships = Vec::new();
    for relationship in spec.relationships.iter().filter(|r| r.has(flag)) {
        if catalog.spec(relationship.target).is_none() {
            continue;
        }
        let required = creating && relationship.has(REQUIRED);
        let data = if is_to_one(relationship) {
            if required {
                identifier(relationship.target)
            } else {
                nullable(identifier(relationship.target))
            }
        } else {
            json!({"type": "array", "items": identifier(relationship.target)})
        };
        relationships.insert(
            relationship.name.to_string(),
            json!({"type": "object", "required": ["data"], "properties": {"data": data}}),
        );
        if required {
            required_relationships.push(relationship.name);
        }
    }
    let mut data = json!({
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "const": spec.type_name},
            "attributes": {
                "type": "object", "properties": attributes, "required": required_attributes,
                "additionalProperties": false,
            },
        },
    });
    if !creating {
        data["required"] = json!(["type", "id"]);
        data["properties"]["id"] = json!({"type": "string", "description": "The id in the path."});
    }
    if !required_attributes.is_empty() {
        data["required"].as_array_mut().expect("a list").push(json!("attributes"));
    }
    if !relationships.is_empty() {
        data["properties"]["relationships"] = json!({
            "type": "object", "properties": relationships, "required": required_relationships,
            "additionalProperties": false,
        });
        if !required_relationships.is_empty() {
            data["required"].as_array_mut().expect("a list").push(json!("relationships"));
        }
    }
    json!({"type": "object", "required": ["data"], "properties": {"data": data}})
}

/// An attribute a request may set: as rendered (a trigger, never rendered, by its kind);
/// required ones may not be null.
fn request_attribute(attribute: &Attribute, rendered: &Map<String, Value>, required: bool) -> Value {
    let schema = match rendered.get(attribute.name) {
        Some(schema) if attribute.rendered() => schema.clone(),
        _ => kind_schema(attribute.kind),
    };
    if required {
        not_null(schema)
    } else if !attribute.rendered() {
        schema
    } else {
        nullable(not_null(schema))
    }
}

/// The query parameters a request for `spec` may carry, as references to
/// `components/parameters`, where each is defined once.
fn query_parameters(catalog: &dyn Catalog, spec: &'static ResourceSpec, allowed: Allowed) -> Vec<Value> {
    definitions(catalog, spec, allowed)
        .into_iter()
        .map(|(key, _)| json!({"$ref": format!("#/components/parameters/{key}")}))
        .collect()
}

/// Every query parameter any operation refers to.
fn parameter_components(catalog: &dyn Catalog) -> Map<String, Value> {
    let mut all = Map::new();
    for mounted in MOUNTED {
        for (key, definition) in definitions(catalog, mounted.resource.spec(), Allowed::List) {
            all.insert(key, definition);
        }
    }
    all
}

/// The query parameters a request for `spec` may carry, as the parser allows them there,
/// each with its key in `components/parameters`.
fn definitions(catalog: &dyn Catalog, spec: &'static ResourceSpec, allowed: Allowed) -> Vec<(String, Value)> {
    let type_name = spec.type_name;
    let accepts = |query: &str| query::parse(catalog, spec, query, allowed).is_ok();
    let mut parameters = Vec::new();
    if allowed == Allowed::Linkage {
        return parameters;
    }
    let includes: Vec<&str> =
        spec.relationships.iter().map(|r| r.name).filter(|name| accepts(&format!("include={name}"))).collect();
    if !includes.is_empty() {
        parameters.push((
            format!("{type_name}.include"),
            json!({
                "name": "include", "in": "query", "required": false,
                "description": "Related resources to include, comma-separated; a path follows relationships with dots \
                    (`organization.roles`), up to three.",
                "schema": {"type": "string", "pattern": list_pattern(&includes, query::MAX_INCLUDE_PATHS)},
            }),
        ));
    }
    // fields[<type>]=a,b for any type: one deepObject parameter named `fields`.
    let fieldsets: Map<String, Value> = MOUNTED
        .iter()
        .map(|m| m.resource.spec())
        .map(|target| {
            let names: Vec<&str> = target
                .all_attributes()
                .filter(|a| a.rendered())
                .map(|a| a.name)
                .chain(target.relationships.iter().map(|r| r.name))
                .collect();
            // Empty: no fields (JSON:API 1.1 §6.3).
            let pattern = list_pattern(&names, query::MAX_FIELDS).replacen('^', "^(?:", 1).replacen('$', ")?$", 1);
            (target.type_name.to_string(), json!({"type": "string", "pattern": pattern}))
        })
        .collect();
    parameters.push(("fields".into(), json!({
        "name": "fields", "in": "query", "required": false, "style": "deepObject", "explode": true,
        "description": "Sparse fieldsets: `fields[<type>]` lists the fields of that type to render, comma-separated.",
        "schema": {"type": "object", "properties": fieldsets, "additionalProperties": false},
    })));
    if allowed != Allowed::List {
        return parameters;
    }
    let sortable: Vec<String> = std::iter::once(&ID)
        .chain(spec.all_attributes())
        .filter(|a| accepts(&format!("sort={}", a.name)))
        .flat_map(|a| [a.name.to_string(), format!("-{}", a.name)])
        .collect();
    let sortable: Vec<&str> = sortable.iter().map(String::as_str).collect();
    parameters.push((
        format!("{type_name}.sort"),
        json!({
            "name": "sort", "in": "query", "required": false,
            "description": "Sort keys, comma-separated; `-` before a key sorts descending.",
            "schema": {"type": "string", "pattern": list_pattern(&sortable, query::MAX_SORT_KEYS)},
        }),
    ));
    parameters.push((
        "page.number".into(),
        json!({
            "name": "page[number]", "in": "query", "required": false,
            "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000_000, "default": 1},
        }),
    ));
    parameters.push(("page.size".into(), json!({
        "name": "page[size]", "in": "query", "required": false,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": crate::spec::query::DEFAULT_PAGE_SIZE},
    })));
    parameters.push((
        "filter.ids".into(),
        json!({
            "name": "filter[ids]", "in": "query", "required": false,
            "description": "Only these ids, comma-separated.",
            "schema": list_value(Kind::String),
        }),
    ));
    // filter[q][<attribute>_<predicate>]: one deepObject parameter named `filter[q]`; `_jcont`
    // takes JSON, so it is a parameter of its own.
    let filterable = std::iter::once(&ID).chain(spec.all_attributes()).map(|a| (a.name, a.kind)).chain(
        spec.relationships.iter().filter_map(|r| match r.cardinality {
            Cardinality::ToOne { column } => Some((column, Kind::String)),
            _ => None,
        }),
    );
    let mut filters = Map::new();
    let mut separate = 0;
    for (name, kind) in filterable {
        for (predicate, value) in predicates(kind) {
            let key = format!("filter[q][{name}_{predicate}]");
            if !accepts(&format!("{key}={}", sample(kind, value))) {
                continue;
            }
            match value {
                // A null member goes out as an empty value, which a text filter takes as "".
                FilterValue::One if kind == Kind::String => {
                    filters.insert(format!("{name}_{predicate}"), json!({"type": ["string", "null"]}))
                }
                FilterValue::One => filters.insert(format!("{name}_{predicate}"), kind_schema(kind)),
                FilterValue::Flag => filters.insert(format!("{name}_{predicate}"), json!({"type": "boolean"})),
                FilterValue::List => filters.insert(format!("{name}_{predicate}"), list_value(kind)),
                FilterValue::Json => {
                    separate += 1;
                    parameters.push((format!("{type_name}.filter.{name}_{predicate}"), json!({
                        "name": key, "in": "query", "required": false,
                        "description": "Records whose object contains this JSON object (keys without dots, quotes or backslashes).",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/containment"}}},
                    })));
                    None
                }
            };
        }
    }
    parameters.push((format!("{type_name}.filter"), json!({
        "name": "filter[q]", "in": "query", "required": false, "style": "deepObject", "explode": true,
        "description": "Filters: `filter[q][<attribute>_<predicate>]=<value>`; several are joined with AND. \
            Attributes can be joined in one filter with `_or_` and `_and_` (`name_or_slug_cont`).",
        "schema": {"type": "object", "properties": filters, "additionalProperties": false, "maxProperties": query::MAX_FILTERS - separate},
    })));
    parameters
}

/// A value each filter of `kind` taking `value` accepts: to ask the parser whether it takes
/// the filter at all.
fn sample(kind: Kind, value: FilterValue) -> &'static str {
    match (value, kind) {
        (FilterValue::Flag, _) => "true",
        (FilterValue::Json, _) => "%7B%7D",
        (_, Kind::Integer) => "1",
        (_, Kind::Boolean) => "true",
        (_, Kind::Datetime) => "2018-01-01",
        _ => "a",
    }
}

/// Comma-separated values of `kind`, as one string (dates as plain calendar dates).
fn list_value(kind: Kind) -> Value {
    let one = match kind {
        Kind::String => "[^,]+",
        Kind::Integer => "-?[0-9]{1,18}",
        Kind::Boolean => "(?:true|false|t|f|1|0)",
        Kind::Datetime => "(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])",
        Kind::Object => "\\{\\}",
        Kind::Strings => "[^,]+",
    };
    json!({"type": "string", "pattern": format!("^{one}(?:,{one}){{0,{}}}$", query::MAX_LIST_VALUES - 1)})
}

/// A comma-separated list of `names`: any of them, `most` at most.
fn list_pattern(names: &[&str], most: usize) -> String {
    let one = format!("(?:{})", names.join("|"));
    format!("^{one}(?:,{one}){{0,{}}}$", most - 1)
}

fn id_parameter(description: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn operation(tag: &str, id: String, summary: String, parameters: Vec<Value>, responses: Value) -> Value {
    json!({
        "tags": [tag], "operationId": id, "summary": summary,
        "parameters": parameters, "responses": responses,
    })
}

fn with_body(mut operation: Value, schema: &str) -> Value {
    operation["requestBody"] = json!({"required": true, "content": {JSONAPI: {"schema": schema_ref(schema)}}});
    operation
}

/// The routes every type gets (`http::Routes`): list and create, one record's read, update and
/// delete, and each relationship's related records and linkage.
fn type_paths(paths: &mut Map<String, Value>, catalog: &dyn Catalog, spec: &'static ResourceSpec, writes: &[&str]) {
    let name = spec.type_name;
    let single = query_parameters(catalog, spec, Allowed::Single);
    let list = query_parameters(catalog, spec, Allowed::List);

    let mut collection = Map::new();
    collection.insert(
        "get".into(),
        operation(
            name,
            format!("list_{name}"),
            format!("List {name}"),
            list,
            responses(("200", document_response(&format!("A page of {name}"), &format!("{name}_list"))), READ_ERRORS),
        ),
    );
    if writes.contains(&"create") {
        let mut created = document_response(&format!("The new {name} record"), &format!("{name}_response"));
        created["headers"] = json!({"Location": {"schema": {"type": "string", "format": "uri"}, "description": "The new record's URL."}});
        created["links"] = member_links(name, writes);
        collection.insert(
            "post".into(),
            with_body(
                operation(
                    name,
                    format!("create_{name}"),
                    format!("Create {name}"),
                    single.clone(),
                    responses(("201", created), WRITE_ERRORS),
                ),
                &format!("{name}_create"),
            ),
        );
    }
    paths.insert(format!("/api/{name}"), Value::Object(collection));

    let mut member = Map::new();
    let with_id = |extra: &[Value]| {
        let mut parameters = vec![id_parameter("The record's id.")];
        parameters.extend_from_slice(extra);
        parameters
    };
    member.insert(
        "get".into(),
        operation(
            name,
            format!("retrieve_{name}"),
            format!("Retrieve one of {name}"),
            with_id(&single),
            responses(("200", document_response("The record", &format!("{name}_response"))), READ_ERRORS),
        ),
    );
    if writes.contains(&"update") {
        member.insert(
            "patch".into(),
            with_body(
                operation(
                    name,
                    format!("update_{name}"),
                    format!("Update one of {name}"),
                    with_id(&single),
                    responses(
                        ("200", document_response("The record, updated", &format!("{name}_response"))),
                        WRITE_ERRORS,
                    ),
                ),
                &format!("{name}_update"),
            ),
        );
    }
    if writes.contains(&"delete") {
        member.insert(
            "delete".into(),
            operation(
                name,
                format!("delete_{name}"),
                format!("Delete one of {name}"),
                with_id(&[]),
                responses(
                    ("204", json!({"description": "Deleted"})),
                    &["400", "401", "403", "404", "409", "429", "503"],
                ),
            ),
        );
    }
    paths.insert(format!("/api/{name}/{{id}}"), Value::Object(member));

    for relationship in spec.relationships {
        let Some(target) = catalog.spec(relationship.target) else { continue };
        let to_one = is_to_one(relationship);
        let (allowed, schema, description) = if to_one {
            (Allowed::Single, format!("{}_nullable_response", target.type_name), "The related record, or null")
        } else {
            (Allowed::List, format!("{}_list", target.type_name), "A page of the related records")
        };
        paths.insert(
            format!("/api/{name}/{{id}}/{}", relationship.name),
            json!({"get": operation(
                name,
                format!("{name}_{}", relationship.name),
                format!("The {} of one of {name}", relationship.name),
                with_id(&query_parameters(catalog, target, allowed)),
                responses(("200", document_response(description, &schema)), READ_ERRORS),
            )}),
        );
        if !(name == "api_credentials" && relationship.name == "api_scopes") {
            paths.insert(
                format!("/api/{name}/{{id}}/relationships/{}", relationship.name),
                json!({"get": operation(
                    name,
                    format!("{name}_{}_linkage", relationship.name),
                    format!("The linkage of the {} of one of {name}", relationship.name),
                    with_id(&[]),
                    responses(("200", document_response("The linkage", "linkage_document")), READ_ERRORS),
                )}),
            );
        }
    }
}

/// OpenAPI links from a new record to its reads and writes, for stateful testing.
fn member_links(name: &str, writes: &[&str]) -> Value {
    let id = json!({"id": "$response.body#/data/id"});
    let mut links = Map::new();
    links.insert(format!("retrieve_{name}"), json!({"operationId": format!("retrieve_{name}"), "parameters": id}));
    if writes.contains(&"update") {
        links.insert(format!("update_{name}"), json!({"operationId": format!("update_{name}"), "parameters": id}));
    }
    if writes.contains(&"delete") {
        links.insert(format!("delete_{name}"), json!({"operationId": format!("delete_{name}"), "parameters": id}));
    }
    Value::Object(links)
}

/// The caller's own user: `/api/user`.
fn user_paths(paths: &mut Map<String, Value>, catalog: &dyn Catalog, spec: &'static ResourceSpec) {
    debug_assert_eq!(spec.tenancy, Tenancy::Caller);
    let name = spec.type_name;
    let single = query_parameters(catalog, spec, Allowed::Single);
    paths.insert(
        "/api/user".into(),
        json!({
            "get": operation(name, "retrieve_user".into(), "The caller's own user".into(), single.clone(),
                responses(("200", document_response("The caller's user", &format!("{name}_response"))), READ_ERRORS)),
            "patch": with_body(
                operation(name, "update_user".into(), "Update the caller's own user".into(), single,
                    responses(("200", document_response("The user, updated", &format!("{name}_response"))), WRITE_ERRORS)),
                &format!("{name}_update"),
            ),
        }),
    );
}

/// The custom actions (`http::actions`).
fn action_paths(paths: &mut Map<String, Value>) {
    let transfer = &crate::http::actions::TRANSFER;
    let attributes: Map<String, Value> =
        transfer.attributes.iter().map(|a| (a.name.to_string(), kind_schema(a.kind))).collect();
    let required: Vec<&str> = transfer.attributes.iter().filter(|a| a.has(REQUIRED)).map(|a| a.name).collect();
    let mut transfer_operation = operation(
        "organizations",
        "transfer_ownership".into(),
        "Hand the organization to another active member (the owner only)".into(),
        vec![id_parameter("The organization's id.")],
        responses(("202", json!({"description": "Ownership transferred"})), WRITE_ERRORS),
    );
    transfer_operation["requestBody"] = json!({"required": true, "content": {JSONAPI: {"schema": {
        "type": "object", "required": ["data"],
        "properties": {"data": {
            "type": "object", "required": ["type", "id", "attributes"],
            "properties": {
                "type": {"type": "string", "const": transfer.type_name},
                "id": {"type": "string"},
                "attributes": {"type": "object", "properties": attributes, "required": required, "additionalProperties": false},
            },
        }},
    }}}});
    paths.insert("/api/organizations/{id}/transfer_ownership".into(), json!({"patch": transfer_operation}));

    let mut resend = operation(
        "memberships",
        "resend_membership".into(),
        "Send a pending membership's invitation again".into(),
        vec![id_parameter("The membership's id.")],
        responses(("202", json!({"description": "Sent again"})), WRITE_ERRORS),
    );
    resend["requestBody"] = json!({"required": false, "content": {JSONAPI: {"schema": {"type": "object"}}}});
    paths.insert("/api/memberships/{id}/resend".into(), json!({"post": resend}));

    let linkage = json!({"type": "object", "required": ["data"], "properties": {
        "data": {"type": "array", "items": identifier("api_scopes")},
    }});
    let grant = |method: &str, summary: &str| {
        let mut operation = operation(
            "api_credentials",
            format!("{method}_api_credential_scopes"),
            summary.into(),
            vec![id_parameter("The API credential's id.")],
            responses(
                ("200", document_response("The credential's scopes, after the change", "linkage_document")),
                WRITE_ERRORS,
            ),
        );
        operation["requestBody"] = json!({"required": true, "content": {JSONAPI: {"schema": linkage.clone()}}});
        operation
    };
    paths.insert(
        "/api/api_credentials/{id}/relationships/api_scopes".into(),
        json!({
            "get": operation("api_credentials", "api_credentials_api_scopes_linkage".into(),
                "The scopes granted to an API credential".into(), vec![id_parameter("The API credential's id.")],
                responses(("200", document_response("The linkage", "linkage_document")), READ_ERRORS)),
            "post": grant("add", "Grant these scopes too"),
            "patch": grant("replace", "Grant exactly these scopes"),
            "delete": grant("remove", "Take these scopes back"),
        }),
    );
}

fn oauth_paths(paths: &mut Map<String, Value>) {
    let client_authentication = json!([{"client_basic": []}]);
    // RFC 6749: form parameters; the same names in a JSON object (what js-auth sends), where a
    // value may also be a number, null (absent) or a list of strings (the parameter repeated).
    // Empty values count as absent; unknown parameters are ignored.
    let form = |properties: Value, required: &[&str]| {
        let json_properties: Map<String, Value> = properties
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| {
                let value = match schema.get("enum") {
                    Some(_) => schema.clone(),
                    None => json!({"anyOf": [
                        {"type": ["string", "number", "null"]},
                        {"type": "array", "items": {"type": "string"}},
                    ]}),
                };
                (name.clone(), value)
            })
            .collect();
        json!({"required": true, "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": properties, "required": required}},
            "application/json": {"schema": {"type": "object", "properties": json_properties, "required": required}},
        }})
    };
    let token_response = json!({"description": "An access token (Cache-Control: no-store)", "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "scope", "created_at"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["bearer"]},
            "expires_in": {"type": "integer"},
            "scope": {"type": "string"},
            "created_at": {"type": "integer", "description": "When it was issued, in seconds since the epoch."},
            "upstream_access_token": {"type": "string", "description": "For an API resource with a credential provider: the provider's credential."},
            "upstream_expires_in": {"type": ["integer", "null"], "description": "Seconds the upstream credential has left (null when the provider did not say)."},
        },
    }}}});
    let oauth_errors = |success: (&str, Value)| {
        let mut map = Map::new();
        map.insert(success.0.into(), success.1);
        for (status, name) in [("400", "oauth_400"), ("401", "oauth_401"), ("429", "oauth_429")] {
            map.insert(status.into(), response_ref(name));
        }
        Value::Object(map)
    };
    paths.insert("/oauth/token".into(), json!({"post": {
        "tags": ["oauth"], "operationId": "token", "summary": "Issue an access token (client credentials, RFC 6749 §4.4; a single sign-on's authorization code, §4.1.3 with PKCE)",
        "description": "The client authenticates with HTTP Basic, or with client_id and client_secret (or a \
            client_assertion, RFC 7523) in the body.",
        "security": client_authentication,
        "requestBody": form(json!({
            "grant_type": {"type": "string", "enum": ["client_credentials", "authorization_code"]},
            "code": {"type": "string", "writeOnly": true, "description": "authorization_code: the code /oauth/callback sent to the client."},
            "code_verifier": {"type": "string", "writeOnly": true, "description": "authorization_code: the PKCE verifier (RFC 7636)."},
            "redirect_uri": {"type": "string", "description": "authorization_code: the client's redirect URI."},
            "scope": {"type": "string", "description": "`provisioning-api`, `market:id:…`, or an API resource's scopes."},
            "resource": {"type": "string", "description": "An API resource's identifier (RFC 8707): the token's audience."},
            "audience": {"type": "string"},
        }), &["grant_type"]),
        "responses": oauth_errors(("200", token_response)),
    }}));
    let query = |names: &[(&str, bool, &str)]| -> Value {
        names
            .iter()
            .map(|(name, required, description)| {
                json!({"name": name, "in": "query", "required": required, "description": description, "schema": {"type": "string"}})
            })
            .collect()
    };
    let redirects = |description: &str| {
        let mut responses = oauth_errors(("302", json!({"description": description})));
        responses.as_object_mut().expect("an object").remove("401");
        responses
    };
    paths.insert("/oauth/authorize".into(), json!({"get": {
        "tags": ["oauth"], "operationId": "authorize", "security": [],
        "summary": "Sign a user in through the organization's identity provider (OpenID Connect, authorization code with PKCE)",
        "description": "For a client with a redirect_uri (a webapp). Refused before the client and its redirect_uri are \
            known: 400 here; after: at the redirect_uri, with error and state.",
        "parameters": query(&[
            ("client_id", true, "The webapp credential's client id."),
            ("redirect_uri", false, "Its registered redirect URI."),
            ("response_type", true, "code"),
            ("state", false, "Sent back to the client as it came."),
            ("code_challenge", true, "PKCE S256 challenge (RFC 7636)."),
            ("code_challenge_method", true, "S256"),
            ("login_hint", true, "Who signs in: an email, or a domain."),
        ]),
        "responses": redirects("To the identity provider, or back to the client with an error."),
    }}));
    paths.insert(
        "/oauth/callback".into(),
        json!({"get": {
            "tags": ["oauth"], "operationId": "callback", "security": [],
            "summary": "Where the identity provider sends the user back",
            "parameters": query(&[
                ("state", true, "The sign-in /oauth/authorize started."),
                ("code", false, "The provider's authorization code."),
                ("error", false, "The provider's refusal."),
                ("error_description", false, "Why."),
            ]),
            "responses": redirects("Back to the client: a code of ours, or an error."),
        }}),
    );
    paths.insert("/oauth/revoke".into(), json!({"post": {
        "tags": ["oauth"], "operationId": "revoke", "summary": "Revoke an access token (RFC 7009)",
        "security": client_authentication,
        "requestBody": form(json!({
            "token": {"type": "string", "minLength": 1, "writeOnly": true},
            "token_type_hint": {"type": "string"},
        }), &["token"]),
        "responses": oauth_errors(("200", json!({"description": "Revoked, or was never valid", "content": {"application/json": {"schema": {"type": "object"}}}}))),
    }}));
    paths.insert("/oauth/introspect".into(), json!({"post": {
        "tags": ["oauth"], "operationId": "introspect", "summary": "Whether a token is active, and its claims (RFC 7662)",
        "security": client_authentication,
        "requestBody": form(json!({
            "token": {"type": "string", "minLength": 1, "writeOnly": true},
            "token_type_hint": {"type": "string"},
        }), &["token"]),
        "responses": oauth_errors(("200", json!({"description": "The token's state", "content": {"application/json": {"schema": {
            "type": "object", "required": ["active"],
            "properties": {
                "active": {"type": "boolean"},
                "client_id": {"type": "string"}, "sub": {"type": "string"}, "token_type": {"type": "string"},
                "scope": {"type": "string"}, "iss": {"type": "string"}, "aud": {"type": "string"},
                "exp": {"type": "integer"}, "iat": {"type": "integer"}, "jti": {"type": "string"},
            },
        }}}}))),
    }}));
    paths.insert("/.well-known/oauth-authorization-server".into(), json!({"get": {
        "tags": ["oauth"], "operationId": "authorization_server_metadata", "summary": "Authorization server metadata (RFC 8414)",
        "security": [],
        "responses": {"200": {"description": "The metadata", "content": {"application/json": {"schema": {
            "type": "object", "required": ["issuer", "token_endpoint", "jwks_uri"],
            "properties": {
                "issuer": {"type": "string", "format": "uri"},
                "token_endpoint": {"type": "string", "format": "uri"},
                "jwks_uri": {"type": "string", "format": "uri"},
            },
        }}}}},
    }}));
    paths.insert(
        "/.well-known/jwks.json".into(),
        json!({"get": {
            "tags": ["oauth"], "operationId": "jwks", "summary": "The keys that verify our tokens (RFC 7517)",
            "security": [],
            "responses": {"200": {"description": "A JWK Set", "content": {"application/json": {"schema": {
                "type": "object", "required": ["keys"],
                "properties": {"keys": {"type": "array", "items": {"type": "object", "required": ["kty"]}}},
            }}}}},
        }}),
    );
}

fn operating_paths(paths: &mut Map<String, Value>) {
    let health = json!({"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}});
    paths.insert("/health".into(), json!({"get": {
        "tags": ["operating"], "operationId": "health", "summary": "The process answers", "security": [],
        "responses": {"200": {"description": "Alive", "content": {"application/health+json": {"schema": health.clone()}}}},
    }}));
    paths.insert("/ready".into(), json!({"get": {
        "tags": ["operating"], "operationId": "ready", "summary": "The database answers and has every migration",
        "security": [],
        "responses": {
            "200": {"description": "Ready", "content": {"application/health+json": {"schema": health.clone()}}},
            "503": {"description": "Not ready, and why", "content": {"application/health+json": {"schema": health}}},
        },
    }}));
    paths.insert("/metrics".into(), json!({"get": {
        "tags": ["operating"], "operationId": "metrics", "summary": "Prometheus metrics", "security": [],
        "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}},
    }}));
    paths.insert("/openapi.json".into(), json!({"get": {
        "tags": ["operating"], "operationId": "openapi", "summary": "This document", "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::COMMON_ATTRIBUTES;

    #[test]
    fn list_patterns_match_what_they_list() {
        assert_eq!(list_pattern(&["a", "b"], 3), "^(?:a|b)(?:,(?:a|b)){0,2}$");
    }

    #[test]
    fn required_attributes_are_not_null() {
        assert_eq!(not_null(json!({"type": ["string", "null"]})), json!({"type": "string"}));
        assert_eq!(nullable(json!({"type": "string"})), json!({"type": ["string", "null"]}));
    }

    #[test]
    fn every_common_attribute_is_rendered() {
        let rendered = properties(<Common<'static> as utoipa::PartialSchema>::schema());
        for attribute in COMMON_ATTRIBUTES {
            assert!(rendered.contains_key(attribute.name), "{} is rendered", attribute.name);
        }
    }
}
