//! Client credentials: generated from the OS-seeded CSPRNG, URL-safe, and stored only as an
//! argon2id PHC string with OWASP's parameters (m=19456 KiB, t=2, p=1). Hashing and verifying
//! are slow on purpose: callers run them on the blocking pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// OWASP Password Storage Cheat Sheet, argon2id: 19 MiB, 2 iterations, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

fn random_url_safe(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// 192 bits, 32 URL-safe characters.
pub fn generate_client_id() -> String {
    random_url_safe(24)
}

/// 256 bits, 43 URL-safe characters.
pub fn generate_client_secret() -> String {
    random_url_safe(32)
}

/// The alphabet of email codes: no 0, O, 1 or I to misread.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time email confirmation code: 10 characters of a 32-letter alphabet (50 bits), so
/// guessing one within its lifetime is hopeless even without counting attempts.
pub fn generate_email_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| CODE_ALPHABET[(*b & 31) as usize] as char).collect()
}

/// A code as typed back: case, spaces and dashes do not matter.
pub fn normalize_email_code(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect()
}

/// What is stored of a code: SHA-256 over the user id and the code, hex. The code's 50 random
/// bits and 30-minute life make a slow hash pointless here.
pub fn hash_email_code(user_id: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::new().chain_update(user_id.as_bytes()).chain_update(b":").chain_update(code.as_bytes()).finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two strings are equal, in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None)
        .expect("OWASP's argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) to store for `secret`.
pub fn hash_secret(secret: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2().hash_password(secret.as_bytes(), &salt).expect("argon2id hashing with a fresh salt succeeds").to_string()
}

/// A hash of a random secret nobody knows, with the same parameters as every stored one: an
/// unknown client id is checked against it, so that it costs what a known one does and the
/// time of an answer does not tell whether a client id exists.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_secret(&generate_client_secret()))
}

/// Whether `secret` matches the stored PHC string. A malformed hash never matches.
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(secret.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_url_safe_and_distinct() {
        let (id, secret) = (generate_client_id(), generate_client_secret());
        assert_eq!(id.len(), 32);
        assert_eq!(secret.len(), 43);
        let url_safe = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        assert!(url_safe(&id) && url_safe(&secret));
        assert_ne!(generate_client_secret(), secret);
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_secret("s3cret");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_secret("s3cret", &hash));
        assert!(!verify_secret("other", &hash));
        assert!(!verify_secret("s3cret", "not a hash"));
        assert_ne!(hash_secret("s3cret"), hash, "salted");
    }
}
