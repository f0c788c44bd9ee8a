//! `users`: the caller's own user, at the singleton `/api/user`, and the personal provisioning
//! credential each user has (made on the command line; the secret shown once).

use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::db::schema::{memberships, users};
use crate::db::sql::Sql;
use crate::db::AnyConnection;
use crate::domain::letters;
use crate::domain::policy::Authorized;
use crate::domain::secrets::{
    constant_time_eq, generate_client_id, generate_client_secret, generate_email_code, hash_email_code, hash_secret,
    normalize_email_code,
};
use crate::domain::{new_id, now, parse_email, parse_text};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::model::{common_changes, row, stored, Resource};
use crate::resources::write::{duplicate, Tx, Update};
use crate::spec::query::Value;
use crate::spec::*;

pub struct Users;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "users",
    attributes: &[
        Attribute::new("email", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("first_name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("last_name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("time_zone", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("otp_required_for_login", Kind::Boolean, 0),
        // An email change waiting for its code: `email` changes only when the code comes back.
        Attribute::new("unconfirmed_email", Kind::String, 0),
        Attribute::new("_confirm_email_code", Kind::String, UPDATE | TRIGGER),
    ],
    relationships: &[],
    tenancy: Tenancy::Caller,
};

row! {
    pub struct User in users {
        pub email: String,
        pub first_name: String,
        pub last_name: String,
        pub time_zone: Option<String>,
        pub otp_required_for_login: bool,
        pub client_id: String,
        #[serde(skip)]
        pub client_secret_hash: String,
        /// Bumped whenever what the user may do changes (see `db::statements::touch_grants`).
        #[serde(skip)]
        pub grants_version: i64,
        pub unconfirmed_email: Option<String>,
        #[serde(skip)]
        pub email_code_hash: Option<String>,
        #[serde(skip)]
        pub email_code_expires_at: Option<chrono::NaiveDateTime>,
    }
}

/// The credential never renders: the secret is shown once, by the command that made it.
impl Resource for Users {
    stored!(users, User, []);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &User) -> Attributes<'_> {
        Attributes {
            email: &row.email,
            first_name: &row.first_name,
            last_name: &row.last_name,
            time_zone: row.time_zone.as_deref(),
            otp_required_for_login: row.otp_required_for_login,
            unconfirmed_email: row.unconfirmed_email.as_deref(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    time_zone: Option<&'a str>,
    otp_required_for_login: bool,
    unconfirmed_email: Option<&'a str>,
}

/// A client id and the plain secret, shown once and never stored (nor printed by Debug).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<User>> {
    Users::find(conn, id)
}

pub fn find_by_client_id(conn: &mut AnyConnection, client_id: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::client_id.eq(client_id)).select(User::as_select()).first(conn).optional()
}

pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<User>> {
    // Emails are unique whatever their case (the index is on lower(email)).
    let mut sql = Sql::new("SELECT * FROM users WHERE lower(email) = lower(");
    sql.text(email).push(")");
    Ok(sql.load::<User>(conn)?.into_iter().next())
}

pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Memberships waiting for this email become the user's, and active. `user.email` is confirmed:
/// the operator gave it on the command line, or the user sent back the code mailed to it.
pub fn activate_memberships(conn: &mut AnyConnection, user: &User) -> QueryResult<usize> {
    let mut sql = Sql::new("UPDATE memberships SET user_id = ");
    sql.text(&user.id)
        .push(", status = 'active', user_first_name = ")
        .text(&user.first_name)
        .push(", user_last_name = ")
        .text(&user.last_name)
        .push(", updated_at = ")
        .bind(Value::Timestamp(now()))
        .push(" WHERE status = 'pending' AND lower(user_email) = lower(")
        .text(&user.email)
        .push(")");
    let activated = sql.execute(conn)?;
    if activated > 0 {
        crate::db::statements::touch_user_grants(conn, &user.id)?;
    }
    Ok(activated)
}

/// Creates a user with a fresh credential. Hashes with argon2: call on the blocking pool.
pub fn create(
    conn: &mut AnyConnection,
    email: &str,
    first_name: &str,
    last_name: &str,
) -> Result<(User, Credentials), ApiError> {
    let mut problems = Vec::new();
    let mut check = |name: &str, checked: Result<String, String>| {
        checked.map_err(|why| problems.push(Invalid::attribute(name, format!("{name} {why}.")))).ok()
    };
    let email = check("email", parse_email(email));
    let first = check("first_name", parse_text(first_name, 100));
    let last = check("last_name", parse_text(last_name, 100));
    let (Some(email), Some(first), Some(last)) = (email, first, last) else {
        return Err(ApiError::Validation(problems));
    };
    if find_by_email(conn, &email)?.is_some() {
        return Err(duplicate("email", "A user with this email already exists."));
    }
    let credentials = Credentials { client_id: generate_client_id(), client_secret: generate_client_secret().into() };
    let secret_hash = hash_secret(credentials.client_secret.expose_secret());
    let user = new_user(email, first, last, credentials.client_id.clone(), secret_hash);
    conn.transaction(|conn| {
        Users::insert(conn, &user)?;
        activate_memberships(conn, &user)?;
        Ok::<_, ApiError>(())
    })?;
    Ok((user, credentials))
}

/// Replaces the user's secret; the old one stops working at once. Hashes with argon2.
pub fn rotate_secret(conn: &mut AnyConnection, email: &str) -> Result<Credentials, ApiError> {
    let user =
        find_by_email(conn, email)?.ok_or_else(|| ApiError::NotFound(format!("No user with email {email:?}.")))?;
    let secret = generate_client_secret();
    diesel::update(users::table.find(&user.id))
        .set((users::client_secret_hash.eq(hash_secret(&secret)), users::updated_at.eq(now())))
        .execute(conn)?;
    Ok(Credentials { client_id: user.client_id, client_secret: secret.into() })
}

/// Time zones are IANA names (`Europe/Rome`, `UTC`).
fn parse_time_zone(value: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&value.len())
        && value
            .split('/')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c)));
    valid.then(|| value.to_string()).ok_or_else(|| "must be a time zone name like Europe/Rome".into())
}

pub struct Changes {
    email: Option<String>,
    confirm_code: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    time_zone: Option<Option<String>>,
    common: Common,
}

impl Update for Users {
    type Changes = Changes;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Changes, ApiError> {
        let mut reader = Reader::new(document);
        let changes = Changes {
            email: reader.required("email", parse_email),
            confirm_code: reader.required("_confirm_email_code", |v| {
                let code = normalize_email_code(v);
                (!code.is_empty() && code.len() <= 64)
                    .then_some(code)
                    .ok_or_else(|| "must be the code mailed to you".into())
            }),
            first_name: reader.required("first_name", |v| parse_text(v, 100)),
            last_name: reader.required("last_name", |v| parse_text(v, 100)),
            time_zone: reader.string("time_zone", parse_time_zone).into_change(),
            common: Common::read(&mut reader),
        };
        if changes.email.is_some() && changes.confirm_code.is_some() {
            reader.errors.push(Invalid::attribute(
                "_confirm_email_code",
                "Send the code on its own: it confirms the address it was mailed to.",
            ));
        }
        reader.finish()?;
        Ok(changes)
    }

    fn update(tx: &mut Tx, record: &Authorized<User>, changes: Changes) -> Result<&'static str, ApiError> {
        if let Some(email) = &changes.email {
            ask_email_change(tx, record, email)?;
        }
        if let Some(code) = &changes.confirm_code {
            confirm_email(tx, record, code)?;
        }
        diesel::update(users::table.find(&record.id))
            .set((
                changes.first_name.as_ref().map(|v| users::first_name.eq(v)),
                changes.last_name.as_ref().map(|v| users::last_name.eq(v)),
                changes.time_zone.map(|v| users::time_zone.eq(v)),
                common_changes!(users, changes.common),
            ))
            .execute(tx.conn)?;
        // Memberships show their user's name.
        if changes.first_name.is_some() || changes.last_name.is_some() {
            diesel::update(memberships::table.filter(memberships::user_id.eq(&record.id)))
                .set((
                    changes.first_name.map(|v| memberships::user_first_name.eq(Some(v))),
                    changes.last_name.map(|v| memberships::user_last_name.eq(Some(v))),
                ))
                .execute(tx.conn)?;
        }
        Ok("update")
    }
}

fn taken(conn: &mut AnyConnection, email: &str, user_id: &str) -> Result<(), ApiError> {
    if find_by_email(conn, email)?.is_some_and(|u| u.id != user_id) {
        return Err(duplicate("email", "A user with this email already exists."));
    }
    Ok(())
}

/// A new email waits, unconfirmed, for the code mailed to it; the current address hears of it.
/// The current address again cancels a waiting change.
fn ask_email_change(tx: &mut Tx, user: &User, email: &str) -> Result<(), ApiError> {
    let pending = if email.eq_ignore_ascii_case(&user.email) {
        None
    } else {
        taken(tx.conn, email, &user.id)?;
        let code = generate_email_code();
        tx.mail(letters::email_code(email, &user.first_name, &code));
        tx.mail(letters::email_change_asked(&user.email, &user.first_name, email));
        let expires = now() + chrono::Duration::minutes(letters::EMAIL_CODE_MINUTES);
        Some((email.to_string(), hash_email_code(&user.id, &code), expires))
    };
    let (email, hash, expires) = match pending {
        Some((email, hash, expires)) => (Some(email), Some(hash), Some(expires)),
        None => (None, None, None),
    };
    diesel::update(users::table.find(&user.id))
        .set((
            users::unconfirmed_email.eq(email),
            users::email_code_hash.eq(hash),
            users::email_code_expires_at.eq(expires),
            users::updated_at.eq(now()),
        ))
        .execute(tx.conn)?;
    Ok(())
}

/// The right code, in time, makes the waiting address the user's email, once: memberships
/// follow it, and invitations to it are accepted.
fn confirm_email(tx: &mut Tx, user: &User, code: &str) -> Result<(), ApiError> {
    let wrong = |detail: &str| ApiError::invalid(Invalid::attribute("_confirm_email_code", detail));
    let (Some(email), Some(hash), Some(expires)) =
        (&user.unconfirmed_email, &user.email_code_hash, user.email_code_expires_at)
    else {
        return Err(wrong("No email change is waiting for a code: send the new email first."));
    };
    if expires <= now() {
        return Err(wrong("The code has expired: send the new email again for a new code."));
    }
    if !constant_time_eq(&hash_email_code(&user.id, code), hash) {
        return Err(wrong("This is not the code mailed to the new address."));
    }
    taken(tx.conn, email, &user.id)?;
    diesel::update(users::table.find(&user.id))
        .set((
            users::email.eq(email),
            users::unconfirmed_email.eq(None::<String>),
            users::email_code_hash.eq(None::<String>),
            users::email_code_expires_at.eq(None::<chrono::NaiveDateTime>),
            users::updated_at.eq(now()),
        ))
        .execute(tx.conn)?;
    // An invitation to the new address where the user is a member already has served its turn.
    let mut sql = Sql::new("DELETE FROM memberships WHERE status = 'pending' AND lower(user_email) = lower(");
    sql.text(email).push(") AND organization_id IN (SELECT organization_id FROM memberships WHERE user_id = ");
    sql.text(&user.id).push(")");
    sql.execute(tx.conn)?;
    diesel::update(memberships::table.filter(memberships::user_id.eq(&user.id)))
        .set(memberships::user_email.eq(email.to_lowercase()))
        .execute(tx.conn)?;
    let confirmed = User { email: email.clone(), ..user.clone() };
    activate_memberships(tx.conn, &confirmed)?;
    Ok(())
}

/// A new user's row: confirmed email, no time zone, nothing else set.
fn new_user(
    email: String,
    first_name: String,
    last_name: String,
    client_id: String,
    client_secret_hash: String,
) -> User {
    let now = now();
    User {
        id: new_id(),
        email,
        first_name,
        last_name,
        time_zone: None,
        otp_required_for_login: false,
        client_id,
        client_secret_hash,
        grants_version: 0,
        unconfirmed_email: None,
        email_code_hash: None,
        email_code_expires_at: None,
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_rows_do_not_print_secrets() {
        let credentials = Credentials { client_id: "id".into(), client_secret: "s3cr3t-value".to_string().into() };
        assert!(!format!("{credentials:?}").contains("s3cr3t-value"));
        let user = User {
            id: "u1".into(),
            email_code_hash: Some("code-hash".into()),
            ..new_user("a@example.com".into(), "A".into(), "B".into(), "id".into(), "$argon2id$the-hash".into())
        };
        let shown = format!("{user:?}");
        assert!(shown.contains("u1") && !shown.contains("the-hash") && !shown.contains("code-hash"), "{shown}");
    }
}
