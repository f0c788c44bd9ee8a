//! Users and their personal provisioning credential.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::resources::ResourceType;
use crate::db::schema::users;
use crate::db::sql::{Select, Sql, Value};
use crate::db::AnyConnection;
use crate::domain::secrets::{generate_client_id, generate_client_secret, hash_secret};
use crate::error::{ApiError, Invalid};
use crate::jsonapi::spec::ResourceSpec;
use crate::views::{self, ResourceObject};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub time_zone: Option<String>,
    pub otp_required_for_login: bool,
    pub client_id: String,
    pub client_secret_hash: String,
    pub reference: Option<String>,
    pub reference_origin: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub time_zone: Option<Option<String>>,
    pub reference: Option<Option<String>>,
    pub reference_origin: Option<Option<String>>,
    pub metadata: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// A client id and the plain secret, shown once and never stored.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

pub struct Users;

impl ResourceType for Users {
    fn spec(&self) -> &'static ResourceSpec {
        &views::users::SPEC
    }

    fn load(&self, conn: &mut AnyConnection, select: &Select) -> QueryResult<Vec<ResourceObject>> {
        Ok(select.rows().load::<User>(conn)?.into_iter().map(views::users::render).collect())
    }
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).optional()
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

/// Memberships waiting for this email become the user's, and active.
pub fn activate_memberships(conn: &mut AnyConnection, user: &User) -> QueryResult<usize> {
    let mut sql = Sql::new("UPDATE memberships SET user_id = ");
    sql.text(&user.id)
        .push(", status = 'active', user_first_name = ")
        .text(&user.first_name)
        .push(", user_last_name = ")
        .text(&user.last_name)
        .push(", updated_at = ")
        .bind(Value::Timestamp(crate::domain::now()))
        .push(" WHERE status = 'pending' AND lower(user_email) = lower(")
        .text(&user.email)
        .push(")");
    sql.execute(conn)
}

/// Creates a user with a fresh credential. Hashes with argon2: call on the blocking pool.
pub fn create(
    conn: &mut AnyConnection,
    email: &str,
    first_name: &str,
    last_name: &str,
) -> Result<(User, Credentials), ApiError> {
    let mut problems = Vec::new();
    let email = crate::domain::parse_email(email)
        .map_err(|why| problems.push(Invalid::attribute("email", format!("email {why}."))))
        .ok();
    let first = crate::domain::parse_text(first_name, 100)
        .map_err(|why| problems.push(Invalid::attribute("first_name", format!("first_name {why}."))))
        .ok();
    let last = crate::domain::parse_text(last_name, 100)
        .map_err(|why| problems.push(Invalid::attribute("last_name", format!("last_name {why}."))))
        .ok();
    let (Some(email), Some(first), Some(last)) = (email, first, last) else {
        return Err(ApiError::Validation(problems));
    };
    if find_by_email(conn, &email)?.is_some() {
        return Err(ApiError::invalid(Invalid::attribute("email", "A user with this email already exists.")));
    }
    let credentials = Credentials { client_id: generate_client_id(), client_secret: generate_client_secret() };
    let now = crate::domain::now();
    let user = User {
        id: crate::domain::new_id(),
        email,
        first_name: first,
        last_name: last,
        time_zone: None,
        otp_required_for_login: false,
        client_id: credentials.client_id.clone(),
        client_secret_hash: hash_secret(&credentials.client_secret),
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    conn.transaction(|conn| {
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&user.id),
                users::email.eq(&user.email),
                users::first_name.eq(&user.first_name),
                users::last_name.eq(&user.last_name),
                users::otp_required_for_login.eq(false),
                users::client_id.eq(&user.client_id),
                users::client_secret_hash.eq(&user.client_secret_hash),
                users::metadata.eq("{}"),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
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
        .set((users::client_secret_hash.eq(hash_secret(&secret)), users::updated_at.eq(crate::domain::now())))
        .execute(conn)?;
    Ok(Credentials { client_id: user.client_id, client_secret: secret })
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &UserChanges) -> Result<User, ApiError> {
    if let Some(email) = &changes.email {
        if find_by_email(conn, email)?.is_some_and(|u| u.id != id) {
            return Err(ApiError::invalid(Invalid::attribute("email", "A user with this email already exists.")));
        }
    }
    diesel::update(users::table.find(id)).set(changes).execute(conn)?;
    find(conn, id)?.ok_or_else(|| ApiError::not_found("users", id))
}
