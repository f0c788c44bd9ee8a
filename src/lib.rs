//! provisioning: organizations, members, roles and API credentials over a JSON:API that speaks
//! the Commerce Layer Provisioning API's wire format.
//!
//! A request travels one road, and each module imports only those after it:
//! `http` (routes, extractors, thin handlers, OAuth) → `upstream` (what we ask of other
//! systems: DNS) → `auth` (keys and tokens) → `resources`
//! (one module per type, the registry, and the shared read and write machinery) → `jsonapi`
//! (media types, request documents, query parameters) → `domain` (rules, the policy, the audit
//! trail) → `db` (diesel on SQLite or PostgreSQL) → `views` (documents rendered from typed
//! rows) → `spec` (the allow-lists and the parsed query every layer shares) → `error`.

pub mod auth;
pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod jsonapi;
pub mod logs;
pub mod mail;
pub mod resources;
pub mod spec;
pub mod startup;
pub mod upstream;
pub mod views;
