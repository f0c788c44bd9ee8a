//! Signing key rotation (issue 10, item 2): `provisioning keys rotate` makes a new key sign on
//! every instance, the old one stays published and verifies until the longest token it can
//! have signed has expired, then leaves the JWKS, and a later rotation deletes it.

use diesel::prelude::*;
use provisioning::auth::tokens::key_id;
use provisioning::db::schema::signing_keys;
use serde_json::json;

use crate::helpers::{connect, settings, spawn_app, TestApp};

/// The key ids the JWKS at `base` publishes.
async fn published(app: &TestApp, base: &str) -> Vec<String> {
    let response = app.send(app.client().get(format!("{base}/.well-known/jwks.json")), None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let mut kids: Vec<String> =
        response.json()["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
    kids.sort();
    kids
}

/// A token for the bootstrap user from the instance at `base`.
async fn token_at(app: &TestApp, base: &str) -> String {
    let grant =
        json!({"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret});
    let request = app.client().post(format!("{base}/oauth/token")).insert_header(("content-type", "application/json"));
    let response = app.send(request, Some(grant.to_string())).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json()["access_token"].as_str().unwrap().to_string()
}

/// The status of `GET /api/user` with `token` at the instance at `base`.
async fn user_status(app: &TestApp, base: &str, token: &str) -> u16 {
    let request =
        app.client().get(format!("{base}/api/user")).insert_header(("authorization", format!("Bearer {token}")));
    app.send(request, None).await.status
}

#[actix_rt::test]
async fn a_rotation_switches_every_instance_and_the_old_key_verifies_until_its_tokens_expire() {
    let app = spawn_app().await;
    // Started before the rotation: it learns of it from the table alone.
    let second = app.another_instance(|_| {}).await;
    let old_token = app.token.clone();
    let old_kid = key_id(&old_token).unwrap();
    assert_eq!(published(&app, &app.base).await, vec![old_kid.clone()]);

    // A credential whose tokens live 30 days: the old key must stay that long.
    let organization = app.create_organization(json!({"name": "Rotating"})).await;
    let credential = json!({"data": {"type": "api_credentials",
        "attributes": {"name": "Long lived", "kind": "sales_channel", "expires_in": 2_592_000},
        "relationships": {"organization": {"data": {"type": "organizations", "id": organization["id"]}}}}});
    let created = app.post("/api/api_credentials", &credential).await;
    assert_eq!(created.status, 201, "{}", created.text);

    let rotation = provisioning::startup::rotate_signing_key(&settings(&app.database_url)).await.expect("rotating");
    assert_ne!(rotation.new_kid, old_kid);
    assert_eq!(rotation.retired.len(), 1);
    let (retired, until) = &rotation.retired[0];
    assert_eq!(retired, &old_kid);
    let horizon = (until.and_utc().timestamp() - chrono::Utc::now().timestamp()) as f64;
    assert!((2_592_000.0..2_592_000.0 + 300.0).contains(&horizon), "retired for {horizon} s");
    assert_eq!(rotation.deleted, 0);

    // Within a second, each instance signs with the new key.
    actix_rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let new_token = token_at(&app, &app.base).await;
    assert_eq!(key_id(&new_token).unwrap(), rotation.new_kid);
    // The other instance verifies it though it had not looked since it started...
    assert_eq!(user_status(&app, &second, &new_token).await, 200);
    // ...and signs with the new key too.
    assert_eq!(key_id(&token_at(&app, &second).await).unwrap(), rotation.new_kid);
    // Tokens of the old key keep working everywhere; both keys are published.
    for base in [&app.base, &second] {
        assert_eq!(user_status(&app, base, &old_token).await, 200, "{base}");
        assert_eq!(user_status(&app, base, &new_token).await, 200, "{base}");
        let mut both = vec![old_kid.clone(), rotation.new_kid.clone()];
        both.sort();
        assert_eq!(published(&app, base).await, both, "{base}");
    }

    // Once the old key's time is up (moved into the past here), it leaves the JWKS and its
    // tokens are refused.
    let url = app.database_url.clone();
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(5);
    let kid = old_kid.clone();
    actix_web::rt::task::spawn_blocking(move || {
        diesel::update(signing_keys::table.find(&kid))
            .set(signing_keys::verify_until.eq(past))
            .execute(&mut connect(&url))
            .unwrap()
    })
    .await
    .unwrap();
    let third = app.another_instance(|_| {}).await;
    assert_eq!(published(&app, &third).await, vec![rotation.new_kid.clone()]);
    assert_eq!(user_status(&app, &third, &old_token).await, 401);
    assert_eq!(user_status(&app, &third, &new_token).await, 200);

    // The next rotation deletes it, and keeps the one it retires.
    let again = provisioning::startup::rotate_signing_key(&settings(&app.database_url)).await.unwrap();
    assert_eq!(again.deleted, 1);
    assert_eq!(again.retired.iter().map(|(kid, _)| kid).collect::<Vec<_>>(), vec![&rotation.new_kid]);
    let url = app.database_url.clone();
    let left: Vec<String> = actix_web::rt::task::spawn_blocking(move || {
        signing_keys::table.select(signing_keys::kid).order(signing_keys::kid).load(&mut connect(&url)).unwrap()
    })
    .await
    .unwrap();
    let mut expected = vec![rotation.new_kid.clone(), again.new_kid.clone()];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(user_status(&app, &third, &new_token).await, 200);
}

#[actix_rt::test]
async fn the_keys_rotate_command_rotates() {
    let app = spawn_app().await;
    let before = key_id(&app.token).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_provisioning"));
    command.args(["keys", "rotate"]).env("DATABASE_URL", &app.database_url).env("RUST_LOG", "warn");
    // SQLite: the key file beside the database, as the app has it.
    if app.database_url.starts_with("postgres") {
        command.env("MASTER_KEY", crate::helpers::TEST_MASTER_KEY);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains(&format!("Retired key {before}")), "{stdout}");
    actix_rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = key_id(&app.token_for(&app.client_id, &app.client_secret).await).unwrap();
    assert_ne!(after, before);
    assert!(stdout.contains(&format!("Signing with key {after}")), "{stdout}");
}
