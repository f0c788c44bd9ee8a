//! `make bench`: requests per second of the real service against a minimal actix handler that
//! returns a body of the same size, measured in the same run on the same machine, reported as a
//! ratio. The load comes from wrk on loopback; each scenario runs several rounds, interleaved
//! with its baseline, and the median is reported.
//!
//! Settings (environment): BENCH_SECONDS per round (default 5), BENCH_ROUNDS (3),
//! BENCH_CONNECTIONS (32), BENCH_WORKERS per server (1).

use std::process::Command;
use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use provisioning::cli::Settings;
use provisioning::startup::Application;
use serde_json::json;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs wrk against `url` and returns requests per second.
fn wrk(url: &str, seconds: u64, connections: u64) -> f64 {
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s"), url])
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("Non-2xx"), "non-2xx answers from {url}:\n{text}");
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    actix_web::rt::System::new().block_on(run());
}

async fn run() {
    let seconds = env_or("BENCH_SECONDS", 5);
    let rounds = env_or("BENCH_ROUNDS", 3);
    let connections = env_or("BENCH_CONNECTIONS", 32);
    let workers = env_or("BENCH_WORKERS", 1) as usize;

    let dir = std::env::temp_dir().join(format!("provisioning-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut settings = Settings::local(&format!("sqlite://{}", dir.join("bench.db").display()));
    settings.workers = Some(workers);
    settings.pool_size = 8;
    let application = Application::build(settings).await.expect("starting the service");
    let base = application.public_url().to_string();
    actix_web::rt::spawn(application.server());

    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let mut first_id = String::new();
    for i in 0..30 {
        let document = json!({"data": {"type": "organizations", "attributes": {
            "name": format!("Benchmark organization {i:02}"), "support_email": "support@example.com",
            "primary_color": "#C8984E", "metadata": {"plan": "growth", "seats": i}
        }}});
        let mut response = client
            .post(format!("{base}/api/organizations"))
            .insert_header(("content-type", "application/vnd.api+json"))
            .send_body(document.to_string())
            .await
            .expect("seeding");
        let body: serde_json::Value = serde_json::from_slice(&response.body().await.unwrap()).unwrap();
        if i == 0 {
            first_id = body["data"]["id"].as_str().unwrap().to_string();
        }
    }
    let one_url = format!("{base}/api/organizations/{first_id}");
    let page_url = format!("{base}/api/organizations?page[size]=25");
    let fetch = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().body().limit(1 << 20).await.unwrap() }
    };
    let one_body = fetch(one_url.clone()).await;
    let page_body = fetch(page_url.clone()).await;

    // The baseline: the least an actix handler can do for a body of the same size.
    let (one_static, page_static) = (one_body.clone(), page_body.clone());
    let baseline = HttpServer::new(move || {
        let (one, page) = (one_static.clone(), page_static.clone());
        App::new()
            .route(
                "/one",
                web::get().to(move || {
                    let body = one.clone();
                    async move { HttpResponse::Ok().content_type("application/vnd.api+json").body(body) }
                }),
            )
            .route(
                "/page",
                web::get().to(move || {
                    let body = page.clone();
                    async move { HttpResponse::Ok().content_type("application/vnd.api+json").body(body) }
                }),
            )
    })
    .workers(workers)
    .bind("127.0.0.1:0")
    .unwrap();
    let baseline_address = baseline.addrs()[0];
    actix_web::rt::spawn(baseline.run());

    println!(
        "provisioning bench: {rounds} rounds x {seconds}s, {connections} connections, {workers} server worker(s), SQLite"
    );
    let scenarios = [
        ("GET one organization", one_url, format!("http://{baseline_address}/one"), one_body.len()),
        ("GET a page of 25", page_url, format!("http://{baseline_address}/page"), page_body.len()),
    ];
    for (name, api_url, baseline_url, size) in scenarios {
        let (api, base_rps) = web::block(move || {
            let mut api = Vec::new();
            let mut base = Vec::new();
            for _ in 0..rounds {
                base.push(wrk(&baseline_url, seconds, connections));
                api.push(wrk(&api_url, seconds, connections));
            }
            (median(api), median(base))
        })
        .await
        .unwrap();
        println!(
            "{name:<22} body {size:>6} B   service {api:>9.0} req/s   baseline {base_rps:>9.0} req/s   ratio {:.3}",
            api / base_rps
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::process::exit(0);
}
