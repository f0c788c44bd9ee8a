//! Access tokens: JWTs signed with RS512 (what Commerce Layer uses), `kid` in the header,
//! verified offline against our own keys. Verifying never touches argon2.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::keys::{KeySet, Signer};
use crate::db::AnyConnection;
use crate::resources::api_credentials::ApiCredential;
use crate::resources::api_resources::ApiResource;

pub const PROVISIONING_SCOPE: &str = "provisioning-api";
pub const USER_TOKEN_SECONDS: i64 = 7200;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Application {
    pub id: String,
    pub kind: String,
    pub client_id: String,
    pub public: bool,
    pub confidential: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserClaim {
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrganizationClaim {
    pub id: String,
    pub slug: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub scope: String,
    pub application: Application,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<UserClaim>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub organization: Option<OrganizationClaim>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub test: Option<bool>,
    /// Which of the client's secrets the token was granted under: a rotation past its grace
    /// period makes tokens of older versions inactive.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secret_version: Option<i64>,
    /// RFC 9068 claims of a token for an API resource: the client, and the resource.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub aud: Option<String>,
}

impl Claims {
    /// A provisioning token for a user's personal credential.
    pub fn for_user(issuer: &str, user_id: &str, client_id: &str, now: i64) -> Claims {
        Claims {
            iss: issuer.to_string(),
            iat: now,
            exp: now + USER_TOKEN_SECONDS,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: PROVISIONING_SCOPE.to_string(),
            application: Application {
                id: user_id.to_string(),
                kind: "user".into(),
                client_id: client_id.to_string(),
                public: false,
                confidential: true,
            },
            user: Some(UserClaim { id: user_id.to_string() }),
            organization: None,
            test: None,
            secret_version: None,
            sub: None,
            client_id: None,
            aud: None,
        }
    }

    /// A token for an organization's API credential.
    pub fn for_credential(issuer: &str, credential: &ApiCredential, organization_slug: &str, now: i64) -> Claims {
        Claims {
            iss: issuer.to_string(),
            iat: now,
            exp: now + credential.expires_in,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: credential.scopes.clone(),
            application: Application {
                id: credential.id.clone(),
                kind: credential.kind.clone(),
                client_id: credential.client_id.clone(),
                public: !credential.confidential,
                confidential: credential.confidential,
            },
            user: None,
            organization: Some(OrganizationClaim {
                id: credential.organization_id.clone(),
                slug: organization_slug.to_string(),
            }),
            test: Some(credential.mode == "test"),
            secret_version: Some(credential.secret_version),
            sub: None,
            client_id: None,
            aud: None,
        }
    }

    /// An RFC 9068 access token for `resource`, with the granted `scope`.
    pub fn for_resource(
        issuer: &str,
        credential: &ApiCredential,
        organization_slug: &str,
        resource: &ApiResource,
        scope: String,
        now: i64,
    ) -> Claims {
        let mut claims = Claims::for_credential(issuer, credential, organization_slug, now);
        claims.exp = now + resource.access_token_ttl;
        claims.scope = scope;
        claims.sub = Some(credential.client_id.clone());
        claims.client_id = Some(credential.client_id.clone());
        claims.aud = Some(resource.identifier.clone());
        claims
    }
}

/// The longest a token issued now can live: a user's token, an API credential's, a resource's
/// (how long a retired signing key stays published).
pub fn longest_lifetime(conn: &mut AnyConnection) -> diesel::QueryResult<i64> {
    use crate::db::schema::{api_credentials, api_resources};
    use diesel::dsl::max;
    use diesel::prelude::*;
    let credentials: Option<i64> = api_credentials::table.select(max(api_credentials::expires_in)).first(conn)?;
    let resources: Option<i64> = api_resources::table.select(max(api_resources::access_token_ttl)).first(conn)?;
    Ok([Some(USER_TOKEN_SECONDS), credentials, resources].into_iter().flatten().max().unwrap_or(USER_TOKEN_SECONDS))
}

/// A signed JWT (RFC 7515 compact form): what `jsonwebtoken::encode` makes, with the key parsed
/// once at start instead of on every call.
pub fn issue(keys: &KeySet, claims: &Claims) -> String {
    sign(&keys.signer(), claims)
}

/// `issue` with the key `KeySet::current` gave.
pub fn sign(signer: &Signer, claims: &Claims) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let key = &signer.key;
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(signer.kid.clone());
    // RFC 9068 §2.1: access tokens for a resource are typed at+jwt.
    header.typ = Some(if claims.aud.is_some() { "at+jwt" } else { "JWT" }.into());
    fn part(value: &impl Serialize) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("a token's header and claims serialize"))
    }
    let message = format!("{}.{}", part(&header), part(claims));
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA512,
        &aws_lc_rs::rand::SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .expect("signing with a loaded RSA key succeeds");
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token is expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    Invalid(String),
}

/// The `kid` of a token's header, before anything is trusted.
pub fn key_id(token: &str) -> Result<String, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
    header.kid.ok_or(TokenError::Malformed)
}

/// Checks signature, algorithm, issuer and expiry; returns the claims.
pub fn verify(keys: &KeySet, token: &str, issuer: &str) -> Result<Claims, TokenError> {
    let kid = key_id(token)?;
    let key = keys.decoding_key(&kid).ok_or(TokenError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::RS512);
    validation.set_issuer(&[issuer]);
    validation.leeway = 0;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|data| data.claims).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
        _ => TokenError::Invalid(e.to_string()),
    })
}

/// Who is calling `/api`: a user, by a verified, unexpired, unrevoked provisioning token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub jti: String,
}
