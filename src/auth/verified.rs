//! Tokens whose signature this process already checked. RSA verification in pure Rust costs
//! far more than the rest of a read (a profile of `GET /api/organizations/:id` spent a third
//! of its time in it); the same token arrives again and again, and a signature that verified
//! once verifies forever. So the claims are remembered under a SHA-256 of the token's exact
//! bytes. Only the signature check is skipped: expiry, issuer, the user's existence and
//! revocation are still checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::auth::Claims;

const MAX_ENTRIES: usize = 50_000;

#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], Arc<Claims>>>,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    /// The claims of a token verified before and not expired since.
    pub fn get(&self, token: &str, now: i64) -> Option<Arc<Claims>> {
        let key = key(token);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&key).filter(|claims| claims.exp > now).cloned()
    }

    pub fn insert(&self, token: &str, claims: Arc<Claims>) {
        let key = key(token);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let now = chrono::Utc::now().timestamp();
            entries.retain(|_, c| c.exp > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, claims);
    }
}
