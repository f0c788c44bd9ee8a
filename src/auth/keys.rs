//! RS512 signing keys. The first instance to start on an empty database generates one and
//! stores it, its private half sealed under the master key. The signing key is the oldest one
//! not retired; every key still published verifies. Instances side by side on one PostgreSQL
//! agree without talking to each other: each looks at the table again before it signs (at most
//! once a second) and when a token names a key it does not know.
//!
//! `provisioning keys rotate` retires every signing key and adds a new one, which signs from
//! then on. A retired key stays published (the JWKS) and verifies until every token it can
//! have signed has expired: the longest token lifetime configured at the rotation, plus the
//! second an instance may still sign with it, plus a minute of clock skew. Then it leaves the
//! JWKS, and the next rotation deletes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

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
/// How often an instance looks for a newer signing key before it signs, in milliseconds.
const SIGNER_CHECK_MS: i64 = 1_000;
/// How often a token naming an unknown key may make an instance look at the table again: a
/// flood of made-up key ids costs the database at most this.
const UNKNOWN_KEY_CHECK_MS: i64 = 250;
/// How often the JWKS endpoint looks at the table again, in seconds.
pub const PUBLISHED_CHECK_SECONDS: i64 = 30;
/// Clocks of instances and of the machines that verify our tokens may differ by this much.
const CLOCK_SKEW_SECONDS: i64 = 60;

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
    /// Empty while the key signs; once retired, when it stops verifying and leaves the JWKS.
    verify_until: Option<chrono::NaiveDateTime>,
}

/// Where a signing key's private half is sealed.
fn place(kid: &str) -> String {
    context("signing_keys", kid, "private_key")
}

struct Verifier {
    key: DecodingKey,
    jwk: Value,
    /// Unix seconds; None while the key signs.
    until: Option<i64>,
}

impl Verifier {
    fn published(&self, now: i64) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// The key that signs, with its id.
pub struct Signer {
    pub kid: String,
    /// Parsed and checked once: jsonwebtoken's `encode` parses the key on every call, which
    /// costs more than the signature itself.
    pub key: aws_lc_rs::rsa::KeyPair,
}

pub struct KeySet {
    master: MasterKeys,
    signer: RwLock<Arc<Signer>>,
    verifiers: RwLock<HashMap<String, Verifier>>,
    /// When this instance last read the table, in Unix milliseconds.
    read_at: AtomicI64,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
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
        verify_until: None,
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
    Ok(Verifier { key, jwk, until: row.verify_until.map(|t| t.and_utc().timestamp()) })
}

/// The key that signs: the oldest not retired (two instances that both made the first key of an
/// empty database agree on it).
fn signing_row(rows: &[SigningKeyRow]) -> Option<&SigningKeyRow> {
    rows.iter().find(|r| r.verify_until.is_none())
}

fn signer(row: &SigningKeyRow, master: &MasterKeys) -> Result<Signer, String> {
    let der = rsa::RsaPrivateKey::from_pkcs8_pem(&private_pem(row, master)?)
        .and_then(|key| key.to_pkcs8_der())
        .map_err(|e| format!("reading the signing key: {e}"))?;
    let key =
        aws_lc_rs::rsa::KeyPair::from_pkcs8(der.as_bytes()).map_err(|e| format!("loading the signing key: {e}"))?;
    Ok(Signer { kid: row.kid.clone(), key })
}

/// What `rotate` did.
#[derive(Debug)]
pub struct Rotation {
    pub new_kid: String,
    /// The keys it retired, and when they leave the JWKS.
    pub retired: Vec<(String, chrono::NaiveDateTime)>,
    /// Keys retired earlier whose tokens have all expired, deleted now.
    pub deleted: usize,
}

/// `provisioning keys rotate`: retires the signing key and makes a new one sign from now on.
/// Every instance starts signing with it within a second, and verifies with both until the
/// longest token the old one signed (`lifetime` seconds, `tokens::longest_lifetime`) expires.
pub fn rotate(conn: &mut AnyConnection, master: &MasterKeys, lifetime: i64) -> Result<Rotation, String> {
    let row = generate(master)?;
    let new_kid = row.kid.clone();
    conn.transaction(|conn| {
        let now = crate::domain::now();
        let horizon = lifetime + SIGNER_CHECK_MS / 1000 + 1 + CLOCK_SKEW_SECONDS;
        let until = now + chrono::Duration::seconds(horizon);
        let retired: Vec<String> =
            signing_keys::table.filter(signing_keys::verify_until.is_null()).select(signing_keys::kid).load(conn)?;
        diesel::update(signing_keys::table.filter(signing_keys::verify_until.is_null()))
            .set(signing_keys::verify_until.eq(until))
            .execute(conn)?;
        let deleted = diesel::delete(signing_keys::table.filter(signing_keys::verify_until.lt(now))).execute(conn)?;
        diesel::insert_into(signing_keys::table).values(&row).execute(conn)?;
        Ok(Rotation { new_kid, retired: retired.into_iter().map(|kid| (kid, until)).collect(), deleted })
    })
    .map_err(|e: diesel::result::Error| format!("rotating the signing key: {e}"))
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
        // An empty database, or (by hand) every key retired: a new key signs.
        if signing_row(&rows).is_none() {
            let row = generate(master)?;
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(conn)
                .map_err(|e| format!("storing the signing key: {e}"))?;
            rows = load_rows(conn).map_err(|e| format!("loading signing keys: {e}"))?;
        }
        let current = signing_row(&rows).ok_or("no signing key")?;
        let signer = signer(current, master)?;
        let verifiers = rows.iter().map(|r| Ok((r.kid.clone(), verifier(r)?))).collect::<Result<_, String>>()?;
        Ok(KeySet {
            master: master.clone(),
            signer: RwLock::new(Arc::new(signer)),
            verifiers: RwLock::new(verifiers),
            read_at: AtomicI64::new(now_ms()),
        })
    }

    /// The key this instance signs with now. Tests and the grant paths that have no connection
    /// at hand use it; a grant looks for a newer key first (`current`).
    pub fn signer(&self) -> Arc<Signer> {
        self.signer.read().expect("key set lock").clone()
    }

    /// The key to sign with: what this instance knows, after looking at the table if it last
    /// did more than a second ago (another instance may have rotated).
    pub fn current(&self, conn: &mut AnyConnection) -> QueryResult<Arc<Signer>> {
        if now_ms() - self.read_at.load(Ordering::Relaxed) >= SIGNER_CHECK_MS {
            self.refresh(conn)?;
        }
        Ok(self.signer())
    }

    /// The JWK Set (RFC 7517) of every key still published.
    pub fn jwks(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        let verifiers = self.verifiers.read().expect("key set lock");
        let mut keys: Vec<&Value> = verifiers.values().filter(|v| v.published(now)).map(|v| &v.jwk).collect();
        keys.sort_by_key(|k| k["kid"].as_str().unwrap_or_default().to_string());
        json!({ "keys": keys })
    }

    /// Seconds since this instance last read the table.
    pub fn age_seconds(&self) -> i64 {
        (now_ms() - self.read_at.load(Ordering::Relaxed)) / 1000
    }

    /// Reads the table again: keys added, retired or deleted by a rotation, perhaps on another
    /// instance, and the signing key that follows.
    pub fn refresh(&self, conn: &mut AnyConnection) -> QueryResult<()> {
        let rows = load_rows(conn)?;
        self.read_at.store(now_ms(), Ordering::Relaxed);
        {
            let mut verifiers = self.verifiers.write().expect("key set lock");
            verifiers.retain(|kid, _| rows.iter().any(|r| &r.kid == kid));
            for row in &rows {
                let until = row.verify_until.map(|t| t.and_utc().timestamp());
                match verifiers.get_mut(&row.kid) {
                    Some(known) => known.until = until,
                    None => match verifier(row) {
                        Ok(v) => {
                            verifiers.insert(row.kid.clone(), v);
                        }
                        Err(error) => tracing::error!(kid = %row.kid, %error, "a stored signing key does not load"),
                    },
                }
            }
        }
        if let Some(row) = signing_row(&rows).filter(|row| row.kid != self.signer().kid) {
            match signer(row, &self.master) {
                Ok(next) => {
                    tracing::info!(kid = %next.kid, "signing with a new key");
                    *self.signer.write().expect("key set lock") = Arc::new(next);
                }
                // The key stays as it was: its tokens still verify everywhere until it leaves.
                Err(error) => tracing::error!(kid = %row.kid, %error, "the new signing key does not load"),
            }
        }
        Ok(())
    }

    /// Reads the table again for a token naming `kid`, which this instance does not know, unless
    /// it did so in the last moment; whether it knows the key now.
    pub fn refresh_for(&self, conn: &mut AnyConnection, kid: &str) -> QueryResult<bool> {
        if now_ms() - self.read_at.load(Ordering::Relaxed) >= UNKNOWN_KEY_CHECK_MS {
            self.refresh(conn)?;
        }
        Ok(self.decoding_key(kid).is_some())
    }

    /// The key that verifies tokens naming `kid`, while it is published.
    pub fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        let now = chrono::Utc::now().timestamp();
        self.verifiers.read().ok()?.get(kid).filter(|v| v.published(now)).map(|v| v.key.clone())
    }
}
