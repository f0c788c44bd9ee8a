//! Text is checked at the boundary: every path segment, query parameter and string of a JSON
//! body (object keys included) must be UTF-8 without a NUL character before anything reaches
//! SQL. PostgreSQL refuses a NUL in text and SQLite takes it as the end of a pattern; checked
//! here, both backends give the same answer to the same request.

use serde_json::Value;

/// Whether `text` may reach the database.
pub fn is_clean(text: &str) -> bool {
    !text.contains('\0')
}

/// Whether the percent-decoded bytes of `raw` (a path, or one name or value of a query or form
/// body) are UTF-8 without a NUL.
pub fn decodes_clean(raw: &str) -> bool {
    // Borrows `raw` when nothing in it is percent-encoded (a path usually).
    percent_encoding::percent_decode_str(raw).decode_utf8().is_ok_and(|text| is_clean(&text))
}

/// The first name or value of an `application/x-www-form-urlencoded` text (a query string or a
/// form body) that does not decode clean, as far as it can be read.
pub fn unclean_pair(encoded: &str) -> Option<String> {
    encoded.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (!decodes_clean(name) || !decodes_clean(value)).then(|| {
            let name: Vec<u8> = percent_encoding::percent_decode_str(name).collect();
            String::from_utf8_lossy(&name).replace('\0', "\\0")
        })
    })
}

/// The JSON pointer of the first string or key in `value` holding a NUL (JSON text is UTF-8
/// already: serde_json refuses anything else).
pub fn nul_in(value: &Value) -> Option<String> {
    fn walk(value: &Value, pointer: &mut String) -> bool {
        match value {
            Value::String(s) => !is_clean(s),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let length = pointer.len();
                pointer.push_str(&format!("/{i}"));
                let found = walk(item, pointer);
                if !found {
                    pointer.truncate(length);
                }
                found
            }),
            Value::Object(members) => members.iter().any(|(key, item)| {
                let length = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1").replace('\0', "\\0"));
                let found = !is_clean(key) || walk(item, pointer);
                if !found {
                    pointer.truncate(length);
                }
                found
            }),
            _ => false,
        }
    }
    let mut pointer = String::new();
    walk(value, &mut pointer).then_some(pointer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_and_broken_utf8_are_found_wherever_they_are() {
        assert!(decodes_clean("/api/organizations/abc%20d"));
        assert!(!decodes_clean("/api/organizations/%00"));
        assert!(!decodes_clean("%FF%FE"));
        // Nothing encoded: the text is checked as it is.
        assert!(decodes_clean("/api/organizations"));
        assert!(!decodes_clean("/api/a\0b"));
        assert_eq!(unclean_pair("include=roles&filter[q][name_cont]=a%00b"), Some("filter[q][name_cont]".into()));
        assert_eq!(unclean_pair("filter%5Bids%5D=%C3%28"), Some("filter[ids]".into()));
        assert_eq!(unclean_pair("a=b&c=d%C3%A9"), None);
        let document = json!({"data": {"attributes": {"name": "ok", "metadata": {"notes": ["fine", "a\u{0}b"]}}}});
        assert_eq!(nul_in(&document).as_deref(), Some("/data/attributes/metadata/notes/1"));
        assert_eq!(nul_in(&json!({"a/b": {"k\u{0}": 1}})).as_deref(), Some("/a~1b/k\\0"));
        assert_eq!(nul_in(&json!({"data": {"attributes": {"name": "fine"}}})), None);
    }
}
