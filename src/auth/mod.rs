//! The OAuth side: signing keys, access tokens, and who is calling.

pub mod hashing;
pub mod keys;
pub mod logins;
pub mod secret_cache;
pub mod tokens;
pub mod verified;

pub use tokens::{Caller, Claims};
