//! Organization rules: derived slug and domain, defaults, value checks.

use serde_json::json;

use crate::helpers::spawn_app;

#[actix_rt::test]
async fn slug_and_domain_are_derived_and_unique() {
    let app = spawn_app().await;
    let first = app.create_organization(json!({"name": "The Blue Brand!"})).await;
    let second = app.create_organization(json!({"name": "the blue brand"})).await;
    assert_eq!(first["attributes"]["slug"], "the-blue-brand");
    assert_eq!(first["attributes"]["domain"], "the-blue-brand.localhost");
    assert_eq!(second["attributes"]["slug"], "the-blue-brand-2");
    assert_eq!(second["attributes"]["domain"], "the-blue-brand-2.localhost");
}

#[actix_rt::test]
async fn concurrent_creates_with_one_name_all_succeed_with_distinct_slugs() {
    let app = spawn_app().await;
    let creates = (0..50).map(|_| app.create_organization(json!({"name": "Rush"})));
    let created = futures_util::future::join_all(creates).await;
    let mut slugs: Vec<String> =
        created.iter().map(|o| o["attributes"]["slug"].as_str().unwrap().to_string()).collect();
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 50, "{slugs:?}");
}

#[actix_rt::test]
async fn defaults_and_accepted_values() {
    let app = spawn_app().await;
    let created = app
        .create_organization(json!({
            "name": "Acme", "support_phone": "+01 30800857", "support_email": "support@acme.test",
            "logo_url": "https://acme.test/logo.svg", "favicon_url": "https://acme.test/favicon.ico",
            "primary_color": "#c8984e", "contrast_color": "#FFFFCC", "gtm_id": "GTM-5FJXX6", "gtm_id_test": "GTM-5FJXX7",
            "config": {"mfe": {"language": "it-IT"}}, "reference": "ext-1", "reference_origin": "crm", "metadata": {"k": "v"}
        }))
        .await;
    let a = &created["attributes"];
    assert_eq!(a["region"], "eu-west-1");
    assert_eq!(a["can_switch_live"], false);
    assert_eq!(a["primary_color"], "#C8984E");
    assert_eq!(a["config"], json!({"mfe": {"language": "it-IT"}}));
    assert_eq!(a["metadata"], json!({"k": "v"}));
    assert_eq!(a["reference_origin"], "crm");
    let bare = app.create_organization(json!({"name": "Bare", "region": "us-east-1"})).await;
    assert_eq!(bare["attributes"]["metadata"], json!({}));
    assert_eq!(bare["attributes"]["region"], "us-east-1");
    assert_eq!(bare["attributes"]["config"], serde_json::Value::Null);
}

#[actix_rt::test]
async fn names_refuse_markup_control_characters_and_excess() {
    let app = spawn_app().await;
    for name in ["<script>alert(1)</script>", "bell\u{7}", "   ", &"x".repeat(256)] {
        let response = app
            .post("/api/organizations", &json!({"data": {"type": "organizations", "attributes": {"name": name}}}))
            .await;
        assert_eq!(response.status, 422, "{name:?}");
        assert_eq!(response.error()["source"]["pointer"], "/data/attributes/name");
    }
    assert_eq!(app.organization_count().await, 0);
}
