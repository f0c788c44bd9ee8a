//! The gate every request passes after CORS and compression and before routing, as one layer:
//! the rate limit, the text of the request line and, under `/api`, the token, the media type
//! and the reads kept as answered; then the caching headers of whatever answers. A read kept
//! for this caller and target while nothing changed is answered here, without routing to its
//! handler again (`answers`).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use tracing::Instrument;

use crate::domain::policy::Session;
use crate::http::answers::{target, Answer, AnsweredRoute, Asked};
use crate::http::auth;
use crate::http::caching::{self, Conditional};
use crate::http::context::{CallerId, RequestContext};
use crate::http::endpoint::check_text;
use crate::http::limits::{set_headers, too_many, Bucket, Decision};
use crate::http::state::State;
use crate::jsonapi::media;

pub async fn gate(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let conditional = Conditional::of(&request);
    let decision = counted(&request).await;
    let mut response = match admit(&request, decision.as_ref()).await {
        Admission::Refused(refused) => request.into_response(refused),
        Admission::Kept(kept) => request.into_response(kept.response()),
        Admission::Routed => {
            // What the handler, its database work and argon2 log carries the request's id. The
            // span is made here, past the refusals and kept answers that log nothing inside it:
            // it costs a tenth of a kept answer.
            let id = request.extensions().get::<RequestContext>().map(|c| c.request_id.clone()).unwrap_or_default();
            let span = tracing::info_span!("request", request_id = %id);
            next.call(request).instrument(span).await?.map_into_boxed_body()
        }
    };
    if let Some(decision) = decision {
        set_headers(response.headers_mut(), &decision);
    }
    Ok(caching::finish(conditional, response))
}

/// The request counted against its bucket's limit for the client's address, when it has one.
async fn counted(request: &ServiceRequest) -> Option<Decision> {
    let bucket = Bucket::of(request.method(), request.path());
    let state = request.app_data::<State>()?;
    let limit = state.limits.limit(bucket)?;
    let ip = request.extensions().get::<RequestContext>()?.client_ip?;
    Some(state.limits.hit(bucket, ip, limit).await)
}

/// What the gate does with a request.
enum Admission {
    Refused(HttpResponse),
    /// A read answered before, while nothing changed.
    Kept(Answer),
    /// On to routing and its handler.
    Routed,
}

/// Refused, in this order: past the rate limit, unclean text, and under `/api` without a
/// valid token or an acceptable media type. An admitted `/api` GET may have its answer kept.
async fn admit(request: &ServiceRequest, decision: Option<&Decision>) -> Admission {
    if let Some(decision) = decision.filter(|decision| !decision.allowed) {
        metrics::counter!("rate_limit_refusals_total", "bucket" => Bucket::of(request.method(), request.path()).label())
            .increment(1);
        return Admission::Refused(too_many(request.path(), decision));
    }
    if let Some(refused) = check_text(request) {
        return Admission::Refused(refused);
    }
    if !under_api(request.path()) {
        return Admission::Routed;
    }
    // Outermost under /api: nothing about it is told to a caller without a token.
    let session = match auth::session(request).await.and_then(|session| media::negotiate(request).map(|()| session)) {
        Ok(session) => session,
        Err(refused) => return Admission::Refused(refused.error_response()),
    };
    let kept = match request.method() == Method::GET {
        true => kept(request, &session),
        false => None,
    };
    request.extensions_mut().insert(CallerId(session.user_id.clone()));
    request.extensions_mut().insert(session);
    kept.map_or(Admission::Routed, Admission::Kept)
}

/// What `web::scope("/api")` matches.
fn under_api(path: &str) -> bool {
    path.strip_prefix("/api").is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The answer kept for this caller and target while the database has not changed since.
fn kept(request: &ServiceRequest, session: &Session) -> Option<Answer> {
    let state = request.app_data::<State>().filter(|state| state.answers.keeps())?;
    let now = state.db.stamp()?;
    let asked = Asked::new(session, target(request.path(), request.query_string()));
    let answer = state.answers.get(now, &asked)?;
    metrics::counter!("reads_answered_total", "from" => "kept").increment(1);
    request.extensions_mut().insert(AnsweredRoute(answer.route().clone()));
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::under_api;

    #[test]
    fn under_api_is_what_the_scope_matches() {
        for path in ["/api", "/api/", "/api/organizations", "/api//x"] {
            assert!(under_api(path), "{path}");
        }
        for path in ["/apis", "/ap", "/", "/oauth/token", "/api.json", "/x/api"] {
            assert!(!under_api(path), "{path}");
        }
    }
}
