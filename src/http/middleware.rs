//! The middleware every request passes first: its id and context (`X-Request-Id` both ways,
//! the client's address through the trusted proxies), then its rate limit.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use crate::http::context::RequestContext;
use crate::http::limits::{set_headers, too_many, Bucket};
use crate::http::state::State;

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

/// The middleware: counts each request against its bucket's limit for the client's address.
pub async fn rate_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let bucket = Bucket::of(request.method(), request.path());
    let counted = match (request.app_data::<State>(), request.extensions().get::<RequestContext>()) {
        (Some(state), Some(context)) => match (state.limits.limit(bucket), context.client_ip) {
            (Some(limit), Some(ip)) => Some((state.clone(), limit, ip)),
            _ => None,
        },
        _ => None,
    };
    let decision = match counted {
        Some((state, limit, ip)) => Some(state.limits.hit(bucket, ip, limit).await),
        None => None,
    };
    match decision {
        Some(decision) if !decision.allowed => {
            let response = too_many(request.path(), &decision);
            Ok(request.into_response(response).map_into_right_body())
        }
        decision => {
            let mut response = next.call(request).await?.map_into_left_body();
            if let Some(decision) = decision {
                set_headers(response.headers_mut(), &decision);
            }
            Ok(response)
        }
    }
}
