//! Where the types keep values sealed under the master key (the signing keys aside, which
//! `auth::keys` keeps), and sign-ins in progress theirs: a master-key rotation reseals each.

use diesel::sql_types::Text;
use diesel::QueryableByName;

use crate::db::sql::{quote, Sql};
use crate::db::AnyConnection;
use crate::domain::sealed::{context, MasterKeys};

/// A sealed column: its table, the column, and the name its values are sealed for
/// (`context(table, id, secret)`).
pub struct SealedColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub secret: &'static str,
}

pub const SEALED: &[SealedColumn] = &[
    SealedColumn { table: "identity_providers", column: "client_secret_sealed", secret: "client_secret" },
    SealedColumn { table: "credential_providers", column: "client_secret_sealed", secret: "client_secret" },
    SealedColumn { table: "upstream_credentials", column: "access_token_sealed", secret: "access_token" },
    SealedColumn { table: "sso_logins", column: "upstream_verifier_sealed", secret: "upstream_verifier" },
];

#[derive(QueryableByName)]
struct SealedValue {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sealed: String,
}

/// Reseals under the current master key every value sealed under another; how many it
/// changed. Each value on its own: a run cut short leaves values under keys that still open
/// them, and the next run finishes.
pub fn reseal_all(conn: &mut AnyConnection, master: &MasterKeys) -> Result<usize, String> {
    let mut changed = 0;
    for place in SEALED {
        let (table, column) = (quote(place.table), quote(place.column));
        let values: Vec<SealedValue> =
            Sql::new(&format!("SELECT id, {column} AS sealed FROM {table} WHERE {column} IS NOT NULL"))
                .load(conn)
                .map_err(|e| format!("reading {}.{}: {e}", place.table, place.column))?;
        for value in values.into_iter().filter(|v| !master.is_current(&v.sealed)) {
            let at = context(place.table, &value.id, place.secret);
            let clear = master.open(&at, &value.sealed).map_err(|e| format!("opening {at}: {e}"))?;
            let mut update = Sql::new(&format!("UPDATE {table} SET {column} = "));
            update.text(master.seal(&at, &clear)).push(" WHERE id = ").text(value.id.as_str());
            // Unless it changed meanwhile (a new secret is sealed under the current key).
            update.push(&format!(" AND {column} = ")).text(value.sealed.as_str());
            changed += update.execute(conn).map_err(|e| format!("resealing {at}: {e}"))?;
        }
    }
    Ok(changed)
}
