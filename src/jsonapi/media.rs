//! Content negotiation, JSON:API 1.1 §5.1 (client) and §5.2 (server) responsibilities.

use actix_web::dev::ServiceRequest;
use actix_web::http::{header, Method};
use actix_web::FromRequest;

use crate::error::ApiError;
use crate::error::MEDIA_TYPE;

/// This server implements no JSON:API extensions. Profiles are free to ignore.
const SUPPORTED_EXTENSIONS: &[&str] = &[];

/// One media range from a header: its type and its parameters, names lower-cased.
struct MediaRange<'a> {
    essence: String,
    parameters: Vec<(String, &'a str)>,
}

fn parse_ranges(header: &str) -> Vec<MediaRange<'_>> {
    header
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|range| {
            let mut parts = range.split(';');
            let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let parameters = parts
                .filter_map(|p| {
                    let (name, value) = p.split_once('=')?;
                    Some((name.trim().to_ascii_lowercase(), value.trim().trim_matches('"')))
                })
                .collect();
            MediaRange { essence, parameters }
        })
        .collect()
}

/// Whether a JSON:API media type instance carries only what this server understands:
/// `ext` naming supported extensions, and `profile`.
fn acceptable(range: &MediaRange, treat_q_as_weight: bool) -> bool {
    range.parameters.iter().all(|(name, value)| match name.as_str() {
        "profile" => true,
        "ext" => value.split_whitespace().all(|e| SUPPORTED_EXTENSIONS.contains(&e)),
        // In Accept, `q` is the range's weight, not a media type parameter.
        "q" => treat_q_as_weight,
        _ => false,
    })
}

pub fn check_content_type(value: Option<&str>) -> Result<(), ApiError> {
    let Some(value) = value else {
        return Err(ApiError::UnsupportedMediaType(format!("A request body must be sent as {MEDIA_TYPE}.")));
    };
    let ranges = parse_ranges(value);
    match ranges.as_slice() {
        [range] if range.essence == MEDIA_TYPE && acceptable(range, false) => Ok(()),
        [range] if range.essence == MEDIA_TYPE => Err(ApiError::UnsupportedMediaType(format!(
            "{MEDIA_TYPE} takes no media type parameters other than ext (naming supported extensions) and profile."
        ))),
        _ => {
            Err(ApiError::UnsupportedMediaType(format!("A request body must be sent as {MEDIA_TYPE}, not {value:?}.")))
        }
    }
}

pub fn check_accept(value: Option<&str>) -> Result<(), ApiError> {
    let Some(value) = value else { return Ok(()) };
    let ranges = parse_ranges(value);
    let instances: Vec<&MediaRange> = ranges.iter().filter(|r| r.essence == MEDIA_TYPE).collect();
    if !instances.is_empty() && !instances.iter().any(|r| acceptable(r, true)) {
        return Err(ApiError::NotAcceptable(format!(
            "Every {MEDIA_TYPE} in Accept has parameters this server does not support."
        )));
    }
    Ok(())
}

/// For `/api`: refuse what we cannot answer in (406) before any handler runs (what we cannot
/// read is refused by `Document`, 415).
pub fn negotiate(request: &ServiceRequest) -> Result<(), ApiError> {
    // No route under /api takes another method: routing answers 405, whatever the body is.
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::POST | Method::PATCH | Method::DELETE) {
        return Ok(());
    }
    check_accept(request.headers().get(header::ACCEPT).map(|v| v.to_str().unwrap_or("\u{fffd}")))
}

/// Request bodies larger than this answer 413.
pub const BODY_LIMIT: usize = 1 << 20;

/// The raw request body, read up to `BODY_LIMIT`.
pub struct Body(pub actix_web::web::Bytes);

impl FromRequest for Body {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            use futures_util::StreamExt;
            if declared.is_some_and(|n| n > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            let mut body = actix_web::web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::BadRequest {
                    code: "BAD_REQUEST",
                    detail: format!("The request body could not be read: {e}."),
                    location: crate::error::Source::None,
                })?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Body(body.freeze()))
        })
    }
}

/// A JSON:API request body: `Body`, sent as `application/vnd.api+json` (415 otherwise; a
/// request without a body needs no media type). The check comes once a route takes the
/// request, so a method no route takes answers 405 first.
pub struct Document(pub actix_web::web::Bytes);

impl FromRequest for Document {
    type Error = ApiError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &actix_web::HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let headers = req.headers();
        let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let length =
            headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let has_body = length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING);
        if let Err(refused) = check_content_type(content_type).or_else(|e| if has_body { Err(e) } else { Ok(()) }) {
            return Box::pin(std::future::ready(Err(refused)));
        }
        let body = Body::from_request(req, payload);
        Box::pin(async move { body.await.map(|body| Document(body.0)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_rules() {
        assert!(check_content_type(Some("application/vnd.api+json")).is_ok());
        assert!(check_content_type(Some("application/vnd.api+json; profile=\"https://example.com/p\"")).is_ok());
        assert!(check_content_type(Some("application/vnd.api+json; charset=utf-8")).is_err());
        assert!(check_content_type(Some("application/vnd.api+json; ext=\"https://example.com/e\"")).is_err());
        assert!(check_content_type(Some("application/json")).is_err());
        assert!(check_content_type(None).is_err());
    }

    #[test]
    fn accept_rules() {
        assert!(check_accept(None).is_ok());
        assert!(check_accept(Some("*/*")).is_ok());
        assert!(check_accept(Some("application/vnd.api+json")).is_ok());
        assert!(check_accept(Some("application/vnd.api+json; q=0.5")).is_ok());
        assert!(check_accept(Some("application/vnd.api+json; charset=utf-8, application/vnd.api+json")).is_ok());
        assert!(check_accept(Some("application/vnd.api+json; charset=utf-8")).is_err());
        assert!(check_accept(Some("text/html, application/vnd.api+json; foo=bar")).is_err());
    }
}
