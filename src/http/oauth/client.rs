//! Client authentication at the token, revocation and introspection endpoints: a user's
//! credential by its secret; an organization's credential as its `auth_method` says (HTTP
//! Basic, the body, a signed assertion (RFC 7523), or, for a public client, its id alone).

use actix_web::http::StatusCode;
use base64::Engine as _;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::secrets::{decoy_hash, verify_secret};
use crate::http::oauth::error::OAuthError;
use crate::http::oauth::parameters::OAuthParameters;
use crate::http::state::State;
use crate::resources::api_credentials::{self as credentials, ApiCredential};
use crate::resources::model::Resource;
use crate::resources::organizations::Organizations;
use crate::resources::users;

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
            let organization: Option<<Organizations as Resource>::Row> =
                Organizations::find(conn, &credential.organization_id)?;
            let slug = organization.map(|o| o.slug).unwrap_or_default();
            Ok(Some(Client::Credential(Box::new(credential), slug)))
        })
        .await?)
}

/// Whether a secret this instance has not verified recently may be checked now: not while the
/// client id is past its failure limit (429), nor while the argon2 pool is full (503).
async fn may_verify(state: &State, client_id: &str) -> Result<(), OAuthError> {
    if let Err(decision) = state.limits.may_try(client_id).await {
        let wait = decision.retry_after.max(1);
        return Err(OAuthError {
            retry_after: Some(wait),
            ..OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("Too many failed authentications for this client: retry in {wait} seconds."),
            )
        });
    }
    if state.hashing.is_full() {
        return Err(OAuthError::busy());
    }
    Ok(())
}

/// Whether `secret` matches one of `hashes`: from the warm cache when this pair verified
/// recently, else with argon2id on its own pool. A client id past its failure limit is refused
/// without argon2, unless the cache knows the pair (so guessing at a client cannot lock its
/// owner out of an instance that has seen the real secret).
async fn secret_matches(
    state: &State,
    client_id: &str,
    secret: SecretString,
    hashes: Vec<String>,
) -> Result<bool, OAuthError> {
    let valid: Vec<&str> = hashes.iter().map(String::as_str).collect();
    if state.secrets.verified(client_id, secret.expose_secret(), &valid) {
        return Ok(true);
    }
    may_verify(state, client_id).await?;
    let checked = secret.clone();
    let matched = state
        .hashing
        .run(move || hashes.into_iter().find(|hash| verify_secret(checked.expose_secret(), hash)))
        .await
        .map_err(|_| OAuthError::busy())?;
    match matched {
        Some(hash) => {
            state.secrets.remember(client_id, secret.expose_secret(), &hash);
            Ok(true)
        }
        None => {
            state.limits.failed(client_id).await;
            Ok(false)
        }
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
    // A secret that would need argon2 when argon2 cannot be had is refused before any database
    // work: a flood of wrong secrets costs little beyond its own refusals.
    if let Some(secret) = &secret {
        if !state.secrets.knows(&client_id, secret.expose_secret()) {
            may_verify(state, &client_id).await?;
        }
    }
    let Some(client) = find_client(state, client_id.clone()).await? else {
        // An unknown client id costs the argon2 run a known one does, and counts as a failure.
        if let Some(secret) = secret {
            secret_matches(state, &client_id, secret, vec![decoy_hash().to_string()]).await?;
        }
        return Err(OAuthError::invalid_client(basic));
    };
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
            // RFC 6749 §2.3.1: a client with a secret may send it with HTTP Basic (which a
            // server must support) or in the body, whichever its recorded auth_method names; the
            // recorded method is what it registered, not a trap.
            match credential.auth_method.as_str() {
                "none" if secret.is_none() => return Ok(client),
                "none" => return Err(wrong_method("with its client_id alone: it is a public client")),
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
    let (true, Some(pem)) = (credential.auth_method == credentials::PRIVATE_KEY_JWT, &credential.public_key) else {
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
