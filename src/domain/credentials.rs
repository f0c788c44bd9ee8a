//! API credentials: what each kind of client may be, and how its secret is made.

use crate::domain::{parse_text, Reader};
use crate::error::Invalid;
use crate::jsonapi::document::Given;

pub const KINDS: &[&str] = &["sales_channel", "integration", "webapp"];
pub const MODES: &[&str] = &["test", "live"];
pub const SECRET_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const MIN_EXPIRES_IN: i64 = 7200;
pub const MAX_EXPIRES_IN: i64 = 31_536_000;
pub const DEFAULT_GRACE_SECONDS: i64 = 86_400;
/// A rotation's grace period is at most this long (a year).
pub const MAX_GRACE_SECONDS: i64 = 31_536_000;

pub fn default_expires_in(kind: &str) -> i64 {
    if kind == "sales_channel" {
        14_400
    } else {
        7200
    }
}

pub fn parse_name(value: &str) -> Result<String, String> {
    parse_text(value, 200)
}

fn one_of(value: &str, allowed: &[&str]) -> Result<String, String> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("must be one of {}", allowed.join(", ")))
    }
}

/// An absolute https URL, or http on localhost or 127.0.0.1 (for development), without a
/// fragment (RFC 6749 §3.1.2).
pub fn parse_redirect_uri(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|_| "must be an absolute URL".to_string())?;
    let local = matches!(url.host_str(), Some("localhost") | Some("127.0.0.1") | Some("[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !scheme_ok || url.host().is_none() {
        return Err("must be an https URL (http only on localhost or 127.0.0.1)".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    if value.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    Ok(value.to_string())
}

/// A PEM RSA or EC public key, as `private_key_jwt` clients sign their assertions with.
pub fn parse_public_key(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() > 16_384 {
        return Err("is too long".into());
    }
    let rsa = jsonwebtoken::DecodingKey::from_rsa_pem(value.as_bytes()).is_ok();
    let ec = jsonwebtoken::DecodingKey::from_ec_pem(value.as_bytes()).is_ok();
    if rsa || ec {
        Ok(value.to_string())
    } else {
        Err("must be a PEM-encoded RSA or EC public key".into())
    }
}

/// The values of a create document, checked against each other.
pub struct NewCredentialValues {
    pub name: String,
    pub kind: String,
    pub redirect_uri: Option<String>,
    pub expires_in: i64,
    pub mode: String,
    pub custom: bool,
    pub auth_method: String,
    pub public_key: Option<String>,
    pub confidential: bool,
}

/// Reads and checks a create document. `has_role` says whether a role was linked.
pub fn read_new(reader: &mut Reader, has_role: bool) -> Option<NewCredentialValues> {
    let name = reader.string("name", parse_name);
    let name = reader.not_null("name", name);
    let kind = reader.string("kind", |v| one_of(v, KINDS));
    let kind = reader.not_null("kind", kind);
    let redirect_uri = reader.string("redirect_uri", parse_redirect_uri).value();
    let expires_in = reader.document.integer("expires_in", &mut reader.errors);
    let mode = reader.string("mode", |v| one_of(v, MODES));
    let mode = reader.not_null("mode", mode).unwrap_or_else(|| "test".into());
    let custom = reader.boolean("custom").value().unwrap_or(false);
    let auth_method = reader
        .string("auth_method", |v| one_of(v, &["none", "client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT]));
    let auth_method = reader.not_null("auth_method", auth_method);
    let public_key = reader.string("public_key", parse_public_key).value();
    let kind = kind?;

    let confidential = kind != "sales_channel";
    let auth_method = match (kind.as_str(), auth_method) {
        ("sales_channel", None) => "none".to_string(),
        ("sales_channel", Some(m)) if m == "none" => m,
        ("sales_channel", Some(_)) => {
            reader.errors.push(Invalid::attribute(
                "auth_method",
                "A sales_channel is a public client: its auth_method is none.",
            ));
            "none".into()
        }
        (_, None) => "client_secret_basic".into(),
        (_, Some(m)) if m == "none" => {
            reader.errors.push(Invalid::attribute("auth_method", format!("A {kind} is a confidential client: it needs client_secret_basic, client_secret_post or private_key_jwt.")));
            m
        }
        (_, Some(m)) => m,
    };
    if auth_method == PRIVATE_KEY_JWT && public_key.is_none() {
        reader
            .errors
            .push(Invalid::attribute("public_key", "private_key_jwt needs the client's public_key (PEM, RSA or EC)."));
    }
    if auth_method != PRIVATE_KEY_JWT && public_key.is_some() {
        reader.errors.push(Invalid::attribute("public_key", "public_key goes only with auth_method private_key_jwt."));
    }
    match kind.as_str() {
        "integration" if !has_role => {
            reader.errors.push(Invalid::relationship("role", "An integration needs a role of its organization."))
        }
        "sales_channel" | "webapp" if has_role => {
            reader.errors.push(Invalid::relationship("role", format!("A {kind} takes no role.")))
        }
        _ => {}
    }
    if kind == "webapp" && redirect_uri.is_none() {
        reader.errors.push(Invalid::attribute("redirect_uri", "A webapp needs a redirect_uri."));
    }
    let expires_in = match expires_in {
        Given::Value(v) => check_expires_in(reader, v),
        Given::Null => {
            reader.errors.push(Invalid::attribute("expires_in", "expires_in cannot be null."));
            0
        }
        Given::Absent => default_expires_in(&kind),
    };
    Some(NewCredentialValues {
        name: name?,
        kind,
        redirect_uri,
        expires_in,
        mode,
        custom,
        auth_method,
        public_key,
        confidential,
    })
}

pub fn check_expires_in(reader: &mut Reader, value: i64) -> i64 {
    if !(MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&value) {
        reader.errors.push(Invalid::attribute(
            "expires_in",
            format!("expires_in must be from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN} seconds."),
        ));
    }
    value
}
