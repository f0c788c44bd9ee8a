//! Secrets never printed (issue 9, item 9): the real binary at RUST_LOG=trace, driven through
//! everything that carries a secret or a token (grants by body, form and Basic, a new and a
//! rotated credential secret, an email code, revocation, a wrong secret, a forged token); then
//! its log is searched for every one of them.

use awc::http::Method;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{mails_in, LoggedBinary, Mail, MEDIA_TYPE};

#[actix_rt::test]
async fn no_secret_or_token_seen_on_the_wire_reaches_a_trace_log() {
    let server = LoggedBinary::start(&[("RUST_LOG", "trace")]);
    let client = awc::Client::default();
    let url = |path: &str| format!("{}{path}", server.base);
    // Everything secret that crosses the wire, both ways.
    let mut seen: Vec<(String, String)> = vec![("bootstrap secret".into(), server.client_secret.clone())];
    let send = |request: awc::ClientRequest, body: Option<String>| async move {
        let mut response = match body {
            Some(body) => request.send_body(body).await,
            None => request.send().await,
        }
        .unwrap();
        let status = response.status().as_u16();
        let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
        (status, text)
    };
    let token_from = |(status, text): (u16, String)| {
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<Value>(&text).unwrap()["access_token"].as_str().unwrap().to_string()
    };

    // Grants: JSON body, form, Basic.
    let json_grant = json!({"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret});
    let token = token_from(
        send(
            client.post(url("/oauth/token")).insert_header(("content-type", "application/json")),
            Some(json_grant.to_string()),
        )
        .await,
    );
    seen.push(("user token".into(), token.clone()));
    let form =
        format!("grant_type=client_credentials&client_id={}&client_secret={}", server.client_id, server.client_secret);
    let form_request =
        client.post(url("/oauth/token")).insert_header(("content-type", "application/x-www-form-urlencoded"));
    seen.push(("form token".into(), token_from(send(form_request, Some(form)).await)));
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", server.client_id, server.client_secret));
    let basic_request = client
        .post(url("/oauth/token"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("authorization", format!("Basic {basic}")));
    seen.push(("basic header".into(), basic.clone()));
    seen.push((
        "basic token".into(),
        token_from(send(basic_request, Some("grant_type=client_credentials".into())).await),
    ));

    // A wrong secret and a forged token are secrets of their senders too.
    let wrong = json!({"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": "Wr0ng-secret-that-must-not-show"});
    let (status, _) = send(
        client.post(url("/oauth/token")).insert_header(("content-type", "application/json")),
        Some(wrong.to_string()),
    )
    .await;
    assert_eq!(status, 401);
    seen.push(("wrong secret".into(), "Wr0ng-secret-that-must-not-show".into()));
    let forged = format!("{}.Zm9yZ2Vk", token.rsplit_once('.').unwrap().0);
    let (status, _) =
        send(client.get(url("/api/user")).insert_header(("authorization", format!("Bearer {forged}"))), None).await;
    assert_eq!(status, 401);
    seen.push(("forged token signature".into(), "Zm9yZ2Vk".into()));

    let api = |method: Method, path: &str| {
        client
            .request(method, url(path))
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("content-type", MEDIA_TYPE))
    };
    // A credential: its secret on create, a rotated one, and their tokens.
    let (status, text) = send(
        api(Method::POST, "/api/organizations"),
        Some(json!({"data": {"type": "organizations", "attributes": {"name": "Acme"}}}).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let organization = serde_json::from_str::<Value>(&text).unwrap()["data"]["id"].as_str().unwrap().to_string();
    let (_, text) = send(api(Method::GET, &format!("/api/organizations/{organization}/roles")), None).await;
    let roles: Value = serde_json::from_str(&text).unwrap();
    let admin =
        roles["data"].as_array().unwrap().iter().find(|r| r["attributes"]["kind"] == "admin").unwrap()["id"].clone();
    let document = json!({"data": {"type": "api_credentials", "attributes": {"name": "Shop", "kind": "integration"},
        "relationships": {"organization": {"data": {"type": "organizations", "id": organization}}, "role": {"data": {"type": "roles", "id": admin}}}}});
    let (status, text) = send(api(Method::POST, "/api/api_credentials"), Some(document.to_string())).await;
    assert_eq!(status, 201, "{text}");
    let credential: Value = serde_json::from_str(&text).unwrap();
    let (credential_id, credential_client) = (
        credential["data"]["id"].as_str().unwrap().to_string(),
        credential["data"]["attributes"]["client_id"].as_str().unwrap().to_string(),
    );
    let first_secret = credential["data"]["attributes"]["client_secret"].as_str().unwrap().to_string();
    seen.push(("credential secret".into(), first_secret.clone()));
    let rotate =
        json!({"data": {"type": "api_credentials", "id": credential_id, "attributes": {"_rotate_secret": true}}});
    let (status, text) =
        send(api(Method::PATCH, &format!("/api/api_credentials/{credential_id}")), Some(rotate.to_string())).await;
    assert_eq!(status, 200, "{text}");
    let rotated = serde_json::from_str::<Value>(&text).unwrap()["data"]["attributes"]["client_secret"]
        .as_str()
        .unwrap()
        .to_string();
    seen.push(("rotated secret".into(), rotated.clone()));
    let grant = json!({"grant_type": "client_credentials", "client_id": credential_client, "client_secret": rotated});
    let credential_token = token_from(
        send(
            client.post(url("/oauth/token")).insert_header(("content-type", "application/json")),
            Some(grant.to_string()),
        )
        .await,
    );
    seen.push(("credential token".into(), credential_token.clone()));
    let revoke = json!({"token": credential_token, "client_id": credential_client, "client_secret": rotated});
    let (status, text) = send(
        client.post(url("/oauth/revoke")).insert_header(("content-type", "application/json")),
        Some(revoke.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{text}");

    // An email code, there and back.
    let ask = json!({"data": {"type": "users", "attributes": {"email": "ada@example.com"}}});
    assert_eq!(send(api(Method::PATCH, "/api/user"), Some(ask.to_string())).await.0, 200);
    let mail: Mail =
        mails_in(&server.dir.join("outbox")).into_iter().find(|m| m.to.contains("ada@example.com")).unwrap();
    let code = mail.code();
    let confirm = json!({"data": {"type": "users", "attributes": {"_confirm_email_code": code}}});
    let (status, text) = send(api(Method::PATCH, "/api/user"), Some(confirm.to_string())).await;
    assert_eq!(status, 200, "{text}");
    seen.push(("email code".into(), code));

    let log = server.log();
    assert!(log.lines().count() > 50 && log.contains("TRACE"), "the log is at trace level:\n{log}");
    for (what, secret) in &seen {
        assert!(!log.contains(secret.as_str()), "the {what} appears in the trace log");
    }
}
