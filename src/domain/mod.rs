//! Validated values and the rules of each type. Parse, don't validate: a value that leaves
//! this module as a `String` has already passed its rule.

pub mod audit;
pub mod letters;
pub mod policy;
pub mod sealed;
pub mod secrets;

use chrono::{NaiveDateTime, Timelike, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{Map, Value};

/// Server-generated ids: 10 URL-safe characters from the thread's CSPRNG (ChaCha, seeded by
/// the OS), like `xYZkjABcde`.
pub fn new_id() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(10).map(char::from).collect()
}

/// Now, truncated to the milliseconds we render, so what is stored is what is shown.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
}

/// Free text a person reads (names, descriptions): trimmed, not empty, at most `max`
/// characters, no control characters and no HTML tags.
pub fn parse_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be blank".into());
    }
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    let bytes = value.as_bytes();
    let tag = bytes
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!' || w[1] == b'?'));
    if tag {
        return Err("must not contain HTML tags".into());
    }
    Ok(value.to_string())
}

/// A short identifier-like string (references, ids of other systems): no control characters.
pub fn parse_token(value: &str, max: usize) -> Result<String, String> {
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_string())
}

/// An absolute http or https URL.
pub fn parse_http_url(value: &str) -> Result<String, String> {
    if value.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    match url::Url::parse(value) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host().is_some() => Ok(value.to_string()),
        _ => Err("must be an absolute http or https URL".into()),
    }
}

pub fn parse_email(value: &str) -> Result<String, String> {
    let value = value.trim();
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(value.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
    if valid {
        Ok(value.to_string())
    } else {
        Err("must be an email address".into())
    }
}

/// One of a fixed set of words (`kind`, `mode`, `access_scope`…).
pub fn one_of(value: &str, allowed: &[&str]) -> Result<String, String> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(format!("must be one of {}", allowed.join(", ")))
    }
}

/// An OAuth scope name (RFC 6749 §3.3 `scope-token`): 1 to 256 printable characters without
/// spaces, quotes or backslashes, since a scope string separates names with spaces.
pub fn parse_scope_name(value: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().count() > 256 {
        return Err("must be 1 to 256 characters".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\') {
        return Err("must not contain whitespace, control characters, quotes or backslashes".into());
    }
    Ok(value.to_string())
}

/// What a member or an application may reach: live data, test data, or both.
pub const ACCESS_SCOPES: &[&str] = &["live_access", "test_access", "all_access"];

pub fn parse_access_scope(value: &str) -> Result<String, String> {
    one_of(value, ACCESS_SCOPES)
}

/// `test_enabled` reflects the access scope.
pub fn test_enabled(access_scope: &str) -> bool {
    access_scope != "live_access"
}

/// The largest JSON object we keep in one attribute.
pub const MAX_OBJECT_BYTES: usize = 64 * 1024;

pub fn object_text(object: &Map<String, Value>) -> Result<String, String> {
    let text = Value::Object(object.clone()).to_string();
    if text.len() > MAX_OBJECT_BYTES {
        return Err(format!("must be at most {MAX_OBJECT_BYTES} bytes of JSON"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ten_url_safe_characters() {
        let id = new_id();
        assert_eq!(id.len(), 10);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn text_rules() {
        assert_eq!(parse_text("  The Blue Brand ", 255).unwrap(), "The Blue Brand");
        assert!(parse_text("   ", 255).is_err());
        assert!(parse_text("a\u{7}b", 255).is_err());
        assert!(parse_text("<script>x</script>", 255).is_err());
        assert!(parse_text("a < b", 255).is_ok());
        assert!(parse_text(&"x".repeat(256), 255).is_err());
    }

    #[test]
    fn url_and_email_rules() {
        assert!(parse_http_url("https://bluebrand.com/img/logo.svg").is_ok());
        assert!(parse_http_url("javascript:alert(1)").is_err());
        assert!(parse_http_url("/relative").is_err());
        assert!(parse_email("support@bluebrand.com").is_ok());
        assert!(parse_email("admin@localhost").is_ok());
        assert!(parse_email("a@b@c").is_err());
        assert!(parse_email("no at sign").is_err());
    }
}
