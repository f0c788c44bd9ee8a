//! `POST /oauth/revoke` (RFC 7009): a token stops working at once, on every instance.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::tokens::{Claims, TokenError};
use crate::db::schema::revoked_tokens;
use crate::error::ApiError;
use crate::http::oauth::client::authenticate;
use crate::http::oauth::error::OAuthError;
use crate::http::oauth::parameters::OAuthParameters;
use crate::http::state::State;
use crate::jsonapi::media::Body;

pub async fn revoke(state: State, request: HttpRequest, body: Result<Body, ApiError>) -> HttpResponse {
    let body = match body {
        Ok(body) => body,
        Err(refused) => return OAuthError::refusal(&refused).response(),
    };
    match revoke_token(&state, &request, &body.0).await {
        // RFC 7009 §2.2: 200 whether or not the token was valid.
        Ok(()) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(json!({})),
        Err(error) => error.response(),
    }
}

async fn revoke_token(state: &State, request: &HttpRequest, body: &[u8]) -> Result<(), OAuthError> {
    let parameters = OAuthParameters::parse(request, body)?;
    let token = parameters.one("token")?.ok_or_else(|| OAuthError::invalid_request("token is required."))?.to_string();
    let client = authenticate(state, &parameters).await?;
    let claims = match state.verify_token(&token).await? {
        Ok(claims) => claims,
        // Invalid or already expired: nothing to revoke (RFC 7009 §2.2).
        Err(TokenError::Expired | TokenError::Malformed | TokenError::UnknownKey | TokenError::Invalid(_)) => {
            return Ok(())
        }
    };
    if claims.application.client_id != client.client_id() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "The token was not issued to this client.",
        ));
    }
    record_revocation(state, claims).await
}

pub async fn record_revocation(state: &State, claims: Claims) -> Result<(), OAuthError> {
    use diesel::prelude::*;
    state
        .db
        .transaction(move |conn| {
            // Rows of tokens that expired anyway are of no more use.
            let now = crate::domain::now();
            diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now))).execute(conn)?;
            let exists: i64 =
                revoked_tokens::table.filter(revoked_tokens::jti.eq(&claims.jti)).count().get_result(conn)?;
            if exists == 0 {
                let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0)
                    .map(|t| t.naive_utc())
                    .unwrap_or_else(crate::domain::now);
                diesel::insert_into(revoked_tokens::table)
                    .values((
                        revoked_tokens::jti.eq(&claims.jti),
                        revoked_tokens::expires_at.eq(expires_at),
                        revoked_tokens::revoked_at.eq(crate::domain::now()),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}
