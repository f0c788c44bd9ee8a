//! Where a request comes from, as the audit trail records it: its id (`X-Request-Id` both
//! ways), the client's address (the peer's; `X-Forwarded-For` only from a trusted proxy) and
//! user agent.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::domain::audit::Audit;
use crate::domain::policy::{Caller, Session};
use crate::error::ApiError;
use crate::http::state::State;

/// What a version records about the request that made a change.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client's address: the peer's, or, behind a trusted proxy, what it forwarded.
    pub client_ip: Option<IpAddr>,
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
    let peer = request.peer_addr().map(|a| a.ip());
    let client_ip = match request.app_data::<State>() {
        Some(state) => {
            state.limits.client_ip(peer, request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        }
        None => peer,
    };
    let context = RequestContext {
        client_ip,
        ip_address: client_ip.map(|ip| ip.to_string()),
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
            client_ip: None,
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

/// Who writes (their verified token) and from where: what every write needs.
pub struct Author {
    pub session: Session,
    pub context: RequestContext,
}

impl FromRequest for Author {
    type Error = ApiError;
    type Future = Ready<Result<Author, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let session = match Session::from_request(request, payload).into_inner() {
            Ok(session) => session,
            Err(error) => return ready(Err(error)),
        };
        let context = RequestContext::from_request(request, payload).into_inner();
        ready(context.map(|context| Author { session, context }))
    }
}
