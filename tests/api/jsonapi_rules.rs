//! JSON:API 1.1 rules the service must keep, one test per rule: missing related resources,
//! unsupported relationship updates, relationship endpoints' query strings, duplicate members,
//! @-members, reserved members inside attribute values, error pointers that exist, encoded
//! links, a version for every write, and unique collisions that never leak database text.
//!
//! Every error response asserted here goes through `failed`, which also checks that no error
//! detail carries the database's own words.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, TestResponse};

/// An id of the right shape that names nothing.
const MISSING: &str = "missing000";

/// What SQLite and PostgreSQL say about a unique collision; never for a client's eyes.
const DATABASE_TEXT: [&str; 4] = ["UNIQUE", "constraint", "duplicate key", "violates"];

fn linkage(type_name: &str, id: &str) -> Value {
    json!({"data": {"type": type_name, "id": id}})
}

fn many(type_name: &str, ids: &[&str]) -> Value {
    json!({"data": ids.iter().map(|id| json!({"type": type_name, "id": id})).collect::<Vec<_>>()})
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}")).to_string()
}

fn no_database_text(response: &TestResponse) {
    if response.status < 400 {
        return;
    }
    let body = response.json();
    for error in body["errors"].as_array().into_iter().flatten() {
        for member in ["detail", "title"] {
            let text = error[member].as_str().unwrap_or_default();
            for leak in DATABASE_TEXT {
                assert!(!text.contains(leak), "error {member} leaks database text ({leak}): {}", response.text);
            }
        }
    }
}

/// The first error object of a response that must have this status.
fn failed(response: &TestResponse, status: u16) -> Value {
    assert_eq!(response.status, status, "{}", response.text);
    no_database_text(response);
    response.error()
}

fn errors(response: &TestResponse) -> Vec<Value> {
    response.json()["errors"].as_array().unwrap_or_else(|| panic!("no errors: {}", response.text)).clone()
}

/// Every `source.pointer` of the response resolves to a value of the request document.
fn pointers_exist(response: &TestResponse, document: &Value) {
    for error in errors(response) {
        if let Some(pointer) = error["source"]["pointer"].as_str() {
            assert!(document.pointer(pointer).is_some(), "{pointer} is not in the request {document}: {error}");
        }
    }
}

async fn created(response: TestResponse) -> Value {
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()["data"].clone()
}

async fn count(app: &TestApp, path: &str) -> i64 {
    let response = app.get(path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.json()["meta"]["record_count"].as_i64().unwrap()
}

/// The ids of a to-many relationship's linkage, read through its relationship endpoint.
async fn linked(app: &TestApp, path: &str) -> Vec<String> {
    let response = app.get(path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.json()["data"].as_array().unwrap().iter().map(id).collect()
}

struct Org {
    id: String,
    admin_role: String,
    read_only_role: String,
}

async fn organization(app: &TestApp, name: &str) -> Org {
    let id = id(&app.create_organization(json!({"name": name})).await);
    let roles = app.get(&format!("/api/organizations/{id}/roles")).await.json();
    let role = |kind: &str| {
        roles["data"].as_array().unwrap().iter().find(|r| r["attributes"]["kind"] == kind).map(self::id).unwrap()
    };
    Org { admin_role: role("admin"), read_only_role: role("read_only"), id }
}

async fn custom_role(app: &TestApp, org: &Org) -> String {
    let role = created(
        app.post(
            "/api/roles",
            &json!({"data": {"type": "roles", "attributes": {"name": "Support"},
        "relationships": {"organization": linkage("organizations", &org.id)}}}),
        )
        .await,
    )
    .await;
    id(&role)
}

fn permission_document(role: &str) -> Value {
    json!({"data": {"type": "permissions",
        "attributes": {"can_create": true, "can_read": true, "can_update": false, "can_destroy": false, "subject": "memberships"},
        "relationships": {"role": linkage("roles", role)}}})
}

async fn api_resource(app: &TestApp, org: &Org, identifier: &str) -> String {
    id(&created(
        app.post(
            "/api/api_resources",
            &json!({"data": {"type": "api_resources",
        "attributes": {"name": "Orders API", "identifier": identifier},
        "relationships": {"organization": linkage("organizations", &org.id)}}}),
        )
        .await,
    )
    .await)
}

async fn api_scope(app: &TestApp, resource: &str, name: &str) -> String {
    id(&created(
        app.post(
            "/api/api_scopes",
            &json!({"data": {"type": "api_scopes", "attributes": {"name": name},
        "relationships": {"api_resource": linkage("api_resources", resource)}}}),
        )
        .await,
    )
    .await)
}

/// In a new organization: an API resource, its `orders:read` scope, an integration, and the
/// path of the integration's `api_scopes` relationship.
struct Grants {
    resource: String,
    read: String,
    credential: String,
    relationship: String,
}

async fn grants(app: &TestApp) -> Grants {
    let org = organization(app, "Acme").await;
    let resource = api_resource(app, &org, "https://api.example.com").await;
    let read = api_scope(app, &resource, "orders:read").await;
    let credential = integration(app, &org).await;
    let relationship = format!("/api/api_credentials/{credential}/relationships/api_scopes");
    Grants { resource, read, credential, relationship }
}

async fn integration(app: &TestApp, org: &Org) -> String {
    id(&created(app.post("/api/api_credentials", &json!({"data": {"type": "api_credentials",
        "attributes": {"name": "ERP", "kind": "integration"},
        "relationships": {"organization": linkage("organizations", &org.id), "role": linkage("roles", &org.admin_role)}}})).await)
    .await)
}

/// A scope id that existed once: the right shape, and nothing behind it.
async fn deleted_scope(app: &TestApp, resource: &str) -> String {
    let scope = api_scope(app, resource, "gone:soon").await;
    assert_eq!(app.delete(&format!("/api/api_scopes/{scope}")).await.status, 204);
    assert_eq!(app.get(&format!("/api/api_scopes/{scope}")).await.status, 404);
    scope
}

/// The events recorded for one record, through the versions collection.
async fn events(app: &TestApp, resource_type: &str, resource_id: &str) -> Vec<String> {
    let path = format!(
        "/api/versions?filter[q][resource_type_eq]={resource_type}&filter[q][resource_id_eq]={resource_id}&page[size]=25"
    );
    let response = app.get(&path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["attributes"]["event"].as_str().unwrap().to_string())
        .collect()
}

/// `/api/<type>/:id/versions` answers 200 and lists every given event.
/// Updates, then deletes, a record; its versions say create, update and destroy, and
/// `/<type>/:id/versions` lists the first two while it exists.
async fn update_and_delete_are_versioned(app: &TestApp, resource_type: &str, id: &str, attributes: Value) {
    let document = json!({"data": {"type": resource_type, "id": id, "attributes": attributes}});
    let response = app.patch(&format!("/api/{resource_type}/{id}"), &document).await;
    assert_eq!(response.status, 200, "{}", response.text);
    versions_relationship_lists(app, resource_type, id, &["create", "update"]).await;
    assert_eq!(app.delete(&format!("/api/{resource_type}/{id}")).await.status, 204);
    let events = events(app, resource_type, id).await;
    for event in ["create", "update", "destroy"] {
        assert!(events.iter().any(|e| e == event), "{event} missing from {events:?}");
    }
}

async fn versions_relationship_lists(app: &TestApp, resource_type: &str, resource_id: &str, expected: &[&str]) {
    let path = format!("/api/{resource_type}/{resource_id}/versions");
    let response = app.get(&path).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    let listed: Vec<String> = response.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["attributes"]["event"].as_str().unwrap().to_string())
        .collect();
    for event in expected {
        assert!(listed.iter().any(|e| e == event), "{path} lacks {event}: {listed:?}");
    }
}

// Rule 1: a request that references a related resource that does not exist answers 404.

// JSON:API 1.1 §Creating Resources › Responses › 404 Not Found.
#[actix_rt::test]
async fn creating_a_membership_with_a_missing_role_answers_404() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let memberships = format!("/api/memberships?filter[q][organization_id_eq]={}", org.id);
    let before = count(&app, &memberships).await;
    let response = app
        .post(
            "/api/memberships",
            &json!({"data": {"type": "memberships", "attributes": {"user_email": "ada@example.com"},
            "relationships": {"organization": linkage("organizations", &org.id), "role": linkage("roles", MISSING)}}}),
        )
        .await;
    failed(&response, 404);
    assert_eq!(count(&app, &memberships).await, before, "nothing was created");
}

// JSON:API 1.1 §Creating Resources › Responses › 404 Not Found.
#[actix_rt::test]
async fn creating_a_permission_with_a_missing_role_answers_404() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    custom_role(&app, &org).await;
    let before = count(&app, "/api/permissions").await;
    let response = app.post("/api/permissions", &permission_document(MISSING)).await;
    failed(&response, 404);
    assert_eq!(count(&app, "/api/permissions").await, before, "nothing was created");
}

// JSON:API 1.1 §Updating Relationships › Responses › 404 Not Found.
#[actix_rt::test]
async fn granting_a_missing_scope_answers_404_and_grants_nothing() {
    let app = spawn_app().await;
    let Grants { resource, read, relationship, .. } = grants(&app).await;
    let gone = deleted_scope(&app, &resource).await;
    for ids in [vec![gone.as_str()], vec![read.as_str(), gone.as_str()]] {
        let response = app.post(&relationship, &many("api_scopes", &ids)).await;
        failed(&response, 404);
        assert_eq!(linked(&app, &relationship).await, Vec::<String>::new(), "{ids:?}: nothing was granted");
    }
}

// JSON:API 1.1 §Updating Resources › Responses › 404 Not Found.
#[actix_rt::test]
async fn replacing_scopes_with_a_missing_one_answers_404_and_changes_nothing() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let resource = api_resource(&app, &org, "https://api.example.com").await;
    let read = api_scope(&app, &resource, "orders:read").await;
    let write = api_scope(&app, &resource, "orders:write").await;
    let gone = deleted_scope(&app, &resource).await;
    let credential = integration(&app, &org).await;
    let relationship = format!("/api/api_credentials/{credential}/relationships/api_scopes");
    assert_eq!(app.post(&relationship, &many("api_scopes", &[&read])).await.status, 200);
    let response = app
        .patch(
            &format!("/api/api_credentials/{credential}"),
            &json!({"data": {"type": "api_credentials", "id": credential,
                "relationships": {"api_scopes": many("api_scopes", &[&write, &gone])}}}),
        )
        .await;
    failed(&response, 404);
    assert_eq!(linked(&app, &relationship).await, vec![read], "the grants are unchanged");
}

// Rule 2: an unsupported request to update a relationship answers 403; an unsupported DELETE of
// a resource stays 405.

// JSON:API 1.1 §Updating Relationships › Responses › 403 Forbidden.
#[actix_rt::test]
async fn unsupported_relationship_updates_answer_403() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let relationship = format!("/api/organizations/{}/relationships/roles", org.id);
    let before = linked(&app, &relationship).await;
    assert_eq!(before.len(), 2);
    for (method, body) in [
        (Method::POST, many("roles", &[&org.admin_role])),
        (Method::PATCH, many("roles", &[])),
        (Method::DELETE, many("roles", &[&org.read_only_role])),
    ] {
        let response = app.write_as(&app.token, method.clone(), &relationship, &body).await;
        assert_eq!(response.status, 403, "{method} {relationship}: {}", response.text);
        failed(&response, 403);
    }
    assert_eq!(linked(&app, &relationship).await, before, "the relationship is unchanged");
}

// JSON:API 1.1 §Updating Resources › Updating a Resource's Relationships: a refused full
// replacement of a to-many relationship rejects the whole update with 403.
#[actix_rt::test]
async fn replacing_a_read_only_to_many_relationship_in_an_update_answers_403() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let role = custom_role(&app, &org).await;
    created(app.post("/api/permissions", &permission_document(&role)).await).await;
    let permissions = format!("/api/roles/{role}/permissions");
    assert_eq!(count(&app, &permissions).await, 1);
    let response = app
        .patch(
            &format!("/api/roles/{role}"),
            &json!({"data": {"type": "roles", "id": role, "attributes": {"name": "Renamed"},
                "relationships": {"permissions": {"data": []}}}}),
        )
        .await;
    failed(&response, 403);
    assert_eq!(count(&app, &permissions).await, 1, "the permissions stay");
    assert_eq!(
        app.get(&format!("/api/roles/{role}")).await.json()["data"]["attributes"]["name"],
        "Support",
        "the entire update is rejected"
    );
}

// JSON:API 1.1 §Updating Resources › Responses › 403 Forbidden: an unsupported update.
#[actix_rt::test]
async fn updating_a_version_answers_403() {
    let app = spawn_app().await;
    organization(&app, "Acme").await;
    let version = id(&app.get("/api/versions?page[size]=1").await.json()["data"][0]);
    let path = format!("/api/versions/{version}");
    let before = app.get(&path).await.json()["data"]["attributes"].clone();
    let response = app
        .patch(&path, &json!({"data": {"type": "versions", "id": version, "attributes": {"event": "tampered"}}}))
        .await;
    failed(&response, 403);
    assert_eq!(app.get(&path).await.json()["data"]["attributes"], before, "the version is unchanged");
}

#[actix_rt::test]
async fn unsupported_resource_deletes_stay_405_with_allow() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let role = custom_role(&app, &org).await;
    for path in [format!("/api/organizations/{}", org.id), format!("/api/roles/{role}")] {
        let response = app.delete(&path).await;
        failed(&response, 405);
        let allow = response.header("allow").unwrap_or_else(|| panic!("{path}: no Allow header"));
        assert!(allow.contains("GET") && !allow.contains("DELETE"), "{path}: Allow: {allow}");
        assert_eq!(app.get(&path).await.status, 200, "{path} is still there");
    }
}

// Rule 3: relationship endpoints validate their query string.

// JSON:API 1.1 §Query Parameters (unknown: 400), §Inclusion of Related Resources and
// §Sorting (unsupported on an endpoint: 400).
#[actix_rt::test]
async fn relationship_endpoints_refuse_parameters_they_do_not_support() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let credential = integration(&app, &org).await;
    for endpoint in [
        format!("/api/organizations/{}/relationships/roles", org.id),
        format!("/api/api_credentials/{credential}/relationships/api_scopes"),
    ] {
        assert_eq!(app.get(&endpoint).await.status, 200, "{endpoint}");
        for (query, parameter) in [("foo=1", "foo"), ("include=roles", "include"), ("sort=name", "sort")] {
            let response = app.get(&format!("{endpoint}?{query}")).await;
            let error = failed(&response, 400);
            assert_eq!(error["source"]["parameter"], parameter, "{endpoint}?{query}");
        }
    }
}

// Rule 4: the same member twice in one to-many request is added once.

// JSON:API 1.1 §Updating To-Many Relationships: POST adds members unless already present.
#[actix_rt::test]
async fn posting_the_same_member_twice_adds_it_once() {
    let app = spawn_app().await;
    let Grants { read, credential, relationship, .. } = grants(&app).await;
    let response = app.post(&relationship, &many("api_scopes", &[&read, &read])).await;
    no_database_text(&response);
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(linked(&app, &relationship).await, vec![read.clone()], "listed once");
    assert_eq!(
        app.get(&format!("/api/api_credentials/{credential}")).await.json()["data"]["attributes"]["scopes"],
        "orders:read"
    );
}

// Rule 5: @-members are ignored.

// JSON:API 1.1 §Document Structure › Member Names › @-Members: processors ignore them.
#[actix_rt::test]
async fn at_members_in_a_request_document_are_ignored() {
    let app = spawn_app().await;
    let documents = [
        json!({"@context": "x", "data": {"type": "organizations", "attributes": {"name": "Top"}}}),
        json!({"data": {"@context": "x", "type": "organizations", "attributes": {"name": "Data"}}}),
        json!({"data": {"type": "organizations", "attributes": {"name": "Attributes", "@note": 1}}}),
        json!({"@context": "x", "data": {"@context": {"a": 1}, "type": "organizations",
            "attributes": {"@note": 1, "name": "All"}}}),
    ];
    for document in &documents {
        let response = app.post("/api/organizations", document).await;
        assert_eq!(response.status, 201, "{document}: {}", response.text);
        let attributes = response.json()["data"]["attributes"].clone();
        assert!(attributes.get("@note").is_none(), "{document}: {attributes}");
    }
    assert_eq!(app.organization_count().await, documents.len() as i64);
}

// Rule 6: attribute values may not contain `links` or `relationships` members.

// JSON:API 1.1 §Document Structure › Resource Objects › Attributes: no object in an attribute
// value may contain a relationships or links member.
#[actix_rt::test]
async fn attribute_values_with_links_or_relationships_are_refused() {
    let app = spawn_app().await;
    for metadata in [json!({"links": {}}), json!({"relationships": 1})] {
        let document = json!({"data": {"type": "organizations", "attributes": {"name": "Acme", "metadata": metadata}}});
        let response = app.post("/api/organizations", &document).await;
        assert!(matches!(response.status, 400 | 422), "{metadata}: {}", response.text);
        let error = failed(&response, response.status);
        let pointer = error["source"]["pointer"].as_str().unwrap_or_default();
        assert!(pointer.starts_with("/data/attributes/metadata"), "{metadata}: {pointer:?}");
        pointers_exist(&response, &document);
    }
    assert_eq!(app.organization_count().await, 0, "nothing was created");
}

// JSON:API 1.1 §Document Structure › Resource Objects › Attributes: "constitutes or is
// contained in" an attribute value, so nested objects count, on updates too.
#[actix_rt::test]
async fn nested_links_or_relationships_in_attribute_values_are_refused() {
    let app = spawn_app().await;
    let organization = id(&app.create_organization(json!({"name": "Acme", "metadata": {"tier": "gold"}})).await);
    let path = format!("/api/organizations/{organization}");
    for (name, value) in [
        ("metadata", json!({"nested": {"links": {"self": "x"}}})),
        ("metadata", json!({"list": [{"relationships": {}}]})),
        ("config", json!({"links": {}})),
    ] {
        let document = json!({"data": {"type": "organizations", "id": organization, "attributes": {name: value}}});
        let response = app.patch(&path, &document).await;
        assert!(matches!(response.status, 400 | 422), "{name}={value}: {}", response.text);
        let error = failed(&response, response.status);
        let pointer = error["source"]["pointer"].as_str().unwrap_or_default();
        assert!(pointer.starts_with(&format!("/data/attributes/{name}")), "{name}={value}: {pointer:?}");
        pointers_exist(&response, &document);
    }
    let attributes = app.get(&path).await.json()["data"]["attributes"].clone();
    assert_eq!(attributes["metadata"], json!({"tier": "gold"}), "nothing changed");
}

// Rule 7: source.pointer only points at members that exist in the request.

// JSON:API 1.1 §Errors › Error Objects: source.pointer MUST point to a value in the request
// document that exists.
#[actix_rt::test]
async fn a_missing_required_attribute_is_reported_at_its_existing_parent() {
    let app = spawn_app().await;
    let document = json!({"data": {"type": "organizations", "attributes": {}}});
    let response = app.post("/api/organizations", &document).await;
    failed(&response, 422);
    pointers_exist(&response, &document);
    let about_name: Vec<Value> = errors(&response)
        .into_iter()
        .filter(|e| e["detail"].as_str().unwrap_or_default().to_lowercase().contains("name"))
        .collect();
    assert!(!about_name.is_empty(), "an error names the missing name: {}", response.text);
    for error in about_name {
        assert!(
            matches!(error["source"]["pointer"].as_str(), None | Some("/data/attributes")),
            "not /data/attributes/name: {error}"
        );
    }
    assert_eq!(app.organization_count().await, 0);
}

// JSON:API 1.1 §Errors › Error Objects: source.pointer MUST point to a value that exists.
#[actix_rt::test]
async fn a_create_without_attributes_is_reported_at_data() {
    let app = spawn_app().await;
    let document = json!({"data": {"type": "organizations"}});
    let response = app.post("/api/organizations", &document).await;
    failed(&response, 422);
    pointers_exist(&response, &document);
    for error in errors(&response) {
        assert!(matches!(error["source"]["pointer"].as_str(), None | Some("/data")), "{error}");
    }
    assert_eq!(app.organization_count().await, 0);
}

// JSON:API 1.1 §Errors › Error Objects: source.pointer MUST point to a value that exists.
#[actix_rt::test]
async fn a_missing_required_relationship_is_reported_at_a_member_that_exists() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let cases = [
        (json!({"data": {"type": "roles", "attributes": {"name": "R"}}}), "/api/roles", vec!["/data"]),
        (
            json!({"data": {"type": "roles", "attributes": {"name": "R"}, "relationships": {}}}),
            "/api/roles",
            vec!["/data", "/data/relationships"],
        ),
        (
            json!({"data": {"type": "api_credentials", "attributes": {"name": "X", "kind": "integration"},
                "relationships": {"organization": linkage("organizations", &org.id)}}}),
            "/api/api_credentials",
            vec!["/data", "/data/relationships"],
        ),
    ];
    for (document, path, allowed) in cases {
        let response = app.post(path, &document).await;
        assert_eq!(response.status, 422, "{document}: {}", response.text);
        failed(&response, 422);
        pointers_exist(&response, &document);
        for error in errors(&response) {
            let pointer = error["source"]["pointer"].as_str();
            assert!(pointer.is_none_or(|p| allowed.contains(&p)), "{document}: {error}");
        }
    }
    assert_eq!(count(&app, &format!("/api/roles?filter[q][organization_id_eq]={}", org.id)).await, 2);
    assert_eq!(count(&app, "/api/api_credentials").await, 0);
}

// Rule 8: links are percent-encoded, valid RFC 3986 URIs, and can be followed.

/// Every string under a `links` member, at any depth (and `href` of link objects).
fn links_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            // Attribute values and meta are the client's own data, not links.
            for (name, member) in members.iter().filter(|(name, _)| !matches!(name.as_str(), "attributes" | "meta")) {
                if name == "links" {
                    for link in member.as_object().into_iter().flat_map(|l| l.values()) {
                        match link {
                            Value::String(href) => found.push(href.clone()),
                            Value::Object(object) => {
                                found.extend(object.get("href").and_then(Value::as_str).map(str::to_string))
                            }
                            _ => {}
                        }
                    }
                }
                links_in(member, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| links_in(item, found)),
        _ => {}
    }
}

/// RFC 3986: unreserved and reserved characters, `%` with two hex digits; brackets only belong in
/// an IP literal host, which these links do not have.
fn valid_uri(link: &str) -> bool {
    let bytes = link.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#@!$&'()*+,;=".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

fn page_ids(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(id).collect()
}

// JSON:API 1.1 §Query Parameters › Query Parameter Families: `[` and `]` are not unreserved
// (RFC 3986 §2.2, §3.4) and are percent-encoded in URIs.
#[actix_rt::test]
async fn page_links_are_percent_encoded_and_can_be_followed() {
    let app = spawn_app().await;
    app.create_organization(json!({"name": "Org 00"})).await;
    app.create_organization(json!({"name": "Org 01"})).await;
    let response = app.get("/api/organizations?page[size]=1").await;
    assert_eq!(response.status, 200, "{}", response.text);
    let body = response.json();
    let mut links = Vec::new();
    links_in(&body, &mut links);
    assert!(links.len() > 4, "{links:?}");
    for link in &links {
        assert!(!link.contains('[') && !link.contains(']'), "raw bracket in {link}");
        assert!(valid_uri(link), "not a valid RFC 3986 URI: {link}");
    }
    let next = body["links"]["next"].as_str().unwrap();
    assert!(next.contains("page%5Bnumber%5D=2"), "{next}");
    let path = next.strip_prefix(&app.base).unwrap_or_else(|| panic!("{next} is not under {}", app.base));
    let second = app.get(path).await;
    assert_eq!(second.status, 200, "{path}: {}", second.text);
    let second = second.json();
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_ne!(page_ids(&second), page_ids(&body), "following next gives the second page");
    assert_eq!(second["meta"]["record_count"], 2);
}

// RFC 3986 §2.1, §6.2.2.2: a percent-encoded bracket and a raw one name the same parameter.
#[actix_rt::test]
async fn encoded_and_raw_brackets_give_the_same_page() {
    let app = spawn_app().await;
    app.create_organization(json!({"name": "Org 00"})).await;
    app.create_organization(json!({"name": "Org 01"})).await;
    let raw = app.get("/api/organizations?page[size]=1&page[number]=2").await;
    assert_eq!(raw.status, 200, "{}", raw.text);
    let encoded = app.get("/api/organizations?page%5Bsize%5D=1&page%5Bnumber%5D=2").await;
    assert_eq!(encoded.status, 200, "{}", encoded.text);
    let first = app.get("/api/organizations?page[size]=1").await.json();
    assert_eq!(page_ids(&encoded.json()), page_ids(&raw.json()));
    assert_eq!(page_ids(&raw.json()).len(), 1);
    assert_ne!(page_ids(&raw.json()), page_ids(&first), "page 2, not page 1");
}

// RFC 3986 §2.2: a reserved character in a parameter's value is percent-encoded in links, so the
// link asks for what the request asked for.
#[actix_rt::test]
async fn link_values_with_reserved_characters_round_trip() {
    let app = spawn_app().await;
    app.create_organization(json!({"name": "A&B One"})).await;
    app.create_organization(json!({"name": "A&B Two"})).await;
    app.create_organization(json!({"name": "Other"})).await;
    let response = app.get("/api/organizations?filter[q][name_start]=A%26B&page[size]=1").await;
    assert_eq!(response.status, 200, "{}", response.text);
    let body = response.json();
    assert_eq!(body["meta"]["record_count"], 2);
    let next = body["links"]["next"].as_str().unwrap();
    assert!(valid_uri(next) && !next.contains('[') && !next.contains(']'), "{next}");
    let followed = app.get(next.strip_prefix(&app.base).unwrap()).await;
    assert_eq!(followed.status, 200, "{next}: {}", followed.text);
    let followed = followed.json();
    assert_eq!(followed["meta"]["record_count"], 2, "the link keeps the filter value: {next}");
    assert!(followed["data"][0]["attributes"]["name"].as_str().unwrap().starts_with("A&B"));
    assert_ne!(page_ids(&followed), page_ids(&body));
}

// Rule 9: every write of every type leaves a version.

#[actix_rt::test]
async fn api_scope_writes_are_versioned() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let resource = api_resource(&app, &org, "https://api.example.com").await;
    let scope = api_scope(&app, &resource, "orders:read").await;
    update_and_delete_are_versioned(&app, "api_scopes", &scope, json!({"name": "orders:list"})).await;
}

#[actix_rt::test]
async fn membership_profile_writes_are_versioned() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let profile = id(&created(
        app.post(
            "/api/membership_profiles",
            &json!({"data": {"type": "membership_profiles",
        "attributes": {"name": "Ops", "access_scope": "test_access"},
        "relationships": {"organization": linkage("organizations", &org.id)}}}),
        )
        .await,
    )
    .await);
    update_and_delete_are_versioned(&app, "membership_profiles", &profile, json!({"name": "Operations"})).await;
}

#[actix_rt::test]
async fn application_membership_writes_are_versioned() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let credential = integration(&app, &org).await;
    let membership = id(&created(app.post("/api/application_memberships", &json!({"data": {"type": "application_memberships",
        "attributes": {"filters": {"market_id_in": [202]}},
        "relationships": {"organization": linkage("organizations", &org.id),
            "api_credential": linkage("api_credentials", &credential), "role": linkage("roles", &org.read_only_role)}}})).await)
    .await);
    update_and_delete_are_versioned(
        &app,
        "application_memberships",
        &membership,
        json!({"filters": {"market_id_in": [202, 203]}}),
    )
    .await;
}

#[actix_rt::test]
async fn organization_updates_are_versioned() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let response = app
        .patch(
            &format!("/api/organizations/{}", org.id),
            &json!({"data": {"type": "organizations", "id": org.id, "attributes": {"support_phone": "+1 555 0100"}}}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let events = events(&app, "organizations", &org.id).await;
    assert!(events.iter().any(|e| e == "update"), "{events:?}");
    versions_relationship_lists(&app, "organizations", &org.id, &["update"]).await;
}

#[actix_rt::test]
async fn resending_an_invitation_is_versioned() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let membership = id(&created(app.post("/api/memberships", &json!({"data": {"type": "memberships",
        "attributes": {"user_email": "invitee@example.com"},
        "relationships": {"organization": linkage("organizations", &org.id), "role": linkage("roles", &org.read_only_role)}}})).await)
    .await);
    assert_eq!(
        app.get(&format!("/api/memberships/{membership}")).await.json()["data"]["attributes"]["status"],
        "pending"
    );
    let before = events(&app, "memberships", &membership).await;
    let response = app.post(&format!("/api/memberships/{membership}/resend"), &json!({"data": {}})).await;
    assert_eq!(response.status, 202, "{}", response.text);
    let after = events(&app, "memberships", &membership).await;
    assert_eq!(after.len(), before.len() + 1, "one more version: {before:?} then {after:?}");
    assert!(after.iter().any(|e| e != "create" && e != "destroy"), "{after:?}");
}

// Rule 10: a unique collision answers 409 or 422 with a pointer, never with database text.

// JSON:API 1.1 §Errors › Error Objects: source.pointer names the value that caused the error.
#[actix_rt::test]
async fn a_duplicate_identifier_answers_a_conflict_without_database_text() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    api_resource(&app, &org, "https://api.example.com").await;
    let document = |identifier: &str| {
        json!({"data": {"type": "api_resources", "attributes": {"name": "Again", "identifier": identifier},
            "relationships": {"organization": linkage("organizations", &org.id)}}})
    };
    let response = app.post("/api/api_resources", &document("https://api.example.com")).await;
    assert!(matches!(response.status, 409 | 422), "{}", response.text);
    let error = failed(&response, response.status);
    assert_eq!(error["source"]["pointer"], "/data/attributes/identifier");
    // Concurrent creates with one new identifier: one wins, the rest collide, in the database if
    // need be, and are told so the same way.
    let new = document("https://billing.example.com");
    let responses = futures_util::future::join_all((0..6).map(|_| app.post("/api/api_resources", &new))).await;
    assert_eq!(responses.iter().filter(|r| r.status == 201).count(), 1, "exactly one wins");
    for response in responses.iter().filter(|r| r.status != 201) {
        assert!(matches!(response.status, 409 | 422), "{}", response.text);
        let error = failed(response, response.status);
        assert_eq!(error["source"]["pointer"], "/data/attributes/identifier");
    }
    assert_eq!(count(&app, &format!("/api/api_resources?filter[q][organization_id_eq]={}", org.id)).await, 2);
}

// JSON:API 1.1 §Errors › Error Objects: details are for people, not the database's words.
#[actix_rt::test]
async fn concurrent_duplicates_never_leak_database_text() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let resource = api_resource(&app, &org, "https://api.example.com").await;
    let scope = json!({"data": {"type": "api_scopes", "attributes": {"name": "orders:read"},
        "relationships": {"api_resource": linkage("api_resources", &resource)}}});
    let membership = json!({"data": {"type": "memberships", "attributes": {"user_email": "ada@example.com"},
        "relationships": {"organization": linkage("organizations", &org.id), "role": linkage("roles", &org.read_only_role)}}});
    for (path, document, pointer) in [
        ("/api/api_scopes", &scope, "/data/attributes/name"),
        ("/api/memberships", &membership, "/data/attributes/user_email"),
    ] {
        let responses = futures_util::future::join_all((0..6).map(|_| app.post(path, document))).await;
        assert_eq!(responses.iter().filter(|r| r.status == 201).count(), 1, "{path}: exactly one wins");
        for response in responses.iter().filter(|r| r.status != 201) {
            // The same answer whether the check or the unique index caught it.
            assert_eq!(response.status, 409, "{path}: {}", response.text);
            assert_eq!(response.error()["code"], "CONFLICT", "{path}");
            let error = failed(response, response.status);
            assert_eq!(error["source"]["pointer"], pointer, "{path}");
        }
    }
}

// JSON:API 1.1 §Updating To-Many Relationships: adding a member already present is a success,
// however the requests interleave; a collision in the database stays inside the server.
#[actix_rt::test]
async fn concurrent_grants_of_one_scope_all_succeed_without_database_text() {
    let app = spawn_app().await;
    let Grants { read, relationship, .. } = grants(&app).await;
    let body = many("api_scopes", &[&read]);
    let responses = futures_util::future::join_all((0..6).map(|_| app.post(&relationship, &body))).await;
    for response in &responses {
        no_database_text(response);
        assert_eq!(response.status, 200, "{}", response.text);
    }
    assert_eq!(linked(&app, &relationship).await, vec![read], "granted once");
}

/// Deleting an API resource deletes its scopes, and each scope's version records it.
#[actix_rt::test]
async fn scopes_deleted_with_their_resource_are_versioned() {
    let app = spawn_app().await;
    let org = app.create_organization(json!({"name": "Acme"})).await["id"].as_str().unwrap().to_string();
    let resource = app
        .post("/api/api_resources", &json!({"data": {"type": "api_resources", "attributes": {"name": "Orders", "identifier": "https://api.example.com"},
            "relationships": {"organization": {"data": {"type": "organizations", "id": org}}}}}))
        .await;
    assert_eq!(resource.status, 201, "{}", resource.text);
    let resource = resource.json()["data"]["id"].as_str().unwrap().to_string();
    let scope = app
        .post(
            "/api/api_scopes",
            &json!({"data": {"type": "api_scopes", "attributes": {"name": "orders:read"},
            "relationships": {"api_resource": {"data": {"type": "api_resources", "id": resource}}}}}),
        )
        .await;
    assert_eq!(scope.status, 201, "{}", scope.text);
    let scope = scope.json()["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete(&format!("/api/api_resources/{resource}")).await.status, 204);
    let versions = app
        .get(&format!(
            "/api/versions?filter[q][resource_type_eq]=api_scopes&filter[q][resource_id_eq]={scope}&sort=created_at"
        ))
        .await
        .json();
    let mut events: Vec<&str> =
        versions["data"].as_array().unwrap().iter().map(|v| v["attributes"]["event"].as_str().unwrap()).collect();
    // Both can fall in one millisecond, where created_at cannot order them.
    events.sort();
    assert_eq!(events, ["create", "destroy"]);
}
