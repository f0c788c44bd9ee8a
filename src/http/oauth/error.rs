//! OAuth errors: RFC 6749 §5.2 JSON (`error`, `error_description`), plus an `errors` array of
//! JSON:API-shaped objects, because Commerce Layer's js-auth reads failures only from `errors`.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use serde_json::json;

use crate::error::ApiError;

#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    /// The client tried HTTP Basic: answer with a Basic challenge (RFC 6749 §5.2).
    pub basic: bool,
    /// Seconds to wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into(), basic: false, retry_after: None }
    }
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    pub fn invalid_client(basic: bool) -> Self {
        OAuthError {
            basic,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: unknown client or wrong secret.",
            )
        }
    }

    /// The argon2 pool is full: 503, retry in a second.
    pub fn busy() -> Self {
        OAuthError {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "Too many client secrets are being checked right now; retry in a second.",
            )
        }
    }

    /// A refusal met on an OAuth endpoint before its own rules (a body too large, a method not
    /// allowed, an unknown path), in OAuth's shape and with its own status.
    pub fn refusal(error: &ApiError) -> Self {
        let status = actix_web::ResponseError::status_code(error);
        let code = match status.as_u16() {
            401 => "invalid_client",
            429 => "too_many_requests",
            503 => "temporarily_unavailable",
            500.. => "server_error",
            _ => "invalid_request",
        };
        let document = error.document_body();
        let detail = document["errors"][0]["detail"].as_str().unwrap_or("The request was refused.").to_string();
        Self::new(status, code, detail)
    }

    pub fn response(&self) -> HttpResponse {
        let body = json!({
            "error": self.error,
            "error_description": self.description,
            "errors": [{
                "code": self.error.to_uppercase(),
                "title": self.error,
                "detail": self.description,
                "status": self.status.as_u16().to_string(),
            }],
        });
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                if self.basic { "Basic realm=\"provisioning\"" } else { "Bearer" },
            ));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(body)
    }
}

impl From<ApiError> for OAuthError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unavailable(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "Retry shortly.")
            }
            other => {
                tracing::error!(error = %other, source = ?std::error::Error::source(&other), "oauth endpoint failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong on our side.")
            }
        }
    }
}
