//! The JSON:API 1.1 layer: media type rules, request documents, query parameters, and the
//! per-type allow-lists they are checked against.

pub mod document;
pub mod media;
pub mod query;
pub mod spec;

pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// The top-level `jsonapi` member every document carries.
pub fn version_object() -> serde_json::Value {
    serde_json::json!({ "version": "1.1" })
}
