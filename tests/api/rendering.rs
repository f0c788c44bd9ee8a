//! Documents: top-level members, resource links, relationship links that answer, formats.

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_rt::test]
async fn documents_have_data_links_and_jsonapi_version() {
    let app = spawn_app().await;
    let id = app.create_organization(json!({"name": "Acme"})).await["id"].as_str().unwrap().to_string();
    let one = app.get(&format!("/api/organizations/{id}")).await.json();
    assert_eq!(one["jsonapi"], json!({"version": "1.1"}));
    assert_eq!(one["links"]["self"], app.url(&format!("/api/organizations/{id}")));
    assert_eq!(one["data"]["type"], "organizations");
    assert_eq!(one["data"]["links"]["self"], app.url(&format!("/api/organizations/{id}")));
    let list = app.get("/api/organizations").await.json();
    assert_eq!(list["jsonapi"], json!({"version": "1.1"}));
    assert!(list["meta"]["record_count"].is_number());
    assert!(list["links"]["self"].is_string());
    assert_eq!(list["data"][0]["links"]["self"], one["data"]["links"]["self"]);
}

#[actix_rt::test]
async fn every_relationship_has_self_and_related_links_that_answer() {
    let app = spawn_app().await;
    let created = app.create_organization(json!({"name": "Acme"})).await;
    let id = created["id"].as_str().unwrap();
    let relationships = created["relationships"].as_object().unwrap();
    assert_eq!(
        relationships.keys().collect::<Vec<_>>(),
        vec!["memberships", "roles", "permissions", "api_credentials", "versions"]
    );
    for (name, member) in relationships {
        let self_link = member["links"]["self"].as_str().unwrap();
        let related_link = member["links"]["related"].as_str().unwrap();
        assert_eq!(self_link, app.url(&format!("/api/organizations/{id}/relationships/{name}")));
        assert_eq!(related_link, app.url(&format!("/api/organizations/{id}/{name}")));

        let linkage = app.get(self_link.strip_prefix(&app.base).unwrap()).await;
        assert_eq!(linkage.status, 200, "{self_link}: {}", linkage.text);
        let linkage = linkage.json();
        assert_eq!(linkage["links"]["self"], self_link);
        assert_eq!(linkage["links"]["related"], related_link);
        let mut linked: Vec<String> =
            linkage["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();

        let related = app.get(&format!("{}?page[size]=25", related_link.strip_prefix(&app.base).unwrap())).await;
        assert_eq!(related.status, 200, "{related_link}: {}", related.text);
        let related = related.json();
        let mut ids: Vec<String> =
            related["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        linked.sort();
        ids.sort();
        assert_eq!(ids, linked, "{name}: related records and linkage agree");
        assert_eq!(related["meta"]["record_count"], ids.len());
    }
}

#[actix_rt::test]
async fn timestamps_are_iso_8601_utc_with_milliseconds_and_ids_are_ten_url_safe_characters() {
    let app = spawn_app().await;
    let mut ids = std::collections::HashSet::new();
    for i in 0..5 {
        let created = app.create_organization(json!({"name": format!("Org {i}")})).await;
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(id.len(), 10, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
        assert!(ids.insert(id));
        for name in ["created_at", "updated_at"] {
            let value = created["attributes"][name].as_str().unwrap();
            // 2018-01-01T12:00:00.000Z
            assert_eq!(value.len(), 24, "{value}");
            assert!(value.ends_with('Z') && value.as_bytes()[19] == b'.', "{value}");
            assert!(chrono::DateTime::parse_from_rfc3339(value).is_ok(), "{value}");
        }
    }
}

#[actix_rt::test]
async fn attributes_render_in_a_stable_order() {
    let app = spawn_app().await;
    let created = app.create_organization(json!({"name": "Acme"})).await;
    let keys: Vec<&String> = created["attributes"].as_object().unwrap().keys().collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("name"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("metadata"));
}
