//! API credentials: rules by kind, the secret shown once and stored hashed, rotation with a
//! grace period, deletion, organization tokens, introspection, private_key_jwt, and
//! application memberships.

use awc::http::Method;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{connect, spawn_app, TestApp, TestResponse};

fn linkage(type_name: &str, id: &str) -> Value {
    json!({"data": {"type": type_name, "id": id}})
}

struct Org {
    id: String,
    admin_role: String,
    read_only_role: String,
}

async fn organization(app: &TestApp, name: &str) -> Org {
    let id = app.create_organization(json!({"name": name})).await["id"].as_str().unwrap().to_string();
    let roles = app.get(&format!("/api/organizations/{id}/roles")).await.json();
    let role = |kind: &str| {
        roles["data"].as_array().unwrap().iter().find(|r| r["attributes"]["kind"] == kind).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    Org { admin_role: role("admin"), read_only_role: role("read_only"), id }
}

fn credential_document(org: &Org, attributes: Value, role: Option<&str>) -> Value {
    let mut relationships = json!({"organization": linkage("organizations", &org.id)});
    if let Some(role) = role {
        relationships["role"] = linkage("roles", role);
    }
    json!({"data": {"type": "api_credentials", "attributes": attributes, "relationships": relationships}})
}

async fn create_credential(app: &TestApp, org: &Org, attributes: Value, role: Option<&str>) -> Value {
    let response = app.post("/api/api_credentials", &credential_document(org, attributes, role)).await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.json()["data"].clone()
}

async fn grant(app: &TestApp, client_id: &str, secret: Option<&str>, basic: bool) -> TestResponse {
    let mut request = app.anonymous(Method::POST, "/oauth/token");
    let body = match (secret, basic) {
        (Some(secret), true) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
            request = request.insert_header(("authorization", format!("Basic {encoded}")));
            "grant_type=client_credentials".to_string()
        }
        (Some(secret), false) => format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}"),
        (None, _) => format!("grant_type=client_credentials&client_id={client_id}"),
    };
    let request = request.insert_header(("content-type", "application/x-www-form-urlencoded"));
    app.send(request, Some(body)).await
}

async fn token(app: &TestApp, client_id: &str, secret: Option<&str>, basic: bool) -> String {
    let response = grant(app, client_id, secret, basic).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()["access_token"].as_str().unwrap().to_string()
}

async fn introspect(app: &TestApp, client_id: &str, secret: &str, token: &str) -> TestResponse {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let request = app
        .anonymous(Method::POST, "/oauth/introspect")
        .insert_header(("authorization", format!("Basic {encoded}")))
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    app.send(request, Some(format!("token={token}"))).await
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn attr<'a>(credential: &'a Value, name: &str) -> &'a Value {
    &credential["attributes"][name]
}

#[actix_rt::test]
async fn each_kind_follows_its_rules() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let sales = create_credential(&app, &org, json!({"name": "Storefront", "kind": "sales_channel"}), None).await;
    assert_eq!(attr(&sales, "confidential"), false);
    assert_eq!(attr(&sales, "auth_method"), "none");
    assert_eq!(attr(&sales, "client_secret"), &Value::Null);
    assert_eq!(attr(&sales, "expires_in"), 14400);
    assert_eq!(attr(&sales, "mode"), "test");
    let integration = create_credential(
        &app,
        &org,
        json!({"name": "ERP", "kind": "integration", "mode": "live"}),
        Some(&org.admin_role),
    )
    .await;
    assert_eq!(attr(&integration, "confidential"), true);
    assert_eq!(attr(&integration, "auth_method"), "client_secret_basic");
    assert_eq!(attr(&integration, "expires_in"), 7200);
    assert_eq!(integration["relationships"]["role"]["data"]["id"], org.admin_role.as_str());
    let secret = attr(&integration, "client_secret").as_str().unwrap();
    assert!(secret.len() >= 43 && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let client_id = attr(&integration, "client_id").as_str().unwrap();
    assert!(client_id.len() >= 22 && client_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    let webapp = create_credential(&app, &org, json!({"name": "Dashboard", "kind": "webapp", "redirect_uri": "http://localhost:3000/callback", "expires_in": 31536000}), None).await;
    assert_eq!(attr(&webapp, "confidential"), true);
    assert!(attr(&webapp, "client_secret").is_string());

    let cases: Vec<(Value, Option<&str>, &str)> = vec![
        (json!({"name": "", "kind": "integration"}), Some(&org.admin_role), "/data/attributes/name"),
        (json!({"name": "<b>x</b>", "kind": "integration"}), Some(&org.admin_role), "/data/attributes/name"),
        (json!({"name": "x".repeat(201), "kind": "integration"}), Some(&org.admin_role), "/data/attributes/name"),
        (json!({"name": "X", "kind": "orders"}), None, "/data/attributes/kind"),
        // A missing member is reported at its parent (JSON:API 1.1 pointers name what was sent).
        (json!({"name": "X", "kind": "integration"}), None, "/data/relationships"),
        (json!({"name": "X", "kind": "sales_channel"}), Some(&org.read_only_role), "/data/relationships/role"),
        (json!({"name": "X", "kind": "webapp"}), None, "/data/attributes"),
        (
            json!({"name": "X", "kind": "webapp", "redirect_uri": "http://example.com/cb"}),
            None,
            "/data/attributes/redirect_uri",
        ),
        (json!({"name": "X", "kind": "webapp", "redirect_uri": "/relative"}), None, "/data/attributes/redirect_uri"),
        (
            json!({"name": "X", "kind": "integration", "expires_in": 100}),
            Some(&org.admin_role),
            "/data/attributes/expires_in",
        ),
        (
            json!({"name": "X", "kind": "integration", "expires_in": 31536001}),
            Some(&org.admin_role),
            "/data/attributes/expires_in",
        ),
        (json!({"name": "X", "kind": "integration", "mode": "prod"}), Some(&org.admin_role), "/data/attributes/mode"),
        (
            json!({"name": "X", "kind": "integration", "auth_method": "none"}),
            Some(&org.admin_role),
            "/data/attributes/auth_method",
        ),
        (
            json!({"name": "X", "kind": "sales_channel", "auth_method": "client_secret_post"}),
            None,
            "/data/attributes/auth_method",
        ),
        (
            json!({"name": "X", "kind": "integration", "auth_method": "private_key_jwt"}),
            Some(&org.admin_role),
            "/data/attributes",
        ),
        (
            json!({"name": "X", "kind": "integration", "auth_method": "private_key_jwt", "public_key": "not a key"}),
            Some(&org.admin_role),
            "/data/attributes/public_key",
        ),
    ];
    for (attributes, role, pointer) in cases {
        let response = app.post("/api/api_credentials", &credential_document(&org, attributes.clone(), role)).await;
        assert_eq!(response.status, 422, "{attributes}: {}", response.text);
        let pointers: Vec<String> = response.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["source"]["pointer"].as_str().unwrap().to_string())
            .collect();
        assert!(pointers.iter().any(|p| p == pointer), "{attributes}: {pointers:?}");
    }
    // A role of another organization.
    let other = organization(&app, "Other").await;
    let response = app
        .post(
            "/api/api_credentials",
            &credential_document(&org, json!({"name": "X", "kind": "integration"}), Some(&other.admin_role)),
        )
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/role");
    // Read-only attributes cannot be set.
    for name in ["client_id", "client_secret", "confidential", "scopes"] {
        let response = app
            .post(
                "/api/api_credentials",
                &credential_document(&org, json!({"name": "X", "kind": "sales_channel", name: "x"}), None),
            )
            .await;
        assert_eq!(response.status, 400, "{name}");
    }
    let listed = app.get(&format!("/api/api_credentials?filter[q][organization_id_eq]={}", org.id)).await.json();
    assert_eq!(listed["meta"]["record_count"], 3, "only the valid ones were written");
}

#[actix_rt::test]
async fn the_secret_is_shown_once_and_grants_organization_tokens() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let integration =
        create_credential(&app, &org, json!({"name": "ERP", "kind": "integration"}), Some(&org.admin_role)).await;
    let (id, client_id, secret) = (
        integration["id"].as_str().unwrap(),
        attr(&integration, "client_id").as_str().unwrap(),
        attr(&integration, "client_secret").as_str().unwrap(),
    );
    let fetched = app.get(&format!("/api/api_credentials/{id}")).await.json();
    assert_eq!(attr(&fetched["data"], "client_secret"), &Value::Null);
    let listed = app.get("/api/api_credentials").await.json();
    assert!(listed["data"].as_array().unwrap().iter().all(|c| attr(c, "client_secret").is_null()));

    // client_secret_basic: Basic works, and so does the body (RFC 6749 §2.3.1; what
    // Commerce Layer's js-auth sends by default), but not both at once.
    let access = token(&app, client_id, Some(secret), true).await;
    token(&app, client_id, Some(secret), false).await;
    let request = app
        .anonymous(Method::POST, "/oauth/token")
        .insert_header((
            "authorization",
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))),
        ))
        .insert_header(("content-type", "application/json"));
    let both = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    let response = app.send(request, Some(both.to_string())).await;
    assert_eq!(
        (response.status, response.json()["error"].as_str()),
        (400, Some("invalid_request")),
        "{}",
        response.text
    );
    assert_eq!(grant(&app, client_id, Some("wrong"), true).await.status, 401);
    let claims = claims(&access);
    assert_eq!(claims["organization"]["id"], org.id.as_str());
    assert_eq!(claims["organization"]["slug"], "acme");
    assert_eq!(
        claims["application"],
        json!({"id": id, "kind": "integration", "client_id": client_id, "public": false, "confidential": true})
    );
    assert_eq!(claims["test"], true);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 7200);
    // Organization tokens are not for the provisioning API.
    let response = app.get_as(&access, "/api/organizations").await;
    assert_eq!(response.status, 401);

    // client_secret_post: the body works, and so does Basic. A sales channel uses only its id.
    let post = create_credential(
        &app,
        &org,
        json!({"name": "Jobs", "kind": "integration", "auth_method": "client_secret_post", "expires_in": 9000}),
        Some(&org.read_only_role),
    )
    .await;
    let post_token =
        token(&app, attr(&post, "client_id").as_str().unwrap(), attr(&post, "client_secret").as_str(), false).await;
    assert_eq!(
        self::claims(&post_token)["exp"].as_i64().unwrap() - self::claims(&post_token)["iat"].as_i64().unwrap(),
        9000
    );
    token(&app, attr(&post, "client_id").as_str().unwrap(), attr(&post, "client_secret").as_str(), true).await;
    let sales =
        create_credential(&app, &org, json!({"name": "Shop", "kind": "sales_channel", "mode": "live"}), None).await;
    let sales_token = token(&app, attr(&sales, "client_id").as_str().unwrap(), None, false).await;
    let with_secret = grant(&app, attr(&sales, "client_id").as_str().unwrap(), Some("a-secret"), false).await;
    assert_eq!(with_secret.status, 401, "a public client has no secret: {}", with_secret.text);
    assert_eq!(self::claims(&sales_token)["application"]["public"], true);
    assert_eq!(self::claims(&sales_token)["test"], false);

    // Twenty grants in a row: the first verifies with argon2, the rest are remembered.
    for _ in 0..20 {
        token(&app, client_id, Some(secret), true).await;
    }
}

#[actix_rt::test]
async fn rotation_keeps_the_old_secret_for_its_grace_period_only() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let credential =
        create_credential(&app, &org, json!({"name": "ERP", "kind": "integration"}), Some(&org.admin_role)).await;
    let (id, client_id, first) = (
        credential["id"].as_str().unwrap().to_string(),
        attr(&credential, "client_id").as_str().unwrap().to_string(),
        attr(&credential, "client_secret").as_str().unwrap().to_string(),
    );
    let first_token = token(&app, &client_id, Some(&first), true).await;

    let rotate = |grace: Option<i64>| {
        let mut attributes = json!({"_rotate_secret": true});
        if let Some(grace) = grace {
            attributes["_rotate_secret_grace_seconds"] = json!(grace);
        }
        json!({"data": {"type": "api_credentials", "id": id, "attributes": attributes}})
    };
    let response = app.patch(&format!("/api/api_credentials/{id}"), &rotate(None)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let rotated = response.json()["data"].clone();
    let second = attr(&rotated, "client_secret").as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(attr(&rotated, "client_id"), client_id.as_str());
    let until =
        chrono::DateTime::parse_from_rfc3339(attr(&rotated, "client_secret_previous_expires_at").as_str().unwrap())
            .unwrap();
    let hours = (until.timestamp() - chrono::Utc::now().timestamp()) / 3600;
    assert!((23..=24).contains(&hours), "a day of grace by default, got {hours}h");
    assert_eq!(
        attr(&app.get(&format!("/api/api_credentials/{id}")).await.json()["data"], "client_secret"),
        &Value::Null
    );
    // Within the grace period both secrets work, and tokens of both stand.
    token(&app, &client_id, Some(&first), true).await;
    let second_token = token(&app, &client_id, Some(&second), true).await;
    assert_eq!(introspect(&app, &client_id, &second, &first_token).await.json()["active"], true);

    // A rotation with no grace ends the previous secret at once, even one verified moments ago.
    let response = app.patch(&format!("/api/api_credentials/{id}"), &rotate(Some(0))).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let third = attr(&response.json()["data"], "client_secret").as_str().unwrap().to_string();
    assert_eq!(grant(&app, &client_id, Some(&second), true).await.status, 401);
    assert_eq!(grant(&app, &client_id, Some(&first), true).await.status, 401);
    token(&app, &client_id, Some(&third), true).await;
    // Tokens granted under secrets rotated past their grace are no longer active.
    assert_eq!(introspect(&app, &client_id, &third, &second_token).await.json()["active"], false);
    assert_eq!(introspect(&app, &client_id, &third, &first_token).await.json()["active"], false);

    // Rotation needs a secret to rotate; grace must be sane; the secret never reaches a version.
    let sales = create_credential(&app, &org, json!({"name": "Shop", "kind": "sales_channel"}), None).await;
    let sales_id = sales["id"].as_str().unwrap();
    let response = app
        .patch(
            &format!("/api/api_credentials/{sales_id}"),
            &json!({"data": {"type": "api_credentials", "id": sales_id, "attributes": {"_rotate_secret": true}}}),
        )
        .await;
    assert_eq!(response.status, 422);
    let response = app.patch(&format!("/api/api_credentials/{id}"), &rotate(Some(-1))).await;
    assert_eq!(response.status, 422);
    let versions = app.get(&format!("/api/api_credentials/{id}/versions")).await;
    assert_eq!(versions.status, 200);
    for secret in [&first, &second, &third] {
        assert!(!versions.text.contains(secret.as_str()));
    }
}

#[actix_rt::test]
async fn deleting_a_credential_ends_its_grants_and_tokens() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let introspector =
        create_credential(&app, &org, json!({"name": "Gateway", "kind": "integration"}), Some(&org.read_only_role))
            .await;
    let (gateway_id, gateway_secret) = (
        attr(&introspector, "client_id").as_str().unwrap().to_string(),
        attr(&introspector, "client_secret").as_str().unwrap().to_string(),
    );
    let doomed =
        create_credential(&app, &org, json!({"name": "Old", "kind": "integration"}), Some(&org.admin_role)).await;
    let (id, client_id, secret) = (
        doomed["id"].as_str().unwrap(),
        attr(&doomed, "client_id").as_str().unwrap(),
        attr(&doomed, "client_secret").as_str().unwrap(),
    );
    let access = token(&app, client_id, Some(secret), true).await;
    let answer = introspect(&app, &gateway_id, &gateway_secret, &access).await.json();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], client_id);
    assert_eq!(answer["organization"]["id"], org.id.as_str());

    assert_eq!(app.delete(&format!("/api/api_credentials/{id}")).await.status, 204);
    assert_eq!(app.get(&format!("/api/api_credentials/{id}")).await.status, 404);
    assert_eq!(grant(&app, client_id, Some(secret), true).await.status, 401);
    assert_eq!(introspect(&app, &gateway_id, &gateway_secret, &access).await.json()["active"], false);
}

#[actix_rt::test]
async fn introspection_is_for_confidential_clients_of_the_same_organization() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let other = organization(&app, "Other").await;
    let gateway =
        create_credential(&app, &org, json!({"name": "Gateway", "kind": "integration"}), Some(&org.admin_role)).await;
    let (gid, gsecret) =
        (attr(&gateway, "client_id").as_str().unwrap(), attr(&gateway, "client_secret").as_str().unwrap());
    let foreign =
        create_credential(&app, &other, json!({"name": "Foreign", "kind": "integration"}), Some(&other.admin_role))
            .await;
    let (fid, fsecret) =
        (attr(&foreign, "client_id").as_str().unwrap(), attr(&foreign, "client_secret").as_str().unwrap());
    let sales = create_credential(&app, &org, json!({"name": "Shop", "kind": "sales_channel"}), None).await;
    let sales_id = attr(&sales, "client_id").as_str().unwrap();

    let own = token(&app, gid, Some(gsecret), true).await;
    let answer = introspect(&app, gid, gsecret, &own).await.json();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["application"]["kind"], "integration");
    assert!(answer["exp"].is_i64() && answer["scope"].is_string());
    // Another organization's client learns nothing; a user token is no organization's.
    assert_eq!(introspect(&app, fid, fsecret, &own).await.json(), json!({"active": false}));
    assert_eq!(introspect(&app, gid, gsecret, &app.token).await.json(), json!({"active": false}));
    assert_eq!(introspect(&app, gid, gsecret, "garbage").await.json(), json!({"active": false}));
    // Public clients and bad credentials cannot introspect.
    let request = app
        .anonymous(Method::POST, "/oauth/introspect")
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    assert_eq!(app.send(request, Some(format!("token={own}&client_id={sales_id}"))).await.status, 401);
    assert_eq!(introspect(&app, gid, "wrong", &own).await.status, 401);
    // A revoked token is inactive.
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{gid}:{gsecret}"));
    let request = app
        .anonymous(Method::POST, "/oauth/revoke")
        .insert_header(("authorization", format!("Basic {encoded}")))
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    assert_eq!(app.send(request, Some(format!("token={own}"))).await.status, 200);
    assert_eq!(introspect(&app, gid, gsecret, &own).await.json()["active"], false);
}

#[actix_rt::test]
async fn private_key_jwt_clients_sign_their_assertions() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF).unwrap();
    let private_pem = private.to_pkcs8_pem(LineEnding::LF).unwrap();
    let credential = create_credential(
        &app,
        &org,
        json!({"name": "Signed", "kind": "integration", "auth_method": "private_key_jwt", "public_key": public_pem}),
        Some(&org.admin_role),
    )
    .await;
    assert_eq!(attr(&credential, "client_secret"), &Value::Null, "no secret for private_key_jwt");
    let client_id = attr(&credential, "client_id").as_str().unwrap().to_string();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    let assertion = |audience: &str, jti: &str| {
        let now = chrono::Utc::now().timestamp();
        let claims =
            json!({"iss": client_id, "sub": client_id, "aud": audience, "jti": jti, "iat": now, "exp": now + 300});
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &key).unwrap()
    };
    let send = |assertion: String| {
        let request = app
            .anonymous(Method::POST, "/oauth/token")
            .insert_header(("content-type", "application/x-www-form-urlencoded"));
        let body = format!("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion={assertion}");
        app.send(request, Some(body))
    };
    let endpoint = app.url("/oauth/token");
    let good = assertion(&endpoint, "one");
    let response = send(good.clone()).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        claims(response.json()["access_token"].as_str().unwrap())["application"]["client_id"],
        client_id.as_str()
    );
    assert_eq!(send(good).await.status, 401, "an assertion is good once");
    assert_eq!(send(assertion("https://elsewhere.example/token", "two")).await.status, 401, "wrong audience");
    let other_key =
        rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
    let forged = {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iss": client_id, "sub": client_id, "aud": endpoint, "jti": "three", "exp": now + 300});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(other_key.as_bytes()).unwrap(),
        )
        .unwrap()
    };
    assert_eq!(send(forged).await.status, 401, "signed with another key");
    // A secret is no way in for this client.
    assert_eq!(grant(&app, &client_id, Some("anything"), true).await.status, 401);
}

#[actix_rt::test]
async fn twenty_concurrent_creates_with_one_name_all_succeed_and_no_secret_is_stored_in_clear() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let creates = (0..20).map(|_| {
        create_credential(&app, &org, json!({"name": "Same name", "kind": "integration"}), Some(&org.admin_role))
    });
    let created = futures_util::future::join_all(creates).await;
    let mut client_ids: Vec<&str> = created.iter().map(|c| attr(c, "client_id").as_str().unwrap()).collect();
    client_ids.sort();
    client_ids.dedup();
    assert_eq!(client_ids.len(), 20);
    let mut secrets: Vec<String> =
        created.iter().map(|c| attr(c, "client_secret").as_str().unwrap().to_string()).collect();
    // Rotate one, grant with a few, so every code path that touches a secret has run.
    let id = created[0]["id"].as_str().unwrap();
    let rotated = app
        .patch(
            &format!("/api/api_credentials/{id}"),
            &json!({"data": {"type": "api_credentials", "id": id, "attributes": {"_rotate_secret": true}}}),
        )
        .await;
    secrets.push(attr(&rotated.json()["data"], "client_secret").as_str().unwrap().to_string());
    token(&app, attr(&created[1], "client_id").as_str().unwrap(), Some(&secrets[1]), true).await;
    secrets.push(app.client_secret.clone());

    // Every text column of every table, on either backend.
    let url = app.database_url.clone();
    let found = actix_web::rt::task::spawn_blocking(move || {
        use diesel::sql_types::{BigInt, Text};
        #[derive(diesel::QueryableByName)]
        struct Column {
            #[diesel(sql_type = Text)]
            table_name: String,
            #[diesel(sql_type = Text)]
            column_name: String,
        }
        #[derive(diesel::QueryableByName)]
        struct Hits {
            #[diesel(sql_type = BigInt)]
            hits: i64,
        }
        let mut conn = connect(&url);
        let columns_sql = match conn.backend() {
            provisioning::db::Backend::Sqlite => "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND upper(p.type) = 'TEXT'",
            provisioning::db::Backend::Postgres => "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'text'",
        };
        let columns = provisioning::db::sql::Sql::new(columns_sql).load::<Column>(&mut conn).unwrap();
        assert!(columns.len() > 50, "the scan sees the schema ({} columns)", columns.len());
        let mut found = Vec::new();
        for column in &columns {
            for secret in &secrets {
                let mut sql = provisioning::db::sql::Sql::new(&format!("SELECT COUNT(*) AS hits FROM \"{}\" WHERE \"{}\" LIKE ", column.table_name, column.column_name));
                sql.text(format!("%{secret}%"));
                if sql.load::<Hits>(&mut conn).unwrap()[0].hits > 0 {
                    found.push(format!("{}.{}", column.table_name, column.column_name));
                }
            }
        }
        found
    })
    .await
    .unwrap();
    assert!(found.is_empty(), "plain secrets stored in {found:?}");
}

#[actix_rt::test]
async fn credentials_follow_the_role_matrix() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let (_, reader) = app.user("reader@example.com").await;
    let (_, outsider) = app.user("outsider@example.com").await;
    app.post("/api/memberships", &json!({"data": {"type": "memberships", "attributes": {"user_email": "reader@example.com"},
        "relationships": {"organization": linkage("organizations", &org.id), "role": linkage("roles", &org.read_only_role)}}})).await;
    let credential =
        create_credential(&app, &org, json!({"name": "ERP", "kind": "integration"}), Some(&org.admin_role)).await;
    let id = credential["id"].as_str().unwrap();
    let document = credential_document(&org, json!({"name": "Nope", "kind": "sales_channel"}), None);
    assert_eq!(app.write_as(&reader, Method::POST, "/api/api_credentials", &document).await.status, 403);
    assert_eq!(app.write_as(&outsider, Method::POST, "/api/api_credentials", &document).await.status, 404);
    assert_eq!(app.get_as(&reader, &format!("/api/api_credentials/{id}")).await.status, 200);
    assert_eq!(app.get_as(&outsider, &format!("/api/api_credentials/{id}")).await.status, 404);
    let rename = json!({"data": {"type": "api_credentials", "id": id, "attributes": {"name": "Renamed"}}});
    assert_eq!(app.write_as(&reader, Method::PATCH, &format!("/api/api_credentials/{id}"), &rename).await.status, 403);
    assert_eq!(
        app.send(app.request_as(&reader, Method::DELETE, &format!("/api/api_credentials/{id}")), None).await.status,
        403
    );
    let response = app.patch(&format!("/api/api_credentials/{id}"), &rename).await;
    assert_eq!(response.status, 200);
    assert_eq!(attr(&response.json()["data"], "name"), "Renamed");
    // Versioned, beyond Commerce Layer.
    let versions = app.get(&format!("/api/api_credentials/{id}/versions")).await.json();
    assert_eq!(versions["meta"]["record_count"], 2);
}

#[actix_rt::test]
async fn application_memberships_tie_records_of_one_organization() {
    let app = spawn_app().await;
    let org = organization(&app, "Acme").await;
    let other = organization(&app, "Other").await;
    let credential =
        create_credential(&app, &org, json!({"name": "ERP", "kind": "integration"}), Some(&org.admin_role)).await;
    let credential_id = credential["id"].as_str().unwrap();
    let memberships = app.get(&format!("/api/organizations/{}/memberships", org.id)).await.json();
    let membership_id = memberships["data"][0]["id"].as_str().unwrap();
    let document = |role: &str| {
        json!({"data": {"type": "application_memberships", "attributes": {"filters": {"market_id_in": [202, 203]}},
        "relationships": {"organization": linkage("organizations", &org.id), "api_credential": linkage("api_credentials", credential_id),
            "role": linkage("roles", role), "membership": linkage("memberships", membership_id)}}})
    };
    let response = app.post("/api/application_memberships", &document(&other.admin_role)).await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/role");
    let response = app
        .post("/api/application_memberships?include=api_credential,membership", &document(&org.read_only_role))
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = response.json();
    assert_eq!(body["data"]["attributes"]["filters"], json!({"market_id_in": [202, 203]}));
    assert_eq!(body["included"].as_array().unwrap().len(), 2);
    let id = body["data"]["id"].as_str().unwrap();
    let response = app.patch(&format!("/api/application_memberships/{id}"), &json!({"data": {"type": "application_memberships", "id": id, "attributes": {"filters": {}}, "relationships": {"role": linkage("roles", &org.admin_role)}}})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["data"]["relationships"]["role"]["data"]["id"], org.admin_role.as_str());
    let linked =
        app.get(&format!("/api/api_credentials/{credential_id}/relationships/application_memberships")).await.json();
    assert_eq!(linked["data"], json!([{"type": "application_memberships", "id": id}]));
    assert_eq!(app.delete(&format!("/api/application_memberships/{id}")).await.status, 204);
    assert_eq!(app.get(&format!("/api/application_memberships/{id}")).await.status, 404);
}
