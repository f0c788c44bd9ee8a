//! Repeat grants without repeating argon2. argon2id caps a core at a few dozen verifications a
//! second; a client asking for tokens again and again would pay that every time. After a
//! secret verifies once, a keyed hash of (client id, secret) is remembered for a few minutes,
//! together with the stored hash it matched. A later grant with the same pair skips argon2
//! only while that stored hash still authenticates the client, so a rotation past its grace
//! period, a deletion or a new user secret (on any instance) ends it at once: nothing needs to
//! be forgotten by hand. The key is
//! random per process: the map is useless to anyone who reads memory dumps of another process,
//! and never holds a secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const TTL: Duration = Duration::from_secs(600);
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    client_id: String,
    verified_hash: String,
    until: Instant,
}

pub struct SecretCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl Default for SecretCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        SecretCache { key, entries: Mutex::new(HashMap::new()) }
    }
}

impl SecretCache {
    fn mac(&self, client_id: &str, secret: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(client_id.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether this pair verified against one of `valid_hashes` recently.
    pub fn verified(&self, client_id: &str, secret: &str, valid_hashes: &[&str]) -> bool {
        let mac = self.mac(client_id, secret);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&mac).is_some_and(|e| {
            e.until > Instant::now() && e.client_id == client_id && valid_hashes.contains(&e.verified_hash.as_str())
        })
    }

    /// Whether this pair verified recently, whichever hash it matched (a hint, before the
    /// client's current hashes are loaded).
    pub fn knows(&self, client_id: &str, secret: &str) -> bool {
        let mac = self.mac(client_id, secret);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(&mac).is_some_and(|e| e.until > Instant::now() && e.client_id == client_id)
    }

    pub fn remember(&self, client_id: &str, secret: &str, verified_hash: &str) {
        let mac = self.mac(client_id, secret);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let now = Instant::now();
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            mac,
            Entry {
                client_id: client_id.to_string(),
                verified_hash: verified_hash.to_string(),
                until: Instant::now() + TTL,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_only_while_the_hash_still_counts() {
        let cache = SecretCache::default();
        assert!(!cache.verified("c", "s", &["h1"]));
        cache.remember("c", "s", "h1");
        assert!(cache.verified("c", "s", &["h1"]));
        assert!(cache.verified("c", "s", &["h2", "h1"]), "the previous secret during a grace period");
        assert!(!cache.verified("c", "s", &["h2"]), "rotated past the grace period");
        assert!(!cache.verified("c", "other", &["h1"]));
        assert!(!cache.verified("d", "s", &["h1"]));
    }
}
