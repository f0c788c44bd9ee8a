//! The OAuth side: signing keys, access tokens, and who is calling.

pub mod keys;
pub mod tokens;

pub use tokens::{Caller, Claims};
