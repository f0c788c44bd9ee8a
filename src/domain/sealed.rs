//! Sealed secrets: secrets we must be able to read back (the token signing keys; an upstream
//! provider's client secret), kept in the database encrypted with AES-256-GCM under the master
//! key. Each value has its own random 96-bit nonce and is bound to where it lives (its table,
//! record id and column) as associated data, so a sealed value copied to another record or
//! column does not open.
//!
//! A sealed value is text: `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key
//! id is a fingerprint of the master key, so every instance knows which key sealed a value
//! without storing key ids anywhere. Several master keys can be configured at once: the first
//! seals, every one opens, which is how a key is rotated (README: "Master key").

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";
const NONCE_BYTES: usize = 12;
pub const KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the value is not sealed")]
    NotSealed,
    #[error("the value was sealed under master key {0}, which is not configured (MASTER_KEY or MASTER_KEY_FILE)")]
    UnknownKey(String),
    #[error("the value does not open: it was altered, or belongs to another record")]
    Corrupt,
}

#[derive(Clone)]
struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The configured master keys: the first seals, every one opens. No Debug of the keys.
#[derive(Clone)]
pub struct MasterKeys {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|k| &k.id)).finish()
    }
}

/// The id of a master key: the start of its SHA-256 fingerprint.
fn key_id(key: &[u8]) -> String {
    let digest = Sha256::new().chain_update(b"provisioning master key\0").chain_update(key).finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A new master key, base64 (what MASTER_KEY and the key file hold).
pub fn generate_key() -> SecretString {
    let mut key = [0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    SecretString::from(STANDARD.encode(key))
}

impl std::str::FromStr for MasterKeys {
    type Err = String;

    /// Base64 keys of 32 bytes, separated by commas, spaces or new lines; the first seals.
    fn from_str(text: &str) -> Result<MasterKeys, String> {
        let mut keys = Vec::new();
        for (index, encoded) in text.split([',', '\n', ' ', '\r', '\t']).filter(|k| !k.is_empty()).enumerate() {
            let bytes = STANDARD.decode(encoded).map_err(|_| format!("master key {} is not base64", index + 1))?;
            if bytes.len() != KEY_BYTES {
                return Err(format!("master key {} is {} bytes; it must be {KEY_BYTES}", index + 1, bytes.len()));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|e| e.to_string())?;
            let id = key_id(&bytes);
            if !keys.iter().any(|k: &MasterKey| k.id == id) {
                keys.push(MasterKey { id, cipher });
            }
        }
        if keys.is_empty() {
            return Err("no master key given".into());
        }
        Ok(MasterKeys { keys })
    }
}

/// Where a sealed value lives: its associated data.
pub fn context(table: &str, id: &str, column: &str) -> String {
    format!("{table}/{id}/{column}")
}

impl MasterKeys {
    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.keys[0].id
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// `secret`, sealed under the current key for the place `context` names.
    pub fn seal(&self, context: &str, secret: &[u8]) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: context.as_bytes() })
            .expect("AES-GCM encrypts any message under 64 GiB");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The secret `sealed` holds, if it was sealed for `context` under a configured key.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let (id, encoded) =
            sealed.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')).ok_or(SealError::NotSealed)?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| SealError::UnknownKey(id.to_string()))?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| SealError::Corrupt)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SealError::Corrupt);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        key.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| SealError::Corrupt)
    }

    /// Whether `sealed` is under the current key already.
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.strip_prefix(PREFIX).and_then(|rest| rest.split_once(':')).is_some_and(|(id, _)| id == self.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn keys(text: &str) -> MasterKeys {
        text.parse().unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_place_and_under_its_key() {
        let first = generate_key();
        let master = keys(first.expose_secret());
        let sealed = master.seal("signing_keys/k1/private_key", b"the secret");
        assert!(sealed.starts_with("sealed:v1:") && !sealed.contains("the secret"));
        assert_eq!(master.open("signing_keys/k1/private_key", &sealed).unwrap(), b"the secret");
        // Another record, another column: it does not open.
        assert_eq!(master.open("signing_keys/k2/private_key", &sealed), Err(SealError::Corrupt));
        // Sealed twice, it differs (a fresh nonce each time).
        assert_ne!(master.seal("a", b"x"), master.seal("a", b"x"));
        // A changed byte does not open.
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            master.open("signing_keys/k1/private_key", &String::from_utf8(altered).unwrap()),
            Err(SealError::Corrupt)
        );
        // Another master key does not know it.
        let other = keys(generate_key().expose_secret());
        assert!(matches!(other.open("signing_keys/k1/private_key", &sealed), Err(SealError::UnknownKey(_))));
        assert_eq!(master.open("x", "plain text"), Err(SealError::NotSealed));
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let (old, new) = (generate_key(), generate_key());
        let before = keys(old.expose_secret());
        let sealed = before.seal("t/1/c", b"s");
        let both = keys(&format!("{},{}", new.expose_secret(), old.expose_secret()));
        assert_eq!(both.open("t/1/c", &sealed).unwrap(), b"s");
        assert!(!both.is_current(&sealed));
        let resealed = both.seal("t/1/c", b"s");
        assert!(both.is_current(&resealed));
        assert_eq!(keys(new.expose_secret()).open("t/1/c", &resealed).unwrap(), b"s");
        assert_eq!(both.ids().count(), 2);
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!("not base64!".parse::<MasterKeys>().is_err());
        assert!(STANDARD.encode([0u8; 16]).parse::<MasterKeys>().unwrap_err().contains("16 bytes"));
        assert!("".parse::<MasterKeys>().is_err());
        let shown = format!("{:?}", keys(generate_key().expose_secret()));
        assert_eq!(shown.len(), 2 + 2 + 16, "only the key id: {shown}");
    }
}
