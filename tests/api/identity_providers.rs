//! `identity_providers` (issue 10, item 3): Commerce Layer's wire format, scoped to the
//! organization the `organization` attribute names, the client secret sealed and never shown,
//! `_disable` and `_enable`, versions of every write.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

fn attributes(organization: &str) -> Value {
    json!({
        "name": "Acme IdP",
        "client_id": "acme-client",
        "client_secret": "upstream-secret-7Yq2",
        "issuer": "https://idp.acme.test/",
        "domains": "acme.test, Staff.Acme.test.,acme.test",
        "authorize_url": "https://idp.acme.test/authorize",
        "token_url": "https://idp.acme.test/oauth/token",
        "jwks_url": "https://idp.acme.test/.well-known/jwks.json",
        "organization": organization,
        "reference": "idp-1",
    })
}

fn document(attributes: Value) -> Value {
    json!({"data": {"type": "identity_providers", "attributes": attributes}})
}

async fn new_organization(app: &TestApp, name: &str) -> String {
    app.create_organization(json!({ "name": name })).await["id"].as_str().unwrap().to_string()
}

/// How many text cells of the database hold `needle`.
async fn cells_holding(app: &TestApp, needle: &str) -> i64 {
    let (url, needle) = (app.database_url.clone(), needle.to_string());
    actix_web::rt::task::spawn_blocking(move || crate::sealed::cells_holding(&url, &needle)).await.unwrap()
}

#[actix_rt::test]
async fn identity_providers_are_created_read_updated_disabled_enabled_and_deleted_with_versions() {
    let app = spawn_app().await;
    let organization = new_organization(&app, "Acme").await;
    let created = app.post("/api/identity_providers", &document(attributes(&organization))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let data = created.json()["data"].clone();
    let id = data["id"].as_str().unwrap().to_string();
    let shown = &data["attributes"];
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["domains"], "acme.test,staff.acme.test", "normalized, each once");
    assert_eq!(shown["organization"], organization.as_str());
    assert!(shown["txt_record"].as_str().unwrap().starts_with("provisioning-verification="));
    assert_eq!(shown["disabled_at"], Value::Null);
    assert!(shown.get("client_secret").is_none(), "never rendered: {shown}");
    let user_id = app.get("/api/user").await.json()["data"]["id"].clone();
    assert_eq!(data["relationships"]["user"]["data"], json!({"type": "users", "id": user_id}));

    // Sealed: the secret is nowhere in the database in clear.
    assert_eq!(cells_holding(&app, "upstream-secret-7Yq2").await, 0);
    assert_eq!(cells_holding(&app, "sealed:v1:").await, 2, "the signing key and this secret");

    let listed = app.get(&format!("/api/identity_providers?filter[q][organization_eq]={organization}")).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json()["data"].as_array().unwrap().len(), 1);
    let fetched = app.get(&format!("/api/identity_providers/{id}?include=user")).await;
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert_eq!(fetched.json()["included"][0]["id"], user_id);

    let path = format!("/api/identity_providers/{id}");
    let patch = |attributes: Value| json!({"data": {"type": "identity_providers", "id": id, "attributes": attributes}});
    let renamed = app.patch(&path, &patch(json!({"name": "Acme SSO", "client_secret": "rotated-secret-9Pz"}))).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.json()["data"]["attributes"]["name"], "Acme SSO");
    assert_eq!(cells_holding(&app, "rotated-secret-9Pz").await, 0);
    let disabled = app.patch(&path, &patch(json!({"_disable": true}))).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert!(disabled.json()["data"]["attributes"]["disabled_at"].is_string());
    let enabled = app.patch(&path, &patch(json!({"_enable": true}))).await;
    assert_eq!(enabled.json()["data"]["attributes"]["disabled_at"], Value::Null);
    // Other domains are to be verified again.
    let moved = app.patch(&path, &patch(json!({"domains": "acme.example"}))).await;
    assert_eq!(moved.json()["data"]["attributes"]["status"], "pending");

    let versions = app.get(&format!("{path}/versions?sort=created_at")).await.json();
    let events: Vec<&str> =
        versions["data"].as_array().unwrap().iter().map(|v| v["attributes"]["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["create", "update", "disable", "enable", "update"]);
    let text = versions.to_string();
    assert!(!text.contains("secret"), "no secret, not even sealed, in the audit trail: {text}");

    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(app.get(&path).await.status, 404);
}

#[actix_rt::test]
async fn identity_providers_refuse_bad_values_and_stay_in_their_organization() {
    let app = spawn_app().await;
    let organization = new_organization(&app, "Acme").await;
    let post = |attributes: Value| {
        let app = &app;
        async move { app.post("/api/identity_providers", &document(attributes)).await }
    };
    let with = |name: &str, value: Value| {
        let mut attributes = attributes(&organization);
        attributes[name] = value;
        attributes
    };
    for (name, value) in [
        ("domains", json!("not a domain")),
        ("domains", json!("acme.test,-bad-.test")),
        ("domains", json!("localhost")),
        ("jwks_url", json!("ftp://idp.acme.test/keys")),
        ("issuer", json!("idp.acme.test")),
        ("name", json!("<b>Acme</b>")),
        ("client_secret", Value::Null),
        ("client_secret", json!("")),
    ] {
        let response = post(with(name, value.clone())).await;
        assert_eq!(response.status, 422, "{name}={value}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], format!("/data/attributes/{name}"), "{name}");
    }
    let mut missing = attributes(&organization);
    missing.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(post(missing).await.status, 422);
    let both = post(
        with("_disable", json!(true))
            .as_object()
            .map(|a| {
                let mut a = a.clone();
                a.insert("_enable".into(), json!(true));
                Value::Object(a)
            })
            .unwrap(),
    )
    .await;
    assert_eq!(both.status, 422, "{}", both.text);

    // An organization that does not exist, or is not the caller's: 404, nothing made.
    assert_eq!(post(with("organization", json!("nowhere"))).await.status, 404);
    let (_, outsider) = app.user("outsider@example.com").await;
    let theirs = app
        .write_as(
            &outsider,
            Method::POST,
            "/api/organizations",
            &json!({"data": {"type": "organizations", "attributes": {"name": "Theirs"}}}),
        )
        .await
        .json()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(post(with("organization", json!(theirs))).await.status, 404);

    let created = post(attributes(&organization)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/identity_providers/{id}");
    // Another organization's members do not see it.
    assert_eq!(app.get_as(&outsider, &path).await.status, 404);
    assert_eq!(app.get_as(&outsider, "/api/identity_providers").await.json()["data"], json!([]));
    // It cannot move to another organization (`organization` is set on create only).
    let mine = new_organization(&app, "Mine too").await;
    let moved = app
        .patch(&path, &json!({"data": {"type": "identity_providers", "id": id, "attributes": {"organization": mine}}}))
        .await;
    assert_eq!(moved.status, 400, "{}", moved.text);
    // The secret is neither a field, a filter nor a sort.
    for query in ["fields[identity_providers]=client_secret", "filter[q][client_secret_eq]=x", "sort=client_secret"] {
        let response = app.get(&format!("/api/identity_providers?{query}")).await;
        assert_eq!(response.status, 400, "{query}: {}", response.text);
    }
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["name"], "Acme IdP");
}

#[actix_rt::test]
async fn identity_providers_need_a_token_and_a_role_that_allows_the_action() {
    let app = spawn_app().await;
    let organization = new_organization(&app, "Acme").await;
    let created = app.post("/api/identity_providers", &document(attributes(&organization))).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/identity_providers/{id}");
    let update = json!({"data": {"type": "identity_providers", "id": id, "attributes": {"name": "Nope"}}});
    let operations = [
        (Method::GET, "/api/identity_providers".to_string(), None),
        (Method::POST, "/api/identity_providers".to_string(), Some(document(attributes(&organization)))),
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(update.clone())),
        (Method::DELETE, path.clone(), None),
    ];
    for (method, path, body) in &operations {
        let request = app.anonymous(method.clone(), path).insert_header(("content-type", "application/vnd.api+json"));
        let response = app.send(request, body.as_ref().map(Value::to_string)).await;
        assert_eq!(response.status, 401, "{method} {path}: {}", response.text);
    }

    // A read-only member reads it, and may not create, change or delete one: 403.
    let roles = app.get(&format!("/api/organizations/{organization}/roles")).await.json();
    let read_only = roles["data"].as_array().unwrap().iter().find(|r| r["attributes"]["kind"] == "read_only").unwrap()
        ["id"]
        .clone();
    let (_, reader) = app.user("reader@acme.test").await;
    let membership = json!({"data": {"type": "memberships", "attributes": {"user_email": "reader@acme.test"},
        "relationships": {"organization": {"data": {"type": "organizations", "id": organization}},
                          "role": {"data": {"type": "roles", "id": read_only}}}}});
    assert_eq!(app.post("/api/memberships", &membership).await.status, 201);
    assert_eq!(app.get_as(&reader, &path).await.status, 200);
    for (method, path, body) in &operations[1..] {
        if *method == Method::GET {
            continue;
        }
        let response = app.write_as(&reader, method.clone(), path, body.as_ref().unwrap_or(&Value::Null)).await;
        assert_eq!(response.status, 403, "{method} {path}: {}", response.text);
    }
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["name"], "Acme IdP", "nothing changed");
    let count = app.get("/api/identity_providers").await.json()["meta"]["record_count"].clone();
    assert_eq!(count, 1);
}

#[actix_rt::test]
async fn verify_looks_up_each_domains_txt_records_through_dns_resolver() {
    let zone = crate::dns::Zone::start().await;
    let resolver = provisioning::cli::DnsServer(zone.address);
    let app = spawn_app_with(|s| s.dns_resolver = Some(resolver)).await;
    let organization = new_organization(&app, "Acme").await;
    let mut given = attributes(&organization);
    given["domains"] = json!("acme.test,staff.acme.test");
    let created = app.post("/api/identity_providers", &document(given)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let data = created.json()["data"].clone();
    let (id, txt_record) = (data["id"].as_str().unwrap().to_string(), data["attributes"]["txt_record"].clone());
    let txt_record = txt_record.as_str().unwrap();
    assert_eq!(data["attributes"]["verification_error"], Value::Null);
    let path = format!("/api/identity_providers/{id}");
    let patch = |attributes: Value| json!({"data": {"type": "identity_providers", "id": id, "attributes": attributes}});
    let verify_document = patch(json!({"_verify": true}));
    let verify = || app.patch(&path, &verify_document);

    // Nothing published yet.
    let checked = verify().await;
    assert_eq!(checked.status, 200, "{}", checked.text);
    let shown = &checked.json()["data"]["attributes"];
    assert_eq!(shown["status"], "error");
    let why = shown["verification_error"].as_str().unwrap();
    assert!(why.contains("acme.test publishes no TXT record"), "{why}");

    // One domain right, the other with only an unrelated record: still an error, naming it.
    zone.publish("staff.acme.test", txt_record).await;
    zone.publish("acme.test", "v=spf1 -all").await;
    let shown = verify().await.json()["data"]["attributes"].clone();
    assert_eq!(shown["status"], "error");
    let why = shown["verification_error"].as_str().unwrap();
    assert!(why.starts_with("acme.test publishes no TXT record provisioning-verification="), "{why}");
    assert!(why.contains("v=spf1 -all") && !why.contains("staff"), "{why}");

    // Both publish it (acme.test beside its other record): verified.
    zone.publish("acme.test", txt_record).await;
    let shown = verify().await.json()["data"]["attributes"].clone();
    assert_eq!(shown["status"], "verified", "{shown}");
    assert_eq!(shown["verification_error"], Value::Null);

    // New domains must be verified again; `_verify` with them checks the new ones.
    let moved = app.patch(&path, &patch(json!({"domains": "acme.test,new.acme.test"}))).await;
    assert_eq!(moved.json()["data"]["attributes"]["status"], "pending");
    let shown = app.patch(&path, &patch(json!({"domains": "staff.acme.test", "_verify": true}))).await.json()["data"]
        ["attributes"]
        .clone();
    assert_eq!((shown["domains"].as_str(), shown["status"].as_str()), (Some("staff.acme.test"), Some("verified")));

    let versions = app.get(&format!("{path}/versions?sort=created_at")).await.json();
    let events: Vec<&str> =
        versions["data"].as_array().unwrap().iter().map(|v| v["attributes"]["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["create", "verify", "verify", "verify", "update", "verify"]);

    // `_verify` is an update: not on create, and not for a read-only member.
    let mut given = attributes(&organization);
    given["_verify"] = json!(true);
    let refused = app.post("/api/identity_providers", &document(given)).await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    let (_, outsider) = app.user("outsider@example.com").await;
    let hidden = app.write_as(&outsider, Method::PATCH, &path, &patch(json!({"_verify": true}))).await;
    assert_eq!(hidden.status, 404, "{}", hidden.text);

    // A resolver that does not answer: an error the provider shows, not a failed request.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let nowhere = provisioning::cli::DnsServer(closed.local_addr().unwrap());
    drop(closed);
    let other = app.another_instance(|s| s.dns_resolver = Some(nowhere)).await;
    let request = app.client().patch(format!("{other}{path}")).bearer_auth(&app.token);
    let response = app
        .send(
            request.insert_header(("content-type", "application/vnd.api+json")),
            Some(patch(json!({"_verify": true})).to_string()),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let shown = &response.json()["data"]["attributes"];
    assert_eq!(shown["status"], "error");
    let why = shown["verification_error"].as_str().unwrap();
    assert!(why.contains("the TXT lookup failed") || why.contains("took longer than 5 seconds"), "{why}");
}
