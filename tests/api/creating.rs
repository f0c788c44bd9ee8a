//! JSON:API 1.1 §9.1: creating resources.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[actix_rt::test]
async fn create_answers_201_with_location_equal_to_self_link() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/organizations",
            &json!({"data": {"type": "organizations", "attributes": {"name": "The Blue Brand"}}}),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = response.json();
    let self_link = body["data"]["links"]["self"].as_str().unwrap();
    assert_eq!(response.header("location").as_deref(), Some(self_link));
    assert_eq!(self_link, app.url(&format!("/api/organizations/{}", body["data"]["id"].as_str().unwrap())));
    // The created resource is really there.
    let fetched = app.get(&format!("/api/organizations/{}", body["data"]["id"].as_str().unwrap())).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json()["data"]["attributes"]["name"], "The Blue Brand");
}

#[actix_rt::test]
async fn a_client_generated_id_gets_403() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/organizations",
            &json!({"data": {"type": "organizations", "id": "abcdefghij", "attributes": {"name": "Acme"}}}),
        )
        .await;
    assert_eq!(response.status, 403);
    let error = response.error();
    assert_eq!(error["code"], "FORBIDDEN");
    assert_eq!(error["source"]["pointer"], "/data/id");
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn a_type_other_than_the_endpoints_gets_409() {
    let app = spawn_app().await;
    let response =
        app.post("/api/organizations", &json!({"data": {"type": "roles", "attributes": {"name": "Acme"}}})).await;
    assert_eq!(response.status, 409);
    let error = response.error();
    assert_eq!(error["code"], "CONFLICT");
    assert_eq!(error["source"]["pointer"], "/data/type");
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn a_missing_required_attribute_gets_422_with_a_pointer() {
    let app = spawn_app().await;
    // JSON:API 1.1: a pointer names what is in the request: a missing member is reported at
    // its parent, a null one at itself.
    for (attributes, pointer) in [(json!({}), "/data/attributes"), (json!({"name": null}), "/data/attributes/name")] {
        let response =
            app.post("/api/organizations", &json!({"data": {"type": "organizations", "attributes": attributes}})).await;
        assert_eq!(response.status, 422, "{}", response.text);
        let error = response.error();
        assert_eq!(error["code"], "VALIDATION_ERROR");
        assert_eq!(error["source"]["pointer"], pointer);
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn unknown_or_read_only_attributes_get_400_with_a_pointer() {
    let app = spawn_app().await;
    for (name, value) in [
        ("colour", json!("#FFFFFF")),
        ("slug", json!("mine")),
        ("can_switch_live", json!(true)),
        ("created_at", json!("2020-01-01T00:00:00Z")),
    ] {
        let mut attributes = json!({"name": "Acme"});
        attributes[name] = value;
        let response =
            app.post("/api/organizations", &json!({"data": {"type": "organizations", "attributes": attributes}})).await;
        assert_eq!(response.status, 400, "{name}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], format!("/data/attributes/{name}"));
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn invalid_values_get_422_each_with_its_pointer_and_nothing_is_written() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/organizations",
            &json!({"data": {"type": "organizations", "attributes": {
                "name": "Acme", "primary_color": "red", "support_email": "nobody", "logo_url": "javascript:alert(1)",
                "metadata": ["not", "an", "object"], "config": "{}", "region": 7
            }}}),
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.text);
    let pointers: Vec<String> = response.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"]["pointer"].as_str().unwrap().to_string())
        .collect();
    for name in ["primary_color", "support_email", "logo_url", "metadata", "config", "region"] {
        assert!(pointers.contains(&format!("/data/attributes/{name}")), "{name} missing from {pointers:?}");
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn documents_of_the_wrong_shape_get_400() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), ""),
        (json!({"meta": {}}), "/data"),
        (json!({"data": []}), "/data"),
        (json!({"data": {"attributes": {"name": "Acme"}}}), "/data/type"),
        (json!({"data": {"type": 1, "attributes": {"name": "Acme"}}}), "/data/type"),
        (json!({"data": {"type": "organizations", "attributes": "name"}}), "/data/attributes"),
        (
            json!({"data": {"type": "organizations", "attributes": {"name": "A"}, "relationships": []}}),
            "/data/relationships",
        ),
    ];
    for (document, pointer) in cases {
        let response = app.post("/api/organizations", &document).await;
        assert_eq!(response.status, 400, "{document}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], pointer, "{document}");
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn relationships_that_cannot_be_set_get_400() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/organizations",
            &json!({"data": {"type": "organizations", "attributes": {"name": "Acme"},
            "relationships": {"roles": {"data": []}}}}),
        )
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/roles");
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn create_supports_include_and_fields() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/organizations?include=roles&fields[organizations]=name,roles&fields[roles]=kind",
            &json!({"data": {"type": "organizations", "attributes": {"name": "Acme"}}}),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = response.json();
    assert_eq!(body["data"]["attributes"], json!({"name": "Acme"}));
    let linkage = body["data"]["relationships"]["roles"]["data"].as_array().unwrap().clone();
    let included = body["included"].as_array().unwrap();
    assert_eq!(linkage.len(), 2, "the built-in roles");
    let mut kinds: Vec<&str> = included.iter().map(|r| r["attributes"]["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["admin", "read_only"]);
    for role in included {
        assert_eq!(role["attributes"].as_object().unwrap().len(), 1, "fields[roles]=kind");
        assert!(linkage.contains(&json!({"type": "roles", "id": role["id"]})));
    }
    // A query parameter a single resource does not take is refused before anything is written.
    let response = app
        .post(
            "/api/organizations?page[size]=2",
            &json!({"data": {"type": "organizations", "attributes": {"name": "Other"}}}),
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error()["source"]["parameter"], "page[size]");
    assert_eq!(app.organization_count().await, 1);
}

#[actix_rt::test]
async fn the_readme_fixture_creates_an_organization() {
    let app = spawn_app().await;
    let fixture: Value =
        serde_json::from_str(include_str!("../../fixtures/organization-create.json")).expect("fixture is JSON");
    let response = app.post("/api/organizations", &fixture).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.json()["data"]["attributes"]["slug"], "the-blue-brand");
}
