//! provisioning: organizations, members, roles and API credentials over a JSON:API that speaks
//! the Commerce Layer Provisioning API's wire format.
//!
//! A request travels: `http` (extractors, thin handlers) → `jsonapi` (documents and query
//! parameters against each type's allow-list) → `domain` (validated values) → `db` (diesel on
//! SQLite or PostgreSQL, on the blocking pool) → `views` (JSON:API documents with links), with
//! `error` turning every failure into a JSON:API errors document.

pub mod auth;
pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod jsonapi;
pub mod resources;
pub mod startup;
pub mod views;
