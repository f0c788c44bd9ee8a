//! The parameters of OAuth requests: a JSON body (what js-auth sends), a form body (RFC 6749),
//! and HTTP Basic client authentication.

use actix_web::http::{header, StatusCode};
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use crate::http::oauth::error::OAuthError;

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
