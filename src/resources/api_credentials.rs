//! `api_credentials`: an organization's OAuth clients. A new or rotated secret is shown once,
//! in the response that made it; only its argon2id hash is kept. The API scopes a credential
//! holds are its `api_scopes` relationship, which also has its own write endpoint.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_credentials, application_memberships, used_assertions};
use crate::db::{grants, AnyConnection};
use crate::domain::policy::{Authorized, CreateIn};
use crate::domain::secrets::{generate_client_id, generate_client_secret, hash_secret};
use crate::domain::{new_id, now, one_of, parse_text};
use crate::error::{ApiError, Invalid, Source};
use crate::jsonapi::document::{Common, Given, Reader, ResourceDocument};
use crate::resources::model::{common_changes, row, stored, Resource};
use crate::resources::roles::{self};
use crate::resources::write::{refuse, required_link, Create, Delete, Tx, Update};
use crate::spec::*;

pub struct ApiCredentials;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "api_credentials",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER),
        Attribute::new("kind", Kind::String, REQUIRED | CREATE | FILTER),
        Attribute::new("confidential", Kind::Boolean, FILTER),
        Attribute::new("redirect_uri", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("client_id", Kind::String, FILTER),
        Attribute::new("client_secret", Kind::String, 0),
        Attribute::new("scopes", Kind::String, FILTER),
        Attribute::new("expires_in", Kind::Integer, CREATE | UPDATE | FILTER),
        Attribute::new("mode", Kind::String, CREATE | FILTER | SORT),
        Attribute::new("custom", Kind::Boolean, CREATE | FILTER),
        Attribute::new("auth_method", Kind::String, CREATE | FILTER),
        Attribute::new("public_key", Kind::String, CREATE),
        Attribute::new("client_secret_expires_at", Kind::Datetime, 0),
        Attribute::new("client_secret_previous_expires_at", Kind::Datetime, 0),
        Attribute::new("_rotate_secret", Kind::Boolean, UPDATE | TRIGGER),
        Attribute::new("_rotate_secret_grace_seconds", Kind::Integer, UPDATE | TRIGGER),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_one("role", "roles", "role_id", CREATE | UPDATE),
        Relationship::to_many("application_memberships", "application_memberships", "api_credential_id"),
        Relationship::through("api_scopes", "api_credential_scopes", "api_credential_id", "api_scope_id")
            .with(CREATE | UPDATE),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct ApiCredential in api_credentials {
        pub organization_id: String,
        pub role_id: Option<String>,
        pub name: String,
        pub kind: String,
        pub redirect_uri: Option<String>,
        pub expires_in: i64,
        pub mode: String,
        pub custom: bool,
        pub auth_method: String,
        pub public_key: Option<String>,
        pub confidential: bool,
        pub scopes: String,
        pub client_id: String,
        #[serde(skip)]
        pub client_secret_hash: Option<String>,
        pub secret_version: i64,
        pub client_secret_expires_at: Option<NaiveDateTime>,
        #[serde(skip)]
        pub previous_secret_hash: Option<String>,
        pub client_secret_previous_expires_at: Option<NaiveDateTime>,
    }
}

impl ApiCredential {
    /// The stored hashes a presented secret may match now: the current one, and the previous
    /// one during a rotation's grace period.
    pub fn valid_secret_hashes(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut hashes: Vec<&str> = self.client_secret_hash.as_deref().into_iter().collect();
        if let (Some(previous), Some(until)) = (&self.previous_secret_hash, self.client_secret_previous_expires_at) {
            if now < until {
                hashes.push(previous);
            }
        }
        hashes
    }

    /// Whether a token granted under `version` of the secret still stands.
    pub fn accepts_secret_version(&self, version: i64, now: NaiveDateTime) -> bool {
        version == self.secret_version
            || (version == self.secret_version - 1
                && self.client_secret_previous_expires_at.is_some_and(|until| now < until))
    }
}

impl Resource for ApiCredentials {
    stored!(api_credentials, ApiCredential, [organization_id, role_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &ApiCredential) -> Attributes<'_> {
        Attributes {
            name: &row.name,
            kind: &row.kind,
            confidential: row.confidential,
            redirect_uri: row.redirect_uri.as_deref(),
            client_id: &row.client_id,
            client_secret: None,
            scopes: &row.scopes,
            expires_in: row.expires_in,
            mode: &row.mode,
            custom: row.custom,
            auth_method: &row.auth_method,
            public_key: row.public_key.as_deref(),
            client_secret_expires_at: row.client_secret_expires_at,
            client_secret_previous_expires_at: row.client_secret_previous_expires_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    kind: &'a str,
    confidential: bool,
    redirect_uri: Option<&'a str>,
    client_id: &'a str,
    /// Shown once, by the response that made it (`Record::reveal`); null on every read.
    client_secret: Option<&'a str>,
    scopes: &'a str,
    expires_in: i64,
    mode: &'a str,
    custom: bool,
    auth_method: &'a str,
    public_key: Option<&'a str>,
    #[serde(serialize_with = "crate::views::optional_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    client_secret_expires_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::views::optional_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    client_secret_previous_expires_at: Option<NaiveDateTime>,
}

pub const KINDS: &[&str] = &["sales_channel", "integration", "webapp"];
pub const MODES: &[&str] = &["test", "live"];
pub const AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT];
pub const PRIVATE_KEY_JWT: &str = "private_key_jwt";
pub const MIN_EXPIRES_IN: i64 = 7200;
pub const MAX_EXPIRES_IN: i64 = 31_536_000;
pub const DEFAULT_GRACE_SECONDS: i64 = 86_400;
/// A rotation's grace period is at most this long (a year).
pub const MAX_GRACE_SECONDS: i64 = 31_536_000;

/// An absolute https URL, or http on localhost or 127.0.0.1 (for development), without a
/// fragment (RFC 6749 §3.1.2).
pub fn parse_redirect_uri(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|_| "must be an absolute URL".to_string())?;
    let local = matches!(url.host_str(), Some("localhost") | Some("127.0.0.1") | Some("[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && local)) || url.host().is_none() {
        return Err("must be an https URL (http only on localhost or 127.0.0.1)".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    if value.len() > 2048 {
        return Err("must be at most 2048 characters".into());
    }
    Ok(value.to_string())
}

/// A PEM RSA or EC public key, as `private_key_jwt` clients sign their assertions with.
pub fn parse_public_key(value: &str) -> Result<String, String> {
    let value = value.trim();
    let key = value.len() <= 16_384
        && (jsonwebtoken::DecodingKey::from_rsa_pem(value.as_bytes()).is_ok()
            || jsonwebtoken::DecodingKey::from_ec_pem(value.as_bytes()).is_ok());
    key.then(|| value.to_string()).ok_or_else(|| "must be a PEM-encoded RSA or EC public key".into())
}

fn check_expires_in(value: i64) -> Result<i64, String> {
    if (MIN_EXPIRES_IN..=MAX_EXPIRES_IN).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN} seconds"))
    }
}

pub struct NewCredential {
    row: ApiCredential,
    scopes: Option<Vec<String>>,
    secret: Option<String>,
}

impl Create for ApiCredentials {
    type New = NewCredential;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<NewCredential, ApiError> {
        let role_id = document.linked("role").flatten();
        let mut reader = Reader::new(document);
        let name = reader.required("name", |v| parse_text(v, 200));
        let kind = reader.required("kind", |v| one_of(v, KINDS));
        let redirect_uri = reader.string("redirect_uri", parse_redirect_uri).value();
        let expires_in = reader.integer("expires_in", check_expires_in);
        let expires_in = reader.not_null("expires_in", expires_in);
        let mode = reader.required("mode", |v| one_of(v, MODES)).unwrap_or_else(|| "test".into());
        let custom = reader.boolean("custom").value().unwrap_or(false);
        let auth_method = reader.required("auth_method", |v| one_of(v, AUTH_METHODS));
        let public_key = reader.string("public_key", parse_public_key).value();
        let common = Common::read(&mut reader);
        let organization_id = required_link(document, "organization")?;
        let Some(kind) = kind else { return Err(reader.finish().err().unwrap_or_else(|| ApiError::internal("kind"))) };
        let confidential = kind != "sales_channel";
        let auth_method = match (confidential, auth_method) {
            (false, Some(m)) if m != "none" => {
                reader.refuse_attribute("auth_method", "A sales_channel is a public client: its auth_method is none.");
                m
            }
            (false, _) => "none".into(),
            (true, Some(m)) if m == "none" => {
                reader.refuse_attribute("auth_method", format!("A {kind} is a confidential client: it needs client_secret_basic, client_secret_post or private_key_jwt."));
                m
            }
            (true, m) => m.unwrap_or_else(|| "client_secret_basic".into()),
        };
        if auth_method == PRIVATE_KEY_JWT && public_key.is_none() {
            reader.refuse_attribute("public_key", "private_key_jwt needs the client's public_key (PEM, RSA or EC).");
        }
        if auth_method != PRIVATE_KEY_JWT && public_key.is_some() {
            reader.refuse_attribute("public_key", "public_key goes only with auth_method private_key_jwt.");
        }
        match (kind.as_str(), role_id.is_some()) {
            ("integration", false) => {
                reader.refuse_relationship("role", "An integration needs a role of its organization.")
            }
            ("sales_channel" | "webapp", true) => {
                reader.refuse_relationship("role", format!("A {kind} takes no role."))
            }
            _ => {}
        }
        if kind == "webapp" && redirect_uri.is_none() {
            reader.refuse_attribute("redirect_uri", "A webapp needs a redirect_uri.");
        }
        reader.finish()?;
        let now = now();
        let secret = auth_method.starts_with("client_secret").then(generate_client_secret);
        let row = ApiCredential {
            id: new_id(),
            organization_id,
            role_id,
            name: name.unwrap_or_default(),
            expires_in: expires_in.unwrap_or(if kind == "sales_channel" { 14_400 } else { 7200 }),
            kind,
            redirect_uri,
            mode,
            custom,
            auth_method,
            public_key,
            confidential,
            scopes: String::new(),
            client_id: generate_client_id(),
            client_secret_hash: None,
            secret_version: 1,
            client_secret_expires_at: None,
            previous_secret_hash: None,
            client_secret_previous_expires_at: None,
            reference: common.reference.value(),
            reference_origin: common.reference_origin.value(),
            metadata: common.metadata.unwrap_or_else(|| "{}".into()),
            created_at: now,
            updated_at: now,
        };
        Ok(NewCredential { row, scopes: document.linked_many("api_scopes"), secret })
    }

    fn hashes(new: &NewCredential) -> bool {
        new.secret.is_some()
    }

    /// argon2id, on its own pool, outside the transaction.
    fn prepare(mut new: NewCredential) -> NewCredential {
        new.row.client_secret_hash = new.secret.as_deref().map(hash_secret);
        new
    }

    fn revealed(new: &NewCredential) -> Option<(&'static str, String)> {
        new.secret.clone().map(|secret| ("client_secret", secret))
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: NewCredential) -> Result<ApiCredential, ApiError> {
        if let Some(role_id) = &new.row.role_id {
            roles::assignable(tx, role_id, &place.organization_id)?;
        }
        let credential = tx.insert::<ApiCredentials>(new.row)?;
        if let Some(scopes) = new.scopes {
            change_grants(tx, &credential, &scopes, Change::Replace, "/data/relationships/api_scopes")?;
            return tx.updated::<ApiCredentials>(&credential, "update");
        }
        Ok(credential)
    }
}

pub struct CredentialChanges {
    name: Option<String>,
    redirect_uri: Given<String>,
    expires_in: Option<i64>,
    role: Option<Option<String>>,
    scopes: Option<Vec<String>>,
    rotation: Option<Rotation>,
    common: Common,
}

pub struct Rotation {
    secret: String,
    hash: Option<String>,
    grace: i64,
}

impl Update for ApiCredentials {
    type Changes = CredentialChanges;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<CredentialChanges, ApiError> {
        let mut reader = Reader::new(document);
        let name = reader.required("name", |v| parse_text(v, 200));
        let redirect_uri = reader.string("redirect_uri", parse_redirect_uri);
        let expires_in = reader.integer("expires_in", check_expires_in);
        let expires_in = reader.not_null("expires_in", expires_in);
        let rotate = reader.trigger("_rotate_secret");
        let grace = reader.integer("_rotate_secret_grace_seconds", |v| {
            (0..=MAX_GRACE_SECONDS)
                .contains(&v)
                .then_some(v)
                .ok_or_else(|| format!("must be from 0 to {MAX_GRACE_SECONDS}"))
        });
        let grace = match reader.not_null("_rotate_secret_grace_seconds", grace) {
            Some(_) if !rotate => {
                reader.refuse_attribute(
                    "_rotate_secret_grace_seconds",
                    "_rotate_secret_grace_seconds goes with _rotate_secret: true.",
                );
                0
            }
            grace => grace.unwrap_or(DEFAULT_GRACE_SECONDS),
        };
        let common = Common::read(&mut reader);
        reader.finish()?;
        Ok(CredentialChanges {
            name,
            redirect_uri,
            expires_in,
            role: document.linked("role"),
            scopes: document.linked_many("api_scopes"),
            rotation: rotate.then(|| Rotation { secret: generate_client_secret(), hash: None, grace }),
            common,
        })
    }

    fn hashes(changes: &CredentialChanges) -> bool {
        changes.rotation.is_some()
    }

    fn prepare(mut changes: CredentialChanges) -> CredentialChanges {
        if let Some(rotation) = &mut changes.rotation {
            rotation.hash = Some(hash_secret(&rotation.secret));
        }
        changes
    }

    fn revealed(changes: &CredentialChanges) -> Option<(&'static str, String)> {
        changes.rotation.as_ref().map(|r| ("client_secret", r.secret.clone()))
    }

    fn update(
        tx: &mut Tx,
        credential: &Authorized<ApiCredential>,
        changes: CredentialChanges,
    ) -> Result<&'static str, ApiError> {
        let role_id = match (changes.role, credential.kind.as_str()) {
            (Some(Some(role_id)), "integration") => {
                Some(Some(roles::assignable(tx, &role_id, &credential.organization_id)?.id))
            }
            (Some(None), "integration") => {
                return Err(ApiError::invalid(Invalid::relationship("role", "An integration needs a role.")))
            }
            (Some(_), kind) => {
                return Err(ApiError::invalid(Invalid::relationship("role", format!("A {kind} takes no role."))))
            }
            (None, _) => None,
        };
        if credential.kind == "webapp" && changes.redirect_uri == Given::Null {
            return Err(refuse("redirect_uri", "A webapp needs a redirect_uri."));
        }
        if changes.rotation.is_some() && credential.client_secret_hash.is_none() {
            return Err(refuse(
                "_rotate_secret",
                format!("This client has no secret to rotate (auth_method {}).", credential.auth_method),
            ));
        }
        diesel::update(api_credentials::table.find(&credential.id))
            .set((
                changes.name.map(|v| api_credentials::name.eq(v)),
                changes.redirect_uri.into_change().map(|v| api_credentials::redirect_uri.eq(v)),
                changes.expires_in.map(|v| api_credentials::expires_in.eq(v)),
                role_id.map(|v| api_credentials::role_id.eq(v)),
                common_changes!(api_credentials, changes.common),
            ))
            .execute(tx.conn)?;
        if let Some(scopes) = changes.scopes {
            change_grants(tx, credential, &scopes, Change::Replace, "/data/relationships/api_scopes")?;
        }
        let Some(rotation) = changes.rotation else { return Ok("update") };
        diesel::update(api_credentials::table.find(&credential.id))
            .set((
                api_credentials::client_secret_hash.eq(rotation.hash),
                api_credentials::secret_version.eq(credential.secret_version + 1),
                api_credentials::previous_secret_hash.eq(credential.client_secret_hash.clone()),
                api_credentials::client_secret_previous_expires_at
                    .eq(Some(now() + chrono::Duration::seconds(rotation.grace))),
            ))
            .execute(tx.conn)?;
        Ok("rotate_secret")
    }
}

impl Delete for ApiCredentials {
    fn check(tx: &mut Tx, credential: &Authorized<ApiCredential>) -> Result<(), ApiError> {
        diesel::delete(
            application_memberships::table.filter(application_memberships::api_credential_id.eq(&credential.id)),
        )
        .execute(tx.conn)?;
        Ok(())
    }
}

/// JSON:API 1.1 §9.3: POST adds members, DELETE removes them, PATCH replaces them all.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
    Replace,
}

/// Changes the scopes a credential holds: every scope must exist for the caller (404) and be
/// of the credential's organization (422 at `pointer`). Returns whether anything changed.
pub fn change_grants(
    tx: &mut Tx,
    credential: &ApiCredential,
    scope_ids: &[String],
    change: Change,
    pointer: &str,
) -> Result<bool, ApiError> {
    let found = grants::scope_organizations(tx.conn, scope_ids)?;
    for scope_id in scope_ids {
        match found.iter().find(|(id, _)| id == scope_id) {
            Some((_, organization)) if *organization == credential.organization_id => {}
            Some((_, organization)) if tx.caller.is_member(organization) => {
                return Err(ApiError::Validation(vec![Invalid {
                    location: Source::pointer(pointer),
                    detail: format!("{scope_id} is not one of this organization's API scopes."),
                }]))
            }
            _ => return Err(ApiError::not_found("api_scopes", scope_id)),
        }
    }
    let changed = match change {
        Change::Add => grants::grant(tx.conn, &credential.id, scope_ids, now())? > 0,
        Change::Remove => grants::revoke(tx.conn, &credential.id, scope_ids)? > 0,
        Change::Replace => {
            let stale: Vec<String> = grants::granted_scope_ids(tx.conn, &credential.id)?
                .into_iter()
                .filter(|id| !scope_ids.contains(id))
                .collect();
            grants::revoke(tx.conn, &credential.id, &stale)? + grants::grant(tx.conn, &credential.id, scope_ids, now())?
                > 0
        }
    };
    grants::refresh_credential_scopes(tx.conn, std::slice::from_ref(&credential.id))?;
    Ok(changed)
}

pub fn find_by_client_id(conn: &mut AnyConnection, client_id: &str) -> QueryResult<Option<ApiCredential>> {
    api_credentials::table
        .filter(api_credentials::client_id.eq(client_id))
        .select(ApiCredential::as_select())
        .first(conn)
        .optional()
}

/// Records a client assertion's jti; false when it was already used (a replay).
pub fn use_assertion(conn: &mut AnyConnection, jti: &str, expires_at: NaiveDateTime) -> QueryResult<bool> {
    diesel::delete(used_assertions::table.filter(used_assertions::expires_at.lt(now()))).execute(conn)?;
    let used: i64 = used_assertions::table.filter(used_assertions::jti.eq(jti)).count().get_result(conn)?;
    if used > 0 {
        return Ok(false);
    }
    diesel::insert_into(used_assertions::table)
        .values((used_assertions::jti.eq(jti), used_assertions::expires_at.eq(expires_at)))
        .execute(conn)?;
    Ok(true)
}
