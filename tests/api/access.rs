//! Tenancy and the role matrix: for each type and action, an admin, a read-only member, a
//! custom-role member, a member of another organization, and callers without a valid token.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

/// An organization with one member of each kind, and one record of each type.
struct Fixture {
    organization: String,
    custom_role: String,
    permission: String,
    membership: String,
    profile: String,
    version: String,
    read_only: String,
    custom: String,
    outsider: String,
}

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = app.write_as(token, Method::POST, path, &body).await;
    assert_eq!(response.status, 201, "{path}: {}", response.text);
    response.json()["data"].clone()
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_string()
}

fn linkage(type_name: &str, id: &str) -> Value {
    json!({"data": {"type": type_name, "id": id}})
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.token.clone();
    let organization = id(&app.create_organization(json!({"name": "Acme"})).await);
    let roles = app.get(&format!("/api/organizations/{organization}/roles")).await.json();
    let read_only_role =
        roles["data"].as_array().unwrap().iter().find(|r| r["attributes"]["kind"] == "read_only").map(id).unwrap();
    let custom_role = id(&create(app, &admin, "/api/roles", json!({"data": {"type": "roles", "attributes": {"name": "Support"}, "relationships": {"organization": linkage("organizations", &organization)}}})).await);
    // The custom role may read and create memberships, and nothing else.
    let permission = id(&create(app, &admin, "/api/permissions", json!({"data": {"type": "permissions",
        "attributes": {"can_create": true, "can_read": true, "can_update": false, "can_destroy": false, "subject": "memberships"},
        "relationships": {"role": linkage("roles", &custom_role)}}})).await);
    let (_, read_only) = app.user("reader@example.com").await;
    let (_, custom) = app.user("support@example.com").await;
    let (_, outsider) = app.user("outsider@example.com").await;
    app.write_as(
        &outsider,
        Method::POST,
        "/api/organizations",
        &json!({"data": {"type": "organizations", "attributes": {"name": "Elsewhere"}}}),
    )
    .await;
    let membership = |email: &str, role: &str| {
        json!({"data": {"type": "memberships", "attributes": {"user_email": email},
        "relationships": {"organization": linkage("organizations", &organization), "role": linkage("roles", role)}}})
    };
    create(app, &admin, "/api/memberships", membership("reader@example.com", &read_only_role)).await;
    create(app, &admin, "/api/memberships", membership("support@example.com", &custom_role)).await;
    let invited = create(app, &admin, "/api/memberships", membership("invitee@example.com", &read_only_role)).await;
    assert_eq!(invited["attributes"]["status"], "pending");
    let profile = id(&create(app, &admin, "/api/membership_profiles", json!({"data": {"type": "membership_profiles",
        "attributes": {"name": "Ops", "access_scope": "test_access"}, "relationships": {"organization": linkage("organizations", &organization)}}})).await);
    let versions = app.get(&format!("/api/roles/{custom_role}/versions")).await.json();
    let version = id(&versions["data"][0]);
    Fixture {
        organization,
        custom_role,
        permission,
        membership: id(&invited),
        profile,
        version,
        read_only,
        custom,
        outsider,
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    Admin,
    ReadOnly,
    Custom,
    Outsider,
}

#[actix_rt::test]
async fn the_role_matrix() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let org = linkage("organizations", &f.organization);
    // (subject, action, method, path, body): creates and updates use fresh names so several
    // callers can succeed in turn.
    let operations: Vec<(&str, &str, Method, String, Value)> = vec![
        ("organizations", "read", Method::GET, format!("/api/organizations/{}", f.organization), Value::Null),
        (
            "organizations",
            "update",
            Method::PATCH,
            format!("/api/organizations/{}", f.organization),
            json!({"data": {"type": "organizations", "id": f.organization, "attributes": {"support_phone": "+1 555 0100"}}}),
        ),
        ("roles", "read", Method::GET, format!("/api/roles/{}", f.custom_role), Value::Null),
        (
            "roles",
            "create",
            Method::POST,
            "/api/roles".into(),
            json!({"data": {"type": "roles", "attributes": {"name": "New"}, "relationships": {"organization": org}}}),
        ),
        (
            "roles",
            "update",
            Method::PATCH,
            format!("/api/roles/{}", f.custom_role),
            json!({"data": {"type": "roles", "id": f.custom_role, "attributes": {"reference": "x"}}}),
        ),
        ("permissions", "read", Method::GET, format!("/api/permissions/{}", f.permission), Value::Null),
        (
            "permissions",
            "create",
            Method::POST,
            "/api/permissions".into(),
            json!({"data": {"type": "permissions",
            "attributes": {"can_create": false, "can_read": true, "can_update": false, "can_destroy": false, "subject": "roles"},
            "relationships": {"role": linkage("roles", &f.custom_role)}}}),
        ),
        (
            "permissions",
            "update",
            Method::PATCH,
            format!("/api/permissions/{}", f.permission),
            json!({"data": {"type": "permissions", "id": f.permission, "attributes": {"can_read": true}}}),
        ),
        ("memberships", "read", Method::GET, format!("/api/memberships/{}", f.membership), Value::Null),
        ("memberships", "create", Method::POST, "/api/memberships".into(), Value::Null),
        (
            "memberships",
            "update",
            Method::PATCH,
            format!("/api/memberships/{}", f.membership),
            json!({"data": {"type": "memberships", "id": f.membership, "attributes": {"access_scope": "all_access"}}}),
        ),
        ("membership_profiles", "read", Method::GET, format!("/api/membership_profiles/{}", f.profile), Value::Null),
        (
            "membership_profiles",
            "create",
            Method::POST,
            "/api/membership_profiles".into(),
            json!({"data": {"type": "membership_profiles", "attributes": {"name": "P", "access_scope": "live_access"}, "relationships": {"organization": org}}}),
        ),
        (
            "membership_profiles",
            "update",
            Method::PATCH,
            format!("/api/membership_profiles/{}", f.profile),
            json!({"data": {"type": "membership_profiles", "id": f.profile, "attributes": {"name": "Q"}}}),
        ),
        ("versions", "read", Method::GET, format!("/api/versions/{}", f.version), Value::Null),
    ];
    // Without a valid token, every operation answers 401 and changes nothing.
    let expired = expired_token(&app).await;
    let revoked = app.token_for(&app.client_id, &app.client_secret).await;
    let body = json!({"token": revoked, "client_id": app.client_id, "client_secret": app.client_secret});
    let request = app.anonymous(Method::POST, "/oauth/revoke").insert_header(("content-type", "application/json"));
    assert_eq!(app.send(request, Some(body.to_string())).await.status, 200);
    let versions_before = app.get("/api/versions").await.json()["meta"]["record_count"].clone();
    for token in [None, Some(expired), Some(revoked)] {
        for (subject, action, method, path, body) in &operations {
            let mut request =
                app.anonymous(method.clone(), path).insert_header(("content-type", "application/vnd.api+json"));
            if let Some(token) = &token {
                request = request.insert_header(("authorization", format!("Bearer {token}")));
            }
            let body = if body.is_null() { None } else { Some(body.to_string()) };
            let response = app.send(request, body).await;
            assert_eq!(response.status, 401, "{action} {subject} with {token:?}: {}", response.text);
            assert_eq!(response.error()["code"], "UNAUTHORIZED");
        }
    }
    assert_eq!(app.get("/api/versions").await.json()["meta"]["record_count"], versions_before);

    let mut counter = 0;
    for who in [Who::Outsider, Who::ReadOnly, Who::Custom, Who::Admin] {
        let token = match who {
            Who::Admin => app.token.clone(),
            Who::ReadOnly => f.read_only.clone(),
            Who::Custom => f.custom.clone(),
            Who::Outsider => f.outsider.clone(),
        };
        for (subject, action, method, path, body) in &operations {
            let expected = match (who, *subject, *action) {
                (Who::Outsider, _, _) => 404,
                (Who::Admin, _, "create") | (Who::Custom, "memberships", "create") => 201,
                (Who::Admin, _, _) | (Who::ReadOnly, _, "read") | (Who::Custom, "memberships", "read") => 200,
                _ => 403,
            };
            let response = if method == Method::GET {
                app.get_as(&token, path).await
            } else {
                counter += 1;
                let body = if *subject == "memberships" && *action == "create" {
                    json!({"data": {"type": "memberships", "attributes": {"user_email": format!("new{counter}@example.com")},
                        "relationships": {"organization": org, "role": linkage("roles", &f.custom_role)}}})
                } else {
                    body.clone()
                };
                app.write_as(&token, method.clone(), path, &body).await
            };
            assert_eq!(response.status, expected, "{who:?} {action} {subject}: {}", response.text);
            if expected >= 400 {
                let code = response.error()["code"].clone();
                assert_eq!(code, if expected == 404 { "RECORD_NOT_FOUND" } else { "FORBIDDEN" });
            }
        }
        // Lists hold only what the caller may read.
        let count = |path: &str| {
            let (app, token) = (&app, token.clone());
            let path = path.to_string();
            async move { app.get_as(&token, &path).await.json()["meta"]["record_count"].as_i64().unwrap() }
        };
        let organizations = count("/api/organizations").await;
        let memberships = count(&format!("/api/memberships?filter[q][organization_id_eq]={}", f.organization)).await;
        let roles = count(&format!("/api/roles?filter[q][organization_id_eq]={}", f.organization)).await;
        match who {
            Who::Outsider => assert_eq!((organizations, memberships, roles), (1, 0, 0), "only its own organization"),
            Who::Custom => assert_eq!((memberships > 0, roles), (true, 0), "memberships readable, roles not"),
            _ => assert!(memberships > 0 && roles >= 3, "{who:?}"),
        }
    }
    // Deleting: only the admin (and the custom role has no can_destroy).
    for token in [&f.outsider, &f.read_only, &f.custom] {
        let response =
            app.send(app.request_as(token, Method::DELETE, &format!("/api/memberships/{}", f.membership)), None).await;
        assert!(matches!(response.status, 403 | 404), "{}", response.text);
    }
    assert_eq!(app.delete(&format!("/api/memberships/{}", f.membership)).await.status, 204);
    assert_eq!(app.get(&format!("/api/memberships/{}", f.membership)).await.status, 404);
    for (token, expected) in [(&f.outsider, 404), (&f.read_only, 403), (&f.custom, 403)] {
        let response = app
            .send(app.request_as(token, Method::DELETE, &format!("/api/membership_profiles/{}", f.profile)), None)
            .await;
        assert_eq!(response.status, expected, "{}", response.text);
    }
    assert_eq!(app.delete(&format!("/api/membership_profiles/{}", f.profile)).await.status, 204);
    // Roles, permissions and organizations have no DELETE.
    for path in [
        format!("/api/roles/{}", f.custom_role),
        format!("/api/permissions/{}", f.permission),
        format!("/api/organizations/{}", f.organization),
    ] {
        assert_eq!(app.delete(&path).await.status, 405, "{path}");
    }
}

/// A token of the bootstrap user that expired a while ago, signed with the real key.
async fn expired_token(app: &TestApp) -> String {
    let url = app.database_url.clone();
    let (base, client_id) = (app.base.clone(), app.client_id.clone());
    let user_id = app.get("/api/user").await.json()["data"]["id"].as_str().unwrap().to_string();
    actix_web::rt::task::spawn_blocking(move || {
        let keys = provisioning::auth::keys::KeySet::load_or_create(
            &mut crate::helpers::connect(&url),
            &crate::helpers::master_keys(&url),
        )
        .unwrap();
        let past = chrono::Utc::now().timestamp() - 7300;
        provisioning::auth::tokens::issue(
            &keys,
            &provisioning::auth::tokens::Claims::for_user(&base, &user_id, &client_id, past),
        )
    })
    .await
    .unwrap()
}

#[actix_rt::test]
async fn creating_an_organization_makes_the_caller_its_owner() {
    let app = spawn_app().await;
    let organization = id(&app.create_organization(json!({"name": "Acme"})).await);
    let memberships = app.get(&format!("/api/organizations/{organization}/memberships?include=role")).await.json();
    assert_eq!(memberships["meta"]["record_count"], 1);
    let owner = &memberships["data"][0];
    assert_eq!(owner["attributes"]["owner"], true);
    assert_eq!(owner["attributes"]["status"], "active");
    assert_eq!(owner["attributes"]["user_email"], "admin@localhost");
    assert_eq!(memberships["included"][0]["attributes"]["kind"], "admin");
    let roles = app.get(&format!("/api/organizations/{organization}/roles?sort=kind")).await.json();
    let kinds: Vec<&str> =
        roles["data"].as_array().unwrap().iter().map(|r| r["attributes"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["admin", "read_only"]);
    let read_only = id(&roles["data"][1]);
    let permissions = app.get(&format!("/api/roles/{read_only}/permissions?page[size]=25")).await.json();
    let permissions = permissions["data"].as_array().unwrap();
    assert!(permissions.len() >= 6);
    for permission in permissions {
        let a = &permission["attributes"];
        assert_eq!(
            (a["can_create"].clone(), a["can_read"].clone(), a["can_update"].clone(), a["can_destroy"].clone()),
            (json!(false), json!(true), json!(false), json!(false))
        );
    }
    // The owner's membership cannot be deleted.
    let response = app.delete(&format!("/api/memberships/{}", id(owner))).await;
    assert_eq!(response.status, 403);
    assert_eq!(app.get(&format!("/api/memberships/{}", id(owner))).await.status, 200);
}

#[actix_rt::test]
async fn ownership_moves_to_an_active_member() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let path = format!("/api/organizations/{}/transfer_ownership", f.organization);
    let body = |email: &str| json!({"data": {"type": "organizations", "id": f.organization, "attributes": {"new_owner_email": email}, "relationships": {}}});
    // Only the owner may; the new owner must be an active member.
    assert_eq!(app.write_as(&f.read_only, Method::PATCH, &path, &body("reader@example.com")).await.status, 403);
    assert_eq!(app.patch(&path, &body("invitee@example.com")).await.status, 422);
    assert_eq!(app.patch(&path, &body("nobody@example.com")).await.status, 422);
    assert_eq!(app.write_as(&f.outsider, Method::PATCH, &path, &body("outsider@example.com")).await.status, 404);
    let response = app.patch(&path, &body("reader@example.com")).await;
    assert_eq!(response.status, 202, "{}", response.text);
    let owners = app
        .get(&format!(
            "/api/memberships?filter[q][owner_true]=true&filter[q][organization_id_eq]={}&include=role",
            f.organization
        ))
        .await
        .json();
    assert_eq!(owners["meta"]["record_count"], 1);
    assert_eq!(owners["data"][0]["attributes"]["user_email"], "reader@example.com");
    assert_eq!(owners["included"][0]["attributes"]["kind"], "admin");
    // The new owner now administers the organization.
    assert_eq!(
        app.write_as(
            &f.read_only,
            Method::PATCH,
            &format!("/api/organizations/{}", f.organization),
            &json!({"data": {"type": "organizations", "id": f.organization, "attributes": {"gtm_id": "GTM-ABC"}}})
        )
        .await
        .status,
        200
    );
}

#[actix_rt::test]
async fn roles_permissions_and_memberships_keep_their_rules() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let org = linkage("organizations", &f.organization);
    // A role of another organization cannot be used.
    let other = id(&app.create_organization(json!({"name": "Other"})).await);
    let other_roles = app.get(&format!("/api/organizations/{other}/roles")).await.json();
    let foreign_role = id(&other_roles["data"][0]);
    let response = app
        .post(
            "/api/memberships",
            &json!({"data": {"type": "memberships", "attributes": {"user_email": "x@example.com"},
        "relationships": {"organization": org, "role": linkage("roles", &foreign_role)}}}),
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.text);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/role");
    // One membership per email and organization.
    let response = app
        .post(
            "/api/memberships",
            &json!({"data": {"type": "memberships", "attributes": {"user_email": "INVITEE@example.com"},
        "relationships": {"organization": org, "role": linkage("roles", &f.custom_role)}}}),
        )
        .await;
    assert_eq!(response.status, 409, "a duplicate is a conflict");
    assert_eq!(response.error()["source"]["pointer"], "/data/attributes/user_email");
    // Missing relationships and unknown subjects.
    let response = app.post("/api/roles", &json!({"data": {"type": "roles", "attributes": {"name": "R"}}})).await;
    assert_eq!(response.status, 422);
    // JSON:API 1.1: a pointer names what is in the request; the document has no relationships.
    assert_eq!(response.error()["source"]["pointer"], "/data");
    let response = app.post("/api/permissions", &json!({"data": {"type": "permissions", "attributes": {"can_create": true, "can_read": true, "can_update": true, "can_destroy": true, "subject": "spaceships"},
        "relationships": {"role": linkage("roles", &f.custom_role)}}})).await;
    assert_eq!(response.status, 422);
    assert_eq!(response.error()["source"]["pointer"], "/data/attributes/subject");
    // A related record that does not exist (for the caller) is a 404 (JSON:API 1.1 §9.1).
    let response = app.post("/api/roles", &json!({"data": {"type": "roles", "attributes": {"name": "R"}, "relationships": {"organization": linkage("organizations", "nope000000")}}})).await;
    assert_eq!(response.status, 404);
    // Built-in roles keep their names and permissions; custom roles gain the missing base set.
    let roles = app.get(&format!("/api/organizations/{}/roles?filter[q][kind_eq]=admin", f.organization)).await.json();
    let admin_role = id(&roles["data"][0]);
    let response = app
        .patch(
            &format!("/api/roles/{admin_role}"),
            &json!({"data": {"type": "roles", "id": admin_role, "attributes": {"name": "Boss"}}}),
        )
        .await;
    assert_eq!(response.status, 422);
    let response = app.patch(&format!("/api/roles/{}", f.custom_role), &json!({"data": {"type": "roles", "id": f.custom_role, "attributes": {"_add_missing_base_permissions": true}}})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let permissions = app.get(&format!("/api/roles/{}/permissions?page[size]=25", f.custom_role)).await.json();
    let subjects: Vec<&str> =
        permissions["data"].as_array().unwrap().iter().map(|p| p["attributes"]["subject"].as_str().unwrap()).collect();
    assert!(
        subjects.contains(&"memberships") && subjects.contains(&"roles") && subjects.contains(&"versions"),
        "{subjects:?}"
    );
    let memberships_permission =
        permissions["data"].as_array().unwrap().iter().find(|p| p["attributes"]["subject"] == "memberships").unwrap();
    assert_eq!(memberships_permission["attributes"]["can_create"], true, "existing permissions are kept");
    // Resend: 202 for a pending membership, 422 otherwise.
    assert_eq!(app.post(&format!("/api/memberships/{}/resend", f.membership), &json!({"data": {}})).await.status, 202);
    let owner = app
        .get(&format!("/api/memberships?filter[q][owner_true]=1&filter[q][organization_id_eq]={}", f.organization))
        .await
        .json();
    assert_eq!(
        app.post(&format!("/api/memberships/{}/resend", id(&owner["data"][0])), &json!({"data": {}})).await.status,
        422
    );
    // Profiles: deleting one leaves its memberships without it.
    let response = app.patch(&format!("/api/memberships/{}", f.membership), &json!({"data": {"type": "memberships", "id": f.membership, "relationships": {"membership_profile": linkage("membership_profiles", &f.profile)}}})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json()["data"]["relationships"]["membership_profile"]["data"]["id"], f.profile.as_str());
    assert_eq!(app.delete(&format!("/api/membership_profiles/{}", f.profile)).await.status, 204);
    let membership = app.get(&format!("/api/memberships/{}", f.membership)).await.json();
    assert_eq!(membership["data"]["relationships"]["membership_profile"]["data"], Value::Null);
}

#[actix_rt::test]
async fn pending_memberships_activate_when_the_user_appears() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    assert_eq!(
        app.get(&format!("/api/memberships/{}", f.membership)).await.json()["data"]["attributes"]["status"],
        "pending"
    );
    let (_, token) = app.user("invitee@example.com").await;
    let membership = app.get(&format!("/api/memberships/{}", f.membership)).await.json();
    assert_eq!(membership["data"]["attributes"]["status"], "active");
    assert_eq!(membership["data"]["attributes"]["user_first_name"], "Test");
    assert_eq!(app.get_as(&token, &format!("/api/organizations/{}", f.organization)).await.status, 200);
}

#[actix_rt::test]
async fn versions_record_who_changed_what() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let response = app
        .patch(
            &format!("/api/roles/{}", f.custom_role),
            &json!({"data": {"type": "roles", "id": f.custom_role, "attributes": {"name": "Helpdesk"}}}),
        )
        .await;
    assert_eq!(response.status, 200);
    let request = app.request(
        Method::GET,
        &format!(
            "/api/versions?filter[q][resource_type_eq]=roles&filter[q][resource_id_eq]={}&sort=-created_at",
            f.custom_role
        ),
    );
    let versions = app.send(request, None).await.json();
    assert_eq!(versions["meta"]["record_count"], 2);
    let update = &versions["data"][0]["attributes"];
    assert_eq!(update["event"], "update");
    assert_eq!(update["changes"], json!({"name": ["Support", "Helpdesk"]}));
    assert_eq!(update["who"]["user"]["email"], "admin@localhost");
    assert_eq!(update["ip_address"], "127.0.0.1");
    assert!(update["uuid"].as_str().is_some_and(|u| u.len() == 36));
    assert_eq!(versions["data"][1]["attributes"]["event"], "create");
    // Through the relationship, the same.
    let related = app.get(&format!("/api/roles/{}/versions", f.custom_role)).await.json();
    assert_eq!(related["meta"]["record_count"], 2);
    // Destroys are versioned; memberships too.
    assert_eq!(app.delete(&format!("/api/memberships/{}", f.membership)).await.status, 204);
    let destroyed = app
        .get(&format!("/api/versions?filter[q][resource_id_eq]={}&filter[q][event_eq]=destroy", f.membership))
        .await
        .json();
    assert_eq!(destroyed["meta"]["record_count"], 1);
    assert_eq!(destroyed["data"][0]["attributes"]["changes"]["user_email"], json!(["invitee@example.com", null]));
    // Versions are read-only.
    let response = app.post("/api/versions", &json!({"data": {"type": "versions", "attributes": {}}})).await;
    assert_eq!(response.status, 405);
}

/// Grants are kept in memory per instance; a change of a member's role or of a role's
/// permissions is seen at once, by every instance.
#[actix_rt::test]
async fn grant_changes_are_seen_at_once_on_every_instance() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut settings = crate::helpers::settings(&app.database_url);
    settings.public_url = Some(app.base.clone());
    let second = provisioning::startup::Application::build(settings).await.expect("a second instance");
    let port = second.port();
    actix_rt::spawn(second.server());
    let client = awc::Client::default();
    let on_second = |token: String, path: String| {
        let client = client.clone();
        async move {
            let request = client.get(format!("http://127.0.0.1:{port}{path}"));
            request.insert_header(("authorization", format!("Bearer {token}"))).send().await.unwrap().status().as_u16()
        }
    };
    let role = format!("/api/roles/{}", f.custom_role);
    let membership = format!("/api/memberships/{}", f.membership);
    // The custom role may read memberships, not roles; both instances learn it.
    assert_eq!(app.get_as(&f.custom, &membership).await.status, 200);
    assert_eq!(on_second(f.custom.clone(), membership.clone()).await, 200);
    assert_eq!(app.get_as(&f.custom, &role).await.status, 403);
    // Its permission changes: both instances see it on the next request.
    let response = app
        .patch(
            &format!("/api/permissions/{}", f.permission),
            &json!({"data": {"type": "permissions", "id": f.permission, "attributes": {"can_read": false}}}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(app.get_as(&f.custom, &membership).await.status, 403);
    assert_eq!(on_second(f.custom.clone(), membership.clone()).await, 403);
    // The read-only member is moved to the custom role: they lose reading roles at once.
    let reader_role =
        app.get(&format!("/api/organizations/{}/roles?filter[q][kind_eq]=read_only", f.organization)).await.json();
    let read_only_role = id(&reader_role["data"][0]);
    assert_eq!(app.get_as(&f.read_only, &format!("/api/roles/{read_only_role}")).await.status, 200);
    assert_eq!(on_second(f.read_only.clone(), format!("/api/roles/{read_only_role}")).await, 200);
    let memberships = app
        .get(&format!(
            "/api/memberships?filter[q][user_email_eq]=reader@example.com&filter[q][organization_id_eq]={}",
            f.organization
        ))
        .await
        .json();
    let reader_membership = id(&memberships["data"][0]);
    let response = app
        .patch(
            &format!("/api/memberships/{reader_membership}"),
            &json!({"data": {"type": "memberships", "id": reader_membership, "relationships": {"role": linkage("roles", &f.custom_role)}}}),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(app.get_as(&f.read_only, &format!("/api/roles/{read_only_role}")).await.status, 403);
    assert_eq!(on_second(f.read_only.clone(), format!("/api/roles/{read_only_role}")).await, 403);
}

/// No one gives a role beyond their own: the admin role only an admin gives; a custom role
/// only when each of its permissions is within the giver's. For memberships, application
/// memberships and API credentials alike.
#[actix_rt::test]
async fn roles_cannot_be_given_beyond_the_givers_own() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let org = linkage("organizations", &f.organization);
    let roles = app.get(&format!("/api/organizations/{}/roles", f.organization)).await.json();
    let role_of = |kind: &str| {
        roles["data"].as_array().unwrap().iter().find(|r| r["attributes"]["kind"] == kind).map(id).unwrap()
    };
    let (admin_role, read_only_role) = (role_of("admin"), role_of("read_only"));
    // The custom role may also create and read application memberships and API credentials.
    for subject in ["application_memberships", "api_credentials"] {
        create(&app, &app.token, "/api/permissions", json!({"data": {"type": "permissions",
            "attributes": {"can_create": true, "can_read": true, "can_update": false, "can_destroy": false, "subject": subject},
            "relationships": {"role": linkage("roles", &f.custom_role)}}})).await;
    }
    let membership = |email: &str, role: &str| {
        json!({"data": {"type": "memberships", "attributes": {"user_email": email},
        "relationships": {"organization": org, "role": linkage("roles", role)}}})
    };
    let credential = |role: &str| {
        json!({"data": {"type": "api_credentials", "attributes": {"name": "ERP", "kind": "integration"},
        "relationships": {"organization": org, "role": linkage("roles", role)}}})
    };
    let integration = create(&app, &app.token, "/api/api_credentials", credential(&admin_role)).await;
    let application_membership = |role: &str| {
        json!({"data": {"type": "application_memberships",
        "relationships": {"organization": org, "api_credential": linkage("api_credentials", &id(&integration)), "role": linkage("roles", role)}}})
    };
    let cases = [
        ("/api/memberships", membership("second-account@example.com", &admin_role)),
        ("/api/memberships", membership("third-account@example.com", &read_only_role)),
        ("/api/api_credentials", credential(&admin_role)),
        ("/api/application_memberships", application_membership(&admin_role)),
    ];
    for (path, document) in &cases {
        let response = app.write_as(&f.custom, Method::POST, path, document).await;
        assert_eq!(response.status, 403, "{path}: {}", response.text);
        assert_eq!(response.error()["source"]["pointer"], "/data/relationships/role");
    }
    // A role within the giver's own is fine, and the admin gives any.
    for (path, document) in [
        ("/api/memberships", membership("colleague@example.com", &f.custom_role)),
        ("/api/api_credentials", credential(&f.custom_role)),
        ("/api/application_memberships", application_membership(&f.custom_role)),
    ] {
        create(&app, &f.custom, path, document).await;
    }
    create(&app, &app.token, "/api/memberships", membership("boss@example.com", &admin_role)).await;
    // Changing a membership's role is giving it too (once the custom role may update members).
    let allow_updates =
        json!({"data": {"type": "permissions", "id": f.permission, "attributes": {"can_update": true}}});
    assert_eq!(app.patch(&format!("/api/permissions/{}", f.permission), &allow_updates).await.status, 200);
    let pending = app.get("/api/memberships?filter[q][user_email_eq]=colleague@example.com").await.json();
    let pending = id(&pending["data"][0]);
    let path = format!("/api/memberships/{pending}");
    let to = |role: &str| json!({"data": {"type": "memberships", "id": pending, "relationships": {"role": linkage("roles", role)}}});
    let response = app.write_as(&f.custom, Method::PATCH, &path, &to(&admin_role)).await;
    assert_eq!(response.status, 403, "{}", response.text);
    assert_eq!(response.error()["source"]["pointer"], "/data/relationships/role");
    assert_eq!(app.write_as(&f.custom, Method::PATCH, &path, &to(&f.custom_role)).await.status, 200);
}

/// The owner is found by user id, not email: after the owner changes their email, a member
/// who takes the old address cannot move the ownership to themselves.
#[actix_rt::test]
async fn ownership_cannot_be_taken_with_the_owners_old_email() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    app.change_email(&app.token, "new-boss@example.com").await;
    // The attacker can read the old address's mail (they took it over), so confirms it.
    app.change_email(&f.read_only, "admin@localhost").await;
    let path = format!("/api/organizations/{}/transfer_ownership", f.organization);
    // The attack: hand the ownership to the attacker's own membership.
    let transfer = json!({"data": {"type": "organizations", "id": f.organization, "attributes": {"new_owner_email": "reader@example.com"}}});
    let response = app.write_as(&f.read_only, Method::PATCH, &path, &transfer).await;
    assert_eq!(response.status, 403, "{}", response.text);
    let owners = app
        .get(&format!("/api/memberships?filter[q][owner_true]=true&filter[q][organization_id_eq]={}", f.organization))
        .await
        .json();
    assert_eq!(owners["meta"]["record_count"], 1);
    assert_eq!(
        owners["data"][0]["attributes"]["user_email"], "new-boss@example.com",
        "the membership is still the first owner's, under their new email"
    );
    // The owner, under their new email, still is the owner.
    let transfer = json!({"data": {"type": "organizations", "id": f.organization, "attributes": {"new_owner_email": "support@example.com"}}});
    assert_eq!(app.patch(&path, &transfer).await.status, 202);
}
