//! JSON:API 1.1 §9.2: updating resources.

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_rt::test]
async fn attributes_not_sent_keep_their_values() {
    let app = spawn_app().await;
    let created = app
        .create_organization(json!({"name": "Acme", "support_email": "help@acme.test", "primary_color": "#112233", "metadata": {"tier": "gold"}}))
        .await;
    let id = created["id"].as_str().unwrap();
    let response = app
        .patch(&format!("/api/organizations/{id}"), &json!({"data": {"type": "organizations", "id": id, "attributes": {"name": "Acme Corp", "primary_color": null}}}))
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let attributes = response.json()["data"]["attributes"].clone();
    assert_eq!(attributes["name"], "Acme Corp");
    assert_eq!(attributes["primary_color"], serde_json::Value::Null);
    assert_eq!(attributes["support_email"], "help@acme.test");
    assert_eq!(attributes["metadata"], json!({"tier": "gold"}));
    assert_eq!(attributes["slug"], created["attributes"]["slug"], "the slug stays");
    assert_eq!(attributes["created_at"], created["attributes"]["created_at"]);
    // And it is stored, not just echoed.
    let fetched = app.get(&format!("/api/organizations/{id}")).await.json();
    assert_eq!(fetched["data"]["attributes"], attributes);
}

#[actix_rt::test]
async fn an_id_or_type_not_matching_the_url_gets_409() {
    let app = spawn_app().await;
    let created = app.create_organization(json!({"name": "Acme"})).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/organizations/{id}");
    let response = app
        .patch(&path, &json!({"data": {"type": "organizations", "id": "otherIdXYZ", "attributes": {"name": "X"}}}))
        .await;
    assert_eq!(response.status, 409);
    assert_eq!(response.error()["source"]["pointer"], "/data/id");
    let response =
        app.patch(&path, &json!({"data": {"type": "memberships", "id": id, "attributes": {"name": "X"}}})).await;
    assert_eq!(response.status, 409);
    assert_eq!(response.error()["source"]["pointer"], "/data/type");
    let response = app.patch(&path, &json!({"data": {"type": "organizations", "attributes": {"name": "X"}}})).await;
    assert_eq!(response.status, 400, "an update document needs its id");
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["name"], "Acme");
}

#[actix_rt::test]
async fn non_updatable_attributes_get_400_and_change_nothing() {
    let app = spawn_app().await;
    let created = app.create_organization(json!({"name": "Acme"})).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/organizations/{id}");
    for (name, value) in [
        ("region", json!("us-east-1")),
        ("slug", json!("x")),
        ("domain", json!("x.test")),
        ("updated_at", json!("2020-01-01T00:00:00Z")),
    ] {
        let response = app
            .patch(
                &path,
                &json!({"data": {"type": "organizations", "id": id, "attributes": {"name": "Changed", name: value}}}),
            )
            .await;
        assert_eq!(response.status, 400, "{name}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], format!("/data/attributes/{name}"));
    }
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["name"], "Acme");
}

#[actix_rt::test]
async fn invalid_updates_get_422_and_change_nothing() {
    let app = spawn_app().await;
    let created = app.create_organization(json!({"name": "Acme"})).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/organizations/{id}");
    for (name, value) in [
        ("name", json!(null)),
        ("name", json!("")),
        ("name", json!(42)),
        ("contrast_color", json!("#12")),
        ("gtm_id", json!("nope")),
    ] {
        let response = app
            .patch(&path, &json!({"data": {"type": "organizations", "id": id, "attributes": {"support_phone": "+1 555 0100", name: value}}}))
            .await;
        assert_eq!(response.status, 422, "{name}={value}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], format!("/data/attributes/{name}"));
    }
    let attributes = app.get(&path).await.json()["data"]["attributes"].clone();
    assert_eq!(attributes["name"], "Acme");
    assert_eq!(attributes["support_phone"], serde_json::Value::Null);
}

#[actix_rt::test]
async fn updating_a_missing_record_gets_404() {
    let app = spawn_app().await;
    let response = app
        .patch(
            "/api/organizations/missing000",
            &json!({"data": {"type": "organizations", "id": "missing000", "attributes": {"name": "X"}}}),
        )
        .await;
    assert_eq!(response.status, 404);
    assert_eq!(response.error()["code"], "RECORD_NOT_FOUND");
}

#[actix_rt::test]
async fn update_supports_include() {
    let app = spawn_app().await;
    let id = app.create_organization(json!({"name": "Acme"})).await["id"].as_str().unwrap().to_string();
    let response = app
        .patch(
            &format!("/api/organizations/{id}?include=memberships,api_credentials"),
            &json!({"data": {"type": "organizations", "id": id, "attributes": {}}}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let body = response.json();
    let included = body["included"].as_array().unwrap();
    assert_eq!(included.len(), 1, "the owner's membership");
    assert_eq!(included[0]["attributes"]["owner"], true);
    assert_eq!(
        body["data"]["relationships"]["memberships"]["data"],
        json!([{"type": "memberships", "id": included[0]["id"]}])
    );
    assert_eq!(body["data"]["relationships"]["api_credentials"]["data"], json!([]));
}
