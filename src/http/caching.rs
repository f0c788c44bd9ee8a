//! HTTP caching: `HEAD` wherever `GET` is, `Cache-Control` on every answer, and conditional
//! GETs. Every answer a client may keep is `private, no-cache` (kept per user, revalidated each
//! time); a token or a secret is `no-store` (its handler says so). A GET's 200 carries a weak
//! `ETag`, a hash of its body, and `If-None-Match` with a tag still current answers 304 with
//! no body. Weak, because compression may change the bytes but never the meaning.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};

/// `HEAD` runs as `GET`: the same handlers, headers and status. The HTTP layer remembers the
/// request was a HEAD and sends no body, keeping the `Content-Length` a GET would have had.
pub fn head_as_get(request: &mut ServiceRequest) {
    if request.method() == Method::HEAD {
        request.head_mut().method = Method::GET;
    }
}

/// A weak entity tag for `body`: 128 bits of XXH3, which hashes a large page in microseconds.
pub fn entity_tag(body: &[u8]) -> String {
    format!("W/\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(body))
}

/// Whether `If-None-Match` (a list of tags, or `*`) names `tag`, compared weakly (RFC 9110
/// §13.1.2: `W/` does not count).
pub fn none_match(if_none_match: &str, tag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let wanted = opaque(tag);
    if_none_match.split(',').map(str::trim).any(|given| given == "*" || opaque(given) == wanted)
}

const DEFAULT_CACHE_CONTROL: header::HeaderValue = header::HeaderValue::from_static("private, no-cache");

/// What a conditional request asks: a GET's `If-None-Match`, taken before the request goes on.
pub struct Conditional {
    get: bool,
    if_none_match: Option<String>,
}

impl Conditional {
    pub fn of(request: &ServiceRequest) -> Conditional {
        let get = request.method() == Method::GET;
        let if_none_match = match get {
            true => request.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(String::from),
            false => None,
        };
        Conditional { get, if_none_match }
    }
}

/// `Cache-Control` on every answer; a GET's 200 tagged (or, kept, tagged already) and, when
/// `If-None-Match` names its tag, turned into a 304.
pub fn finish(asked: Conditional, mut response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let Conditional { get: conditional, if_none_match } = asked;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, DEFAULT_CACHE_CONTROL);
    }
    let taggable = conditional
        && response.status() == StatusCode::OK
        && response.headers().get(header::CACHE_CONTROL).is_none_or(|v| v.as_bytes() != b"no-store");
    if !taggable {
        return response;
    }
    // A read kept as answered comes tagged already (`answers`): compared, not hashed again.
    if let Some(tag) = response.headers().get(header::ETAG).and_then(|v| v.to_str().ok()) {
        if !if_none_match.as_deref().is_some_and(|given| none_match(given, tag)) {
            return response;
        }
        return response.map_body(|head, _| {
            head.status = StatusCode::NOT_MODIFIED;
            head.headers.remove(header::CONTENT_TYPE);
            BoxBody::new(actix_web::body::None::new())
        });
    }
    response.map_body(|head, body| {
        let bytes = match body.try_into_bytes() {
            Ok(bytes) => bytes,
            // A streamed body is not hashed (none of ours is).
            Err(body) => return BoxBody::new(body),
        };
        let tag = entity_tag(&bytes);
        let matched = if_none_match.as_deref().is_some_and(|given| none_match(given, &tag));
        if let Ok(value) = header::HeaderValue::from_str(&tag) {
            head.headers.insert(header::ETAG, value);
        }
        if matched {
            head.status = StatusCode::NOT_MODIFIED;
            head.headers.remove(header::CONTENT_TYPE);
            return BoxBody::new(actix_web::body::None::new());
        }
        BoxBody::new(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_weak_and_follow_the_body() {
        let tag = entity_tag(b"{\"data\":[]}");
        assert!(tag.starts_with("W/\"") && tag.ends_with('"') && tag.len() == 36, "{tag}");
        assert_eq!(tag, entity_tag(b"{\"data\":[]}"));
        assert_ne!(tag, entity_tag(b"{\"data\":[1]}"));
    }

    #[test]
    fn if_none_match_compares_weakly_in_lists_and_takes_a_star() {
        let tag = entity_tag(b"x");
        let strong = tag.trim_start_matches("W/");
        assert!(none_match(&tag, &tag));
        assert!(none_match(strong, &tag), "a strong form of the same tag matches weakly");
        assert!(none_match(&format!("\"other\", {tag}"), &tag));
        assert!(none_match("*", &tag));
        assert!(!none_match("\"other\"", &tag));
        assert!(!none_match("", &tag));
    }
}
