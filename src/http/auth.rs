//! `/api` is for users holding a valid provisioning token: signed by us, unexpired, issued to
//! a user credential (and, checked with the request's database work, not revoked, its user
//! still there). Everything else answers 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3)
//! at the gate, before routing (`gate`).

use std::future::{ready, Ready};

use crate::auth::tokens::{verify, TokenError, PROVISIONING_SCOPE};
use crate::domain::policy::Session;
use crate::error::ApiError;
use crate::http::state::State;
use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

fn bearer(request: &ServiceRequest) -> Result<&str, ApiError> {
    let value = request.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::Unauthorized("A bearer access token is required: Authorization: Bearer <token>.".into())
    })?;
    // ASCII is what `to_str` asks (a parsed header holds no control characters but tab), checked
    // a word at a time: a token is a kilobyte, and this runs on every request.
    let value = std::str::from_utf8(value.as_bytes())
        .ok()
        .filter(|value| value.is_ascii())
        .ok_or_else(|| ApiError::Unauthorized("The Authorization header is unreadable.".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::Unauthorized("The Authorization header must be: Bearer <token>.".into())),
    }
}

/// The request's verified session, or why it has none.
pub async fn session(request: &ServiceRequest) -> Result<Session, ApiError> {
    let state = request.app_data::<State>().ok_or(ApiError::internal("the app state is not configured"))?;
    let token = bearer(request)?;
    let claims = match state.verified.get(token, chrono::Utc::now().timestamp()) {
        Some(claims) => claims,
        None => {
            // A signature check is a few microseconds of RSA: on the blocking pool, not here.
            let (keys, issuer, checked) = (state.keys.clone(), state.issuer.clone(), token.to_string());
            let claims = match web::block(move || verify(&keys, &checked, &issuer)).await.map_err(ApiError::from)? {
                Ok(claims) => claims,
                Err(TokenError::UnknownKey) => {
                    // Perhaps another instance added a key since this one started.
                    state.verify_token(token).await?.map_err(unauthorized)?
                }
                Err(other) => return Err(unauthorized(other)),
            };
            let claims = std::sync::Arc::new(claims);
            state.verified.insert(token, claims.clone());
            claims
        }
    };
    let user_id = match (&claims.user, claims.application.kind.as_str()) {
        (Some(user), "user") if claims.scope.split(' ').any(|s| s == PROVISIONING_SCOPE) => user.id.clone(),
        _ => {
            return Err(ApiError::Unauthorized(
                "This API takes user tokens; this token was issued to an application.".into(),
            ))
        }
    };
    // The user's existence and the token's revocation are checked with the request's own
    // database work, in the same hop (`AppState::as_caller`).
    Ok(Session { user_id, jti: claims.jti.clone() })
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
