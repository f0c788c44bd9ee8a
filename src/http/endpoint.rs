//! Endpoints that answer as JSON:API says when nothing routes a request: 405 with `Allow`
//! for a method a path does not take, 404 for a path nothing serves.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::ApiError;

/// A `web::Resource` that answers 405 with an `Allow` header for methods it does not route.
pub fn resource(path: &str, allow: String) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut response = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
    }))
}

/// Unknown paths anywhere: a 404 errors document.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound)
}
