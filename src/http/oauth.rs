//! The OAuth endpoints: `POST /oauth/token` (client credentials, RFC 6749 §4.4),
//! `POST /oauth/revoke` (RFC 7009) and `GET /.well-known/jwks.json` (RFC 7517).
//!
//! Errors are RFC 6749 §5.2 JSON (`error`, `error_description`) and also carry an `errors`
//! array of JSON:API-shaped objects, because Commerce Layer's js-auth reads failures only
//! from `errors`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::auth::tokens::{issue, verify, Claims, TokenError, PROVISIONING_SCOPE};
use crate::db::apis;
use crate::db::credentials::{self, ApiCredential};
use crate::db::schema::revoked_tokens;
use crate::db::{organizations, users};
use crate::domain::secrets::verify_secret;
use crate::error::ApiError;
use crate::http::State;
use crate::jsonapi::media::Body;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::http::resource("/oauth/token", "POST").route(web::post().to(token)))
        .service(crate::http::resource("/oauth/revoke", "POST").route(web::post().to(revoke)))
        .service(crate::http::resource("/oauth/introspect", "POST").route(web::post().to(introspect)))
        .service(crate::http::resource("/.well-known/oauth-authorization-server", "GET").route(web::get().to(metadata)))
        .service(crate::http::resource("/.well-known/jwks.json", "GET").route(web::get().to(jwks)));
}

#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// The client tried HTTP Basic: answer with a Basic challenge (RFC 6749 §5.2).
    basic: bool,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into(), basic: false }
    }
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    pub fn invalid_client(basic: bool) -> Self {
        OAuthError {
            basic,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: unknown client or wrong secret.",
            )
        }
    }

    pub fn response(&self) -> HttpResponse {
        let body = json!({
            "error": self.error,
            "error_description": self.description,
            "errors": [{
                "code": self.error.to_uppercase(),
                "title": self.error,
                "detail": self.description,
                "status": self.status.as_u16().to_string(),
            }],
        });
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                if self.basic { "Basic realm=\"provisioning\"" } else { "Bearer" },
            ));
        }
        response.json(body)
    }
}

impl From<ApiError> for OAuthError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unavailable(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "Retry shortly.")
            }
            other => {
                tracing::error!(error = %other, "oauth endpoint failed");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Something went wrong on our side.")
            }
        }
    }
}

/// The parameters of a token or revocation request, from a JSON body (what js-auth sends), a
/// form body (RFC 6749), and HTTP Basic client authentication.
#[derive(Debug, Default)]
pub struct OAuthParameters {
    pairs: Vec<(String, String)>,
    pub basic: Option<(String, String)>,
}

impl OAuthParameters {
    pub fn parse(request: &HttpRequest, body: &[u8]) -> Result<OAuthParameters, OAuthError> {
        let mut parameters = OAuthParameters::default();
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        match content_type.as_deref() {
            _ if body.is_empty() => {}
            Some("application/json") => {
                let value: Value = serde_json::from_slice(body)
                    .map_err(|e| OAuthError::invalid_request(format!("The body is not valid JSON: {e}.")))?;
                let Value::Object(map) = value else {
                    return Err(OAuthError::invalid_request("The JSON body must be an object."));
                };
                for (key, value) in map {
                    match value {
                        Value::String(s) => parameters.pairs.push((key, s)),
                        Value::Number(n) => parameters.pairs.push((key, n.to_string())),
                        Value::Array(items) => {
                            for item in items {
                                let Value::String(s) = item else {
                                    return Err(OAuthError::invalid_request(format!(
                                        "{key} must be a string or a list of strings."
                                    )));
                                };
                                parameters.pairs.push((key.clone(), s));
                            }
                        }
                        Value::Null => {}
                        _ => return Err(OAuthError::invalid_request(format!("{key} must be a string."))),
                    }
                }
            }
            Some("application/x-www-form-urlencoded") => {
                parameters.pairs = url::form_urlencoded::parse(body).into_owned().collect();
            }
            _ => {
                return Err(OAuthError::invalid_request(
                    "Send the parameters as application/x-www-form-urlencoded or application/json.",
                ))
            }
        }
        if let Some(value) = request.headers().get(header::AUTHORIZATION) {
            let value = value.to_str().unwrap_or_default();
            if let Some(encoded) = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic ")) {
                let decoded = STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok())
                    .ok_or_else(|| OAuthError::invalid_request("The Basic credentials are not valid base64."))?;
                let (id, secret) = decoded
                    .split_once(':')
                    .ok_or_else(|| OAuthError::invalid_request("Basic credentials are client_id:client_secret."))?;
                // RFC 6749 §2.3.1: both are form-urlencoded before base64.
                let unescape = |s: &str| {
                    url::form_urlencoded::parse(format!("v={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                parameters.basic = Some((unescape(id), unescape(secret)));
            }
        }
        Ok(parameters)
    }

    /// A parameter given at most once (RFC 6749 §3.2: parameters must not repeat).
    pub fn one(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("{name} is given more than once.")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The client id and, when given, the secret, from Basic or the body (not both).
    pub fn client(&self) -> Result<(String, Option<String>, bool), OAuthError> {
        let (body_id, body_secret) = (self.one("client_id")?, self.one("client_secret")?);
        match &self.basic {
            Some((id, secret)) => {
                if body_secret.is_some() || body_id.is_some_and(|b| b != id) {
                    return Err(OAuthError::invalid_request(
                        "Use one client authentication method, not Basic and the body both.",
                    ));
                }
                Ok((id.clone(), Some(secret.clone()), true))
            }
            None => match body_id {
                Some(id) => Ok((id.to_string(), body_secret.map(String::from), false)),
                None => Err(OAuthError {
                    basic: false,
                    ..OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", "The client_id is missing.")
                }),
            },
        }
    }
}

/// A client that authenticated at the token, revocation or introspection endpoint.
#[derive(Debug, Clone)]
pub enum Client {
    User(Box<users::User>),
    /// An organization's API credential, with the organization's slug.
    Credential(Box<ApiCredential>, String),
}

impl Client {
    pub fn client_id(&self) -> &str {
        match self {
            Client::User(user) => &user.client_id,
            Client::Credential(credential, _) => &credential.client_id,
        }
    }
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn find_client(state: &State, client_id: String) -> Result<Option<Client>, OAuthError> {
    Ok(state
        .db
        .run(move |conn| {
            if let Some(user) = users::find_by_client_id(conn, &client_id)? {
                return Ok(Some(Client::User(Box::new(user))));
            }
            let Some(credential) = credentials::find_by_client_id(conn, &client_id)? else { return Ok(None) };
            let slug = organizations::find(conn, &credential.organization_id)?.map(|o| o.slug).unwrap_or_default();
            Ok(Some(Client::Credential(Box::new(credential), slug)))
        })
        .await?)
}

/// Whether `secret` matches one of `hashes`: from the warm cache when this pair verified
/// recently, else with argon2id on the blocking pool.
async fn secret_matches(
    state: &State,
    client_id: &str,
    secret: String,
    hashes: Vec<String>,
) -> Result<bool, OAuthError> {
    let valid: Vec<&str> = hashes.iter().map(String::as_str).collect();
    if state.secrets.verified(client_id, &secret, &valid) {
        return Ok(true);
    }
    let checked = secret.clone();
    let matched = web::block(move || hashes.into_iter().find(|hash| verify_secret(&checked, hash)))
        .await
        .map_err(|e| OAuthError::from(ApiError::from(e)))?;
    match matched {
        Some(hash) => {
            state.secrets.remember(client_id, &secret, &hash);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Authenticates the client of a request: a user's credential by its secret; an organization's
/// credential as its `auth_method` says (HTTP Basic, the body, a signed assertion, or, for a
/// public client, its id alone).
pub async fn authenticate(state: &State, parameters: &OAuthParameters) -> Result<Client, OAuthError> {
    if let Some(assertion) = parameters.one("client_assertion")? {
        return authenticate_assertion(state, parameters, assertion).await;
    }
    let (client_id, secret, basic) = parameters.client()?;
    let client = find_client(state, client_id.clone()).await?.ok_or_else(|| OAuthError::invalid_client(basic))?;
    let hashes = match &client {
        Client::User(user) => vec![user.client_secret_hash.clone()],
        Client::Credential(credential, _) => {
            let wrong_method = |how: &str| OAuthError {
                basic,
                ..OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    format!("This client authenticates {how}."),
                )
            };
            match credential.auth_method.as_str() {
                "none" => return Ok(client),
                "client_secret_basic" if !basic => return Err(wrong_method("with HTTP Basic (client_secret_basic)")),
                "client_secret_post" if basic => {
                    return Err(wrong_method("with client_secret in the body (client_secret_post)"))
                }
                "private_key_jwt" => return Err(wrong_method("with a signed client_assertion (private_key_jwt)")),
                _ => credential.valid_secret_hashes(crate::domain::now()).into_iter().map(String::from).collect(),
            }
        }
    };
    let Some(secret) = secret else { return Err(OAuthError::invalid_client(basic)) };
    if secret_matches(state, &client_id, secret, hashes).await? {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client(basic))
    }
}

#[derive(serde::Deserialize)]
struct AssertionClaims {
    sub: String,
    jti: String,
    exp: i64,
}

/// RFC 7523 §2.2: a JWT the client signed with its private key; iss and sub are its client id,
/// aud names this token endpoint or the issuer, and each jti is good once.
async fn authenticate_assertion(
    state: &State,
    parameters: &OAuthParameters,
    assertion: &str,
) -> Result<Client, OAuthError> {
    if parameters.one("client_assertion_type")? != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_request(format!("client_assertion_type must be {JWT_BEARER}.")));
    }
    let refused = |why: &str| {
        OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            format!("The client assertion is not valid: {why}."),
        )
    };
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| refused("not a JWT"))?;
    let unverified: serde_json::Value = assertion
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| refused("unreadable claims"))?;
    let client_id = unverified["sub"].as_str().ok_or_else(|| refused("no sub"))?.to_string();
    if parameters.one("client_id")?.is_some_and(|given| given != client_id) {
        return Err(refused("client_id and sub differ"));
    }
    let client = find_client(state, client_id.clone()).await?.ok_or_else(|| refused("unknown client"))?;
    let Client::Credential(credential, _) = &client else { return Err(refused("this client has no public key")) };
    let (true, Some(pem)) =
        (credential.auth_method == crate::domain::credentials::PRIVATE_KEY_JWT, &credential.public_key)
    else {
        return Err(refused("this client does not authenticate with private_key_jwt"));
    };
    use jsonwebtoken::Algorithm::*;
    let key = match header.alg {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()),
        ES256 | ES384 => jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()),
        _ => return Err(refused("unsupported algorithm")),
    }
    .map_err(|_| refused("the stored key does not fit the algorithm"))?;
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[client_id.as_str()]);
    let token_endpoint = format!("{}/oauth/token", state.issuer);
    validation.set_audience(&[token_endpoint.as_str(), state.issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 30;
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|e| refused(&e.to_string()))?
        .claims;
    if claims.sub != client_id {
        return Err(refused("sub must be the client id"));
    }
    let now = chrono::Utc::now().timestamp();
    if claims.exp > now + 3600 {
        return Err(refused("it must expire within an hour"));
    }
    let key = format!("{client_id}:{}", claims.jti);
    let expires_at =
        chrono::DateTime::from_timestamp(claims.exp + 60, 0).map(|t| t.naive_utc()).unwrap_or_else(crate::domain::now);
    let fresh = state.db.transaction(move |conn| Ok(credentials::use_assertion(conn, &key, expires_at)?)).await?;
    if !fresh {
        return Err(refused("this assertion was already used"));
    }
    Ok(client)
}

async fn token(state: State, request: HttpRequest, body: Body) -> HttpResponse {
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
                    let resource = apis::resolve(apis::resources_of(conn, &organization_id)?, wanted.as_deref());
                    match resource {
                        Some(resource) => {
                            let granted = apis::granted_scopes(conn, &credential_id, &resource.id)?;
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

async fn revoke(state: State, request: HttpRequest, body: Body) -> HttpResponse {
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
    let claims = match verify(&state.keys, &token, &state.issuer) {
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

async fn introspect(state: State, request: HttpRequest, body: Body) -> HttpResponse {
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
    let Ok(claims) = verify(&state.keys, &token, &state.issuer) else { return Ok(inactive) };
    let Some(organization) = claims.organization.clone().filter(|o| o.id == organization_id) else {
        return Ok(inactive);
    };
    let (jti, application_id) = (claims.jti.clone(), claims.application.id.clone());
    let standing = state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            let revoked: i64 = revoked_tokens::table.filter(revoked_tokens::jti.eq(&jti)).count().get_result(conn)?;
            Ok((revoked, credentials::find(conn, &application_id)?))
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
                    apis::resources_of(conn, &organization_id)?.into_iter().find(|r| r.identifier == audience);
                let Some(resource) = resource else { return Ok(false) };
                let granted = apis::granted_scopes(conn, &credential_id, &resource.id)?;
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
    let mut answer = serde_json::to_value(&claims).map_err(|e| OAuthError::from(ApiError::internal(e)))?;
    answer["active"] = json!(true);
    answer["client_id"] = json!(claims.application.client_id);
    answer["sub"] = json!(claims.application.client_id);
    answer["token_type"] = json!("Bearer");
    Ok(answer)
}

/// RFC 8414: what this authorization server is and does.
async fn metadata(state: State) -> HttpResponse {
    let issuer = &state.issuer;
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "access_token_signing_alg_values_supported": ["RS512"],
        "scopes_supported": [crate::auth::tokens::PROVISIONING_SCOPE],
    }))
}

async fn jwks(state: State) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "public, max-age=300")).json(state.keys.jwks())
}
