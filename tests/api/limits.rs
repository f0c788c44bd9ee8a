//! Rate limits and the argon2 pool (issue 9, items 6 and 7): the X-Ratelimit-* headers, 429
//! with Retry-After past a limit, the client's address only through trusted proxies, failed
//! authentications limited per client id, and a full argon2 pool answering 503 at once while
//! reads go on.

use awc::http::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, TestResponse};

fn limit(text: &str) -> provisioning::http::limits::RateLimit {
    text.parse().unwrap()
}

async fn grant(app: &TestApp, client_id: &str, secret: &str, forwarded_for: Option<&str>) -> TestResponse {
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    let mut request = app.anonymous(Method::POST, "/oauth/token").insert_header(("content-type", "application/json"));
    if let Some(address) = forwarded_for {
        request = request.insert_header(("x-forwarded-for", address));
    }
    app.send(request, Some(body.to_string())).await
}

/// The address the audit trail records for an organization made with `X-Forwarded-For`.
async fn audited_address(app: &TestApp, forwarded_for: &str) -> Value {
    let request = app
        .request(Method::POST, "/api/organizations")
        .insert_header(("content-type", crate::helpers::MEDIA_TYPE))
        .insert_header(("x-forwarded-for", forwarded_for.to_string()));
    let created = app
        .send(request, Some(json!({"data": {"type": "organizations", "attributes": {"name": "Acme"}}}).to_string()))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json()["data"]["id"].as_str().unwrap().to_string();
    let versions = app.get(&format!("/api/organizations/{id}/versions")).await.json();
    versions["data"][0]["attributes"]["ip_address"].clone()
}

fn headers(response: &TestResponse) -> (Option<String>, Option<String>, Option<String>) {
    (
        response.header("x-ratelimit-limit"),
        response.header("x-ratelimit-interval"),
        response.header("x-ratelimit-remaining"),
    )
}

#[actix_rt::test]
async fn every_response_tells_its_limit_and_past_it_answers_429() {
    let app = spawn_app_with(|s| {
        s.rate_limit_token = limit("3/60");
        s.rate_limit_reads = limit("4/60");
        s.rate_limit_writes = limit("100/60");
    })
    .await;
    // spawn_app took one token already.
    for remaining in ["1", "0"] {
        let response = grant(&app, &app.client_id, &app.client_secret, None).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(headers(&response), (Some("3".into()), Some("60".into()), Some(remaining.into())));
    }
    let refused = grant(&app, &app.client_id, &app.client_secret, None).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.json()["error"], "too_many_requests", "an OAuth error on /oauth/*");
    let wait: u64 = refused.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=120).contains(&wait), "{wait}");
    assert_eq!(headers(&refused).2.as_deref(), Some("0"));

    for remaining in ["3", "2", "1", "0"] {
        let response = app.get("/api/user").await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(headers(&response), (Some("4".into()), Some("60".into()), Some(remaining.into())));
    }
    let refused = app.get("/api/user").await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.error()["code"], "TOO_MANY_REQUESTS", "a JSON:API error on /api");
    assert!(refused.header("retry-after").is_some());
    // Writes count apart from reads.
    let names = json!({"data": {"type": "users", "attributes": {"first_name": "Ada"}}});
    let response = app.patch("/api/user", &names).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(headers(&response).0.as_deref(), Some("100"));
}

/// A client cannot pick its own address with X-Forwarded-For, for the limits or the audit
/// trail; a trusted proxy can.
#[actix_rt::test]
async fn forwarded_for_counts_only_from_a_trusted_proxy() {
    let app = spawn_app_with(|s| s.rate_limit_token = limit("2/60")).await;
    assert_eq!(grant(&app, &app.client_id, &app.client_secret, Some("203.0.113.1")).await.status, 200);
    let refused = grant(&app, &app.client_id, &app.client_secret, Some("203.0.113.2")).await;
    assert_eq!(refused.status, 429, "a made-up X-Forwarded-For does not make a new client: {}", refused.text);

    let app = spawn_app_with(|s| {
        s.rate_limit_token = limit("2/60");
        s.trusted_proxies = "127.0.0.1".parse().unwrap();
    })
    .await;
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        let response = grant(&app, &app.client_id, &app.client_secret, Some(address)).await;
        assert_eq!(response.status, 200, "behind the proxy each client counts apart: {}", response.text);
    }
    assert_eq!(grant(&app, &app.client_id, &app.client_secret, Some("203.0.113.1")).await.status, 200);
    assert_eq!(grant(&app, &app.client_id, &app.client_secret, Some("203.0.113.1")).await.status, 429);
    // The audit trail records the address the trusted proxy forwarded.
    assert_eq!(audited_address(&app, "198.51.100.7").await, "198.51.100.7");
}

#[actix_rt::test]
async fn the_audit_trail_ignores_a_forwarded_for_from_anyone_else() {
    let app = spawn_app_with(|_| {}).await;
    assert_eq!(audited_address(&app, "198.51.100.7").await, "127.0.0.1");
}

/// Past the failure limit a client id is refused without a look at the secret, known or
/// unknown alike; a secret this instance verified recently still works.
#[actix_rt::test]
async fn failed_authentications_are_limited_per_client_id() {
    let app = spawn_app_with(|s| s.client_failure_limit = limit("3/60")).await;
    for (client_id, secret) in [(app.client_id.clone(), "wrong"), ("no-such-client".to_string(), "wrong")] {
        for _ in 0..3 {
            let response = grant(&app, &client_id, secret, None).await;
            assert_eq!(response.status, 401, "{}", response.text);
        }
        let refused = grant(&app, &client_id, secret, None).await;
        assert_eq!(refused.status, 429, "{client_id}: {}", refused.text);
        assert_eq!(refused.json()["error"], "too_many_requests");
        assert!(refused.header("retry-after").is_some());
    }
    // The real secret verified at start-up, so its owner is not locked out by the guesser.
    assert_eq!(grant(&app, &app.client_id, &app.client_secret, None).await.status, 200);
    // A client id nobody guessed at is untouched.
    let (_, client_id, secret) = app.user_credentials("other@example.com").await;
    assert_eq!(grant(&app, &client_id, &secret, None).await.status, 200);
}

/// With one argon2 thread and room for one waiting job, a burst of grants with wrong secrets
/// gets 503 `temporarily_unavailable` with Retry-After for what does not fit, at once, and a
/// read made meanwhile does not wait.
#[actix_rt::test]
async fn a_full_argon2_pool_answers_503_and_reads_go_on() {
    let app = spawn_app_with(|s| {
        s.hash_threads = Some(1);
        s.hash_queue = Some(1);
    })
    .await;
    let client = app.client();
    let url = app.url("/oauth/token");
    let burst: Vec<_> = (0..24)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            let body = json!({"grant_type": "client_credentials", "client_id": format!("guess-{i}"), "client_secret": "wrong"});
            actix_rt::spawn(async move {
                let mut response = client
                    .post(url)
                    .insert_header(("content-type", "application/json"))
                    .send_body(body.to_string())
                    .await
                    .unwrap();
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                let body: Value = response.json().await.unwrap();
                (response.status().as_u16(), body["error"].as_str().unwrap_or_default().to_string(), retry_after)
            })
        })
        .collect();
    let read = app.get("/api/user").await;
    assert_eq!(read.status, 200, "{}", read.text);
    let mut answers = Vec::new();
    for task in burst {
        answers.push(task.await.unwrap());
    }
    let busy: Vec<_> = answers.iter().filter(|(status, _, _)| *status == 503).collect();
    assert!(!busy.is_empty(), "some of the burst found the pool full: {answers:?}");
    for (_, error, retry_after) in &busy {
        assert_eq!(error, "temporarily_unavailable");
        assert_eq!(retry_after.as_deref(), Some("1"));
    }
    assert!(answers.iter().all(|(status, _, _)| *status == 503 || *status == 401), "{answers:?}");
    assert!(answers.iter().any(|(status, _, _)| *status == 401), "what fit was checked: {answers:?}");
}

/// Whether Redis answers at 127.0.0.1:6379; where it must (CI sets `REQUIRE_REDIS_TEST`), a
/// missing one fails the test rather than skipping it.
fn redis_here() -> bool {
    let up =
        std::net::TcpStream::connect_timeout(&"127.0.0.1:6379".parse().unwrap(), std::time::Duration::from_secs(1))
            .is_ok();
    if !up && std::env::var("REQUIRE_REDIS_TEST").is_ok() {
        panic!("REQUIRE_REDIS_TEST is set but no Redis answers at 127.0.0.1:6379");
    }
    if !up {
        eprintln!("skipped: no Redis at 127.0.0.1:6379");
    }
    up
}

/// Issue 12, item 6: with `RATE_LIMIT_URL`, two instances count one client's requests together,
/// reads and failed authentications alike; without it, each counts its own.
#[actix_rt::test]
async fn instances_sharing_redis_share_the_limits() {
    if !redis_here() {
        return;
    }
    let prefix = format!("provisioning-test:{}", uuid::Uuid::new_v4());
    let shared = |s: &mut provisioning::cli::Settings| {
        s.rate_limit_reads = limit("5/60");
        s.client_failure_limit = limit("2/60");
        s.rate_limit_url = Some("redis://127.0.0.1:6379/0".into());
        s.rate_limit_prefix = prefix.clone();
    };
    let app = spawn_app_with(shared).await;
    let other = app.another_instance(shared).await;
    let read = |base: String| {
        let request = app
            .client()
            .get(format!("{base}/api/organizations"))
            .insert_header(("authorization", format!("Bearer {}", app.token)));
        app.send(request, None)
    };
    let mut statuses = Vec::new();
    for i in 0..7 {
        let base = if i % 2 == 0 { app.base.clone() } else { other.clone() };
        statuses.push(read(base).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429], "five reads in all, whichever instance");
    // Two wrong secrets at one instance lock the client id at the other too (which has never
    // seen its secret).
    let (_, client_id, secret) = app.user_credentials("shared@example.com").await;
    for _ in 0..2 {
        assert_eq!(grant(&app, &client_id, "wrong", None).await.status, 401);
    }
    let body = json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret});
    let request = app.client().post(format!("{other}/oauth/token")).insert_header(("content-type", "application/json"));
    let response = app.send(request, Some(body.to_string())).await;
    assert_eq!(response.status, 429, "{}", response.text);
    // Without Redis, the other instance counts alone.
    let alone = app.another_instance(|s| s.rate_limit_reads = limit("5/60")).await;
    assert_eq!(read(alone).await.status, 200);
}
