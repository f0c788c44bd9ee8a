//! Upstream credentials: what a credential provider issues for a client of one of the
//! organization's API resources, obtained at the provider's token endpoint with client
//! credentials (RFC 6749 §4.4) or by exchanging the client's own token (RFC 8693), read at the
//! provider's JSON pointer, and kept sealed in `upstream_credentials` until shortly before it
//! expires.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::schema::upstream_credentials;
use crate::db::AnyConnection;
use crate::domain::sealed::{context, MasterKeys};
use crate::error::ApiError;
use crate::resources::credential_providers::CredentialProvider;

/// A kept credential is handed out while it has longer than this to live; one that lives no
/// longer than this is not kept at all.
pub const MARGIN_SECONDS: i64 = 30;

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A credential and how long it lives (unknown when the provider does not say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_token: String,
    pub expires_in: Option<i64>,
}

/// What to ask a provider for.
pub struct Ask<'a> {
    pub provider: &'a CredentialProvider,
    /// The provider's client secret, opened (none for a public client).
    pub secret: Option<String>,
    /// The client's own access token: exchanged when the provider does token exchange.
    pub subject_token: &'a str,
    /// The scopes to ask for, joined by the provider's separator.
    pub scope: Option<String>,
}

/// The HTTP client for providers: nothing waits longer than `timeout`, redirects are not
/// followed (a token endpoint answers itself).
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("provisioning/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client's settings are valid")
}

/// Asks the provider for a credential; why not, as the client is to read it.
pub async fn obtain(http: &reqwest::Client, ask: Ask<'_>) -> Result<Credential, String> {
    let provider = ask.provider;
    let mut form: Vec<(&str, &str)> = Vec::new();
    match provider.token_exchange {
        true => form.extend([
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", ask.subject_token),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
        ]),
        false => form.push(("grant_type", "client_credentials")),
    }
    if let Some(scope) = &ask.scope {
        form.push(("scope", scope));
    }
    let mut request = http.post(&provider.token_endpoint).header("accept", "application/json");
    // RFC 6749 §2.3.1: a confidential client authenticates with HTTP Basic, its id and
    // secret form-encoded first; a public client names itself.
    match &ask.secret {
        Some(secret) => {
            let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(encode(&provider.client_id), Some(encode(secret)));
        }
        None => form.push(("client_id", &provider.client_id)),
    }
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish();
    let request = request.header("content-type", "application/x-www-form-urlencoded").body(body);
    let document = super::call(request, "the token endpoint").await?;
    read_credential(&document, &provider.token_response_access_token_pointer)
}

/// The credential at `pointer`, and `expires_in` (a number, or a string of digits).
pub fn read_credential(document: &Value, pointer: &str) -> Result<Credential, String> {
    let access_token = match document.pointer(pointer) {
        Some(Value::String(token)) if !token.is_empty() => token.clone(),
        Some(_) => return Err(format!("the token endpoint's answer has no string at {pointer}")),
        None => return Err(format!("the token endpoint's answer has nothing at {pointer}")),
    };
    let expires_in = match document.get("expires_in") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Ok(Credential { access_token, expires_in: expires_in.filter(|s| *s > 0) })
}

/// What a credential is kept under: the provider, the client whose token was exchanged (none
/// for client credentials, which are the same for every client), the scope.
pub fn key(provider: &CredentialProvider, credential_id: &str, scope: Option<&str>) -> String {
    let client = if provider.token_exchange { credential_id } else { "" };
    let mut hash = Sha256::new();
    for part in [provider.id.as_str(), client, scope.unwrap_or("")] {
        hash.update(part.len().to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn place(key: &str) -> String {
    context("upstream_credentials", key, "access_token")
}

/// A kept credential with longer than the margin to live, and how long it has.
pub fn kept(conn: &mut AnyConnection, master: &MasterKeys, key: &str) -> Result<Option<Credential>, ApiError> {
    let now = crate::domain::now();
    let row: Option<(String, NaiveDateTime)> = upstream_credentials::table
        .find(key)
        .select((upstream_credentials::access_token_sealed, upstream_credentials::expires_at))
        .first(conn)
        .optional()?;
    let Some((sealed, expires_at)) = row else { return Ok(None) };
    let left = (expires_at - now).num_seconds();
    if left <= MARGIN_SECONDS {
        return Ok(None);
    }
    // One that no configured key opens is obtained again.
    let Some(token) = master.open(&place(key), &sealed).ok().and_then(|b| String::from_utf8(b).ok()) else {
        return Ok(None);
    };
    Ok(Some(Credential { access_token: token, expires_in: Some(left) }))
}

/// Keeps a credential that says how long it lives, if that is longer than the margin.
pub fn keep(
    conn: &mut AnyConnection,
    master: &MasterKeys,
    provider_id: &str,
    key: &str,
    credential: &Credential,
) -> Result<(), ApiError> {
    let Some(lifetime) = credential.expires_in.filter(|s| *s > MARGIN_SECONDS) else { return Ok(()) };
    let expires_at = crate::domain::now() + chrono::Duration::seconds(lifetime.min(366 * 86_400));
    let sealed = master.seal(&place(key), credential.access_token.as_bytes());
    diesel::delete(upstream_credentials::table.find(key)).execute(conn)?;
    diesel::insert_into(upstream_credentials::table)
        .values((
            upstream_credentials::id.eq(key),
            upstream_credentials::credential_provider_id.eq(provider_id),
            upstream_credentials::access_token_sealed.eq(sealed),
            upstream_credentials::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_credential_is_read_at_the_pointer_with_its_lifetime() {
        let answer = json!({"access_token": "a", "expires_in": 3600, "nested": {"token": "b"}});
        assert_eq!(
            read_credential(&answer, "/access_token").unwrap(),
            Credential { access_token: "a".into(), expires_in: Some(3600) }
        );
        assert_eq!(read_credential(&answer, "/nested/token").unwrap().access_token, "b");
        assert!(read_credential(&answer, "/missing").unwrap_err().contains("nothing at /missing"));
        assert!(read_credential(&answer, "/expires_in").unwrap_err().contains("no string"));
        let text_lifetime = json!({"access_token": "a", "expires_in": "60"});
        assert_eq!(read_credential(&text_lifetime, "/access_token").unwrap().expires_in, Some(60));
        assert_eq!(read_credential(&json!({"access_token": "a"}), "/access_token").unwrap().expires_in, None);
    }
}
