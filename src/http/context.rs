//! Where a request comes from, as the audit trail records it: its id, the client's address
//! (the peer's; `X-Forwarded-For` only from a trusted proxy) and user agent. The middleware
//! that finds them is in `observe.rs`.

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::domain::audit::Audit;
use crate::domain::policy::{Caller, Session};
use crate::error::ApiError;

/// What a version records about the request that made a change.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The client's address: the peer's, or, behind a trusted proxy, what it forwarded.
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

impl FromRequest for RequestContext {
    type Error = ApiError;
    type Future = Ready<Result<RequestContext, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(request.extensions().get::<RequestContext>().cloned().unwrap_or(RequestContext {
            client_ip: None,
            user_agent: None,
            request_id: uuid::Uuid::new_v4().to_string(),
        })))
    }
}

/// Who made the request, for its log line: a user's id under `/api`, a client id under
/// `/oauth`. Never a token or a secret.
#[derive(Debug, Clone)]
pub struct CallerId(pub String);

/// What a version records of who wrote, from where.
pub fn audit(caller: &Caller, context: &RequestContext) -> Audit {
    Audit {
        user_id: caller.user_id.clone(),
        email: caller.email.clone(),
        ip_address: context.client_ip.map(|ip| ip.to_string()),
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
