//! Validated values and the rules of each type. Parse, don't validate: a value that leaves
//! this module as a `String` has already passed its rule.

pub mod access;
pub mod apis;
pub mod credentials;
pub mod members;
pub mod organizations;
pub mod secrets;

use chrono::{NaiveDateTime, Timelike, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{Map, Value};

use crate::error::Invalid;
use crate::jsonapi::document::{Given, ResourceDocument};

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

/// The largest JSON object we keep in one attribute.
pub const MAX_OBJECT_BYTES: usize = 64 * 1024;

pub fn object_text(object: &Map<String, Value>) -> Result<String, String> {
    let text = Value::Object(object.clone()).to_string();
    if text.len() > MAX_OBJECT_BYTES {
        return Err(format!("must be at most {MAX_OBJECT_BYTES} bytes of JSON"));
    }
    Ok(text)
}

/// Collects problems while reading a document, and reports them all at once.
pub struct Reader<'a> {
    pub document: &'a ResourceDocument,
    pub errors: Vec<Invalid>,
}

impl<'a> Reader<'a> {
    pub fn new(document: &'a ResourceDocument) -> Self {
        Reader { document, errors: Vec::new() }
    }

    fn check<T>(
        &mut self,
        name: &str,
        given: Given<T>,
        rule: impl FnOnce(T) -> Result<String, String>,
    ) -> Given<String> {
        match given {
            Given::Value(v) => match rule(v) {
                Ok(v) => Given::Value(v),
                Err(why) => {
                    self.errors.push(Invalid::attribute(name, format!("{name} {why}.")));
                    Given::Absent
                }
            },
            Given::Null => Given::Null,
            Given::Absent => Given::Absent,
        }
    }

    /// A string attribute passed through `rule`.
    pub fn string(&mut self, name: &str, rule: impl FnOnce(&str) -> Result<String, String>) -> Given<String> {
        let given = self.document.string(name, &mut self.errors);
        self.check(name, given, |v| rule(&v))
    }

    /// An object attribute, as the text we store.
    pub fn object(&mut self, name: &str) -> Given<String> {
        let given = self.document.object(name, &mut self.errors);
        self.check(name, given, |v| object_text(&v))
    }

    pub fn boolean(&mut self, name: &str) -> Given<bool> {
        self.document.boolean(name, &mut self.errors)
    }

    /// An attribute that may be left out but not set to null.
    pub fn not_null<T>(&mut self, name: &str, given: Given<T>) -> Option<T> {
        match given {
            Given::Null => {
                self.errors.push(Invalid::attribute(name, format!("{name} cannot be null.")));
                None
            }
            other => other.value(),
        }
    }

    pub fn finish(self) -> Result<(), crate::error::ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::error::ApiError::Validation(self.errors))
        }
    }
}

/// The changeset of the attributes every type shares, for a diesel table module, with
/// `updated_at` set to `$now`. Goes inside a `.set((…))` tuple beside the type's own columns.
#[macro_export]
macro_rules! common_changes {
    ($table:ident, $common:expr, $now:expr) => {{
        let common = $common;
        (
            common.reference.into_change().map(|v| $table::reference.eq(v)),
            common.reference_origin.into_change().map(|v| $table::reference_origin.eq(v)),
            common.metadata.map(|v| $table::metadata.eq(v)),
            $table::updated_at.eq($now),
        )
    }};
}

/// The attributes every type shares, read for create or update.
pub struct Common {
    pub reference: Given<String>,
    pub reference_origin: Given<String>,
    /// The metadata to store, when it changes: null clears it to `{}`.
    pub metadata: Option<String>,
}

impl Common {
    pub fn read(reader: &mut Reader) -> Common {
        Common {
            reference: reader.string("reference", |v| parse_token(v, 255)),
            reference_origin: reader.string("reference_origin", |v| parse_token(v, 255)),
            metadata: match reader.object("metadata") {
                Given::Absent => None,
                Given::Null => Some("{}".into()),
                Given::Value(v) => Some(v),
            },
        }
    }
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
