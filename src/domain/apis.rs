//! API resources and scopes: identifiers, lifetimes, scope names.

use crate::domain::parse_text;

pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 3600;
pub const MIN_ACCESS_TOKEN_TTL: i64 = 60;
pub const MAX_ACCESS_TOKEN_TTL: i64 = 86_400;

pub fn parse_resource_name(value: &str) -> Result<String, String> {
    parse_text(value, 255)
}

pub fn parse_description(value: &str) -> Result<String, String> {
    parse_text(value, 2000)
}

/// An absolute URI (RFC 8707 §2: the resource indicator), at most 2048 characters, without a
/// fragment.
pub fn parse_identifier(value: &str) -> Result<String, String> {
    let checked = parse_text(value, 2048)?;
    if checked != value {
        return Err("must not start or end with spaces".into());
    }
    match url::Url::parse(value) {
        Ok(url) if url.fragment().is_none() && !value.contains(char::is_whitespace) => Ok(value.to_string()),
        Ok(_) => Err("must be an absolute URI without a fragment".into()),
        Err(_) => Err("must be an absolute URI such as https://api.example.com".into()),
    }
}

/// 1 to 256 characters, no whitespace (a scope string separates names with spaces).
pub fn parse_scope_name(value: &str) -> Result<String, String> {
    if value.is_empty() || value.chars().count() > 256 {
        return Err("must be 1 to 256 characters".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\') {
        return Err("must not contain whitespace, control characters, quotes or backslashes".into());
    }
    Ok(value.to_string())
}

pub fn check_ttl(value: i64) -> Result<i64, String> {
    if (MIN_ACCESS_TOKEN_TTL..=MAX_ACCESS_TOKEN_TTL).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be from {MIN_ACCESS_TOKEN_TTL} to {MAX_ACCESS_TOKEN_TTL} seconds"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_scope_names() {
        assert!(parse_identifier("https://api.example.com/v1").is_ok());
        assert!(parse_identifier("urn:example:orders").is_ok());
        assert!(parse_identifier("/relative").is_err());
        assert!(parse_identifier("https://api.example.com/#frag").is_err());
        assert!(parse_identifier(&format!("https://x.example/{}", "a".repeat(2048))).is_err());
        assert!(parse_scope_name("orders:read").is_ok());
        assert!(parse_scope_name("orders read").is_err());
        assert!(parse_scope_name("").is_err());
        assert!(parse_scope_name(&"a".repeat(257)).is_err());
    }
}
