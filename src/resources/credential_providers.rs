//! `credential_providers` (Keycard's model): an organization's upstream OAuth 2.0 / OpenID
//! authorization server, which issues the credential a client needs to call one of the
//! organization's API resources (`api_resources.credential_provider`). Its client secret is
//! sealed under the master key and never rendered, only whether there is one
//! (`client_secret_set`). The credentials it issues are kept sealed in `upstream_credentials`
//! until shortly before they expire; a change of the provider drops them.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_resources, credential_providers, upstream_credentials};
use crate::domain::policy::{Authorized, CreateIn};
use crate::domain::sealed::context;
use crate::domain::{parse_http_url, parse_text};
use crate::error::ApiError;
use crate::jsonapi::document::{Common, Given, Reader, ResourceDocument};
use crate::resources::model::{common_changes, new_row, row, stored, Resource};
use crate::resources::write::{duplicate, Create, Delete, Tx, Update};
use crate::spec::*;

pub struct CredentialProviders;

const URL: u8 = CREATE | UPDATE | FILTER | SORT;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "credential_providers",
    attributes: &[
        Attribute::new("identifier", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("description", Kind::String, CREATE | UPDATE | FILTER),
        Attribute::new("client_id", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("client_secret", Kind::String, CREATE | UPDATE | WRITE_ONLY),
        Attribute::new("client_secret_set", Kind::Boolean, 0),
        Attribute::new("issuer", Kind::String, URL),
        Attribute::new("authorization_endpoint", Kind::String, URL),
        Attribute::new("token_endpoint", Kind::String, REQUIRED | URL),
        Attribute::new("jwks_uri", Kind::String, URL),
        Attribute::new("scopes_supported", Kind::Strings, CREATE | UPDATE),
        Attribute::new("scope_separator", Kind::String, CREATE | UPDATE),
        Attribute::new("token_response_access_token_pointer", Kind::String, CREATE | UPDATE),
        Attribute::new("token_exchange", Kind::Boolean, CREATE | UPDATE | FILTER),
    ],
    relationships: &[
        Relationship::to_one("organization", "organizations", "organization_id", CREATE | REQUIRED),
        Relationship::to_many("api_resources", "api_resources", "credential_provider_id"),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization_id"),
};

row! {
    pub struct CredentialProvider in credential_providers {
        pub organization_id: String,
        pub identifier: String,
        pub name: String,
        pub description: Option<String>,
        pub client_id: String,
        /// Sealed under the master key at `secret_place(id)`; none for a public client.
        #[serde(skip)]
        pub client_secret_sealed: Option<String>,
        pub issuer: Option<String>,
        pub authorization_endpoint: Option<String>,
        pub token_endpoint: String,
        pub jwks_uri: Option<String>,
        /// A JSON array of strings.
        #[serde(serialize_with = "crate::views::json")]
        pub scopes_supported: String,
        pub scope_separator: String,
        pub token_response_access_token_pointer: String,
        pub token_exchange: bool,
    }
}

/// Where a provider's client secret is sealed.
pub fn secret_place(id: &str) -> String {
    context("credential_providers", id, "client_secret")
}

impl CredentialProvider {
    pub fn scopes(&self) -> Vec<String> {
        serde_json::from_str(&self.scopes_supported).unwrap_or_default()
    }
}

impl Resource for CredentialProviders {
    stored!(credential_providers, CredentialProvider, [organization_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &CredentialProvider) -> Attributes<'_> {
        Attributes {
            identifier: &row.identifier,
            name: &row.name,
            description: row.description.as_deref(),
            client_id: &row.client_id,
            client_secret_set: row.client_secret_sealed.is_some(),
            issuer: row.issuer.as_deref(),
            authorization_endpoint: row.authorization_endpoint.as_deref(),
            token_endpoint: &row.token_endpoint,
            jwks_uri: row.jwks_uri.as_deref(),
            scopes_supported: &row.scopes_supported,
            scope_separator: &row.scope_separator,
            token_response_access_token_pointer: &row.token_response_access_token_pointer,
            token_exchange: row.token_exchange,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    /// Unique in the organization.
    identifier: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    client_id: &'a str,
    /// Whether a client secret is kept (sealed; it is never shown).
    client_secret_set: bool,
    issuer: Option<&'a str>,
    authorization_endpoint: Option<&'a str>,
    /// Where credentials are obtained: client credentials, or RFC 8693 token exchange.
    token_endpoint: &'a str,
    jwks_uri: Option<&'a str>,
    /// The scopes the provider issues; of a client's scopes for a resource, those listed here
    /// are asked for upstream.
    #[serde(serialize_with = "crate::views::json")]
    #[schema(value_type = Vec<String>)]
    scopes_supported: &'a str,
    /// What separates scopes in the upstream `scope` parameter (a space by default).
    scope_separator: &'a str,
    /// A JSON pointer (RFC 6901) to the credential in the upstream token response.
    token_response_access_token_pointer: &'a str,
    /// Exchange the client's own token (RFC 8693) rather than use client credentials.
    token_exchange: bool,
}

const MAX_SCOPES: usize = 100;

/// One to four characters, none a letter, digit or control character (` `, `,`, `+`…).
fn parse_separator(value: &str) -> Result<String, String> {
    let fine = |c: char| !c.is_alphanumeric() && !c.is_control();
    match (1..=4).contains(&value.chars().count()) && value.chars().all(fine) {
        true => Ok(value.to_string()),
        false => Err("must be one to four characters, none a letter, a digit or a control character".into()),
    }
}

/// A JSON pointer (RFC 6901): empty, or `/`-separated reference tokens.
fn parse_pointer(value: &str) -> Result<String, String> {
    let escapes_ok = value.split('~').skip(1).all(|rest| rest.starts_with(['0', '1']));
    match (value.is_empty() || value.starts_with('/'))
        && escapes_ok
        && value.len() <= 255
        && !value.chars().any(char::is_control)
    {
        true => Ok(value.to_string()),
        false => Err("must be a JSON pointer (RFC 6901) such as /access_token".into()),
    }
}

/// A scope name: no spaces or control characters, at most 255 characters.
fn parse_scope(value: &str) -> Result<String, String> {
    match !value.is_empty()
        && value.len() <= 255
        && !value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        true => Ok(value.to_string()),
        false => Err("must be scope names without spaces, quotes or control characters".into()),
    }
}

pub struct Values {
    identifier: Option<String>,
    name: Option<String>,
    description: Given<String>,
    client_id: Option<String>,
    client_secret: Given<String>,
    issuer: Given<String>,
    authorization_endpoint: Given<String>,
    token_endpoint: Option<String>,
    jwks_uri: Given<String>,
    scopes_supported: Option<String>,
    scope_separator: Option<String>,
    pointer: Option<String>,
    token_exchange: Option<bool>,
    common: Common,
}

fn read(document: &ResourceDocument) -> Result<Values, ApiError> {
    let mut reader = Reader::new(document);
    let identifier = reader.required("identifier", |v| parse_text(v, 255));
    let name = reader.required("name", |v| parse_text(v, 255));
    let description = reader.string("description", |v| parse_text(v, 2000));
    let client_id = reader.required("client_id", |v| parse_text(v, 255));
    let client_secret = reader.string("client_secret", |v| parse_text(v, 1024));
    let issuer = reader.string("issuer", parse_http_url);
    let authorization_endpoint = reader.string("authorization_endpoint", parse_http_url);
    let token_endpoint = reader.required("token_endpoint", parse_http_url);
    let jwks_uri = reader.string("jwks_uri", parse_http_url);
    let scopes_supported = reader.strings("scopes_supported", MAX_SCOPES, parse_scope);
    let scopes_supported = reader.not_null("scopes_supported", scopes_supported);
    let scope_separator = reader.string("scope_separator", parse_separator);
    let scope_separator = reader.not_null("scope_separator", scope_separator);
    let pointer = reader.string("token_response_access_token_pointer", parse_pointer);
    let pointer = reader.not_null("token_response_access_token_pointer", pointer);
    let token_exchange = reader.boolean("token_exchange");
    let token_exchange = reader.not_null("token_exchange", token_exchange);
    let common = Common::read(&mut reader);
    reader.finish()?;
    Ok(Values {
        identifier,
        name,
        description,
        client_id,
        client_secret,
        issuer,
        authorization_endpoint,
        token_endpoint,
        jwks_uri,
        scopes_supported,
        scope_separator,
        pointer,
        token_exchange,
        common,
    })
}

fn identifier_taken() -> ApiError {
    duplicate("identifier", "Another credential provider of this organization has this identifier.")
}

impl Create for CredentialProviders {
    type New = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<CredentialProvider, ApiError> {
        let organization_id = place.organization_id.clone();
        let identifier = new.identifier.unwrap_or_default();
        if tx.taken(
            "credential_providers",
            &[("organization_id", &organization_id), ("identifier", &identifier)],
            "",
        )? {
            return Err(identifier_taken());
        }
        let mut row = new_row!(
            CredentialProvider {
                organization_id,
                identifier,
                name: new.name.unwrap_or_default(),
                description: new.description.value(),
                client_id: new.client_id.unwrap_or_default(),
                client_secret_sealed: None,
                issuer: new.issuer.value(),
                authorization_endpoint: new.authorization_endpoint.value(),
                token_endpoint: new.token_endpoint.unwrap_or_default(),
                jwks_uri: new.jwks_uri.value(),
                scopes_supported: new.scopes_supported.unwrap_or_else(|| "[]".into()),
                scope_separator: new.scope_separator.unwrap_or_else(|| " ".into()),
                token_response_access_token_pointer: new.pointer.unwrap_or_else(|| "/access_token".into()),
                token_exchange: new.token_exchange.unwrap_or(false),
            },
            new.common
        );
        row.client_secret_sealed =
            new.client_secret.value().map(|secret| tx.master.seal(&secret_place(&row.id), secret.as_bytes()));
        tx.insert::<CredentialProviders>(row)
    }
}

impl Update for CredentialProviders {
    type Changes = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    fn update(
        tx: &mut Tx,
        provider: &Authorized<CredentialProvider>,
        changes: Values,
    ) -> Result<&'static str, ApiError> {
        if let Some(identifier) = &changes.identifier {
            let organization = ("organization_id", provider.organization_id.as_str());
            if tx.taken("credential_providers", &[organization, ("identifier", identifier)], &provider.id)? {
                return Err(identifier_taken());
            }
        }
        let sealed = changes
            .client_secret
            .into_change()
            .map(|secret| secret.map(|s| tx.master.seal(&secret_place(&provider.id), s.as_bytes())));
        diesel::update(credential_providers::table.find(&provider.id))
            .set((
                (
                    changes.identifier.map(|v| credential_providers::identifier.eq(v)),
                    changes.name.map(|v| credential_providers::name.eq(v)),
                    changes.description.into_change().map(|v| credential_providers::description.eq(v)),
                    changes.client_id.map(|v| credential_providers::client_id.eq(v)),
                    sealed.map(|v| credential_providers::client_secret_sealed.eq(v)),
                    changes.issuer.into_change().map(|v| credential_providers::issuer.eq(v)),
                    changes
                        .authorization_endpoint
                        .into_change()
                        .map(|v| credential_providers::authorization_endpoint.eq(v)),
                    changes.token_endpoint.map(|v| credential_providers::token_endpoint.eq(v)),
                ),
                (
                    changes.jwks_uri.into_change().map(|v| credential_providers::jwks_uri.eq(v)),
                    changes.scopes_supported.map(|v| credential_providers::scopes_supported.eq(v)),
                    changes.scope_separator.map(|v| credential_providers::scope_separator.eq(v)),
                    changes.pointer.map(|v| credential_providers::token_response_access_token_pointer.eq(v)),
                    changes.token_exchange.map(|v| credential_providers::token_exchange.eq(v)),
                    common_changes!(credential_providers, changes.common),
                ),
            ))
            .execute(tx.conn)?;
        // Credentials obtained with the provider as it was are not used again.
        diesel::delete(
            upstream_credentials::table.filter(upstream_credentials::credential_provider_id.eq(&provider.id)),
        )
        .execute(tx.conn)?;
        Ok("update")
    }
}

impl Delete for CredentialProviders {
    /// Not while an API resource names it: its clients would lose their upstream credential
    /// without anyone deciding so.
    fn check(tx: &mut Tx, provider: &Authorized<CredentialProvider>) -> Result<(), ApiError> {
        let users: i64 = api_resources::table
            .filter(api_resources::credential_provider_id.eq(&provider.id))
            .count()
            .get_result(tx.conn)?;
        if users > 0 {
            return Err(ApiError::Conflict {
                detail: format!(
                    "{users} API resource(s) get their upstream credentials from this provider; unlink them first."
                ),
                location: crate::error::Source::None,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_pointers_and_scopes_are_checked() {
        assert_eq!(parse_separator(" ").unwrap(), " ");
        assert_eq!(parse_separator(",").unwrap(), ",");
        assert!(parse_separator("").is_err() && parse_separator("a").is_err() && parse_separator("\n").is_err());
        assert!(parse_pointer("/access_token").is_ok() && parse_pointer("/data/0/to~1ken").is_ok());
        assert!(parse_pointer("").is_ok(), "the whole document (a bare token)");
        assert!(parse_pointer("access_token").is_err() && parse_pointer("/a~2b").is_err());
        assert!(parse_scope("orders:read").is_ok());
        assert!(parse_scope("two words").is_err() && parse_scope("").is_err());
    }
}
