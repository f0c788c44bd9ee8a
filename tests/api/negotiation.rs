//! JSON:API 1.1 §5: media type rules.

use awc::http::Method;
use serde_json::json;

use crate::helpers::{spawn_app, MEDIA_TYPE};

fn document() -> String {
    json!({"data": {"type": "organizations", "attributes": {"name": "Acme"}}}).to_string()
}

#[actix_rt::test]
async fn responses_carry_the_json_api_media_type() {
    let app = spawn_app().await;
    let response = app.get("/api/organizations").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type").as_deref(), Some(MEDIA_TYPE));
    let missing = app.get("/api/organizations/nope").await;
    assert_eq!(missing.header("content-type").as_deref(), Some(MEDIA_TYPE));
}

#[actix_rt::test]
async fn a_body_of_another_media_type_gets_415_and_writes_nothing() {
    let app = spawn_app().await;
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let response = app.raw(Method::POST, "/api/organizations", content_type, &document()).await;
        assert_eq!(response.status, 415, "{content_type:?}: {}", response.text);
        assert_eq!(response.error()["code"], "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn media_type_parameters_other_than_ext_and_profile_get_415() {
    let app = spawn_app().await;
    let with_charset = format!("{MEDIA_TYPE}; charset=utf-8");
    let response = app.raw(Method::POST, "/api/organizations", Some(&with_charset), &document()).await;
    assert_eq!(response.status, 415);
    // An extension this server does not support is refused too (JSON:API 1.1 §5.2).
    let with_ext = format!("{MEDIA_TYPE}; ext=\"https://example.com/ext/bulk\"");
    let response = app.raw(Method::POST, "/api/organizations", Some(&with_ext), &document()).await;
    assert_eq!(response.status, 415);
    // A profile is fine.
    let with_profile = format!("{MEDIA_TYPE}; profile=\"https://example.com/profile\"");
    let response = app.raw(Method::POST, "/api/organizations", Some(&with_profile), &document()).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(app.organization_count().await, 1);
}

#[actix_rt::test]
async fn accept_with_only_parameterised_json_api_instances_gets_406() {
    let app = spawn_app().await;
    let accept = |value: &'static str| app.request(Method::GET, "/api/organizations").insert_header(("accept", value));
    let response = app.send(accept("application/vnd.api+json; charset=utf-8"), None).await;
    assert_eq!(response.status, 406);
    assert_eq!(response.error()["code"], "NOT_ACCEPTABLE");
    let response = app.send(accept("application/vnd.api+json; charset=utf-8, application/vnd.api+json"), None).await;
    assert_eq!(response.status, 200);
    let response = app.send(accept("application/vnd.api+json; q=0.8"), None).await;
    assert_eq!(response.status, 200);
    let response = app.send(accept("*/*"), None).await;
    assert_eq!(response.status, 200);
}
