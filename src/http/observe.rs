//! What an operator sees of each request: its id (`X-Request-Id` both ways, on refusals too),
//! one log line when it is answered, and its count and duration in `/metrics`. The middleware
//! here is the outermost, so it sees every answer, including those the layers inside refuse.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::http::answers::AnsweredRoute;
use crate::http::context::{CallerId, RequestContext};
use crate::http::endpoint::{misplaced, refusal};
use crate::http::state::State;
use crate::http::{caching, cors};

const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// A request id a client sent is kept when it is sane (so a trace can span services).
fn given_id(request: &ServiceRequest) -> Option<String> {
    request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=128).contains(&v.len()) && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
        .map(String::from)
}

/// A new request id: a UUID v4 from the thread's generator (no system call per request).
fn new_id() -> String {
    let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    uuid.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()
}

/// The outermost middleware: context and id in; a request to the wrong address for its path
/// (`ADMIN_BIND`) refused, `HEAD` made a `GET` (`caching::head_as_get`) and a refused CORS
/// preflight made an errors document (`cors::refuse_clearly`); then, with the answer,
/// `X-Request-Id`, the log line and the metrics.
pub async fn observe(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = given_id(&request).unwrap_or_else(new_id);
    let peer = request.peer_addr().map(|a| a.ip());
    let state = request.app_data::<State>();
    let admin = state.and_then(|state| state.admin_address);
    let client_ip = match state {
        Some(state) => {
            state.limits.client_ip(peer, request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        }
        None => peer,
    };
    let user_agent =
        request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(512).collect());
    request.extensions_mut().insert(RequestContext { client_ip, user_agent, request_id: id.clone() });
    let method = request.method().clone();
    caching::head_as_get(&mut request);
    let mut response = if misplaced(&request, admin) {
        let http_request = request.request().clone();
        let refused = refusal(&http_request, &ApiError::RouteNotFound);
        ServiceResponse::new(http_request, refused)
    } else {
        let preflight = cors::preflight_origin(&request);
        // The layers inside answer their refusals as responses (an error here would leave this
        // layer without the request to answer it with).
        let response = next.call(request).await?;
        cors::refuse_clearly(preflight, response).map_into_boxed_body()
    };
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let answered = response.request().extensions().get::<AnsweredRoute>().map(|AnsweredRoute(route)| route.clone());
    let route: Cow<str> = match &answered {
        Some(route) => Cow::Borrowed(route),
        None => response.request().match_pattern().map_or(Cow::Borrowed("unmatched"), Cow::Owned),
    };
    let caller = response.request().extensions().get::<CallerId>().map(|c| c.0.clone());
    tracing::info!(
        target: "provisioning::request",
        method = %method,
        route = %route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        caller = caller.as_deref().unwrap_or("-"),
        "answered"
    );
    // Labels from a closed set: a made-up method or path must not make a new series.
    let method_label = match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PATCH" => "PATCH",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let series = Series::of(method_label, &route, status);
    series.requests.increment(1);
    series.durations.record(elapsed.as_secs_f64());
    Ok(response)
}

/// The count and the durations of one method, route and status.
#[derive(Clone)]
struct Series {
    method: &'static str,
    status: u16,
    requests: metrics::Counter,
    durations: metrics::Histogram,
}

thread_local! {
    /// The series this thread has answered, by route: asked of the recorder once, then kept (the
    /// labels come from closed sets, so this stays small). Asking each time builds and hashes
    /// the labels for every request.
    static SERIES: RefCell<HashMap<Box<str>, Vec<Series>>> = RefCell::new(HashMap::new());
}

impl Series {
    fn of(method: &'static str, route: &str, status: u16) -> Series {
        SERIES.with_borrow_mut(|known| {
            if let Some(series) =
                known.get(route).and_then(|all| all.iter().find(|s| s.method == method && s.status == status))
            {
                return series.clone();
            }
            let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
            let series = Series {
                method,
                status,
                requests: metrics::counter!("http_requests_total", &labels),
                durations: metrics::histogram!("http_request_duration_seconds", &labels),
            };
            // Only once the recorder is in place: a handle asked before would count nothing.
            if RECORDER.get().is_some() {
                known.entry(route.into()).or_default().push(series.clone());
            }
            series
        })
    }
}

fn describe() {
    metrics::describe_counter!("http_requests_total", "Requests answered, by method, route pattern and status.");
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time from a request's arrival to its answer, by method, route pattern and status."
    );
    metrics::describe_counter!("token_grants_total", "POST /oauth/token, by outcome: issued, or the OAuth error.");
    metrics::describe_counter!("rate_limit_refusals_total", "Requests refused with 429, by rate-limit bucket.");
    metrics::describe_counter!(
        "reads_answered_total",
        "GETs answered with 200, by where from: kept (nothing changed since) or the database."
    );
    metrics::describe_gauge!("db_pool_connections", "Pooled database connections, in use or idle.");
    metrics::describe_gauge!("db_pool_waiting", "Requests waiting for a pooled database connection.");
    metrics::describe_gauge!("argon2_jobs", "argon2 hashes and verifications running or queued.");
    metrics::describe_gauge!("argon2_capacity", "The most argon2 jobs that may run or wait; past it, grants get 503.");
}

/// Buckets of request durations, in seconds: from a cached read to a slow write.
const DURATION_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's metrics, installed on first use. There is one recorder a process: servers
/// started side by side in one process (as tests do) count together.
pub fn metrics() -> &'static PrometheusHandle {
    RECORDER.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &DURATION_BUCKETS)
            .expect("the buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Only fails when a recorder is installed already, and then nothing is lost but ours.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        // Histograms hold their samples until upkeep folds them into the buckets: fold them
        // every few seconds, whether anyone scrapes or not.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(5));
            upkeep.run_upkeep();
        });
        handle
    })
}
