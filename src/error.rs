//! One error type for the whole request road. Each variant knows its HTTP status and
//! renders itself as a JSON:API errors document (JSON:API 1.1 §7 "Errors").

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use jsonapi::api::{DocumentError, ErrorSource, JsonApiError};

/// The JSON:API media type, on every response of `/api`.
pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// Where in the request an error comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A JSON Pointer into the request document, e.g. `/data/attributes/name`.
    Pointer(String),
    /// The name of the query parameter, e.g. `page[size]`.
    Parameter(String),
    None,
}

impl Source {
    pub fn pointer(p: impl Into<String>) -> Self {
        Source::Pointer(p.into())
    }
    pub fn parameter(p: impl Into<String>) -> Self {
        Source::Parameter(p.into())
    }
    pub fn attribute(name: &str) -> Self {
        Source::Pointer(format!("/data/attributes/{name}"))
    }
    pub fn relationship(name: &str) -> Self {
        Source::Pointer(format!("/data/relationships/{name}"))
    }
}

/// One problem with a value the client sent; several are reported together as 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub location: Source,
    pub detail: String,
}

impl Invalid {
    pub fn attribute(name: &str, detail: impl Into<String>) -> Self {
        Invalid { location: Source::attribute(name), detail: detail.into() }
    }
    pub fn relationship(name: &str, detail: impl Into<String>) -> Self {
        Invalid { location: Source::relationship(name), detail: detail.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: values that are well-formed JSON:API but break a rule of the type.
    #[error("validation failed: {0:?}")]
    Validation(Vec<Invalid>),
    /// 400: a request the server cannot interpret (query parameter, document shape).
    #[error("bad request ({code}): {detail}")]
    BadRequest { code: &'static str, detail: String, location: Source },
    /// 403: a rule forbids what the request asks, whoever asks it.
    #[error("forbidden: {detail}")]
    Forbidden { detail: String, location: Source },
    #[error("record not found: {0}")]
    NotFound(String),
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the document names another type or id than the endpoint, or collides with a record.
    #[error("conflict: {detail}")]
    Conflict { detail: String, location: Source },
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 503: the database cannot be reached right now; the client may retry.
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 429: past a rate limit.
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// 503: the argon2 pool is full; retry in a second.
    #[error("busy")]
    Busy,
    /// 503: the write was saved but a mail it sends could not be delivered.
    #[error("mail not sent")]
    MailNotSent(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 500: a fault of ours. What happened is logged with its source, never shown.
    #[error("internal error: {context}")]
    Internal {
        context: &'static str,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl ApiError {
    pub fn invalid(invalid: Invalid) -> Self {
        ApiError::Validation(vec![invalid])
    }

    pub fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "INVALID_PARAMETER",
            detail: detail.into(),
            location: Source::Parameter(name.into()),
        }
    }

    pub fn filter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest { code: "INVALID_FILTER", detail: detail.into(), location: Source::Parameter(name.into()) }
    }

    pub fn document(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "INVALID_DOCUMENT",
            detail: detail.into(),
            location: Source::Pointer(pointer.into()),
        }
    }

    pub fn not_allowed(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: "PARAM_NOT_ALLOWED",
            detail: detail.into(),
            location: Source::Pointer(pointer.into()),
        }
    }

    pub fn conflict(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Conflict { detail: detail.into(), location: Source::Pointer(pointer.into()) }
    }

    pub fn not_found(type_name: &str, id: &str) -> Self {
        ApiError::NotFound(format!("No {type_name} record with id {id:?} was found."))
    }

    /// A fault of ours with nothing underneath it (a row written in this transaction vanished).
    pub fn internal(context: &'static str) -> Self {
        ApiError::Internal { context, source: None }
    }

    fn objects(&self) -> Vec<JsonApiError> {
        let status = self.status_code();
        let one = |code: &str, title: &str, detail: String, source: &Source| {
            vec![error_object(status, code, title, detail, source)]
        };
        match self {
            ApiError::Validation(problems) => problems
                .iter()
                .map(|p| error_object(status, "VALIDATION_ERROR", "Validation error", p.detail.clone(), &p.location))
                .collect(),
            ApiError::BadRequest { code, detail, location } => one(code, "Bad request", detail.clone(), location),
            ApiError::Forbidden { detail, location } => one("FORBIDDEN", "Forbidden", detail.clone(), location),
            ApiError::NotFound(detail) => one("RECORD_NOT_FOUND", "Record not found", detail.clone(), &Source::None),
            ApiError::RouteNotFound => {
                one("NOT_FOUND", "Not found", "No resource or route matches this path.".into(), &Source::None)
            }
            ApiError::MethodNotAllowed => one(
                "METHOD_NOT_ALLOWED",
                "Method not allowed",
                "This endpoint does not support this HTTP method; see the Allow header.".into(),
                &Source::None,
            ),
            ApiError::Conflict { detail, location } => one("CONFLICT", "Conflict", detail.clone(), location),
            ApiError::PayloadTooLarge { limit } => one(
                "PAYLOAD_TOO_LARGE",
                "Payload too large",
                format!("The request body exceeds the limit of {limit} bytes."),
                &Source::None,
            ),
            ApiError::UnsupportedMediaType(detail) => {
                one("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type", detail.clone(), &Source::None)
            }
            ApiError::NotAcceptable(detail) => one("NOT_ACCEPTABLE", "Not acceptable", detail.clone(), &Source::None),
            ApiError::Unauthorized(detail) => one("UNAUTHORIZED", "Unauthorized", detail.clone(), &Source::None),
            ApiError::Unavailable(_) => one(
                "SERVICE_UNAVAILABLE",
                "Service unavailable",
                "The database is not reachable right now; retry shortly.".into(),
                &Source::None,
            ),
            ApiError::TooManyRequests(detail) => {
                one("TOO_MANY_REQUESTS", "Too many requests", detail.clone(), &Source::None)
            }
            ApiError::Busy => one(
                "TEMPORARILY_UNAVAILABLE",
                "Temporarily unavailable",
                "Too many secrets are being checked or made right now; retry in a second.".into(),
                &Source::None,
            ),
            ApiError::MailNotSent(_) => one(
                "MAIL_NOT_SENT",
                "Mail not sent",
                "The change was saved, but its mail could not be delivered right now; ask for it again \
                 shortly (resend an invitation, or send the new email address again)."
                    .into(),
                &Source::None,
            ),
            ApiError::Internal { .. } => one(
                "INTERNAL_SERVER_ERROR",
                "Internal server error",
                "Something went wrong on our side; it has been logged.".into(),
                &Source::None,
            ),
        }
    }

    /// The errors document, ready to serialize.
    pub fn document_body(&self) -> serde_json::Value {
        let document = DocumentError { errors: self.objects(), links: None, meta: None, jsonapi: None };
        let mut value = serde_json::to_value(&document).expect("an errors document always serializes");
        // The jsonapi crate serializes absent `source.pointer`/`source.parameter` as null; JSON:API
        // says those members are strings when present, so drop the nulls.
        if let Some(errors) = value.get_mut("errors").and_then(|e| e.as_array_mut()) {
            for error in errors {
                if let Some(source) = error.get_mut("source").and_then(|s| s.as_object_mut()) {
                    source.retain(|_, v| !v.is_null());
                }
            }
        }
        value["jsonapi"] = serde_json::json!({ "version": "1.1" });
        value
    }
}

fn error_object(status: StatusCode, code: &str, title: &str, detail: String, source: &Source) -> JsonApiError {
    let source = match source {
        Source::Pointer(p) => Some(ErrorSource { pointer: Some(p.clone()), parameter: None }),
        Source::Parameter(p) => Some(ErrorSource { pointer: None, parameter: Some(p.clone()) }),
        Source::None => None,
    };
    JsonApiError {
        status: Some(status.as_u16().to_string()),
        code: Some(code.to_string()),
        title: Some(title.to_string()),
        detail: Some(detail),
        source,
        ..Default::default()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::MailNotSent(_) | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal { context, source } => {
                tracing::error!(context, source = source.as_ref().map(|s| s.to_string()), "internal error")
            }
            ApiError::Unavailable(source) => tracing::warn!(%source, "database unavailable"),
            ApiError::MailNotSent(source) => tracing::error!(%source, "mail not sent"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, MEDIA_TYPE));
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Busy => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.body(self.document_body().to_string())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::Internal { context: "blocking pool", source: Some(error.to_string().into()) }
    }
}
