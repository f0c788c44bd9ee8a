//! Endpoints that answer as JSON:API says when nothing routes a request: 405 with `Allow`
//! for a method a path does not take, 404 for a path nothing serves (on this address); and the
//! check of the request line's text that comes before any of them.

use std::net::SocketAddr;

use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::{ApiError, Source};
use crate::http::oauth::error::OAuthError;
use crate::jsonapi::query::MAX_QUERY_LENGTH;
use crate::jsonapi::text;

/// `allow` with `HEAD` after `GET`: every GET answers HEAD too (`caching::head_as_get`).
fn with_head(allow: &str) -> String {
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
    if let Some(get) = methods.iter().position(|m| *m == "GET") {
        if !methods.contains(&"HEAD") {
            methods.insert(get + 1, "HEAD");
        }
    }
    methods.join(", ")
}

/// A `web::Resource` that answers 405 with an `Allow` header for methods it does not route.
pub fn resource(path: &str, allow: String) -> actix_web::Resource {
    let allow = with_head(&allow);
    web::resource(path).default_service(web::to(move |request: HttpRequest| {
        let allow = allow.clone();
        async move {
            let mut response = refusal(&request, &ApiError::MethodNotAllowed);
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
    }))
}

/// Unknown paths anywhere: a 404 errors document (an OAuth error under `/oauth`).
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    refusal(&request, &ApiError::RouteNotFound)
}

/// `error` as the path's kind of error document: OAuth's under `/oauth`, JSON:API's elsewhere.
pub fn refusal(request: &HttpRequest, error: &ApiError) -> HttpResponse {
    if request.path().starts_with("/oauth/") {
        OAuthError::refusal(error).response()
    } else {
        actix_web::ResponseError::error_response(error)
    }
}

/// What `operate` serves: with `ADMIN_BIND`, on the admin address only.
pub const ADMIN_PATHS: [&str; 3] = ["/health", "/ready", "/metrics"];

/// With `ADMIN_BIND`: the admin address serves only `ADMIN_PATHS`, and the public one
/// everything but them. Both answer anything else with 404, as for a path nothing serves.
pub fn misplaced(request: &ServiceRequest, admin: Option<SocketAddr>) -> bool {
    let on_admin = admin.is_some_and(|address| request.app_config().local_addr() == address);
    admin.is_some() && on_admin != ADMIN_PATHS.contains(&request.path())
}

/// The boundary for text in the request line: a path or query parameter that is not UTF-8, or
/// holds a NUL, is refused here with 400 (an OAuth error under `/oauth`), before any routing or
/// SQL. The refusal, when there is one.
pub fn check_text(request: &ServiceRequest) -> Option<HttpResponse> {
    let problem = if !text::decodes_clean(request.path()) {
        Some((None, "The path must be UTF-8 text without NUL characters.".to_string()))
    } else if request.query_string().len() > MAX_QUERY_LENGTH {
        Some((None, format!("The query string is longer than {MAX_QUERY_LENGTH} characters.")))
    } else {
        text::unclean_pair(request.query_string()).map(|name| {
            let detail = format!("The parameter {name} must be UTF-8 text without NUL characters.");
            (Some(name), detail)
        })
    };
    let (parameter, detail) = problem?;
    let response = if request.path().starts_with("/oauth/") {
        OAuthError::invalid_request(detail).response()
    } else {
        let (code, location) = match parameter {
            Some(name) => ("INVALID_PARAMETER", Source::parameter(name)),
            None if request.path().contains('\0') || !text::decodes_clean(request.path()) => {
                ("INVALID_PATH", Source::None)
            }
            None => ("QUERY_TOO_LONG", Source::None),
        };
        actix_web::ResponseError::error_response(&ApiError::BadRequest { code, detail, location })
    };
    Some(response)
}
