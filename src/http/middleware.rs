//! The middleware every request passes after `observe`: `HEAD` answered as `GET`, CORS,
//! caching headers and conditional GETs, then the rate limit.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use crate::http::context::RequestContext;
use crate::http::limits::{set_headers, too_many, Bucket};
use crate::http::state::State;

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
            metrics::counter!("rate_limit_refusals_total", "bucket" => bucket.label()).increment(1);
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
