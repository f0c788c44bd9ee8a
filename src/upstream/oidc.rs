//! The relying-party half of single sign-on (OpenID Connect Core 1.0 §3.1): the authorization
//! code an identity provider sent back, exchanged at its token endpoint with the PKCE verifier
//! (RFC 7636), and the ID token it answers with, verified against its JWKS: signature (an
//! asymmetric algorithm only), issuer, audience, expiry and nonce.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// What a verified ID token says about who signed in.
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Providers that do not say (Entra ID) leave it out; only `false` refuses.
    #[serde(default)]
    pub email_verified: Option<Value>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

impl Identity {
    pub fn email_unverified(&self) -> bool {
        matches!(self.email_verified, Some(Value::Bool(false))) || self.email_verified == Some(Value::from("false"))
    }
}

/// The provider as the flow needs it.
pub struct Provider<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub token_url: &'a str,
    pub jwks_url: &'a str,
}

/// Exchanges `code` (sent back to `redirect_uri`) for the provider's ID token.
pub async fn exchange(
    http: &reqwest::Client,
    provider: &Provider<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<String, String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", verifier)
        .finish();
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let request = http
        .post(provider.token_url)
        .basic_auth(encode(provider.client_id), Some(encode(provider.client_secret)))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    let answer = super::call(request, "the identity provider's token endpoint").await?;
    match answer.get("id_token") {
        Some(Value::String(token)) => Ok(token.clone()),
        _ => Err("the identity provider's token endpoint answered no id_token".into()),
    }
}

/// The asymmetric algorithms an ID token may be signed with (never `none` or a shared secret).
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verifies `id_token` against the provider's keys (fetched now: a sign-in is rare, and a key
/// the provider just rotated in is then always known).
pub async fn verify(
    http: &reqwest::Client,
    provider: &Provider<'_>,
    id_token: &str,
    nonce: &str,
) -> Result<Identity, String> {
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| format!("the ID token is malformed ({e})"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(format!("the ID token is signed with {:?}, which is not accepted", header.alg));
    }
    let keys =
        super::call(http.get(provider.jwks_url).header("accept", "application/json"), "the identity provider's JWKS")
            .await?;
    let keys: JwkSet =
        serde_json::from_value(keys).map_err(|e| format!("the identity provider's JWKS is not a key set ({e})"))?;
    let key = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or("the ID token names no key of the identity provider's JWKS")?;
    let key = DecodingKey::from_jwk(key).map_err(|e| format!("the identity provider's key cannot be used ({e})"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&issuers(provider.issuer));
    validation.set_audience(&[provider.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let identity = jsonwebtoken::decode::<Identity>(id_token, &key, &validation)
        .map_err(|e| format!("the ID token does not verify ({e})"))?
        .claims;
    if identity.nonce.as_deref() != Some(nonce) {
        return Err("the ID token's nonce is not the one this sign-in sent".into());
    }
    Ok(identity)
}

/// The issuer as configured, with and without a trailing slash (providers differ in which
/// they put in `iss`, and people in which they copy).
fn issuers(issuer: &str) -> Vec<String> {
    let bare = issuer.trim_end_matches('/');
    vec![bare.to_string(), format!("{bare}/")]
}
