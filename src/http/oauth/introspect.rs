//! `POST /oauth/introspect` (RFC 7662).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::db::grants;
use crate::db::schema::revoked_tokens;
use crate::error::ApiError;
use crate::http::oauth::client::{authenticate, Client};
use crate::http::oauth::error::OAuthError;
use crate::http::oauth::parameters::OAuthParameters;
use crate::http::state::State;
use crate::jsonapi::media::Body;
use crate::resources::api_credentials::ApiCredentials;
use crate::resources::api_resources;
use crate::resources::model::Resource;

pub async fn introspect(state: State, request: HttpRequest, body: Result<Body, ApiError>) -> HttpResponse {
    let body = match body {
        Ok(body) => body,
        Err(refused) => return OAuthError::refusal(&refused).response(),
    };
    match introspection(&state, &request, &body.0).await {
        Ok(answer) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer),
        Err(error) => error.response(),
    }
}

/// RFC 7662. The caller is a confidential client of an organization; it learns about tokens of
/// its own organization only. A token is active while it verifies, is unexpired and
/// unrevoked, its client still exists, and its secret version still counts.
async fn introspection(state: &State, request: &HttpRequest, body: &[u8]) -> Result<Value, OAuthError> {
    let parameters = OAuthParameters::parse(request, body)?;
    let token = parameters.one("token")?.ok_or_else(|| OAuthError::invalid_request("token is required."))?.to_string();
    let organization_id = match authenticate(state, &parameters).await? {
        Client::Credential(credential, _) if credential.confidential => credential.organization_id,
        _ => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Introspection is for confidential clients of an organization.",
            ))
        }
    };
    let inactive = json!({ "active": false });
    let Ok(claims) = state.verify_token(&token).await? else { return Ok(inactive) };
    let Some(organization) = claims.organization.clone().filter(|o| o.id == organization_id) else {
        return Ok(inactive);
    };
    let (jti, application_id) = (claims.jti.clone(), claims.application.id.clone());
    let standing = state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            let revoked: i64 = revoked_tokens::table.filter(revoked_tokens::jti.eq(&jti)).count().get_result(conn)?;
            let credential: Option<<ApiCredentials as Resource>::Row> = ApiCredentials::find(conn, &application_id)?;
            Ok((revoked, credential))
        })
        .await?;
    let mut active = match standing {
        (0, Some(credential)) => {
            credential.organization_id == organization.id
                && claims.secret_version.is_none_or(|v| credential.accepts_secret_version(v, crate::domain::now()))
        }
        _ => false,
    };
    // A token for an API resource stands while the resource and every scope grant it carries do.
    if let (true, Some(audience)) = (active, claims.aud.clone()) {
        let (organization_id, credential_id) = (organization.id.clone(), claims.application.id.clone());
        let scopes: Vec<String> = claims.scope.split(' ').filter(|s| !s.is_empty()).map(String::from).collect();
        active = state
            .db
            .run(move |conn| {
                let resource =
                    api_resources::resources_of(conn, &organization_id)?.into_iter().find(|r| r.identifier == audience);
                let Some(resource) = resource else { return Ok(false) };
                let granted = grants::granted_scopes(conn, &credential_id, &resource.id)?;
                Ok(scopes.iter().all(|s| granted.contains(s)))
            })
            .await?;
        if !active {
            return Ok(inactive);
        }
    }
    if !active {
        return Ok(inactive);
    }
    let mut answer = serde_json::to_value(&claims)
        .map_err(|e| OAuthError::from(ApiError::Internal { context: "introspection", source: Some(e.into()) }))?;
    answer["active"] = json!(true);
    answer["client_id"] = json!(claims.application.client_id);
    answer["sub"] = json!(claims.application.client_id);
    answer["token_type"] = json!("Bearer");
    Ok(answer)
}
