//! The JSON:API 1.1 layer: media type rules, request documents decoded and checked against a
//! type's allow-list, and query parameters parsed into `spec::query`.

pub mod document;
pub mod media;
pub mod query;
pub mod text;

pub use crate::error::MEDIA_TYPE;
