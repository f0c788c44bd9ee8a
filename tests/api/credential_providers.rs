//! `credential_providers` (issue 10, item 4): Keycard's model, the client secret sealed and
//! shown only as `client_secret_set`; API resources naming one; and tokens for such a
//! resource carrying the provider's credential, obtained from a second instance of this
//! service as the upstream authorization server.

use std::time::Instant;

use awc::http::Method;
use serde_json::{json, Value};

use crate::apis::{created, enc, grant, id, integration, linkage, part, resource, scope, setup};
use crate::helpers::{spawn_app, spawn_app_with, TestApp};

fn document(organization: &str, attributes: Value) -> Value {
    json!({"data": {"type": "credential_providers", "attributes": attributes,
        "relationships": {"organization": linkage("organizations", organization)}}})
}

fn attributes(token_endpoint: &str, client_id: &str, client_secret: &str) -> Value {
    json!({
        "identifier": "upstream",
        "name": "Upstream authorization server",
        "client_id": client_id,
        "client_secret": client_secret,
        "token_endpoint": token_endpoint,
        "issuer": "https://upstream.example",
        "scopes_supported": ["orders:read", "inventory:read"],
    })
}

async fn cells_holding(app: &TestApp, needle: &str) -> i64 {
    let (url, needle) = (app.database_url.clone(), needle.to_string());
    actix_web::rt::task::spawn_blocking(move || crate::sealed::cells_holding(&url, &needle)).await.unwrap()
}

#[actix_rt::test]
async fn credential_providers_are_created_read_updated_and_deleted_with_their_secret_sealed() {
    let app = spawn_app().await;
    let s = setup(&app, "Acme").await;
    let made = created(
        app.post(
            "/api/credential_providers",
            &document(&s.org, attributes("https://idp.example/token", "our-client", "upstream-secret-Q7w")),
        )
        .await,
    )
    .await;
    let provider = id(&made);
    let shown = &made["attributes"];
    assert_eq!(shown["client_secret_set"], true);
    assert!(shown.get("client_secret").is_none(), "{shown}");
    assert_eq!(shown["scopes_supported"], json!(["orders:read", "inventory:read"]));
    assert_eq!(shown["scope_separator"], " ");
    assert_eq!(shown["token_response_access_token_pointer"], "/access_token");
    assert_eq!(shown["token_exchange"], false);
    assert_eq!(shown["jwks_uri"], Value::Null);
    assert_eq!(cells_holding(&app, "upstream-secret-Q7w").await, 0);

    let path = format!("/api/credential_providers/{provider}");
    let patch =
        |attributes: Value| json!({"data": {"type": "credential_providers", "id": provider, "attributes": attributes}});
    let changed = app
        .patch(&path, &patch(json!({"client_secret": null, "scope_separator": ",", "token_exchange": true, "description": "Keycard-style"})))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let shown = &changed.json()["data"]["attributes"];
    assert_eq!((shown["client_secret_set"].clone(), shown["scope_separator"].clone()), (json!(false), json!(",")));

    // Refused values: 422 at the attribute, nothing changed.
    for (name, value) in [
        ("identifier", json!("<b>upstream</b>")),
        ("name", json!("Up\u{7}stream")),
        ("token_endpoint", json!("ftp://idp.example/token")),
        ("scopes_supported", json!("orders:read")),
        ("scopes_supported", json!([1])),
        ("scopes_supported", json!(["two words"])),
        ("scope_separator", json!("ab")),
        ("token_response_access_token_pointer", json!("access_token")),
        ("token_exchange", Value::Null),
    ] {
        let response = app.patch(&path, &patch(json!({ name: value }))).await;
        assert_eq!(response.status, 422, "{name}={value}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], format!("/data/attributes/{name}"), "{name}");
    }
    // The identifier is unique in the organization.
    let again = app
        .post("/api/credential_providers", &document(&s.org, attributes("https://idp.example/token", "c", "s")))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    let secret = app.get("/api/credential_providers?filter[q][client_secret_eq]=x").await;
    assert_eq!(secret.status, 400, "{}", secret.text);

    // An API resource names it; another organization's resource cannot; it stays while named.
    let api = resource(&app, &s.org, json!({"name": "Orders", "identifier": "https://api.example.com"})).await;
    let api_path = format!("/api/api_resources/{}", id(&api));
    let link = |provider: Value| json!({"data": {"type": "api_resources", "id": id(&api), "relationships": {"credential_provider": {"data": provider}}}});
    let linked = app.patch(&api_path, &link(json!({"type": "credential_providers", "id": provider}))).await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    let included = app.get(&format!("{api_path}?include=credential_provider")).await.json();
    assert_eq!(included["included"][0]["id"], provider.as_str());
    let other = setup(&app, "Other").await;
    let theirs = created(
        app.post("/api/credential_providers", &document(&other.org, attributes("https://idp.example/token", "c", "s")))
            .await,
    )
    .await;
    let crossed = app.patch(&api_path, &link(json!({"type": "credential_providers", "id": id(&theirs)}))).await;
    assert_eq!(crossed.status, 422, "{}", crossed.text);
    let named = app.delete(&path).await;
    assert_eq!(named.status, 409, "{}", named.text);
    assert_eq!(app.patch(&api_path, &link(Value::Null)).await.status, 200);
    assert_eq!(app.delete(&path).await.status, 204);

    let versions = app.get(&format!("/api/versions?filter[q][resource_id_eq]={provider}&sort=created_at")).await.json();
    let events: Vec<&str> =
        versions["data"].as_array().unwrap().iter().map(|v| v["attributes"]["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["create", "update", "destroy"]);
    assert!(!versions.to_string().contains("secret_sealed"), "{versions}");

    // No token: 401, for the list and for a record.
    for path in ["/api/credential_providers".to_string(), format!("/api/credential_providers/{}", id(&theirs))] {
        let response = app.send(app.anonymous(Method::GET, &path), None).await;
        assert_eq!(response.status, 401, "{path}: {}", response.text);
    }
    // Another organization's member sees none of them and makes none in it.
    let (_, outsider) = app.user("outsider@example.com").await;
    assert_eq!(app.get_as(&outsider, &format!("/api/credential_providers/{}", id(&theirs))).await.status, 404);
    let refused = app
        .write_as(
            &outsider,
            Method::POST,
            "/api/credential_providers",
            &document(&s.org, attributes("https://i.example/t", "c", "s")),
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.text);
}

/// A second instance of this service as the upstream: an organization with a default API
/// resource and an integration credential holding two of its scopes.
async fn upstream() -> (TestApp, String, String) {
    let upstream = spawn_app().await;
    let s = setup(&upstream, "Upstream").await;
    let api = resource(
        &upstream,
        &s.org,
        json!({"name": "Upstream API", "identifier": "https://upstream.example/api", "is_default": true}),
    )
    .await;
    let read = id(&scope(&upstream, &id(&api), "orders:read").await);
    let write = id(&scope(&upstream, &id(&api), "orders:write").await);
    let (_, client_id, secret) = integration(&upstream, &s, &[&read, &write]).await;
    (upstream, client_id, secret)
}

#[actix_rt::test]
async fn a_resource_token_carries_the_upstream_credential_and_upstream_failures_are_temporarily_unavailable() {
    let (upstream, upstream_client, upstream_secret) = upstream().await;
    let app = spawn_app_with(|s| s.upstream_timeout = 2).await;
    let s = setup(&app, "Acme").await;
    let token_endpoint = format!("{}/oauth/token", upstream.base);
    let provider = id(&created(
        app.post(
            "/api/credential_providers",
            &document(&s.org, attributes(&token_endpoint, &upstream_client, &upstream_secret)),
        )
        .await,
    )
    .await);
    let api = resource(&app, &s.org, json!({"name": "Orders", "identifier": "https://api.example.com"})).await;
    let link = json!({"data": {"type": "api_resources", "id": id(&api), "relationships": {"credential_provider": linkage("credential_providers", &provider)}}});
    assert_eq!(app.patch(&format!("/api/api_resources/{}", id(&api)), &link).await.status, 200);
    let read = id(&scope(&app, &id(&api), "orders:read").await);
    let write = id(&scope(&app, &id(&api), "orders:write").await);
    let (_, client_id, secret) = integration(&app, &s, &[&read, &write]).await;
    let for_api = format!("&resource={}", enc("https://api.example.com"));

    let answer = grant(&app, &client_id, &secret, &for_api).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = answer.json();
    assert_eq!(answer["scope"], "orders:read orders:write");
    let upstream_token = answer["upstream_access_token"].as_str().unwrap().to_string();
    let lifetime = answer["upstream_expires_in"].as_i64().unwrap();
    assert!((3500..=3600).contains(&lifetime), "{answer}");
    // Issued by the upstream, for the scopes of ours it supports.
    let claims = part(&upstream_token, 1);
    assert_eq!(claims["iss"], upstream.base.as_str());
    assert_eq!(claims["aud"], "https://upstream.example/api");
    assert_eq!(claims["scope"], "orders:read", "orders:write is not in scopes_supported");
    let introspected = upstream
        .send(
            upstream
                .anonymous(Method::POST, "/oauth/introspect")
                .insert_header(("content-type", "application/x-www-form-urlencoded")),
            Some(format!("token={upstream_token}&client_id={upstream_client}&client_secret={upstream_secret}")),
        )
        .await;
    assert_eq!(introspected.json()["active"], true, "{}", introspected.text);

    // Kept, sealed: the next token carries the same credential, which is nowhere in clear.
    let again = grant(&app, &client_id, &secret, &for_api).await.json();
    assert_eq!(again["upstream_access_token"], upstream_token.as_str());
    assert!(again["upstream_expires_in"].as_i64().unwrap() <= lifetime);
    assert_eq!(cells_holding(&app, &upstream_token).await, 0);
    assert_eq!(cells_holding(&app, &upstream_token[..40]).await, 0);
    // A token for no resource carries none.
    let plain = grant(&app, &client_id, &secret, "").await.json();
    assert!(plain.get("upstream_access_token").is_none(), "{plain}");

    // A change of the provider drops what was kept: the pointer now reads another member.
    let path = format!("/api/credential_providers/{provider}");
    let patch =
        |attributes: Value| json!({"data": {"type": "credential_providers", "id": provider, "attributes": attributes}});
    let set = |attributes: Value| {
        let (app, path, document) = (&app, path.clone(), patch(attributes));
        async move { assert_eq!(app.patch(&path, &document).await.status, 200) }
    };
    set(json!({"token_response_access_token_pointer": "/token_type"})).await;
    assert_eq!(grant(&app, &client_id, &secret, &for_api).await.json()["upstream_access_token"], "bearer");

    // Every failure upstream: 503 temporarily_unavailable saying what happened, no token.
    let unavailable = |needle: &'static str| {
        let (app, client_id, secret, for_api) = (&app, client_id.clone(), secret.clone(), for_api.clone());
        async move {
            let started = Instant::now();
            let response = grant(app, &client_id, &secret, &for_api).await;
            assert_eq!(response.status, 503, "{}", response.text);
            let body = response.json();
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
            let description = body["error_description"].as_str().unwrap();
            assert!(description.contains(needle), "{needle:?} in {description}");
            assert!(body.get("access_token").is_none());
            started.elapsed()
        }
    };
    set(json!({"token_response_access_token_pointer": "/nowhere"})).await;
    unavailable("nothing at /nowhere").await;
    set(json!({"token_response_access_token_pointer": "/access_token", "client_secret": "wrong"})).await;
    unavailable("answered 401: invalid_client").await;
    // Token exchange is asked as RFC 8693 says; this upstream does not do it, and says so.
    set(json!({"client_secret": upstream_secret, "token_exchange": true})).await;
    unavailable("unsupported_grant_type").await;

    // The upstream down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}/oauth/token", closed.local_addr().unwrap());
    drop(closed);
    set(json!({"token_exchange": false, "token_endpoint": nowhere})).await;
    unavailable("could not be reached").await;

    // The upstream hangs: cut off after UPSTREAM_TIMEOUT (2 s here).
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = hanging.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = hanging.incoming().take(4).collect();
        std::thread::sleep(std::time::Duration::from_secs(30));
        drop(held);
    });
    set(json!({"token_endpoint": format!("http://{address}/oauth/token")})).await;
    let waited = unavailable("did not answer in time").await;
    assert!(waited.as_secs() < 6, "cut off after {waited:?}");

    // Back up: credentials again.
    set(json!({"token_endpoint": token_endpoint})).await;
    let back = grant(&app, &client_id, &secret, &for_api).await.json();
    assert!(back["upstream_access_token"].as_str().is_some_and(|t| t != upstream_token), "{back}");
}
