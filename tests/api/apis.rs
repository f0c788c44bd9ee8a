//! API resources and scopes, grants to credentials, and tokens bound to a resource
//! (RFC 8707 resource indicators, RFC 9068 access tokens, RFC 8414 metadata).

use awc::http::Method;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, TestResponse};

pub fn linkage(type_name: &str, id: &str) -> Value {
    json!({"data": {"type": type_name, "id": id}})
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

pub async fn created(response: TestResponse) -> Value {
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()["data"].clone()
}

pub struct Setup {
    pub org: String,
    pub admin_role: String,
}

pub async fn setup(app: &TestApp, name: &str) -> Setup {
    let org = id(&app.create_organization(json!({"name": name})).await);
    let roles =
        app.get(&format!("/api/roles?filter[q][organization_id_eq]={org}&filter[q][kind_eq]=admin")).await.json();
    Setup { admin_role: id(&roles["data"][0]), org }
}

pub async fn resource(app: &TestApp, org: &str, attributes: Value) -> Value {
    created(app.post("/api/api_resources", &json!({"data": {"type": "api_resources", "attributes": attributes, "relationships": {"organization": linkage("organizations", org)}}})).await).await
}

pub async fn scope(app: &TestApp, resource: &str, name: &str) -> Value {
    created(app.post("/api/api_scopes", &json!({"data": {"type": "api_scopes", "attributes": {"name": name, "description": null}, "relationships": {"api_resource": linkage("api_resources", resource)}}})).await).await
}

pub async fn integration(app: &TestApp, s: &Setup, scopes: &[&str]) -> (String, String, String) {
    let data: Vec<Value> = scopes.iter().map(|s| json!({"type": "api_scopes", "id": s})).collect();
    let credential = created(app.post("/api/api_credentials", &json!({"data": {"type": "api_credentials",
        "attributes": {"name": "Integration", "kind": "integration", "auth_method": "client_secret_post"},
        "relationships": {"organization": linkage("organizations", &s.org), "role": linkage("roles", &s.admin_role), "api_scopes": {"data": data}}}})).await).await;
    (
        id(&credential),
        credential["attributes"]["client_id"].as_str().unwrap().to_string(),
        credential["attributes"]["client_secret"].as_str().unwrap().to_string(),
    )
}

pub async fn grant(app: &TestApp, client_id: &str, secret: &str, extra: &str) -> TestResponse {
    let request = app
        .anonymous(Method::POST, "/oauth/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    app.send(
        request,
        Some(format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}{extra}")),
    )
    .await
}

pub fn part(token: &str, index: usize) -> Value {
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(index).unwrap()).unwrap(),
    )
    .unwrap()
}

pub fn enc(value: &str) -> String {
    crate::helpers::encode(value)
}

#[actix_rt::test]
async fn resources_follow_their_rules() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let api = resource(
        &app,
        &s.org,
        json!({"name": "Orders API", "identifier": "https://api.example.com/v1", "description": "Orders"}),
    )
    .await;
    assert_eq!(api["attributes"]["access_token_ttl"], 3600);
    assert_eq!(api["attributes"]["prefix"], false);
    assert_eq!(api["attributes"]["is_default"], false);
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "<script>x</script>", "identifier": "https://a.example"}), "name"),
        (json!({"name": "A\u{1}", "identifier": "https://a.example"}), "name"),
        (json!({"name": "A", "identifier": "not a uri"}), "identifier"),
        (json!({"name": "A", "identifier": "https://a.example/<b>"}), "identifier"),
        (json!({"name": "A", "identifier": format!("https://a.example/{}", "x".repeat(2048))}), "identifier"),
        (json!({"name": "A", "identifier": "https://a.example", "description": "<img src=x>"}), "description"),
        (json!({"name": "A", "identifier": "https://a.example", "access_token_ttl": 59}), "access_token_ttl"),
        (json!({"name": "A", "identifier": "https://a.example", "access_token_ttl": 86401}), "access_token_ttl"),
        (json!({"identifier": "https://a.example"}), "name"),
        (json!({"name": "A"}), "identifier"),
    ];
    for (attributes, name) in cases {
        let response = app.post("/api/api_resources", &json!({"data": {"type": "api_resources", "attributes": attributes, "relationships": {"organization": linkage("organizations", &s.org)}}})).await;
        assert_eq!(response.status, 422, "{attributes}: {}", response.text);
        // A missing member is reported at its parent (JSON:API 1.1 pointers name what was sent).
        let pointer =
            if attributes.get(name).is_some() { format!("/data/attributes/{name}") } else { "/data/attributes".into() };
        assert_eq!(response.error()["source"]["pointer"], pointer, "{attributes}");
    }
    // A taken identifier is a conflict, at the attribute.
    let taken = json!({"name": "A", "identifier": "https://api.example.com/v1"});
    let response = app.post("/api/api_resources", &json!({"data": {"type": "api_resources", "attributes": taken, "relationships": {"organization": linkage("organizations", &s.org)}}})).await;
    assert_eq!(response.status, 409, "{}", response.text);
    assert_eq!(response.error()["source"]["pointer"], "/data/attributes/identifier");
    // The same identifier in another organization is fine; the identifier never changes.
    let other = setup(&app, "Other").await;
    resource(&app, &other.org, json!({"name": "Orders API", "identifier": "https://api.example.com/v1"})).await;
    let api_id = id(&api);
    let response = app.patch(&format!("/api/api_resources/{api_id}"), &json!({"data": {"type": "api_resources", "id": api_id, "attributes": {"identifier": "https://b.example"}}})).await;
    assert_eq!(response.status, 400);
    // At most one default per organization.
    let second =
        resource(&app, &s.org, json!({"name": "Billing", "identifier": "https://billing.example", "is_default": true}))
            .await;
    let response = app.patch(&format!("/api/api_resources/{api_id}"), &json!({"data": {"type": "api_resources", "id": api_id, "attributes": {"is_default": true, "access_token_ttl": 600}}})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let defaults = app
        .get(&format!("/api/api_resources?filter[q][organization_id_eq]={}&filter[q][is_default_true]=true", s.org))
        .await
        .json();
    assert_eq!(defaults["meta"]["record_count"], 1);
    assert_eq!(defaults["data"][0]["id"], api_id.as_str());
    assert_eq!(
        app.get(&format!("/api/api_resources/{}", id(&second))).await.json()["data"]["attributes"]["is_default"],
        false
    );
    // The serving application must be one of the organization's credentials.
    let foreign = created(app.post("/api/api_credentials", &json!({"data": {"type": "api_credentials", "attributes": {"name": "F", "kind": "sales_channel"}, "relationships": {"organization": linkage("organizations", &other.org)}}})).await).await;
    let response = app.patch(&format!("/api/api_resources/{api_id}"), &json!({"data": {"type": "api_resources", "id": api_id, "relationships": {"application": linkage("api_credentials", &id(&foreign))}}})).await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/application");
}

#[actix_rt::test]
async fn scopes_and_grants() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let api = id(&resource(&app, &s.org, json!({"name": "Orders", "identifier": "https://api.example.com"})).await);
    let read = id(&scope(&app, &api, "orders:read").await);
    let write = id(&scope(&app, &api, "orders:write").await);
    for (name, status) in [("orders:read", 409), ("has space", 422), ("", 422), ("ok:again", 201)] {
        let response = app.post("/api/api_scopes", &json!({"data": {"type": "api_scopes", "attributes": {"name": name}, "relationships": {"api_resource": linkage("api_resources", &api)}}})).await;
        assert_eq!(response.status, status, "{name:?}: {}", response.text);
    }
    let (credential, _, _) = integration(&app, &s, &[&read]).await;
    let path = format!("/api/api_credentials/{credential}");
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["scopes"], "orders:read");
    // JSON:API relationship endpoints: POST adds, DELETE removes, both idempotent; PATCH replaces.
    let body =
        |ids: &[&str]| json!({"data": ids.iter().map(|i| json!({"type": "api_scopes", "id": i})).collect::<Vec<_>>()});
    let relationship = format!("{path}/relationships/api_scopes");
    for _ in 0..2 {
        let response = app.post(&relationship, &body(&[&write])).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.json()["data"].as_array().unwrap().len(), 2);
    }
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["scopes"], "orders:read orders:write");
    for _ in 0..2 {
        let request =
            app.request(Method::DELETE, &relationship).insert_header(("content-type", "application/vnd.api+json"));
        let response = app.send(request, Some(body(&[&read]).to_string())).await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
    assert_eq!(app.get(&relationship).await.json()["data"], json!([{"type": "api_scopes", "id": write}]));
    let response = app.patch(&relationship, &body(&[&read])).await;
    assert_eq!(response.status, 200);
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["scopes"], "orders:read");
    let included = app.get(&format!("{path}?include=api_scopes")).await.json();
    assert_eq!(included["included"][0]["attributes"]["name"], "orders:read");
    // Only scopes of the same organization; bad linkage is refused.
    let other = setup(&app, "Other").await;
    let other_api = id(&resource(&app, &other.org, json!({"name": "X", "identifier": "https://x.example"})).await);
    let foreign = id(&scope(&app, &other_api, "x:read").await);
    let response = app.post(&relationship, &body(&[&foreign])).await;
    assert_eq!(response.status, 422);
    assert_eq!(app.post(&relationship, &json!({"data": {"type": "api_scopes", "id": read}})).await.status, 400);
    assert_eq!(app.post(&relationship, &json!({"data": [{"type": "roles", "id": read}]})).await.status, 409);
    // Renaming a scope renames it in the grants; deleting the resource deletes scopes and grants.
    app.patch(
        &format!("/api/api_scopes/{read}"),
        &json!({"data": {"type": "api_scopes", "id": read, "attributes": {"name": "orders:list"}}}),
    )
    .await;
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["scopes"], "orders:list");
    assert_eq!(app.delete(&format!("/api/api_resources/{api}")).await.status, 204);
    assert_eq!(app.get(&format!("/api/api_scopes/{read}")).await.status, 404);
    assert_eq!(app.get(&path).await.json()["data"]["attributes"]["scopes"], "");
    assert_eq!(app.get(&relationship).await.json()["data"], json!([]));
}

#[actix_rt::test]
async fn tokens_for_a_resource() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let v1 = id(&resource(
        &app,
        &s.org,
        json!({"name": "V1", "identifier": "https://api.example.com/v1", "prefix": true, "access_token_ttl": 900}),
    )
    .await);
    let read = id(&scope(&app, &v1, "orders:read").await);
    let write = id(&scope(&app, &v1, "orders:write").await);
    let billing =
        id(&resource(&app, &s.org, json!({"name": "Billing", "identifier": "https://billing.example.com"})).await);
    let invoices = id(&scope(&app, &billing, "invoices:read").await);
    let (_, client_id, secret) = integration(&app, &s, &[&read, &invoices]).await;

    let response =
        grant(&app, &client_id, &secret, &format!("&resource={}&scope=orders:read", enc("https://api.example.com/v1")))
            .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let token = response.json()["access_token"].as_str().unwrap().to_string();
    let (header, claims) = (part(&token, 0), part(&token, 1));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS512");
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["sub"], client_id.as_str());
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(claims["aud"], "https://api.example.com/v1");
    assert_eq!(claims["scope"], "orders:read");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    assert!(claims["jti"].is_string());
    assert_eq!(claims["organization"]["id"], s.org.as_str());

    // Prefix matching at path boundaries.
    let response =
        grant(&app, &client_id, &secret, &format!("&resource={}", enc("https://api.example.com/v1/orders"))).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(part(response.json()["access_token"].as_str().unwrap(), 1)["aud"], "https://api.example.com/v1");
    assert_eq!(
        part(response.json()["access_token"].as_str().unwrap(), 1)["scope"],
        "orders:read",
        "all granted scopes of the resource"
    );
    let response = grant(&app, &client_id, &secret, &format!("&resource={}", enc("https://api.example.com/v10"))).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json()["error"], "invalid_target");
    // A scope of the resource not granted, or of another resource: invalid_scope.
    for scope in ["orders:write", "invoices:read", "nope"] {
        let response =
            grant(&app, &client_id, &secret, &format!("&resource={}&scope={scope}", enc("https://api.example.com/v1")))
                .await;
        assert_eq!(response.status, 400, "{scope}");
        assert_eq!(response.json()["error"], "invalid_scope");
        assert_eq!(response.json()["errors"][0]["status"], "400");
    }
    let _ = write;
    // Two different resources in one request: invalid_target; the same one twice is fine.
    let both =
        format!("&resource={}&resource={}", enc("https://api.example.com/v1"), enc("https://billing.example.com"));
    assert_eq!(grant(&app, &client_id, &secret, &both).await.json()["error"], "invalid_target");
    let twice =
        format!("&resource={}&resource={}", enc("https://billing.example.com"), enc("https://billing.example.com"));
    assert_eq!(grant(&app, &client_id, &secret, &twice).await.status, 200);
    assert_eq!(grant(&app, &client_id, &secret, "&resource=not-a-uri").await.json()["error"], "invalid_target");
    // No resource and no default: a plain organization token; scopes then need a resource.
    let plain = grant(&app, &client_id, &secret, "").await.json();
    assert!(part(plain["access_token"].as_str().unwrap(), 1).get("aud").is_none());
    assert_eq!(grant(&app, &client_id, &secret, "&scope=orders:read").await.json()["error"], "invalid_scope");
    // With a default resource, no resource parameter means the default.
    app.patch(
        &format!("/api/api_resources/{billing}"),
        &json!({"data": {"type": "api_resources", "id": billing, "attributes": {"is_default": true}}}),
    )
    .await;
    let default = grant(&app, &client_id, &secret, "").await.json();
    let claims = part(default["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], "https://billing.example.com");
    assert_eq!(claims["scope"], "invoices:read");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
}

#[actix_rt::test]
async fn a_resource_server_verifies_tokens_offline_with_the_jwks() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let api = id(&resource(&app, &s.org, json!({"name": "Orders", "identifier": "https://api.example.com"})).await);
    let read = id(&scope(&app, &api, "orders:read").await);
    let (_, client_id, secret) = integration(&app, &s, &[&read]).await;
    // What a resource server does once, at start: discover the issuer, fetch its keys.
    let metadata = app.send(app.anonymous(Method::GET, "/.well-known/oauth-authorization-server"), None).await.json();
    assert_eq!(metadata["issuer"], app.base.as_str());
    assert_eq!(metadata["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(metadata["revocation_endpoint"], app.url("/oauth/revoke"));
    assert_eq!(metadata["introspection_endpoint"], app.url("/oauth/introspect"));
    assert!(metadata["grant_types_supported"].as_array().unwrap().contains(&json!("client_credentials")));
    assert!(metadata["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("private_key_jwt")));
    assert!(metadata["access_token_signing_alg_values_supported"].as_array().unwrap().contains(&json!("RS512")));
    let jwks_path = metadata["jwks_uri"].as_str().unwrap().strip_prefix(&app.base).unwrap().to_string();
    let jwks = app.send(app.anonymous(Method::GET, &jwks_path), None).await.json();

    let token = grant(&app, &client_id, &secret, &format!("&resource={}", enc("https://api.example.com"))).await.json()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // From here on, no call to the authorization server: only the keys fetched above.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"].as_str() == header.kid.as_deref()).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS512);
    validation.set_issuer(&[app.base.as_str()]);
    validation.set_audience(&["https://api.example.com"]);
    let verified = jsonwebtoken::decode::<Value>(&token, &key, &validation).expect("verifies offline");
    assert_eq!(verified.claims["scope"], "orders:read");
    let mut wrong = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS512);
    wrong.set_audience(&["https://other.example.com"]);
    assert!(jsonwebtoken::decode::<Value>(&token, &key, &wrong).is_err(), "another resource refuses it");
}

#[actix_rt::test]
async fn introspection_follows_the_resource_and_its_grants() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let api = id(&resource(&app, &s.org, json!({"name": "Orders", "identifier": "https://api.example.com"})).await);
    let read = id(&scope(&app, &api, "orders:read").await);
    let (credential, client_id, secret) = integration(&app, &s, &[&read]).await;
    let token = grant(&app, &client_id, &secret, &format!("&resource={}", enc("https://api.example.com"))).await.json()
        ["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let introspect = || {
        let request = app
            .anonymous(Method::POST, "/oauth/introspect")
            .insert_header(("content-type", "application/x-www-form-urlencoded"));
        app.send(request, Some(format!("token={token}&client_id={client_id}&client_secret={secret}")))
    };
    let answer = introspect().await.json();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["aud"], "https://api.example.com");
    assert_eq!(answer["scope"], "orders:read");
    // The grant goes: inactive.
    let request = app
        .request(Method::DELETE, &format!("/api/api_credentials/{credential}/relationships/api_scopes"))
        .insert_header(("content-type", "application/vnd.api+json"));
    assert_eq!(
        app.send(request, Some(json!({"data": [{"type": "api_scopes", "id": read}]}).to_string())).await.status,
        200
    );
    assert_eq!(introspect().await.json()["active"], false);
    // Granted again, active again; the resource goes: inactive.
    app.post(
        &format!("/api/api_credentials/{credential}/relationships/api_scopes"),
        &json!({"data": [{"type": "api_scopes", "id": read}]}),
    )
    .await;
    assert_eq!(introspect().await.json()["active"], true);
    assert_eq!(app.delete(&format!("/api/api_resources/{api}")).await.status, 204);
    assert_eq!(introspect().await.json()["active"], false);
}

#[actix_rt::test]
async fn resources_and_scopes_follow_the_role_matrix() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let api = id(&resource(&app, &s.org, json!({"name": "Orders", "identifier": "https://api.example.com"})).await);
    let read = id(&scope(&app, &api, "orders:read").await);
    let (_, reader) = app.user("reader@example.com").await;
    let (_, outsider) = app.user("outsider@example.com").await;
    let roles = app
        .get(&format!("/api/roles?filter[q][organization_id_eq]={}&filter[q][kind_eq]=read_only", s.org))
        .await
        .json();
    app.post("/api/memberships", &json!({"data": {"type": "memberships", "attributes": {"user_email": "reader@example.com"},
        "relationships": {"organization": linkage("organizations", &s.org), "role": linkage("roles", &id(&roles["data"][0]))}}})).await;
    let new_resource = json!({"data": {"type": "api_resources", "attributes": {"name": "X", "identifier": "https://x.example"}, "relationships": {"organization": linkage("organizations", &s.org)}}});
    let new_scope = json!({"data": {"type": "api_scopes", "attributes": {"name": "x"}, "relationships": {"api_resource": linkage("api_resources", &api)}}});
    let rename = json!({"data": {"type": "api_scopes", "id": read, "attributes": {"name": "orders:list"}}});
    for (token, read_status, write_status) in [(&reader, 200, 403), (&outsider, 404, 404)] {
        assert_eq!(app.get_as(token, &format!("/api/api_resources/{api}")).await.status, read_status);
        assert_eq!(app.get_as(token, &format!("/api/api_scopes/{read}")).await.status, read_status);
        assert_eq!(app.write_as(token, Method::POST, "/api/api_resources", &new_resource).await.status, write_status);
        assert_eq!(app.write_as(token, Method::POST, "/api/api_scopes", &new_scope).await.status, write_status);
        assert_eq!(
            app.write_as(token, Method::PATCH, &format!("/api/api_scopes/{read}"), &rename).await.status,
            write_status
        );
        assert_eq!(
            app.send(app.request_as(token, Method::DELETE, &format!("/api/api_resources/{api}")), None).await.status,
            write_status
        );
    }
    let listed = app.get_as(&outsider, "/api/api_resources").await.json();
    assert_eq!(listed["meta"]["record_count"], 0);
    let anonymous = app.send(app.anonymous(Method::GET, "/api/api_resources"), None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        app.get(&format!("/api/api_scopes/{read}")).await.json()["data"]["attributes"]["name"],
        "orders:read",
        "nothing changed"
    );
}

/// A credential gets a token for a resource only when a scope of it is granted to it, or it
/// is the resource's application; any other credential of the organization gets
/// `invalid_target`, for the resource by name or as the default.
#[actix_rt::test]
async fn only_granted_credentials_get_tokens_for_a_resource() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let api = id(&resource(
        &app,
        &s.org,
        json!({"name": "Orders", "identifier": "https://api.example.com", "is_default": true}),
    )
    .await);
    let read = id(&scope(&app, &api, "orders:read").await);
    let (stranger, stranger_id, stranger_secret) = integration(&app, &s, &[]).await;
    let target = format!("&resource={}", enc("https://api.example.com"));
    let response = grant(&app, &stranger_id, &stranger_secret, &target).await;
    assert_eq!(
        (response.status, response.json()["error"].as_str()),
        (400, Some("invalid_target")),
        "{}",
        response.text
    );
    // Without naming a resource it gets an organization token, not one for the default.
    let response = grant(&app, &stranger_id, &stranger_secret, "").await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert!(part(response.json()["access_token"].as_str().unwrap(), 1).get("aud").is_none());
    // Granted a scope, it may.
    let relationship = format!("/api/api_credentials/{stranger}/relationships/api_scopes");
    assert_eq!(app.post(&relationship, &json!({"data": [{"type": "api_scopes", "id": read}]})).await.status, 200);
    let response = grant(&app, &stranger_id, &stranger_secret, &target).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["scope"], "orders:read");
    // The resource's own application may, without a grant.
    let (application, application_id, application_secret) = integration(&app, &s, &[]).await;
    let serve = json!({"data": {"type": "api_resources", "id": api, "relationships": {"application": linkage("api_credentials", &application)}}});
    assert_eq!(app.patch(&format!("/api/api_resources/{api}"), &serve).await.status, 200);
    let response = grant(&app, &application_id, &application_secret, &target).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(part(response.json()["access_token"].as_str().unwrap(), 1)["aud"], "https://api.example.com");
}
