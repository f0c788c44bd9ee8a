//! RS512 signing keys. The first instance to start on an empty database generates one and
//! stores it, its private half sealed under the master key; every instance signs with the
//! oldest key and verifies with all of them, so instances side by side on one PostgreSQL agree
//! without talking to each other.

use std::collections::HashMap;
use std::sync::RwLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::prelude::*;
use jsonwebtoken::DecodingKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::db::schema::signing_keys;
use crate::db::AnyConnection;
use crate::domain::sealed::{context, MasterKeys};

pub const ALGORITHM: &str = "RS512";
const RSA_BITS: usize = 2048;

/// No Debug: it holds the private key.
#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
struct SigningKeyRow {
    kid: String,
    algorithm: String,
    /// Empty: the key is sealed. Only a database from before sealing holds a PEM here, until
    /// the next start seals it.
    private_key_pem: String,
    public_n: String,
    public_e: String,
    created_at: chrono::NaiveDateTime,
    private_key_sealed: Option<String>,
}

/// Where a signing key's private half is sealed.
fn place(kid: &str) -> String {
    context("signing_keys", kid, "private_key")
}

struct Verifier {
    key: DecodingKey,
    jwk: Value,
}

pub struct KeySet {
    signing_kid: String,
    /// Parsed and checked once: jsonwebtoken's `encode` parses the key on every call, which
    /// costs more than the signature itself.
    signing: aws_lc_rs::rsa::KeyPair,
    verifiers: RwLock<HashMap<String, Verifier>>,
}

fn generate(master: &MasterKeys) -> Result<SigningKeyRow, String> {
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS).map_err(|e| e.to_string())?;
    let pem = private.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?;
    let kid = crate::domain::secrets::generate_client_id()[..16].to_string();
    Ok(SigningKeyRow {
        private_key_sealed: Some(master.seal(&place(&kid), pem.as_bytes())),
        kid,
        algorithm: ALGORITHM.into(),
        private_key_pem: String::new(),
        public_n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
        public_e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        created_at: crate::domain::now(),
    })
}

/// A key's private half in PEM: opened, or (before sealing) as stored.
fn private_pem(row: &SigningKeyRow, master: &MasterKeys) -> Result<String, String> {
    match &row.private_key_sealed {
        Some(sealed) => master
            .open(&place(&row.kid), sealed)
            .map_err(|e| format!("opening signing key {}: {e}", row.kid))
            .and_then(|bytes| String::from_utf8(bytes).map_err(|e| e.to_string())),
        None => Ok(row.private_key_pem.clone()),
    }
}

/// Seals every key still in clear, and reseals every key sealed under another master key
/// than the current one; how many it changed.
pub fn seal_all(conn: &mut AnyConnection, master: &MasterKeys) -> Result<usize, String> {
    let rows = load_rows(conn).map_err(|e| format!("loading signing keys: {e}"))?;
    let mut changed = 0;
    for row in rows {
        if row.private_key_sealed.as_deref().is_some_and(|s| master.is_current(s)) {
            continue;
        }
        let pem = private_pem(&row, master)?;
        let sealed = master.seal(&place(&row.kid), pem.as_bytes());
        diesel::update(signing_keys::table.find(&row.kid))
            .set((signing_keys::private_key_sealed.eq(sealed), signing_keys::private_key_pem.eq("")))
            .execute(conn)
            .map_err(|e| format!("sealing signing key {}: {e}", row.kid))?;
        changed += 1;
    }
    Ok(changed)
}

fn verifier(row: &SigningKeyRow) -> Result<Verifier, String> {
    let key = DecodingKey::from_rsa_components(&row.public_n, &row.public_e).map_err(|e| e.to_string())?;
    let jwk =
        json!({"kty": "RSA", "use": "sig", "alg": row.algorithm, "kid": row.kid, "n": row.public_n, "e": row.public_e});
    Ok(Verifier { key, jwk })
}

fn load_rows(conn: &mut AnyConnection) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(SigningKeyRow::as_select())
        .load(conn)
}

impl KeySet {
    /// Loads the keys, generating the first one on an empty database, and seals any still in
    /// clear (a database from before sealing).
    pub fn load_or_create(conn: &mut AnyConnection, master: &MasterKeys) -> Result<KeySet, String> {
        let mut rows = load_rows(conn).map_err(|e| format!("loading signing keys: {e}"))?;
        if rows.iter().any(|r| r.private_key_sealed.is_none()) {
            let sealed = seal_all(conn, master)?;
            tracing::info!(sealed, "sealed the signing keys stored in clear");
            rows = load_rows(conn).map_err(|e| format!("loading signing keys: {e}"))?;
        }
        if rows.is_empty() {
            let row = generate(master)?;
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(conn)
                .map_err(|e| format!("storing the signing key: {e}"))?;
            rows = load_rows(conn).map_err(|e| format!("loading signing keys: {e}"))?;
        }
        let current = rows.first().ok_or("no signing key")?;
        let der = rsa::RsaPrivateKey::from_pkcs8_pem(&private_pem(current, master)?)
            .and_then(|key| key.to_pkcs8_der())
            .map_err(|e| format!("reading the signing key: {e}"))?;
        let signing =
            aws_lc_rs::rsa::KeyPair::from_pkcs8(der.as_bytes()).map_err(|e| format!("loading the signing key: {e}"))?;
        let verifiers = rows.iter().map(|r| Ok((r.kid.clone(), verifier(r)?))).collect::<Result<_, String>>()?;
        Ok(KeySet { signing_kid: current.kid.clone(), signing, verifiers: RwLock::new(verifiers) })
    }

    pub fn signing(&self) -> (&str, &aws_lc_rs::rsa::KeyPair) {
        (&self.signing_kid, &self.signing)
    }

    /// The JWK Set (RFC 7517) of every verification key.
    pub fn jwks(&self) -> Value {
        let verifiers = self.verifiers.read().expect("key set lock");
        let mut keys: Vec<&Value> = verifiers.values().map(|v| &v.jwk).collect();
        keys.sort_by_key(|k| k["kid"].as_str().unwrap_or_default().to_string());
        json!({ "keys": keys })
    }

    /// Adds keys created by other instances after this one loaded.
    pub fn refresh(&self, conn: &mut AnyConnection) -> QueryResult<()> {
        let rows = load_rows(conn)?;
        let mut verifiers = self.verifiers.write().expect("key set lock");
        for row in rows {
            if !verifiers.contains_key(&row.kid) {
                if let Ok(v) = verifier(&row) {
                    verifiers.insert(row.kid.clone(), v);
                }
            }
        }
        Ok(())
    }

    pub fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        self.verifiers.read().ok()?.get(kid).map(|v| v.key.clone())
    }
}
