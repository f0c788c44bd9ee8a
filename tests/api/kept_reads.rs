//! Reads kept as answered (`READ_CACHE_MB`, on SQLite): a kept answer is never one the database
//! would not give now, whoever changed it. On PostgreSQL nothing is kept, and the same answers
//! hold.

use awc::http::Method;
use serde_json::json;

use crate::helpers::spawn_app;

/// Changes the database from outside the service: on SQLite, another process (Python's own
/// SQLite) on the same file, as `provisioning users create` or a `sqlite3` shell would.
fn from_outside(database_url: &str, organization_id: &str, name: &str) {
    if database_url.starts_with("postgres") {
        use diesel::RunQueryDsl;
        let mut conn = crate::helpers::connect(database_url);
        diesel::sql_query(format!("UPDATE organizations SET name = '{name}' WHERE id = '{organization_id}'"))
            .execute(&mut conn)
            .unwrap();
        return;
    }
    let script = "import sqlite3, sys\n\
                  c = sqlite3.connect(sys.argv[1], timeout=10)\n\
                  c.execute('UPDATE organizations SET name = ? WHERE id = ?', (sys.argv[2], sys.argv[3]))\n\
                  c.commit()\n";
    let status = std::process::Command::new("python3")
        .args(["-c", script, provisioning::db::sqlite_path(database_url), name, organization_id])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the outside update ran");
}

#[actix_rt::test]
async fn a_kept_read_is_never_older_than_the_database() {
    let app = spawn_app().await;
    let id = app.create_organization(json!({"name": "Kept"})).await["id"].as_str().unwrap().to_string();
    let path = format!("/api/organizations/{id}");
    let list = "/api/organizations?filter[q][name_start]=Kept";
    let name = |response: &crate::helpers::TestResponse| response.json()["data"]["attributes"]["name"].clone();

    let first = app.get(&path).await;
    let again = app.get(&path).await;
    assert_eq!((first.status, again.status), (200, 200));
    assert_eq!(first.text, again.text);
    assert_eq!(first.header("etag"), again.header("etag"));
    assert_eq!(app.get(list).await.json()["meta"]["record_count"], 1);

    // A write through the API: the next read sees it, the record and the list.
    let rename = json!({"data": {"type": "organizations", "id": id, "attributes": {"name": "Renamed"}}});
    assert_eq!(app.patch(&path, &rename).await.status, 200);
    let renamed = app.get(&path).await;
    assert_eq!(name(&renamed), "Renamed");
    assert_ne!(renamed.header("etag"), first.header("etag"));
    assert_eq!(app.get(list).await.json()["meta"]["record_count"], 0);
    assert_eq!(name(&app.get(&path).await), "Renamed");

    // A write by another process on the database: the next read sees it too.
    from_outside(&app.database_url, &id, "Kept outside");
    assert_eq!(name(&app.get(&path).await), "Kept outside");
    assert_eq!(app.get(list).await.json()["meta"]["record_count"], 1);
    from_outside(&app.database_url, &id, "Moved outside");
    assert_eq!(name(&app.get(&path).await), "Moved outside");
    assert_eq!(app.get(list).await.json()["meta"]["record_count"], 0);

    // The same target asked by another caller is their own answer.
    let (_, stranger) = app.user("stranger@example.com").await;
    assert_eq!(app.get_as(&stranger, &path).await.status, 404);
    assert_eq!(app.get(&path).await.status, 200);

    // A kept answer is not given to a token revoked since.
    let token = app.token_for(&app.client_id, &app.client_secret).await;
    assert_eq!(app.get_as(&token, &path).await.status, 200);
    assert_eq!(app.get_as(&token, &path).await.status, 200);
    let body = json!({"token": token, "client_id": app.client_id, "client_secret": app.client_secret});
    let request = app.anonymous(Method::POST, "/oauth/revoke").insert_header(("content-type", "application/json"));
    assert_eq!(app.send(request, Some(body.to_string())).await.status, 200);
    assert_eq!(app.get_as(&token, &path).await.status, 401);

    // A conditional GET of a kept answer is a 304.
    let tag = app.get(&path).await.header("etag").unwrap();
    let request = app.request_as(&app.token, Method::GET, &path).insert_header(("if-none-match", tag));
    assert_eq!(app.send(request, None).await.status, 304);
}

/// The binary on SQLite (its own metrics): the same GET twice is read once, and again after
/// any change.
#[actix_rt::test]
async fn a_repeated_read_is_answered_from_what_was_kept_until_something_changes() {
    let server = crate::helpers::LoggedBinary::start(&[]);
    let client = awc::Client::default();
    let grant = json!({"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret});
    let mut response = client
        .post(format!("{}/oauth/token", server.base))
        .insert_header(("content-type", "application/json"))
        .send_body(grant.to_string())
        .await
        .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let get = |path: &str| {
        let request = client.get(format!("{}{path}", server.base)).insert_header(("authorization", bearer.clone()));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let counted = || async {
        let mut response = client.get(format!("{}/metrics", server.base)).send().await.unwrap();
        let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
        let count = |series: &str| {
            text.lines()
                .find(|l| l.starts_with(series))
                .and_then(|l| l.rsplit(' ').next())
                .map_or(0, |n| n.parse::<u64>().unwrap())
        };
        // A kept answer is given before routing, and still counted under its route.
        assert!(!text.contains(r#"route="unmatched",status="200""#), "{text}");
        let routed = count(r#"http_requests_total{method="GET",route="/api/organizations",status="200"}"#);
        (count(r#"reads_answered_total{from="kept"}"#), count(r#"reads_answered_total{from="database"}"#), routed)
    };
    assert_eq!((get("/api/organizations").await, get("/api/organizations").await), (200, 200));
    assert_eq!(counted().await, (1, 1, 2), "read once, then kept");
    assert_eq!(get("/api/organizations?page[size]=5").await, 200);
    assert_eq!(counted().await, (1, 2, 3), "another target is another read");
    let document = json!({"data": {"type": "organizations", "attributes": {"name": "A change"}}});
    let created = client
        .post(format!("{}/api/organizations", server.base))
        .insert_header(("authorization", bearer.clone()))
        .insert_header(("content-type", crate::helpers::MEDIA_TYPE))
        .send_body(document.to_string())
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!((get("/api/organizations").await, get("/api/organizations").await), (200, 200));
    assert_eq!(counted().await, (2, 3, 5), "read again after the change, then kept");
}
