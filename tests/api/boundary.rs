//! Text at the boundary (issue 12, item 1): a NUL or broken UTF-8 anywhere a client can put
//! text (path, query parameter, attribute, a string deep inside `metadata`, OAuth parameters
//! in JSON, form or Basic) is refused with a clear error and changes nothing, the same on both
//! backends (PostgreSQL used to answer 500; SQLite matched every record).

use awc::http::Method;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, MEDIA_TYPE};

#[actix_rt::test]
async fn a_nul_or_broken_utf8_in_the_request_line_is_a_400() {
    let app = spawn_app().await;
    app.create_organization(json!({"name": "Acme"})).await;
    let response = app.get("/api/organizations/%00").await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.error()["code"], "INVALID_PATH");
    for (query, parameter) in [
        ("filter[ids]=%00", "filter[ids]"),
        ("filter[q][name_cont]=a%00", "filter[q][name_cont]"),
        ("filter[q][name_eq]=%FF%FE", "filter[q][name_eq]"),
        ("filter[q][metadata_jcont]=%7B%22a%22%3A%22%5Cu0000%22%7D", "filter[q][metadata_jcont]"),
        ("sort=na%00me", "sort"),
    ] {
        // (The jcont value is JSON whose string holds a \u0000 escape: the NUL appears only once
        // the filter's JSON is read.)
        let response = app.get(&format!("/api/organizations?{query}")).await;
        assert_eq!(response.status, 400, "{query}: {}", response.text);
        assert_eq!(response.error()["source"]["parameter"], parameter, "{query}");
    }
}

#[actix_rt::test]
async fn a_nul_in_a_document_is_refused_at_its_pointer_and_writes_nothing() {
    let app = spawn_app().await;
    let organization = app.create_organization(json!({"name": "Acme"})).await;
    let id = organization["id"].as_str().unwrap().to_string();
    for (attributes, pointer) in [
        (json!({"name": "Other", "logo_url": "https://example.com/\u{0}.png"}), "/data/attributes/logo_url"),
        (json!({"name": "Other", "metadata": {"note": "a\u{0}b"}}), "/data/attributes/metadata/note"),
        (json!({"name": "Oth\u{0}er"}), "/data/attributes/name"),
    ] {
        let response =
            app.post("/api/organizations", &json!({"data": {"type": "organizations", "attributes": attributes}})).await;
        assert_eq!(response.status, 422, "{}", response.text);
        assert_eq!(response.error()["source"]["pointer"], pointer);
    }
    assert_eq!(app.organization_count().await, 1, "nothing was written");
    let update = json!({"data": {"type": "organizations", "id": id, "attributes": {"metadata": {"k\u{0}": 1}}}});
    let response = app.patch(&format!("/api/organizations/{id}"), &update).await;
    assert_eq!(response.status, 422, "{}", response.text);
    // Outside the attributes: a 400 at the member.
    let roles = json!({"data": {"type": "roles", "attributes": {"name": "Support"},
        "relationships": {"organization": {"data": {"type": "organizations", "id": "x\u{0}"}}}}});
    let response = app.post("/api/roles", &roles).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/organization/data/id");
    // Another tenant's filter keeps working.
    let response = app.get("/api/organizations?filter[q][metadata_jcont]=%7B%22plan%22%3A%22growth%22%7D").await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[actix_rt::test]
async fn a_nul_in_oauth_parameters_is_invalid_request() {
    let app = spawn_app().await;
    let post = |content_type: &str| {
        app.anonymous(Method::POST, "/oauth/token").insert_header(("content-type", content_type.to_string()))
    };
    let json_body =
        json!({"grant_type": "client_credentials", "client_id": "a\u{0}b", "client_secret": "x"}).to_string();
    let form_body = "grant_type=client_credentials&client_id=a%00b&client_secret=x".to_string();
    let basic = base64::engine::general_purpose::STANDARD.encode("a\u{0}b:x");
    for request in [
        app.send(post("application/json"), Some(json_body)).await,
        app.send(post("application/x-www-form-urlencoded"), Some(form_body)).await,
        app.send(
            post("application/x-www-form-urlencoded").insert_header(("authorization", format!("Basic {basic}"))),
            Some("grant_type=client_credentials".into()),
        )
        .await,
        app.send(app.anonymous(Method::POST, "/oauth/token?x=%00"), Some(String::new())).await,
    ] {
        assert_eq!(request.status, 400, "{}", request.text);
        let body: Value = request.json();
        assert_eq!(body["error"], "invalid_request", "{}", request.text);
        assert!(body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{}", request.text);
    }
}

#[actix_rt::test]
async fn resend_takes_no_body_or_a_json_object() {
    let app = spawn_app().await;
    let organization = app.create_organization(json!({"name": "Acme"})).await;
    let organization = organization["id"].as_str().unwrap();
    let roles = app.get(&format!("/api/organizations/{organization}/roles")).await.json();
    let role = roles["data"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"data": {"type": "memberships", "attributes": {"user_email": "bob@example.com"},
        "relationships": {"organization": {"data": {"type": "organizations", "id": organization}},
        "role": {"data": {"type": "roles", "id": role}}}}});
    let membership = app.post("/api/memberships", &body).await.json()["data"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/memberships/{membership}/resend");
    let response = app.raw(Method::POST, &path, Some(MEDIA_TYPE), "{not json").await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(app.mails_to("bob@example.com").len(), 1, "nothing was sent again");
    assert_eq!(app.raw(Method::POST, &path, Some(MEDIA_TYPE), "").await.status, 202, "no body");
    assert_eq!(app.post(&path, &json!({"data": {}})).await.status, 202);
    assert_eq!(app.mails_to("bob@example.com").len(), 3);
}

/// Queries are bounded well under either database's limits (issue 12, item 2): each bound is
/// a 400 naming the parameter, and what fits under them works on both backends.
#[actix_rt::test]
async fn queries_are_bounded_and_what_fits_works() {
    let app = spawn_app().await;
    app.create_organization(json!({"name": "Acme"})).await;
    let names: Vec<String> = (0..500).map(|i| format!("name-{i}")).collect();
    let fits = app.get(&format!("/api/organizations?filter[q][name_in]={}", names.join(","))).await;
    assert_eq!(fits.status, 200, "{}", fits.text);
    let many_filters: Vec<String> = (0..21).map(|i| format!("filter[q][name_not_eq]=x{i}")).collect();
    let long_or = format!("filter[q][{}_cont]=a", ["name"; 9].join("_or_"));
    let short: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let values = (0..3).map(|i| format!("filter[q][{}_in]={}", ["name", "slug", "domain"][i], short.join(",")));
    let cases = [
        (many_filters.join("&"), "filter[q][name_not_eq]"),
        (long_or.clone(), long_or.split('=').next().unwrap()),
        (values.collect::<Vec<_>>().join("&"), "filter[q][domain_in]"),
        ("sort=name,name,name,name,name,name,name,name,name".to_string(), "sort"),
        (format!("include={}", ["roles"; 11].join(",")), "include"),
        ("include=roles.organization.roles.organization".to_string(), "include"),
        (format!("fields[organizations]={}", ["name"; 65].join(",")), "fields[organizations]"),
    ];
    for (query, parameter) in cases {
        let response = app.get(&format!("/api/organizations?{query}")).await;
        assert_eq!(response.status, 400, "{parameter}: {}", response.text);
        assert_eq!(response.error()["source"]["parameter"], parameter);
    }
    let response = app.get(&format!("/api/organizations?filter[q][name_cont]={}", "a".repeat(9_000))).await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.error()["code"], "QUERY_TOO_LONG");
}

/// Every refusal on `/oauth` is an OAuth error with `error` and an `errors` array, whatever
/// refused it (issue 12, item 3); under `/api`, a JSON:API errors document.
#[actix_rt::test]
async fn refusals_take_the_shape_of_their_path() {
    let app = spawn_app().await;
    let big = "a".repeat(2 << 20);
    let cases = [
        (app.send(app.anonymous(Method::GET, "/oauth/token"), None).await, 405),
        (app.send(app.anonymous(Method::POST, "/oauth/nothing-here"), None).await, 404),
        (
            app.send(
                app.anonymous(Method::POST, "/oauth/token").insert_header(("content-type", "application/json")),
                Some(big.clone()),
            )
            .await,
            413,
        ),
        (app.send(app.anonymous(Method::GET, "/oauth/revoke"), None).await, 405),
    ];
    for (response, status) in cases {
        assert_eq!(response.status, status, "{}", response.text);
        let body = response.json();
        assert!(body["error"].is_string(), "{}", response.text);
        assert_eq!(body["errors"][0]["status"], status.to_string(), "{}", response.text);
    }
    let allow = app.send(app.anonymous(Method::GET, "/oauth/token"), None).await.header("allow");
    assert_eq!(allow.as_deref(), Some("POST"));
    let response = app.raw(Method::POST, "/api/organizations", Some(MEDIA_TYPE), &big).await;
    assert_eq!(response.status, 413, "{}", response.text);
    assert_eq!(response.error()["code"], "PAYLOAD_TOO_LARGE");
    let response = app.get("/api/nothing-here").await;
    assert_eq!(response.status, 404);
    assert_eq!(response.error()["code"], "NOT_FOUND");
}
