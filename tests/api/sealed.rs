//! Sealed secrets (issue 10, item 1): the token signing keys are kept sealed under the master
//! key, never in clear; a database from before sealing is sealed on its next start; the
//! master key rotates with tokens surviving; PostgreSQL requires a master key; SQLite makes
//! its own key file, readable by its owner only.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use provisioning::domain::sealed::{context, MasterKeys};
use provisioning::startup::Application;

use crate::helpers::{settings, spawn_app, TestApp, TEST_MASTER_KEY};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    kid: String,
    #[diesel(sql_type = Text)]
    private_key_pem: String,
    #[diesel(sql_type = Nullable<Text>)]
    private_key_sealed: Option<String>,
}

/// Runs `work` on a connection of the backend `url` names.
fn with_connection<T>(url: &str, work: impl FnOnce(&mut dyn Runner) -> T) -> T {
    if url.starts_with("postgres") {
        work(&mut PgConnection::establish(url).unwrap())
    } else {
        work(&mut SqliteConnection::establish(provisioning::db::sqlite_path(url)).unwrap())
    }
}

/// The few raw statements these tests need, on either backend.
trait Runner {
    fn text_columns(&mut self) -> Vec<Column>;
    fn count(&mut self, sql: &str) -> i64;
    fn keys(&mut self) -> Vec<Key>;
    fn put_in_clear(&mut self, kid: &str, pem: &str);
}

macro_rules! runner {
    ($connection:ty, $columns:expr, $update:expr) => {
        impl Runner for $connection {
            fn text_columns(&mut self) -> Vec<Column> {
                diesel::sql_query($columns).load(self).unwrap()
            }
            fn count(&mut self, sql: &str) -> i64 {
                diesel::sql_query(sql).get_result::<Count>(self).unwrap().n
            }
            fn keys(&mut self) -> Vec<Key> {
                diesel::sql_query("SELECT kid, private_key_pem, private_key_sealed FROM signing_keys")
                    .load(self)
                    .unwrap()
            }
            fn put_in_clear(&mut self, kid: &str, pem: &str) {
                diesel::sql_query($update).bind::<Text, _>(pem).bind::<Text, _>(kid).execute(self).unwrap();
            }
        }
    };
}

runner!(
    PgConnection,
    "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
     WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')",
    "UPDATE signing_keys SET private_key_pem = $1, private_key_sealed = NULL WHERE kid = $2"
);
runner!(
    SqliteConnection,
    "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND (upper(p.type) LIKE '%TEXT%' OR upper(p.type) LIKE '%CHAR%')",
    "UPDATE signing_keys SET private_key_pem = ?, private_key_sealed = NULL WHERE kid = ?"
);

/// The master keys this test deployment runs with.
fn master_of(app: &TestApp) -> MasterKeys {
    crate::helpers::master_keys(&app.database_url)
}

/// How many text cells in the whole database hold `needle` (letters, digits, ` `, `:`, `-`,
/// `.` and `_`, which LIKE takes for any character: a count that can only err high).
pub fn cells_holding(url: &str, needle: &str) -> i64 {
    assert!(needle.chars().all(|c| c.is_ascii_alphanumeric() || " :-._".contains(c)), "{needle}");
    with_connection(url, |conn| {
        let columns = conn.text_columns();
        assert!(columns.iter().any(|c| c.table_name == "signing_keys" && c.column_name == "private_key_sealed"));
        columns
            .iter()
            .map(|c| {
                conn.count(&format!(
                    "SELECT COUNT(*) AS n FROM \"{}\" WHERE \"{}\" LIKE '%{needle}%'",
                    c.table_name, c.column_name
                ))
            })
            .sum()
    })
}

/// How many text cells in the whole database hold a private key in clear.
fn keys_in_clear(url: &str) -> i64 {
    cells_holding(url, "PRIVATE KEY")
}

/// The app's token answers at the instance at `base`.
async fn user_at(app: &TestApp, base: &str) {
    let request = app.client().get(format!("{base}/api/user"));
    let response = app.send(request.insert_header(("authorization", format!("Bearer {}", app.token))), None).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[actix_rt::test]
async fn signing_keys_are_sealed_and_a_database_from_before_is_sealed_on_its_next_start() {
    let app = spawn_app().await;
    let url = app.database_url.clone();
    assert_eq!(keys_in_clear(&url), 0, "no private key in clear in any text column");
    let keys = with_connection(&url, |conn| conn.keys());
    assert!(!keys.is_empty());
    let master = master_of(&app);
    for key in &keys {
        let sealed = key.private_key_sealed.as_deref().expect("sealed");
        assert!(sealed.starts_with(&format!("sealed:v1:{}:", master.current())), "{sealed}");
        assert!(key.private_key_pem.is_empty());
    }

    // Put the key back in clear, as a database from before sealing holds it.
    let key = &keys[0];
    let sealed = key.private_key_sealed.clone().unwrap();
    let pem =
        String::from_utf8(master.open(&context("signing_keys", &key.kid, "private_key"), &sealed).unwrap()).unwrap();
    assert!(pem.contains("PRIVATE KEY"));
    with_connection(&url, |conn| conn.put_in_clear(&key.kid, &pem));
    assert_eq!(keys_in_clear(&url), 1);
    // The next start seals it, and the tokens signed before still count.
    let second = app.another_instance(|_| {}).await;
    assert_eq!(keys_in_clear(&url), 0);
    let response = app.send(app.request(awc::http::Method::GET, "/api/user"), None).await;
    assert_eq!(response.status, 200);
    user_at(&app, &second).await;
}

#[actix_rt::test]
async fn the_master_key_rotates_and_tokens_survive_it() {
    let app = spawn_app().await;
    let old = master_of(&app);
    let new_key = provisioning::domain::sealed::generate_key();
    let old_text = match settings(&app.database_url).master_key {
        Some(_) => TEST_MASTER_KEY.to_string(),
        None => std::fs::read_to_string(settings(&app.database_url).default_master_key_file().unwrap()).unwrap(),
    };
    use secrecy::ExposeSecret;
    let mut both = settings(&app.database_url);
    both.master_key = Some(format!("{},{}", new_key.expose_secret(), old_text.trim()).parse().unwrap());
    // Secrets the types keep sealed: an identity provider's and a credential provider's.
    let organization = app.create_organization(serde_json::json!({"name": "Acme"})).await["id"].clone();
    let identity_provider = serde_json::json!({"data": {"type": "identity_providers", "attributes": {
        "name": "IdP", "client_id": "c", "client_secret": "idp-secret-R4t", "issuer": "https://idp.acme.test",
        "domains": "acme.test", "authorize_url": "https://idp.acme.test/a", "token_url": "https://idp.acme.test/t",
        "jwks_url": "https://idp.acme.test/k", "organization": organization}}});
    assert_eq!(app.post("/api/identity_providers", &identity_provider).await.status, 201);
    let credential_provider = serde_json::json!({"data": {"type": "credential_providers", "attributes": {
        "identifier": "up", "name": "Up", "client_id": "c", "client_secret": "cp-secret-W2q",
        "token_endpoint": "https://up.example/token"},
        "relationships": {"organization": {"data": {"type": "organizations", "id": organization}}}}});
    assert_eq!(app.post("/api/credential_providers", &credential_provider).await.status, 201);
    let under = |key: &str| format!("sealed:v1:{key}:");
    assert_eq!(cells_holding(&app.database_url, &under(old.current())), 3);

    let (current, changed) = provisioning::startup::rotate_master_key(&both).await.expect("rotating");
    assert_ne!(current, old.current());
    assert_eq!(changed, 3, "the signing key and both secrets");
    assert_eq!(cells_holding(&app.database_url, &under(old.current())), 0, "nothing left under the old key");
    assert_eq!(cells_holding(&app.database_url, &under(&current)), 3);
    // Again: nothing left to reseal.
    assert_eq!(provisioning::startup::rotate_master_key(&both).await.unwrap().1, 0);

    // An instance with the new key alone starts, verifies the old tokens, and signs new ones.
    let new_only = new_key.expose_secret().to_string();
    let second = app.another_instance(|s| s.master_key = Some(new_only.parse().unwrap())).await;
    user_at(&app, &second).await;
    let grant = serde_json::json!({"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret});
    let response = app
        .send(
            app.client().post(format!("{second}/oauth/token")).insert_header(("content-type", "application/json")),
            Some(grant.to_string()),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);

    // The old key alone no longer opens the signing key: the start is refused, saying why.
    let mut old_only = settings(&app.database_url);
    old_only.master_key = Some(old_text.trim().parse().unwrap());
    let refused = Application::build(old_only).await.err().expect("refused");
    assert!(refused.contains(&current) && refused.contains("MASTER_KEY"), "{refused}");
}

#[actix_rt::test]
async fn sqlite_makes_its_own_key_file_and_rotates_it_and_postgres_requires_a_key() {
    let app = spawn_app().await;
    let plain = settings(&app.database_url);
    if plain.master_key.is_some() {
        // PostgreSQL: without a key, a start is refused and says what to set.
        let mut without = plain.clone();
        without.master_key = None;
        let refused = Application::build(without).await.err().expect("refused");
        assert!(refused.contains("MASTER_KEY or MASTER_KEY_FILE"), "{refused}");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let file = plain.default_master_key_file().unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the key file");
    let before = std::fs::read_to_string(&file).unwrap();
    assert_eq!(before.lines().count(), 1);
    // Rotation with the default file puts a new key at its top and reseals under it.
    let (current, changed) = provisioning::startup::rotate_master_key(&plain).await.unwrap();
    assert!(changed >= 1);
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(after.lines().count(), 2);
    assert_eq!(after.lines().nth(1), before.lines().next());
    assert_eq!(after.parse::<MasterKeys>().unwrap().current(), current);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let second = app.another_instance(|_| {}).await;
    user_at(&app, &second).await;
}
