//! The token endpoint, the tokens themselves, revocation, and the 401s of `/api`.

use awc::http::Method;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{connect, spawn_app, TestApp};

async fn grant(
    app: &TestApp,
    content_type: &str,
    body: String,
    basic: Option<(&str, &str)>,
) -> crate::helpers::TestResponse {
    let mut request = app.anonymous(Method::POST, "/oauth/token").insert_header(("content-type", content_type));
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.insert_header(("authorization", format!("Basic {encoded}")));
    }
    app.send(request, Some(body)).await
}

fn decode_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[actix_rt::test]
async fn client_credentials_by_json_form_and_basic() {
    let app = spawn_app().await;
    let (id, secret) = (app.client_id.clone(), app.client_secret.clone());
    let json_body = json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}).to_string();
    let form_body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let responses = [
        grant(&app, "application/json", json_body, None).await,
        grant(&app, "application/x-www-form-urlencoded", form_body, None).await,
        grant(&app, "application/x-www-form-urlencoded", "grant_type=client_credentials".into(), Some((&id, &secret)))
            .await,
    ];
    for response in responses {
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.header("cache-control").as_deref(), Some("no-store"));
        let body = response.json();
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 7200);
        assert_eq!(body["scope"], "provisioning-api");
        assert!(body["created_at"].is_i64());
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(app.get_as(token, "/api/user").await.status, 200);
    }
}

#[actix_rt::test]
async fn tokens_are_rs512_jwts_with_the_documented_claims() {
    let app = spawn_app().await;
    let header = decode_part(&app.token, 0);
    assert_eq!(header["alg"], "RS512");
    let kid = header["kid"].as_str().unwrap();
    let claims = decode_part(&app.token, 1);
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["scope"], "provisioning-api");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 7200);
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert_eq!(claims["application"]["kind"], "user");
    assert_eq!(claims["application"]["client_id"], app.client_id.as_str());
    assert_eq!(claims["application"]["public"], false);
    assert_eq!(claims["application"]["confidential"], true);
    let user = app.get("/api/user").await.json();
    assert_eq!(claims["user"]["id"], user["data"]["id"]);

    // The published key verifies the signature, with nothing but the JWKS.
    let jwks = app.send(app.anonymous(Method::GET, "/.well-known/jwks.json"), None).await.json();
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("the kid is published");
    assert_eq!(key["kty"], "RSA");
    let decoding =
        jsonwebtoken::DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS512);
    validation.set_issuer(&[app.base.as_str()]);
    jsonwebtoken::decode::<Value>(&app.token, &decoding, &validation).expect("the signature verifies");
}

#[actix_rt::test]
async fn token_errors_are_oauth_json_with_an_errors_array() {
    let app = spawn_app().await;
    let id = app.client_id.clone();
    let cases = [
        (
            json!({"grant_type": "client_credentials", "client_id": id, "client_secret": "wrong"}).to_string(),
            401,
            "invalid_client",
        ),
        (
            json!({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}).to_string(),
            401,
            "invalid_client",
        ),
        (json!({"grant_type": "client_credentials", "client_id": id}).to_string(), 401, "invalid_client"),
        (json!({"grant_type": "client_credentials"}).to_string(), 401, "invalid_client"),
        (json!({"client_id": id, "client_secret": "x"}).to_string(), 400, "invalid_request"),
        (json!({"grant_type": "password", "client_id": id}).to_string(), 400, "unsupported_grant_type"),
        ("{".to_string(), 400, "invalid_request"),
    ];
    for (body, status, error) in cases {
        let response = grant(&app, "application/json", body.clone(), None).await;
        assert_eq!(response.status, status, "{body}: {}", response.text);
        let json = response.json();
        assert_eq!(json["error"], error, "{body}");
        assert!(json["error_description"].is_string());
        assert_eq!(json["errors"][0]["status"], status.to_string());
        assert!(json["errors"][0]["detail"].is_string());
    }
    let response = grant(&app, "text/plain", "grant_type=client_credentials".into(), None).await;
    assert_eq!(response.status, 400);
    // Wrong Basic credentials get a Basic challenge; Basic and a body secret together are refused.
    let response =
        grant(&app, "application/x-www-form-urlencoded", "grant_type=client_credentials".into(), Some((&id, "nope")))
            .await;
    assert_eq!(response.status, 401);
    assert!(response.header("www-authenticate").unwrap().starts_with("Basic"));
    let both = format!("grant_type=client_credentials&client_secret={}", app.client_secret);
    let response = grant(&app, "application/x-www-form-urlencoded", both, Some((&id, &app.client_secret))).await;
    assert_eq!(response.status, 400);
}

#[actix_rt::test]
async fn api_without_a_valid_token_answers_401_with_bearer_challenge() {
    let app = spawn_app().await;
    let expired = {
        let url = app.database_url.clone();
        let (base, client_id) = (app.base.clone(), app.client_id.clone());
        let user_id = app.get("/api/user").await.json()["data"]["id"].as_str().unwrap().to_string();
        actix_web::rt::task::spawn_blocking(move || {
            let keys = provisioning::auth::keys::KeySet::load_or_create(
                &mut connect(&url),
                &crate::helpers::master_keys(&url),
            )
            .unwrap();
            let past = chrono::Utc::now().timestamp() - 7300;
            let claims = provisioning::auth::tokens::Claims::for_user(&base, &user_id, &client_id, past);
            provisioning::auth::tokens::issue(&keys, &claims)
        })
        .await
        .unwrap()
    };
    let tampered = {
        let mut parts: Vec<String> = app.token.split('.').map(String::from).collect();
        let mut claims = decode_part(&app.token, 1);
        claims["user"]["id"] = json!("someoneelse");
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
        parts.join(".")
    };
    for authorization in [
        None,
        Some("Bearer".to_string()),
        Some("Bearer not-a-jwt".into()),
        Some(format!("Basic {}", app.token)),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {tampered}")),
    ] {
        let mut request = app.anonymous(Method::GET, "/api/organizations");
        if let Some(value) = &authorization {
            request = request.insert_header(("authorization", value.clone()));
        }
        let response = app.send(request, None).await;
        assert_eq!(response.status, 401, "{authorization:?}");
        assert_eq!(response.header("www-authenticate").as_deref(), Some("Bearer"));
        assert_eq!(response.error()["code"], "UNAUTHORIZED");
    }
    // Writes too, and nothing is written.
    let request =
        app.anonymous(Method::POST, "/api/organizations").insert_header(("content-type", "application/vnd.api+json"));
    let response = app
        .send(request, Some(json!({"data": {"type": "organizations", "attributes": {"name": "X"}}}).to_string()))
        .await;
    assert_eq!(response.status, 401);
    assert_eq!(app.organization_count().await, 0);
}

#[actix_rt::test]
async fn a_revoked_token_is_refused_at_once_and_others_keep_working() {
    let app = spawn_app().await;
    let other = app.token_for(&app.client_id, &app.client_secret).await;
    let body = json!({"token": app.token, "client_id": app.client_id, "client_secret": app.client_secret});
    let request = app.anonymous(Method::POST, "/oauth/revoke").insert_header(("content-type", "application/json"));
    let response = app.send(request, Some(body.to_string())).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let refused = app.get("/api/organizations").await;
    assert_eq!(refused.status, 401);
    assert!(refused.error()["detail"].as_str().unwrap().contains("revoked"));
    assert_eq!(app.get_as(&other, "/api/organizations").await.status, 200);
    // Revoking needs the client's own credentials.
    let body = json!({"token": other, "client_id": app.client_id, "client_secret": "wrong"});
    let request = app.anonymous(Method::POST, "/oauth/revoke").insert_header(("content-type", "application/json"));
    assert_eq!(app.send(request, Some(body.to_string())).await.status, 401);
    assert_eq!(app.get_as(&other, "/api/organizations").await.status, 200);
}

#[actix_rt::test]
async fn instances_on_one_database_share_keys_and_revocations() {
    let app = spawn_app().await;
    let mut settings = crate::helpers::settings(&app.database_url);
    settings.public_url = Some(app.base.clone());
    let second = provisioning::startup::Application::build(settings).await.expect("a second instance");
    assert!(second.bootstrap_credentials().is_none(), "only the first start bootstraps");
    let port = second.port();
    actix_rt::spawn(second.server());
    let client = awc::Client::default();
    let get = |token: String| {
        let client = client.clone();
        async move {
            client
                .get(format!("http://127.0.0.1:{port}/api/user"))
                .insert_header(("authorization", format!("Bearer {token}")))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get(app.token.clone()).await, 200, "a token of the first instance works on the second");
    let body = json!({"token": app.token, "client_id": app.client_id, "client_secret": app.client_secret});
    let request = app.anonymous(Method::POST, "/oauth/revoke").insert_header(("content-type", "application/json"));
    assert_eq!(app.send(request, Some(body.to_string())).await.status, 200);
    assert_eq!(get(app.token.clone()).await, 401, "revoked on one, refused on the other");
}

#[actix_rt::test]
async fn the_users_commands_print_credentials_once_and_rotate_them() {
    let app = spawn_app().await;
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_provisioning"))
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .env("MASTER_KEY", crate::helpers::TEST_MASTER_KEY)
            .env("RUST_LOG", "warn")
            .output()
            .expect("running the binary");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let field = |name: &str| {
            stdout.lines().find_map(|l| l.trim().strip_prefix(name)).map(|v| v.trim().to_string()).unwrap()
        };
        (field("client_id:"), field("client_secret:"))
    };
    let (id, secret) =
        run(&["users", "create", "--email", "Dev@Example.com", "--first-name", "Dev", "--last-name", "Eloper"]);
    let token = app.token_for(&id, &secret).await;
    assert_eq!(app.get_as(&token, "/api/user").await.json()["data"]["attributes"]["email"], "Dev@Example.com");
    let (same_id, new_secret) = run(&["users", "rotate-secret", "--email", "dev@example.com"]);
    assert_eq!(same_id, id);
    assert_ne!(new_secret, secret);
    app.token_for(&id, &new_secret).await;
    let body = json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret});
    assert_eq!(
        grant(&app, "application/json", body.to_string(), None).await.status,
        401,
        "the old secret stops working"
    );
    // The secret is stored only as an argon2id hash.
    let url = app.database_url.clone();
    let stored: Vec<String> = actix_web::rt::task::spawn_blocking(move || {
        use diesel::prelude::*;
        provisioning::db::schema::users::table
            .select(provisioning::db::schema::users::client_secret_hash)
            .load(&mut connect(&url))
            .unwrap()
    })
    .await
    .unwrap();
    assert!(stored.iter().all(|h| h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")));
    assert!(!stored.iter().any(|h| h.contains(&new_secret)));
}

#[actix_rt::test]
async fn the_callers_own_user() {
    let app = spawn_app().await;
    let body = app.get("/api/user").await.json();
    assert_eq!(body["data"]["type"], "users");
    assert_eq!(body["data"]["attributes"]["email"], "admin@localhost");
    assert!(body["data"]["attributes"].get("client_secret").is_none());
    assert_eq!(body["data"]["links"]["self"], app.url("/api/user"));
    let id = body["data"]["id"].as_str().unwrap().to_string();
    // The SDK sends no id for the singleton.
    let response = app.patch("/api/user", &json!({"data": {"type": "users", "attributes": {"first_name": "Ada", "time_zone": "Europe/Rome"}, "relationships": {}}})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["data"]["attributes"]["first_name"], "Ada");
    assert_eq!(response.json()["data"]["attributes"]["last_name"], "User");
    let response = app
        .patch("/api/user", &json!({"data": {"type": "users", "id": "someoneelse", "attributes": {"first_name": "X"}}}))
        .await;
    assert_eq!(response.status, 409);
    let response = app
        .patch(
            "/api/user",
            &json!({"data": {"type": "users", "id": id, "attributes": {"email": "nope", "time_zone": "not a zone"}}}),
        )
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(response.json()["errors"].as_array().unwrap().len(), 2);
    let response = app
        .patch("/api/user", &json!({"data": {"type": "users", "attributes": {"otp_required_for_login": true}}}))
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(app.get("/api/user").await.json()["data"]["attributes"]["first_name"], "Ada");
}
