//! Sign-ins through an identity provider, kept from `/oauth/authorize` to the code the client
//! exchanges at `/oauth/token` (table `sso_logins`). Each step happens once: the provider's
//! answer is taken once, the code is exchanged once, and only while they are fresh.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::sso_logins;
use crate::db::AnyConnection;
use crate::domain::now;

/// How long a sign-in may take at the provider, and how long its code is good for.
pub const LOGIN_MINUTES: i64 = 10;
pub const CODE_SECONDS: i64 = 60;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_logins)]
pub struct Login {
    /// The `state` sent to the provider.
    pub id: String,
    pub identity_provider_id: String,
    pub api_credential_id: String,
    pub redirect_uri: String,
    pub client_state: Option<String>,
    /// The client's PKCE challenge (S256).
    pub code_challenge: String,
    pub nonce: String,
    pub upstream_verifier_sealed: String,
    #[diesel(deserialize_as = crate::db::time::StoredTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::time::StoredTime)]
    pub expires_at: NaiveDateTime,
    pub returned_at: Option<NaiveDateTime>,
    pub user_id: Option<String>,
    pub code_hash: Option<String>,
    pub code_expires_at: Option<NaiveDateTime>,
    pub code_used_at: Option<NaiveDateTime>,
}

/// Where the verifier sent upstream is sealed.
pub fn verifier_place(id: &str) -> String {
    crate::domain::sealed::context("sso_logins", id, "upstream_verifier")
}

pub fn expiry() -> NaiveDateTime {
    now() + Duration::minutes(LOGIN_MINUTES)
}

/// Starts a sign-in; sign-ins over a day old go.
pub fn start(conn: &mut AnyConnection, login: &Login) -> QueryResult<()> {
    diesel::delete(sso_logins::table.filter(sso_logins::expires_at.lt(now() - Duration::days(1)))).execute(conn)?;
    diesel::insert_into(sso_logins::table).values(login).execute(conn)?;
    Ok(())
}

/// The sign-in the provider's answer names by `state`, taken: only once, only while fresh.
pub fn returned(conn: &mut AnyConnection, state: &str) -> QueryResult<Option<Login>> {
    let at = now();
    let taken = diesel::update(
        sso_logins::table
            .filter(sso_logins::id.eq(state))
            .filter(sso_logins::returned_at.is_null())
            .filter(sso_logins::expires_at.gt(at)),
    )
    .set(sso_logins::returned_at.eq(at))
    .execute(conn)?;
    if taken == 0 {
        return Ok(None);
    }
    sso_logins::table.find(state).select(Login::as_select()).first(conn).optional()
}

/// SHA-256 of a code or verifier, hex.
pub fn digest(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Records who signed in and the code the client gets for it (kept as its digest).
pub fn signed_in(conn: &mut AnyConnection, id: &str, user_id: &str, code: &str) -> QueryResult<()> {
    diesel::update(sso_logins::table.find(id))
        .set((
            sso_logins::user_id.eq(user_id),
            sso_logins::code_hash.eq(digest(code)),
            sso_logins::code_expires_at.eq(now() + Duration::seconds(CODE_SECONDS)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The sign-in a code names, used: only once, only while fresh.
pub fn redeem(conn: &mut AnyConnection, code: &str) -> QueryResult<Option<Login>> {
    let (at, hash) = (now(), digest(code));
    let used = diesel::update(
        sso_logins::table
            .filter(sso_logins::code_hash.eq(&hash))
            .filter(sso_logins::code_used_at.is_null())
            .filter(sso_logins::code_expires_at.gt(at)),
    )
    .set(sso_logins::code_used_at.eq(at))
    .execute(conn)?;
    if used == 0 {
        return Ok(None);
    }
    sso_logins::table.filter(sso_logins::code_hash.eq(&hash)).select(Login::as_select()).first(conn).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
