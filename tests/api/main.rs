//! Black-box tests: the real server on a random port, a real HTTP client, the JSON a user sends.
//! One binary keeps link time down; each test has its own database.

mod helpers;

mod access;
mod apis;
mod boundary;
mod columns;
mod creating;
mod credential_providers;
mod credentials;
mod dns;
mod emails;
mod errors;
mod hostile;
mod identity_providers;
mod jsonapi_rules;
mod kept_reads;
mod limits;
mod listing;
mod logs;
mod negotiation;
mod openapi;
mod operating;
mod organizations;
mod rendering;
mod sealed;
mod signing_keys;
mod sso;
mod startup;
mod tokens;
mod updating;
