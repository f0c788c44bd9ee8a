//! `POST /oauth/token`: client credentials (RFC 6749 §4.4), for a user's provisioning token,
//! an organization credential's token, or a token for one of its API resources (RFC 8707).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::tokens::{issue, Claims, PROVISIONING_SCOPE};
use crate::db::grants;
use crate::http::oauth::client::{authenticate, Client};
use crate::http::oauth::error::OAuthError;
use crate::http::oauth::parameters::OAuthParameters;
use crate::http::state::State;
use crate::jsonapi::media::Body;
use crate::resources::api_resources;
use crate::resources::users;

pub async fn token(state: State, request: HttpRequest, body: Body) -> HttpResponse {
    match grant(&state, &request, &body.0).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn grant(state: &State, request: &HttpRequest, body: &[u8]) -> Result<HttpResponse, OAuthError> {
    let parameters = OAuthParameters::parse(request, body)?;
    match parameters.one("grant_type")? {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("The grant type {other:?} is not supported; use client_credentials."),
            ))
        }
        None => return Err(OAuthError::invalid_request("grant_type is required.")),
    }
    // RFC 8707: `resource` may repeat only when every value names the same resource.
    let mut resources = parameters.all("resource");
    resources.dedup();
    if resources.len() > 1 {
        return Err(OAuthError::new(StatusCode::BAD_REQUEST, "invalid_target", "Request one resource per token."));
    }
    let requested_resource = resources.first().map(|r| r.to_string());
    if requested_resource.as_deref().is_some_and(|r| url::Url::parse(r).is_err()) {
        return Err(OAuthError::new(StatusCode::BAD_REQUEST, "invalid_target", "resource must be an absolute URI."));
    }
    let requested_scopes: Option<Vec<String>> =
        parameters.one("scope")?.map(|s| s.split(' ').filter(|s| !s.is_empty()).map(String::from).collect());
    let client = authenticate(state, &parameters).await?;
    let now = chrono::Utc::now().timestamp();
    let claims = match client {
        Client::User(user) => {
            if requested_resource.is_some() {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "User credentials get provisioning tokens only.",
                ));
            }
            if requested_scopes.as_ref().is_some_and(|s| s.iter().any(|s| s != PROVISIONING_SCOPE)) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("User credentials have the scope {PROVISIONING_SCOPE} only."),
                ));
            }
            // A user's first sign-in activates the memberships waiting for their email.
            let activated = user.clone();
            state.db.transaction(move |conn| Ok(users::activate_memberships(conn, &activated)?)).await?;
            Claims::for_user(&state.issuer, &user.id, &user.client_id, now)
        }
        Client::Credential(credential, slug) => {
            let (organization_id, credential_id) = (credential.organization_id.clone(), credential.id.clone());
            let wanted = requested_resource.clone();
            let target = state
                .db
                .run(move |conn| {
                    let resource =
                        api_resources::resolve(api_resources::resources_of(conn, &organization_id)?, wanted.as_deref());
                    match resource {
                        Some(resource) => {
                            let granted = grants::granted_scopes(conn, &credential_id, &resource.id)?;
                            Ok(Some((resource, granted)))
                        }
                        None => Ok(None),
                    }
                })
                .await?;
            match (target, requested_resource) {
                (Some((resource, granted)), _) => {
                    let scope = match requested_scopes {
                        Some(requested) => {
                            if let Some(missing) = requested.iter().find(|s| !granted.contains(s)) {
                                return Err(OAuthError::new(
                                    StatusCode::BAD_REQUEST,
                                    "invalid_scope",
                                    format!(
                                        "The scope {missing:?} is not granted to this client for {}.",
                                        resource.identifier
                                    ),
                                ));
                            }
                            let mut requested = requested;
                            requested.dedup();
                            requested.join(" ")
                        }
                        None => granted.join(" "),
                    };
                    Claims::for_resource(&state.issuer, &credential, &slug, &resource, scope, now)
                }
                (None, Some(requested)) => {
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_target",
                        format!("No API resource of this organization matches {requested:?}."),
                    ))
                }
                (None, None) => {
                    if requested_scopes.as_ref().is_some_and(|s| !s.is_empty()) {
                        return Err(OAuthError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "Scopes belong to an API resource: name one with resource, or set a default.",
                        ));
                    }
                    Claims::for_credential(&state.issuer, &credential, &slug, now)
                }
            }
        }
    };
    let access_token = issue(&state.keys, &claims);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": claims.exp - claims.iat,
            "scope": claims.scope,
            "created_at": claims.iat,
        })))
}
