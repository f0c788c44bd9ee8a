//! The parameters of OAuth requests: a JSON body (what js-auth sends), a form body (RFC 6749),
//! and HTTP Basic client authentication.

use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use secrecy::SecretString;
use serde_json::Value;
use std::fmt;

use crate::http::oauth::error::OAuthError;
use crate::jsonapi::text;

/// The parameters of a token or revocation request, from a JSON body (what js-auth sends), a
/// form body (RFC 6749), and HTTP Basic client authentication.
#[derive(Default)]
pub struct OAuthParameters {
    pairs: Vec<(String, String)>,
    pub basic: Option<(String, SecretString)>,
}

/// Parameters that carry a secret or a token: their values never reach Debug.
const SECRET_PARAMETERS: &[&str] =
    &["client_secret", "client_assertion", "token", "code", "code_verifier", "refresh_token", "password"];

impl fmt::Debug for OAuthParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |(name, value): &(String, String)| {
            let value = if SECRET_PARAMETERS.contains(&name.as_str()) { "[REDACTED]" } else { value.as_str() };
            format!("{name}={value}")
        };
        f.debug_struct("OAuthParameters")
            .field("pairs", &self.pairs.iter().map(shown).collect::<Vec<_>>())
            .field("basic", &self.basic.as_ref().map(|(id, secret)| (id, secret)))
            .finish()
    }
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
                if let Some(pointer) = text::nul_in(&value) {
                    return Err(OAuthError::invalid_request(format!("{pointer} must be text without NUL characters.")));
                }
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
                let encoded = std::str::from_utf8(body)
                    .map_err(|_| OAuthError::invalid_request("A form body is ASCII, percent-encoded."))?;
                if let Some(name) = text::unclean_pair(encoded) {
                    return Err(OAuthError::invalid_request(format!(
                        "{name} must be UTF-8 text without NUL characters."
                    )));
                }
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
                    .filter(|d| text::decodes_clean(d))
                    .ok_or_else(|| {
                        OAuthError::invalid_request(
                            "The Basic credentials must be base64 of UTF-8 text without NUL characters.",
                        )
                    })?;
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
                parameters.basic = Some((unescape(id), unescape(secret).into()));
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

    /// Every value of a parameter that may repeat; empty ones count as absent, as in `one`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    /// The client id and, when given, the secret, from Basic or the body (not both).
    pub fn client(&self) -> Result<(String, Option<SecretString>, bool), OAuthError> {
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
                Some(id) => Ok((id.to_string(), body_secret.map(SecretString::from), false)),
                None => Err(OAuthError {
                    basic: false,
                    ..OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", "The client_id is missing.")
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret_or_token() {
        let request = actix_web::test::TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .insert_header((header::AUTHORIZATION, format!("Basic {}", STANDARD.encode("the-id:basic-secret"))))
            .to_http_request();
        let body = b"grant_type=client_credentials&token=a.bearer.token&client_assertion=signed.jwt.here";
        let parameters = OAuthParameters::parse(&request, body).unwrap();
        let shown = format!("{parameters:?}");
        assert!(shown.contains("grant_type=client_credentials") && shown.contains("the-id"), "{shown}");
        for secret in ["basic-secret", "a.bearer.token", "signed.jwt.here"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
