//! `/api` is for users holding a valid provisioning token: signed by us, unexpired, issued to
//! a user credential (and, checked with the request's database work, not revoked, its user
//! still there). Everything else answers 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3)
//! before any handler runs.

use std::future::{ready, Ready};

use crate::auth::tokens::{verify, TokenError, PROVISIONING_SCOPE};
use crate::domain::audit::Audit;
use crate::domain::policy::{Caller, Session};
use crate::error::ApiError;
use crate::http::state::State;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

fn bearer(request: &ServiceRequest) -> Result<String, ApiError> {
    let value = request.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("A bearer access token is required: Authorization: Bearer <token>.".into())
    })?;
    let value = value.to_str().map_err(|_| ApiError::Unauthorized("The Authorization header is unreadable.".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim().to_string())
        }
        _ => Err(ApiError::Unauthorized("The Authorization header must be: Bearer <token>.".into())),
    }
}

pub async fn authenticate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = request.app_data::<State>().cloned().expect("app state is configured");
    let token = bearer(&request)?;
    let claims = match state.verified.get(&token, chrono::Utc::now().timestamp()) {
        Some(claims) => claims,
        None => {
            let claims = match verify(&state.keys, &token, &state.issuer) {
                Ok(claims) => claims,
                Err(TokenError::UnknownKey) => {
                    // Perhaps another instance added a key since this one started.
                    let keys = state.keys.clone();
                    state.db.run(move |conn| Ok(keys.refresh(conn)?)).await?;
                    verify(&state.keys, &token, &state.issuer).map_err(unauthorized)?
                }
                Err(other) => return Err(unauthorized(other).into()),
            };
            state.verified.insert(&token, &claims);
            claims
        }
    };
    let user_id = match (&claims.user, claims.application.kind.as_str()) {
        (Some(user), "user") if claims.scope.split(' ').any(|s| s == PROVISIONING_SCOPE) => user.id.clone(),
        _ => {
            return Err(ApiError::Unauthorized(
                "This API takes user tokens; this token was issued to an application.".into(),
            )
            .into())
        }
    };
    // The user's existence and the token's revocation are checked with the request's own
    // database work, in the same hop (`AppState::as_caller`).
    request.extensions_mut().insert(Session { user_id, jti: claims.jti });
    next.call(request).await
}

fn unauthorized(error: TokenError) -> ApiError {
    ApiError::Unauthorized(match error {
        TokenError::Expired => "The access token has expired.".into(),
        TokenError::UnknownKey => "The access token was not signed by this server.".into(),
        TokenError::Malformed => "The access token is not a JWT.".into(),
        TokenError::Invalid(_) => "The access token is invalid.".into(),
    })
}

impl FromRequest for Session {
    type Error = ApiError;
    type Future = Ready<Result<Session, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Session>()
                .cloned()
                .ok_or_else(|| ApiError::Unauthorized("A bearer access token is required.".into())),
        )
    }
}

/// What a version records about the request that made a change.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

/// A request id for every request, in `X-Request-Id` both ways (a sane one sent by the client
/// is kept, so a trace can span services).
pub async fn request_id(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(String::from);
    let id = given.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let context = RequestContext {
        ip_address: request.connection_info().realip_remote_addr().map(|a| a.to_string()),
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
        request_id: id.clone(),
    };
    request.extensions_mut().insert(context);
    let mut response = next.call(request).await?;
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response.headers_mut().insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

impl FromRequest for RequestContext {
    type Error = ApiError;
    type Future = Ready<Result<RequestContext, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(request.extensions().get::<RequestContext>().cloned().unwrap_or(RequestContext {
            ip_address: None,
            user_agent: None,
            request_id: uuid::Uuid::new_v4().to_string(),
        })))
    }
}

/// What a version records of who wrote, from where.
pub fn audit(caller: &Caller, context: &RequestContext) -> Audit {
    Audit {
        user_id: caller.user_id.clone(),
        email: caller.email.clone(),
        ip_address: context.ip_address.clone(),
        user_agent: context.user_agent.clone(),
        request_id: context.request_id.clone(),
    }
}
