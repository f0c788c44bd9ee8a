//! Operating it (issue 11, items 4–6): health, readiness and metrics (on ADMIN_BIND too), a
//! log line per request in text and JSON, `X-Request-Id` on every answer, `HEAD`, ETags and
//! 304, `Cache-Control`, CORS and compression.

use std::io::Read;

use awc::http::Method;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::helpers::{connect, spawn_app, spawn_app_with, LoggedBinary, TestApp, MEDIA_TYPE};

async fn raw_get(app: &TestApp, url: &str) -> (u16, awc::http::header::HeaderMap, String) {
    let mut response = app.client().get(url).send().await.expect("the request reaches the server");
    let body = response.body().await.unwrap();
    (response.status().as_u16(), response.headers().clone(), String::from_utf8(body.to_vec()).unwrap())
}

#[actix_rt::test]
async fn health_and_readiness_answer_and_readiness_says_why_it_fails() {
    let app = spawn_app().await;
    let (status, headers, body) = raw_get(&app, &app.url("/health")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("content-type").unwrap(), "application/health+json");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "pass");
    let (status, _, body) = raw_get(&app, &app.url("/ready")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "pass");

    // A migration this binary has but the database lacks: not ready, and it says which.
    let mut conn = connect(&app.database_url);
    conn.batch_execute(
        "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)",
    )
    .unwrap();
    let (status, headers, body) = raw_get(&app, &app.url("/ready")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(headers.get("content-type").unwrap(), "application/health+json");
    let document: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["status"], "fail");
    assert!(document["output"].as_str().unwrap().contains("1 migration(s)"), "{body}");
    // Liveness does not depend on the database.
    assert_eq!(raw_get(&app, &app.url("/health")).await.0, 200);
}

#[actix_rt::test]
async fn metrics_count_requests_grants_and_refusals_and_show_the_pools() {
    let app = spawn_app_with(|s| s.rate_limit_writes = "1/60".parse().unwrap()).await;
    let org = app.create_organization(json!({"name": "Metered"})).await;
    let path = format!("/api/organizations/{}", org["id"].as_str().unwrap());
    assert_eq!(app.get(&path).await.status, 200);
    // A second write is over the limit of one a minute.
    let refused =
        app.post("/api/organizations", &json!({"data": {"type": "organizations", "attributes": {"name": "x"}}})).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let wrong = app
        .anonymous(Method::POST, "/oauth/token")
        .insert_header(("content-type", "application/x-www-form-urlencoded"));
    let wrong = app
        .send(wrong, Some(format!("grant_type=client_credentials&client_id={}&client_secret=nope", app.client_id)))
        .await;
    assert_eq!(wrong.status, 401);

    let (status, headers, text) = raw_get(&app, &app.url("/metrics")).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let has = |needle: &str| assert!(text.contains(needle), "no {needle:?} in /metrics:\n{text}");
    has(r#"http_requests_total{method="GET",route="/api/organizations/{id}",status="200"}"#);
    has(r#"http_requests_total{method="POST",route="/api/organizations",status="429"}"#);
    has(
        r#"http_request_duration_seconds_bucket{method="GET",route="/api/organizations/{id}",status="200",le="0.005"}"#,
    );
    has(r#"token_grants_total{outcome="issued"}"#);
    has(r#"token_grants_total{outcome="invalid_client"}"#);
    has(r#"rate_limit_refusals_total{bucket="writes"}"#);
    has(r#"db_pool_connections{state="in_use"}"#);
    has(r#"db_pool_connections{state="idle"}"#);
    has("db_pool_waiting ");
    has("argon2_jobs ");
    has("argon2_capacity ");
    // Unknown paths are one series, not one per path. (Letters: the metrics of the other
    // tests in this process hold every run of digits sooner or later.)
    let _ = raw_get(&app, &app.url("/no/such/path/unseen-sentinel")).await;
    let (_, _, text) = raw_get(&app, &app.url("/metrics")).await;
    assert!(!text.contains("unseen-sentinel"), "a path made a series of its own");
    assert!(text.contains(r#"route="unmatched""#));
}

#[actix_rt::test]
async fn admin_bind_serves_health_and_metrics_there_and_only_there() {
    let app = spawn_app_with(|s| s.admin_bind = Some("127.0.0.1:0".into())).await;
    let admin = app.admin_base.clone().expect("the admin address");
    for path in ["/health", "/ready", "/metrics"] {
        assert_eq!(raw_get(&app, &format!("{admin}{path}")).await.0, 200, "{path} on the admin address");
        let (status, headers, body) = raw_get(&app, &app.url(path)).await;
        assert_eq!(status, 404, "{path} on the public address: {body}");
        assert_eq!(headers.get("content-type").unwrap(), MEDIA_TYPE);
    }
    // The admin address serves nothing else; the public one still serves the API.
    let (status, _, body) = raw_get(&app, &format!("{admin}/api/organizations")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(app.get("/api/organizations").await.status, 200);
}

#[actix_rt::test]
async fn every_answer_carries_a_request_id_refusals_too() {
    let app = spawn_app().await;
    let id = |response: &crate::helpers::TestResponse| response.header("x-request-id").unwrap_or_default();
    // 401: no token.
    let response = app.send(app.anonymous(Method::GET, "/api/organizations"), None).await;
    assert_eq!(response.status, 401);
    assert_eq!(id(&response).len(), 36, "a UUID: {:?}", id(&response));
    // 401 with a bad token, 406, 415, 404, 405 and an OAuth refusal.
    let bad_token = app.send(app.request_as("not-a-jwt", Method::GET, "/api/organizations"), None).await;
    assert_eq!(bad_token.status, 401);
    let not_acceptable = app
        .send(
            app.request(Method::GET, "/api/organizations")
                .insert_header(("accept", "application/vnd.api+json; charset=utf-8")),
            None,
        )
        .await;
    assert_eq!(not_acceptable.status, 406);
    let unsupported = app.raw(Method::POST, "/api/organizations", Some("text/plain"), "x").await;
    assert_eq!(unsupported.status, 415);
    let missing = app.get("/api/nothing_here").await;
    assert_eq!(missing.status, 404);
    let oauth = app.send(app.anonymous(Method::POST, "/oauth/token"), Some(String::new())).await;
    assert!(oauth.status >= 400);
    let mut seen = std::collections::HashSet::new();
    for response in [&response, &bad_token, &not_acceptable, &unsupported, &missing, &oauth] {
        assert_eq!(id(response).len(), 36, "{}: {}", response.status, response.text);
        assert!(seen.insert(id(response)), "each request has its own id");
    }
    // A sane id sent by the client is echoed; anything else is replaced.
    let echoed = app
        .send(app.anonymous(Method::GET, "/api/organizations").insert_header(("x-request-id", "trace-4711-abc")), None)
        .await;
    assert_eq!(id(&echoed), "trace-4711-abc");
    let replaced = app
        .send(app.anonymous(Method::GET, "/api/organizations").insert_header(("x-request-id", "<script>")), None)
        .await;
    assert_ne!(id(&replaced), "<script>");
    assert_eq!(id(&replaced).len(), 36);
}

#[actix_rt::test]
async fn head_answers_as_get_does_without_a_body() {
    let app = spawn_app().await;
    let org = app.create_organization(json!({"name": "Headed"})).await;
    for path in
        [format!("/api/organizations/{}", org["id"].as_str().unwrap()), "/api/organizations?page[size]=5".into()]
    {
        let get = app.get(&path).await;
        let head = app.send(app.request(Method::HEAD, &path), None).await;
        assert_eq!(head.status, 200, "{}", head.text);
        assert_eq!(head.text, "", "HEAD has no body");
        for name in ["content-type", "etag", "cache-control"] {
            assert_eq!(head.header(name), get.header(name), "{name} of HEAD {path}");
        }
        assert_eq!(head.header("content-length"), Some(get.text.len().to_string()), "HEAD {path}");
    }
    // Where GET is refused, HEAD is refused alike; where nothing is, HEAD finds nothing.
    let unauthenticated = app.send(app.anonymous(Method::HEAD, "/api/organizations"), None).await;
    assert_eq!(unauthenticated.status, 401);
    assert_eq!(app.send(app.request(Method::HEAD, "/api/nothing_here"), None).await.status, 404);
    // The Allow header of a 405 names HEAD beside GET.
    let put = app.request(Method::PUT, "/api/organizations").insert_header(("content-type", MEDIA_TYPE));
    let not_allowed = app.send(put, Some("{}".into())).await;
    assert_eq!(not_allowed.status, 405);
    assert!(not_allowed.header("allow").unwrap().contains("HEAD"), "{:?}", not_allowed.header("allow"));
}

#[actix_rt::test]
async fn a_get_has_an_etag_a_current_one_answers_304_and_a_change_makes_a_new_one() {
    let app = spawn_app().await;
    let org = app.create_organization(json!({"name": "Tagged"})).await;
    let path = format!("/api/organizations/{}", org["id"].as_str().unwrap());
    let first = app.get(&path).await;
    let tag = first.header("etag").expect("an ETag");
    assert!(tag.starts_with("W/\""), "{tag}");
    assert_eq!(first.header("cache-control").as_deref(), Some("private, no-cache"));

    let conditional =
        app.send(app.request(Method::GET, &path).insert_header(("if-none-match", tag.clone())), None).await;
    assert_eq!(conditional.status, 304);
    assert_eq!(conditional.text, "");
    assert_eq!(conditional.header("etag").as_deref(), Some(tag.as_str()));
    assert!(conditional.header("x-request-id").is_some());

    let page = app.get("/api/organizations").await;
    let page_tag = page.header("etag").expect("a page has an ETag");
    let unchanged = app
        .send(app.request(Method::GET, "/api/organizations").insert_header(("if-none-match", page_tag.clone())), None)
        .await;
    assert_eq!(unchanged.status, 304);

    let rename = json!({"data": {"type": "organizations", "id": org["id"], "attributes": {"name": "Retagged"}}});
    assert_eq!(app.patch(&path, &rename).await.status, 200);
    let changed = app.send(app.request(Method::GET, &path).insert_header(("if-none-match", tag.clone())), None).await;
    assert_eq!(changed.status, 200, "a changed resource is sent again");
    assert_ne!(changed.header("etag").unwrap(), tag);
    assert_eq!(changed.json()["data"]["attributes"]["name"], "Retagged");
    let page_after = app
        .send(app.request(Method::GET, "/api/organizations").insert_header(("if-none-match", page_tag.clone())), None)
        .await;
    assert_eq!(page_after.status, 200, "a page holding a changed resource is sent again");
    // Another caller sees other data: the same tag from them is not a match of theirs.
    let (_, stranger) = app.user("stranger@example.com").await;
    let theirs = app
        .send(
            app.request_as(&stranger, Method::GET, "/api/organizations").insert_header(("if-none-match", page_tag)),
            None,
        )
        .await;
    assert_eq!(theirs.status, 200);
}

#[actix_rt::test]
async fn tokens_and_secrets_are_no_store_everything_else_private_no_cache() {
    let app = spawn_app().await;
    let grant = app.anonymous(Method::POST, "/oauth/token").insert_header(("content-type", "application/json"));
    let body =
        json!({"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret});
    let token = app.send(grant, Some(body.to_string())).await;
    assert_eq!(token.status, 200);
    assert_eq!(token.header("cache-control").as_deref(), Some("no-store"));

    let org = app.create_organization(json!({"name": "Secretive"})).await;
    let org_id = org["id"].as_str().unwrap();
    let roles = app.get(&format!("/api/organizations/{org_id}/roles?filter[q][kind_eq]=admin")).await.json();
    let role = roles["data"][0]["id"].as_str().unwrap();
    let created = app
        .post(
            "/api/api_credentials",
            &json!({"data": {"type": "api_credentials", "attributes": {"name": "Shown once", "kind": "integration"},
                "relationships": {"organization": {"data": {"type": "organizations", "id": org_id}},
                    "role": {"data": {"type": "roles", "id": role}}}}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(created.json()["data"]["attributes"]["client_secret"].is_string());
    assert_eq!(created.header("cache-control").as_deref(), Some("no-store"), "the response shows a secret");
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let rotated = app
        .patch(
            &format!("/api/api_credentials/{id}"),
            &json!({"data": {"type": "api_credentials", "id": id, "attributes": {"_rotate_secret": true}}}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control").as_deref(), Some("no-store"));
    assert!(rotated.header("etag").is_none(), "a secret's response is not tagged for revalidation");

    let read = app.get(&format!("/api/api_credentials/{id}")).await;
    assert_eq!(read.header("cache-control").as_deref(), Some("private, no-cache"));
    assert_eq!(
        app.send(app.anonymous(Method::GET, "/api/organizations"), None).await.header("cache-control").as_deref(),
        Some("private, no-cache")
    );
}

#[actix_rt::test]
async fn cors_preflights_from_allowed_origins_succeed_before_authentication_and_others_are_refused() {
    let app = spawn_app_with(|s| s.cors_origins = "https://app.example.com".parse().unwrap()).await;
    let preflight = |path: &str, origin: &str, method: &str, headers: &str| {
        app.anonymous(Method::OPTIONS, path)
            .insert_header(("origin", origin.to_string()))
            .insert_header(("access-control-request-method", method.to_string()))
            .insert_header(("access-control-request-headers", headers.to_string()))
    };
    for (path, method, headers) in [
        ("/oauth/token", "POST", "content-type"),
        ("/api/organizations", "GET", "authorization"),
        ("/api/organizations/x", "PATCH", "authorization, content-type"),
    ] {
        let allowed = app.send(preflight(path, "https://app.example.com", method, headers), None).await;
        assert!(allowed.status == 200 || allowed.status == 204, "{path}: {} {}", allowed.status, allowed.text);
        assert_eq!(allowed.header("access-control-allow-origin").as_deref(), Some("https://app.example.com"));
        assert!(allowed.header("access-control-allow-methods").unwrap().contains(method));
        let other = app.send(preflight(path, "https://evil.example", method, headers), None).await;
        assert_eq!(other.status, 403, "{path}: {}", other.text);
        assert!(other.header("access-control-allow-origin").is_none());
        assert!(other.header("x-request-id").is_some());
        if path.starts_with("/oauth") {
            assert!(other.json()["error"].is_string(), "an OAuth error: {}", other.text);
        } else {
            assert_eq!(other.error()["code"], "FORBIDDEN");
        }
    }
    // Actual requests: the allowed origin may read the answer (and its exposed headers).
    let read = app
        .send(app.request(Method::GET, "/api/organizations").insert_header(("origin", "https://app.example.com")), None)
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    assert!(read.header("access-control-expose-headers").unwrap().to_lowercase().contains("x-request-id"));
    let foreign = app
        .send(app.request(Method::GET, "/api/organizations").insert_header(("origin", "https://evil.example")), None)
        .await;
    assert_eq!(foreign.status, 200, "the server answers; the browser keeps it from the page");
    assert!(foreign.header("access-control-allow-origin").is_none());

    // Without CORS_ORIGINS, no origin is allowed.
    let closed = spawn_app().await;
    let request = closed
        .anonymous(Method::OPTIONS, "/oauth/token")
        .insert_header(("origin", "https://app.example.com"))
        .insert_header(("access-control-request-method", "POST"));
    let refused = closed.send(request, None).await;
    assert_eq!(refused.status, 403);
    assert!(refused.header("access-control-allow-origin").is_none());
}

#[actix_rt::test]
async fn cors_origins_must_be_origins() {
    use provisioning::cli::CorsOrigins;
    assert_eq!(
        "https://a.example, http://localhost:3000".parse::<CorsOrigins>().unwrap().0,
        ["https://a.example", "http://localhost:3000"]
    );
    assert!("".parse::<CorsOrigins>().unwrap().0.is_empty());
    for wrong in ["a.example", "https://a.example/path", "ftp://a.example", "*"] {
        assert!(wrong.parse::<CorsOrigins>().is_err(), "{wrong}");
    }
}

#[actix_rt::test]
async fn answers_are_compressed_when_asked() {
    let app = spawn_app().await;
    for i in 0..20 {
        app.create_organization(
            json!({"name": format!("Compressed {i:02}"), "metadata": {"note": "the same words again and again"}}),
        )
        .await;
    }
    let plain = app.get("/api/organizations?page[size]=20").await;
    assert!(plain.header("content-encoding").is_none(), "not asked, not compressed");
    for (encoding, expected) in [("gzip", "gzip"), ("br", "br"), ("gzip;q=0.5, br;q=1.0", "br")] {
        let mut response = app
            .request(Method::GET, "/api/organizations?page[size]=20")
            .insert_header(("accept-encoding", encoding))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers().get("content-encoding").unwrap(), expected, "asked {encoding}");
        assert!(response.headers().get("vary").unwrap().to_str().unwrap().to_lowercase().contains("accept-encoding"));
        let bytes = response.body().limit(1 << 20).await.unwrap();
        assert!(bytes.len() * 3 < plain.text.len(), "{expected}: {} of {} bytes", bytes.len(), plain.text.len());
        if expected == "gzip" {
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).unwrap();
            let (mut decoded, mut original): (Value, Value) = (serde_json::from_str(&text).unwrap(), plain.json());
            // Each answer has its own request id only in headers; the documents are the same.
            decoded["meta"].take();
            original["meta"].take();
            assert_eq!(decoded, original);
        }
    }
}

/// A grant, then a read of one organization with request id `id`: the token and the
/// organization's id.
async fn drive(server: &LoggedBinary, id: &str) -> (String, String) {
    let client = awc::Client::default();
    let body = json!({"grant_type": "client_credentials", "client_id": server.client_id, "client_secret": server.client_secret});
    let mut response = client
        .post(format!("{}/oauth/token", server.base))
        .insert_header(("content-type", "application/json"))
        .send_body(body.to_string())
        .await
        .unwrap();
    let token: Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let document = json!({"data": {"type": "organizations", "attributes": {"name": "Logged"}}});
    let mut response = client
        .post(format!("{}/api/organizations", server.base))
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("content-type", MEDIA_TYPE))
        .send_body(document.to_string())
        .await
        .unwrap();
    let created: Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
    let org = created["data"]["id"].as_str().unwrap().to_string();
    let response = client
        .get(format!("{}/api/organizations/{org}", server.base))
        .insert_header(("authorization", format!("Bearer {token}")))
        .insert_header(("x-request-id", id))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let refused = client
        .get(format!("{}/api/organizations", server.base))
        .insert_header(("x-request-id", format!("{id}-refused")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    (token, org)
}

#[actix_rt::test]
async fn one_json_log_line_per_request_with_route_status_duration_id_and_caller_never_the_token() {
    let server = LoggedBinary::start(&[("LOG_FORMAT", "json")]);
    let (token, _) = drive(&server, "json-line-0001").await;
    let log = server.log();
    let lines: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let answered = |id: &str| {
        lines
            .iter()
            .find(|l| l["fields"]["message"] == "answered" && l["fields"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no line for {id} in:\n{log}"))
            .clone()
    };
    let line = answered("json-line-0001");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields"]["method"], "GET");
    assert_eq!(line["fields"]["route"], "/api/organizations/{id}");
    assert_eq!(line["fields"]["status"], 200);
    assert!(line["fields"]["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(line["fields"]["caller"].as_str().unwrap().len(), 10, "the user's id: {line}");
    let refused = answered("json-line-0001-refused");
    assert_eq!(refused["fields"]["status"], 401);
    assert_eq!(refused["fields"]["caller"], "-");
    let grants: Vec<&Value> = lines.iter().filter(|l| l["fields"]["route"] == "/oauth/token").collect();
    assert_eq!(grants.len(), 1, "{log}");
    assert_eq!(grants[0]["fields"]["caller"], server.client_id.as_str(), "a grant names its client");
    assert!(!log.contains(&token) && !log.contains(&server.client_secret), "a token or a secret in the log");
}

#[actix_rt::test]
async fn text_log_lines_have_no_colour_codes_when_stderr_is_a_file() {
    let server = LoggedBinary::start(&[("LOG_FORMAT", "text")]);
    drive(&server, "text-line-0001").await;
    let log = server.log();
    assert!(!log.contains('\u{1b}'), "ANSI codes in a file:\n{log}");
    let line =
        log.lines().find(|l| l.contains("text-line-0001") && l.contains("answered")).unwrap_or_else(|| panic!("{log}"));
    for part in ["INFO", "method=GET", "route=/api/organizations/{id}", "status=200", "duration_ms="] {
        assert!(line.contains(part), "{part} in {line}");
    }
}
