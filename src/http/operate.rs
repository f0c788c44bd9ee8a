//! For whoever runs the service: `GET /health` (the process answers), `GET /ready` (the
//! database answers and has this version's migrations; 503 with the reason otherwise) and
//! `GET /metrics` (Prometheus text). With `ADMIN_BIND` they are served on that address only,
//! and it serves nothing else.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::observe::metrics;
use crate::http::state::State;

pub fn configure(cfg: &mut web::ServiceConfig) {
    use crate::http::endpoint::resource;
    cfg.service(resource("/health", "GET".into()).route(web::get().to(health)))
        .service(resource("/ready", "GET".into()).route(web::get().to(ready)))
        .service(resource("/metrics", "GET".into()).route(web::get().to(scrape)));
}

/// `application/health+json` (draft-inadarei-api-health-check): `status` is `pass` or `fail`.
fn health_document(status: StatusCode, document: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/health+json"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(document.to_string())
}

async fn health() -> HttpResponse {
    health_document(StatusCode::OK, json!({"status": "pass"}))
}

async fn ready(state: State) -> HttpResponse {
    match state.db.readiness().await {
        Ok(()) => health_document(StatusCode::OK, json!({"status": "pass"})),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            health_document(StatusCode::SERVICE_UNAVAILABLE, json!({"status": "fail", "output": reason}))
        }
    }
}

/// The gauges are read when scraped; the counters and histograms count as requests go.
async fn scrape(state: State) -> HttpResponse {
    let pool = state.db.pool_state();
    metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(pool.open.saturating_sub(pool.idle)));
    metrics::gauge!("db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("db_pool_waiting").set(pool.waiting as f64);
    let (argon2_jobs, argon2_capacity) = state.hashing.load();
    metrics::gauge!("argon2_jobs").set(argon2_jobs as f64);
    metrics::gauge!("argon2_capacity").set(argon2_capacity as f64);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(metrics().render())
}
