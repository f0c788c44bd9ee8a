//! CORS for browser apps (a `sales_channel` credential's page, an admin console): pages from
//! the origins in `CORS_ORIGINS` may call `/oauth/*` and `/api`. Preflights are answered here,
//! before authentication (a browser never sends a token with one); a preflight from any other
//! origin is refused with an error document, and an actual request from one gets no CORS
//! headers, so the browser keeps its answer from the page.

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};

use crate::error::{ApiError, Source};
use crate::http::endpoint::refusal;

/// The CORS layer for `origins` (none: every preflight is refused).
pub fn layer(origins: &[String]) -> Cors {
    let allowed: Vec<String> = origins.to_vec();
    Cors::default()
        .allowed_origin_fn(move |origin, _| origin.to_str().is_ok_and(|o| allowed.iter().any(|a| a == o)))
        .allowed_methods([Method::GET, Method::HEAD, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            header::WWW_AUTHENTICATE,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("ratelimit-limit"),
            header::HeaderName::from_static("ratelimit-remaining"),
            header::HeaderName::from_static("ratelimit-reset"),
        ])
        // An origin not listed is not an error for an actual request: it just gets no CORS
        // headers.
        .block_on_origin_mismatch(false)
        .max_age(600)
}

fn is_preflight(request: &ServiceRequest) -> bool {
    request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// A preflight's origin, taken before the CORS layer answers it.
pub fn preflight_origin(request: &ServiceRequest) -> Option<String> {
    is_preflight(request)
        .then(|| request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or("").to_string())
}

/// Around the CORS layer: a preflight it refuses (with a line of plain text) gets a 403 errors
/// document instead (an OAuth error under `/oauth`).
pub fn refuse_clearly<B: MessageBody + 'static>(
    origin: Option<String>,
    response: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B>> {
    let Some(origin) = origin.filter(|_| !response.status().is_success()) else {
        return response.map_into_left_body();
    };
    let error = ApiError::Forbidden {
        detail: format!(
            "Cross-origin requests from {origin:?} with this method and these headers are not allowed: CORS_ORIGINS lists the origins that may call this service."
        ),
        location: Source::None,
    };
    let http_request = response.request().clone();
    let refused = refusal(&http_request, &error);
    ServiceResponse::new(http_request, refused).map_into_right_body()
}
