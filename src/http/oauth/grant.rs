//! `POST /oauth/token`: client credentials (RFC 6749 §4.4), for a user's provisioning token,
//! an organization credential's token, or a token for one of its API resources (RFC 8707).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde_json::json;

use crate::auth::logins;
use crate::auth::tokens::{sign, Claims, PROVISIONING_SCOPE};
use crate::db::grants;
use crate::error::ApiError;
use crate::http::context::CallerId;
use crate::http::oauth::client::{authenticate, Client};
use crate::http::oauth::error::OAuthError;
use crate::http::oauth::parameters::OAuthParameters;
use crate::http::oauth::upstream;
use crate::http::state::State;
use crate::jsonapi::media::Body;
use crate::resources::api_resources::{self, ApiResource};
use crate::resources::users;

pub async fn token(state: State, request: HttpRequest, body: Result<Body, ApiError>) -> HttpResponse {
    let body = match body {
        Ok(body) => body,
        Err(refused) => return OAuthError::refusal(&refused).response(),
    };
    let answer = grant(&state, &request, &body.0).await;
    let outcome = match &answer {
        Ok(_) => "issued",
        Err(error) => error.error,
    };
    metrics::counter!("token_grants_total", "outcome" => outcome).increment(1);
    match answer {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn grant(state: &State, request: &HttpRequest, body: &[u8]) -> Result<HttpResponse, OAuthError> {
    let parameters = OAuthParameters::parse(request, body)?;
    match parameters.one("grant_type")? {
        Some("client_credentials") => {}
        Some("authorization_code") => return redeem(state, request, &parameters).await,
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("The grant type {other:?} is not supported; use client_credentials or authorization_code."),
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
    request.extensions_mut().insert(CallerId(client.client_id().to_string()));
    let now = chrono::Utc::now().timestamp();
    let (issuer, keys) = (state.issuer.clone(), state.keys.clone());
    // RSA signing takes a fraction of a millisecond: on the blocking pool, with the grant's
    // database work where it can be, off the async workers.
    let (claims, access_token, upstream) = match client {
        Client::User(user) => {
            decide(Requester::User, requested_resource.as_deref(), requested_scopes.as_deref(), None)?;
            // A user's first sign-in activates the memberships waiting for their email.
            let activated = user.clone();
            let signer = state
                .db
                .transaction(move |conn| {
                    users::activate_memberships(conn, &activated)?;
                    Ok(keys.current(conn)?)
                })
                .await?;
            let claims = Claims::for_user(&issuer, &user.id, &user.client_id, now);
            let signed = claims.clone();
            let token = actix_web::web::block(move || sign(&signer, &signed))
                .await
                .map_err(|e| OAuthError::from(ApiError::from(e)))?;
            (claims, token, None)
        }
        Client::Credential(credential, slug) => {
            let master = state.master.clone();
            let credential_id = credential.id.clone();
            let (claims, token, upstream) = state
                .db
                .run(move |conn| {
                    let resources = api_resources::resources_of(conn, &credential.organization_id)?;
                    let target = match api_resources::resolve(resources, requested_resource.as_deref()) {
                        Some(resource) => {
                            let granted = grants::granted_scopes(conn, &credential.id, &resource.id)?;
                            Some((resource, granted))
                        }
                        None => None,
                    };
                    let target = target.as_ref().map(|(resource, granted)| (resource, granted.as_slice()));
                    let requester = Requester::Credential(&credential.id);
                    let grant =
                        match decide(requester, requested_resource.as_deref(), requested_scopes.as_deref(), target) {
                            Ok(grant) => grant,
                            Err(refused) => return Ok(Err(refused)),
                        };
                    let (claims, provider) = match grant {
                        Grant::Resource { scope } => {
                            let (resource, _) = target.expect("a resource grant has its resource");
                            let claims = Claims::for_resource(&issuer, &credential, &slug, resource, scope, now);
                            (claims, resource.credential_provider_id.clone())
                        }
                        Grant::Organization | Grant::Provisioning => {
                            (Claims::for_credential(&issuer, &credential, &slug, now), None)
                        }
                    };
                    let signer = keys.current(conn)?;
                    let token = sign(&signer, &claims);
                    let upstream = match provider {
                        Some(id) => Some(upstream::plan(conn, &master, &id, &credential.id, &claims.scope)?),
                        None => None,
                    };
                    Ok(Ok((claims, token, upstream)))
                })
                .await??;
            let upstream = match upstream {
                Some(plan) => Some(upstream::credential(state, plan, &token, &credential_id).await?),
                None => None,
            };
            (claims, token, upstream)
        }
    };
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": claims.exp - claims.iat,
        "scope": claims.scope,
        "created_at": claims.iat,
    });
    if let Some(credential) = upstream {
        answer["upstream_access_token"] = json!(credential.access_token);
        answer["upstream_expires_in"] = json!(credential.expires_in);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(answer))
}

/// RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): the code a single sign-on (`sso.rs`) handed the
/// client, for the signed-in user's provisioning token. A code is good once, for the client it
/// was issued to, with the verifier of the challenge the client sent; a wrong verifier uses it up.
async fn redeem(
    state: &State,
    request: &HttpRequest,
    parameters: &OAuthParameters,
) -> Result<HttpResponse, OAuthError> {
    let required = |name: &'static str| -> Result<String, OAuthError> {
        parameters
            .one(name)?
            .map(String::from)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required.")))
    };
    let (code, verifier) = (required("code")?, required("code_verifier")?);
    let redirect_uri = parameters.one("redirect_uri")?.map(String::from);
    let client = authenticate(state, parameters).await?;
    request.extensions_mut().insert(CallerId(client.client_id().to_string()));
    let invalid = |why: &str| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let Client::Credential(credential, _) = client else {
        return Err(invalid("This code was not issued to this client."));
    };
    let (issuer, keys) = (state.issuer.clone(), state.keys.clone());
    let now = chrono::Utc::now().timestamp();
    let (claims, token) = state
        .db
        .transaction(move |conn| {
            let Some(login) = logins::redeem(conn, &code)? else {
                return Ok(Err(invalid("The code is unknown, used or expired.")));
            };
            if login.api_credential_id != credential.id {
                return Ok(Err(invalid("This code was not issued to this client.")));
            }
            if redirect_uri.is_some_and(|uri| uri != login.redirect_uri) {
                return Ok(Err(invalid("redirect_uri is not the one the code was issued for.")));
            }
            if logins::challenge(&verifier) != login.code_challenge {
                return Ok(Err(invalid("code_verifier does not match the code_challenge.")));
            }
            let user = match login.user_id.as_deref() {
                Some(id) => users::find(conn, id)?,
                None => None,
            };
            let Some(user) = user else { return Ok(Err(invalid("The user of this code is gone."))) };
            let claims = Claims::for_user(&issuer, &user.id, &user.client_id, now);
            let signer = keys.current(conn)?;
            let token = sign(&signer, &claims);
            Ok(Ok((claims, token)))
        })
        .await??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": token,
            "token_type": "bearer",
            "expires_in": claims.exp - claims.iat,
            "scope": claims.scope,
            "created_at": claims.iat,
        })))
}

/// Who asks for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    /// A user's personal credential: provisioning tokens only.
    User,
    /// An organization's API credential, by id.
    Credential(&'a str),
}

/// What a token request gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Grant {
    /// A user's token for the provisioning API.
    Provisioning,
    /// An organization credential's token, for no resource in particular.
    Organization,
    /// A token for the resolved API resource with this scope.
    Resource { scope: String },
}

/// The grant policy, as a pure function of what was asked (`resource`, `scope`) and what the
/// resource resolution found: the resource matching the request (or the default) and the
/// scopes of it granted to the client. A credential gets a token for a resource only when at
/// least one of its scopes is granted to it, or it is the resource's application.
pub fn decide(
    requester: Requester,
    resource: Option<&str>,
    scopes: Option<&[String]>,
    target: Option<(&ApiResource, &[String])>,
) -> Result<Grant, OAuthError> {
    let refuse = |error, description: String| Err(OAuthError::new(StatusCode::BAD_REQUEST, error, description));
    if requester == Requester::User {
        if resource.is_some() {
            return refuse("invalid_target", "User credentials get provisioning tokens only.".into());
        }
        if scopes.is_some_and(|s| s.iter().any(|s| s != PROVISIONING_SCOPE)) {
            return refuse("invalid_scope", format!("User credentials have the scope {PROVISIONING_SCOPE} only."));
        }
        return Ok(Grant::Provisioning);
    }
    let credential_id = match requester {
        Requester::Credential(id) => id,
        Requester::User => unreachable!("users were answered above"),
    };
    let target =
        target.filter(|(api, granted)| !granted.is_empty() || api.application_id.as_deref() == Some(credential_id));
    match (target, resource) {
        (Some((resource, granted)), _) => match scopes {
            Some(requested) => {
                if let Some(missing) = requested.iter().find(|s| !granted.contains(s)) {
                    let identifier = &resource.identifier;
                    return refuse(
                        "invalid_scope",
                        format!("The scope {missing:?} is not granted to this client for {identifier}."),
                    );
                }
                let mut requested = requested.to_vec();
                requested.dedup();
                Ok(Grant::Resource { scope: requested.join(" ") })
            }
            None => Ok(Grant::Resource { scope: granted.join(" ") }),
        },
        (None, Some(requested)) => {
            refuse("invalid_target", format!("No API resource of this organization matches {requested:?}."))
        }
        (None, None) if scopes.is_some_and(|s| !s.is_empty()) => refuse(
            "invalid_scope",
            "Scopes belong to an API resource: name one with resource, or set a default.".into(),
        ),
        (None, None) => Ok(Grant::Organization),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> ApiResource {
        crate::resources::api_resources::sample("https://api.example.com", false, false)
    }

    const CREDENTIAL: Requester = Requester::Credential("c");

    fn scopes(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn error(result: Result<Grant, OAuthError>) -> &'static str {
        result.expect_err("refused").error
    }

    #[test]
    fn users_get_provisioning_tokens_only() {
        assert_eq!(decide(Requester::User, None, None, None).unwrap(), Grant::Provisioning);
        assert_eq!(
            decide(Requester::User, None, Some(&scopes(&[PROVISIONING_SCOPE])), None).unwrap(),
            Grant::Provisioning
        );
        assert_eq!(error(decide(Requester::User, Some("https://api.example.com"), None, None)), "invalid_target");
        assert_eq!(error(decide(Requester::User, None, Some(&scopes(&["orders:read"])), None)), "invalid_scope");
    }

    #[test]
    fn credentials_get_what_is_granted_on_the_resource() {
        let (resource, granted) = (api(), scopes(&["orders:read", "orders:write"]));
        let target = Some((&resource, granted.as_slice()));
        let all = decide(CREDENTIAL, None, None, target).unwrap();
        assert_eq!(all, Grant::Resource { scope: "orders:read orders:write".into() });
        let some = decide(CREDENTIAL, Some("https://api.example.com"), Some(&scopes(&["orders:read"])), target);
        assert_eq!(some.unwrap(), Grant::Resource { scope: "orders:read".into() });
        let more = decide(CREDENTIAL, None, Some(&scopes(&["orders:delete"])), target);
        assert_eq!(error(more), "invalid_scope");
    }

    #[test]
    fn a_resource_only_for_credentials_it_granted_a_scope_or_serves() {
        let resource = api();
        let nothing = Some((&resource, &[][..]));
        assert_eq!(error(decide(CREDENTIAL, Some("https://api.example.com"), None, nothing)), "invalid_target");
        assert_eq!(decide(CREDENTIAL, None, None, nothing).unwrap(), Grant::Organization, "not the default's either");
        let served = ApiResource { application_id: Some("c".into()), ..api() };
        let application = decide(CREDENTIAL, Some("https://api.example.com"), None, Some((&served, &[][..])));
        assert_eq!(application.unwrap(), Grant::Resource { scope: String::new() });
    }

    #[test]
    fn without_a_resource_there_are_no_scopes() {
        assert_eq!(decide(CREDENTIAL, None, None, None).unwrap(), Grant::Organization);
        assert_eq!(decide(CREDENTIAL, None, Some(&[]), None).unwrap(), Grant::Organization);
        assert_eq!(error(decide(CREDENTIAL, None, Some(&scopes(&["x"])), None)), "invalid_scope");
        assert_eq!(error(decide(CREDENTIAL, Some("https://elsewhere.example"), None, None)), "invalid_target");
    }
}
