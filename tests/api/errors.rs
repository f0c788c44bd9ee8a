//! Errors are always an errors document with a status string and a stable code; nothing a
//! client can send produces a 500.

use awc::http::Method;
use serde_json::json;

use crate::helpers::{spawn_app, MEDIA_TYPE};

#[actix_rt::test]
async fn unknown_routes_get_404_as_an_errors_document() {
    let app = spawn_app().await;
    for path in [
        "/api/nothing",
        "/nothing",
        "/api/organizations/x/y/z/w",
        "/api/organizations/abc/relationships/unknown",
        "/api/organizations/abc/unknown",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, 404, "{path}");
        assert!(response.error()["code"].is_string());
    }
}

#[actix_rt::test]
async fn a_missing_record_gets_404_record_not_found() {
    let app = spawn_app().await;
    for path in [
        "/api/organizations/missing000",
        "/api/organizations/missing000/memberships",
        "/api/organizations/missing000/relationships/roles",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(response.error()["code"], "RECORD_NOT_FOUND");
    }
}

#[actix_rt::test]
async fn unsupported_methods_get_405_with_allow() {
    let app = spawn_app().await;
    let id = app.create_organization(json!({"name": "Acme"})).await["id"].as_str().unwrap().to_string();
    let cases = [
        (Method::DELETE, format!("/api/organizations/{id}"), "GET, HEAD, PATCH"),
        (Method::PUT, format!("/api/organizations/{id}"), "GET, HEAD, PATCH"),
        (Method::DELETE, "/api/organizations".to_string(), "GET, HEAD, POST"),
        (Method::PATCH, "/api/organizations".to_string(), "GET, HEAD, POST"),
    ];
    for (method, path, allow) in cases {
        let request = app.request(method.clone(), &path).insert_header(("content-type", MEDIA_TYPE));
        let response = app.send(request, Some("{}".into())).await;
        assert_eq!(response.status, 405, "{method} {path}: {}", response.text);
        assert_eq!(response.error()["code"], "METHOD_NOT_ALLOWED");
        assert_eq!(response.header("allow").as_deref(), Some(allow));
    }
    assert_eq!(app.organization_count().await, 1);
}

#[actix_rt::test]
async fn malformed_json_gets_400_and_writes_nothing() {
    let app = spawn_app().await;
    for body in ["{", "", "not json", "{\"data\": {\"type\": \"organizations\", \"attributes\": {\"name\": \"A\"}}"] {
        let response = app.raw(Method::POST, "/api/organizations", Some(MEDIA_TYPE), body).await;
        assert_eq!(response.status, 400, "{body:?}: {}", response.text);
        assert_eq!(response.error()["code"], "INVALID_DOCUMENT");
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn a_body_over_one_mebibyte_gets_413_and_writes_nothing() {
    let app = spawn_app().await;
    let big = "x".repeat(1 << 20);
    let body = json!({"data": {"type": "organizations", "attributes": {"name": "Acme", "metadata": {"blob": big}}}});
    let response = app.post("/api/organizations", &body).await;
    assert_eq!(response.status, 413, "{}", &response.text[..response.text.len().min(300)]);
    assert_eq!(response.error()["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn wrong_json_types_get_422_not_500() {
    let app = spawn_app().await;
    for (name, value) in [
        ("name", json!(["x"])),
        ("name", json!({"a": 1})),
        ("metadata", json!("x")),
        ("config", json!(1)),
        ("support_email", json!(true)),
        ("reference", json!(5)),
    ] {
        let mut attributes = json!({"name": "Acme"});
        attributes[name] = value.clone();
        let response =
            app.post("/api/organizations", &json!({"data": {"type": "organizations", "attributes": attributes}})).await;
        assert_eq!(response.status, 422, "{name}={value}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], format!("/data/attributes/{name}"));
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn error_source_has_no_null_members() {
    let app = spawn_app().await;
    let response = app.get("/api/organizations?page[size]=99").await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error()["source"], json!({"parameter": "page[size]"}));
    assert_eq!(response.json()["jsonapi"]["version"], "1.1");
}
