//! `identity_providers`: an organization's upstream OpenID Connect provider for single sign-on
//! (Commerce Layer's type). Its client secret is sealed under the master key and never
//! rendered; `txt_record` is the value its `domains` must publish in DNS before it signs anyone
//! in (`status` `verified`). `organization` names the organization it serves, which the caller
//! must be allowed to create identity providers in; `user` is who created it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::identity_providers;
use crate::domain::policy::{Authorized, CreateIn};
use crate::domain::sealed::context;
use crate::domain::{parse_http_url, parse_text};
use crate::error::ApiError;
use crate::jsonapi::document::{Common, Reader, ResourceDocument};
use crate::resources::model::{common_changes, new_row, row, stored, Resource};
use crate::resources::write::{Answer, Create, Delete, Inquiry, Tx, Update};
use crate::spec::*;

pub struct IdentityProviders;

const URL: u8 = REQUIRED | CREATE | UPDATE | FILTER | SORT;

pub static SPEC: ResourceSpec = ResourceSpec {
    type_name: "identity_providers",
    attributes: &[
        Attribute::new("name", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("client_id", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("client_secret", Kind::String, REQUIRED | CREATE | UPDATE | WRITE_ONLY),
        Attribute::new("issuer", Kind::String, URL),
        Attribute::new("status", Kind::String, FILTER | SORT),
        Attribute::new("domains", Kind::String, REQUIRED | CREATE | UPDATE | FILTER | SORT),
        Attribute::new("token_url", Kind::String, URL),
        Attribute::new("authorize_url", Kind::String, URL),
        Attribute::new("jwks_url", Kind::String, URL),
        Attribute::new("txt_record", Kind::String, FILTER | SORT),
        Attribute::new("organization", Kind::String, REQUIRED | CREATE | FILTER | SORT),
        Attribute::new("disabled_at", Kind::Datetime, FILTER | SORT),
        Attribute::new("_disable", Kind::Boolean, CREATE | UPDATE | TRIGGER),
        Attribute::new("_enable", Kind::Boolean, CREATE | UPDATE | TRIGGER),
        Attribute::new("_verify", Kind::Boolean, UPDATE | TRIGGER),
        Attribute::new("verification_error", Kind::String, 0),
    ],
    relationships: &[
        Relationship::to_one("user", "users", "user_id", 0),
        Relationship::tagged("versions", "versions", "resource_type", "resource_id"),
    ],
    tenancy: Tenancy::OrganizationColumn("organization"),
};

row! {
    pub struct IdentityProvider in identity_providers {
        /// The organization's id (the `organization` attribute).
        pub organization: String,
        pub user_id: Option<String>,
        pub name: String,
        pub client_id: String,
        /// Sealed under the master key (`domain::sealed`), at `secret_place(id)`.
        #[serde(skip)]
        pub client_secret_sealed: String,
        pub issuer: String,
        pub domains: String,
        pub authorize_url: String,
        pub token_url: String,
        pub jwks_url: String,
        pub status: String,
        pub txt_record: String,
        pub disabled_at: Option<NaiveDateTime>,
        pub verification_error: Option<String>,
    }
}

/// Where a provider's client secret is sealed.
pub fn secret_place(id: &str) -> String {
    context("identity_providers", id, "client_secret")
}

impl Resource for IdentityProviders {
    stored!(identity_providers, IdentityProvider, [organization, user_id]);

    type Attributes<'r> = Attributes<'r>;

    fn attributes(row: &IdentityProvider) -> Attributes<'_> {
        Attributes {
            name: &row.name,
            client_id: &row.client_id,
            issuer: &row.issuer,
            status: &row.status,
            domains: &row.domains,
            token_url: &row.token_url,
            authorize_url: &row.authorize_url,
            jwks_url: &row.jwks_url,
            txt_record: &row.txt_record,
            organization: &row.organization,
            disabled_at: row.disabled_at,
            verification_error: row.verification_error.as_deref(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attributes<'a> {
    name: &'a str,
    client_id: &'a str,
    issuer: &'a str,
    /// `pending` until every domain publishes `txt_record`, then `verified`; `error` when a
    /// check failed.
    status: &'a str,
    /// Comma-separated.
    domains: &'a str,
    token_url: &'a str,
    authorize_url: &'a str,
    jwks_url: &'a str,
    txt_record: &'a str,
    /// The id of the organization the provider serves.
    organization: &'a str,
    #[serde(serialize_with = "crate::views::optional_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    disabled_at: Option<NaiveDateTime>,
    /// Why the last `_verify` found a domain without `txt_record`; null unless `status` is
    /// `error`.
    verification_error: Option<&'a str>,
}

pub const STATUSES: &[&str] = &["pending", "verified", "error"];
const MAX_DOMAINS: usize = 50;

/// A DNS name as people type it: lowercased, at most 253 characters, labels of letters, digits
/// and hyphens (not at either end), at least two labels.
fn parse_domain(value: &str) -> Result<String, String> {
    let domain = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(format!("{value:?} is not a domain name such as example.com"));
    }
    Ok(domain)
}

/// Comma-separated domain names, each once, in the order given.
pub fn parse_domains(value: &str) -> Result<String, String> {
    let mut domains: Vec<String> = Vec::new();
    for part in value.split(',') {
        let domain = parse_domain(part)?;
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    if domains.len() > MAX_DOMAINS {
        return Err(format!("must list at most {MAX_DOMAINS} domains"));
    }
    Ok(domains.join(","))
}

/// What a provider's domains must publish: `provisioning-verification=<random>`.
fn new_txt_record() -> String {
    format!("provisioning-verification={}", &crate::domain::secrets::generate_client_id()[..32])
}

pub struct Values {
    name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    issuer: Option<String>,
    domains: Option<String>,
    token_url: Option<String>,
    authorize_url: Option<String>,
    jwks_url: Option<String>,
    organization: Option<String>,
    /// `_disable` (Some(true)) or `_enable` (Some(false)).
    disable: Option<bool>,
    /// `_verify`: look up the domains' TXT records (before the transaction, `Update::inquiry`).
    verify: bool,
    /// What the lookup found, for the domains it looked at.
    checked: Option<(String, Answer)>,
    common: Common,
}

fn read(document: &ResourceDocument) -> Result<Values, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.required("name", |v| parse_text(v, 255));
    let client_id = reader.required("client_id", |v| parse_text(v, 255));
    let client_secret = reader.required("client_secret", |v| parse_text(v, 1024));
    let issuer = reader.required("issuer", parse_http_url);
    let domains = reader.required("domains", parse_domains);
    let token_url = reader.required("token_url", parse_http_url);
    let authorize_url = reader.required("authorize_url", parse_http_url);
    let jwks_url = reader.required("jwks_url", parse_http_url);
    let organization = reader.required("organization", |v| parse_text(v, 64));
    let (disable, enable) = (reader.trigger("_disable"), reader.trigger("_enable"));
    let verify = reader.trigger("_verify");
    if disable && enable {
        reader.refuse_attribute("_enable", "Send _disable or _enable, not both.");
    }
    let common = Common::read(&mut reader);
    reader.finish()?;
    let disable = (disable || enable).then_some(disable);
    Ok(Values {
        name,
        client_id,
        client_secret,
        issuer,
        domains,
        token_url,
        authorize_url,
        jwks_url,
        organization,
        disable,
        verify,
        checked: None,
        common,
    })
}

impl Create for IdentityProviders {
    type New = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    /// The organization the `organization` attribute names.
    fn organization(_: &mut Tx, new: &Values, _: Option<String>) -> Result<Option<String>, ApiError> {
        Ok(new.organization.clone())
    }

    fn create(tx: &mut Tx, place: Authorized<CreateIn>, new: Values) -> Result<IdentityProvider, ApiError> {
        let now = crate::domain::now();
        let mut row = new_row!(
            IdentityProvider {
                organization: place.organization_id.clone(),
                user_id: Some(tx.caller.user_id.clone()),
                name: new.name.unwrap_or_default(),
                client_id: new.client_id.unwrap_or_default(),
                client_secret_sealed: String::new(),
                issuer: new.issuer.unwrap_or_default(),
                domains: new.domains.unwrap_or_default(),
                authorize_url: new.authorize_url.unwrap_or_default(),
                token_url: new.token_url.unwrap_or_default(),
                jwks_url: new.jwks_url.unwrap_or_default(),
                status: "pending".into(),
                txt_record: new_txt_record(),
                disabled_at: (new.disable == Some(true)).then_some(now),
                verification_error: None,
            },
            new.common
        );
        row.client_secret_sealed =
            tx.master.seal(&secret_place(&row.id), new.client_secret.unwrap_or_default().as_bytes());
        tx.insert::<IdentityProviders>(row)
    }
}

impl Update for IdentityProviders {
    type Changes = Values;

    fn decode(document: &ResourceDocument, _: &dyn Catalog) -> Result<Values, ApiError> {
        read(document)
    }

    /// `_verify` looks up the TXT records of the domains the provider will have.
    fn inquiry(changes: &Values, provider: &IdentityProvider) -> Option<Inquiry> {
        let domains = changes.domains.as_deref().unwrap_or(&provider.domains);
        changes.verify.then(|| Inquiry::TxtRecords {
            domains: domains.split(',').map(String::from).collect(),
            expected: provider.txt_record.clone(),
        })
    }

    fn inquires(changes: &Values) -> bool {
        changes.verify
    }

    fn answered(changes: &mut Values, inquiry: Inquiry, answer: Answer) {
        let Inquiry::TxtRecords { domains, .. } = inquiry;
        changes.checked = Some((domains.join(","), answer));
    }

    fn update(tx: &mut Tx, provider: &Authorized<IdentityProvider>, changes: Values) -> Result<&'static str, ApiError> {
        let sealed = changes.client_secret.map(|secret| tx.master.seal(&secret_place(&provider.id), secret.as_bytes()));
        let domains = changes.domains.as_deref().unwrap_or(&provider.domains);
        // Other domains must be verified again; a check stands only for the domains it looked
        // at (a concurrent update may have changed them since).
        let domains_changed = domains != provider.domains;
        let (status, verification_error) = match &changes.checked {
            Some((checked, answer)) if checked == domains => match answer {
                Ok(()) => (Some("verified"), Some(None)),
                Err(why) => (Some("error"), Some(Some(why.clone()))),
            },
            _ if domains_changed => (Some("pending"), Some(None)),
            _ => (None, None),
        };
        let disabled_at = match changes.disable {
            Some(true) => Some(Some(provider.disabled_at.unwrap_or_else(crate::domain::now))),
            Some(false) => Some(None),
            None => None,
        };
        diesel::update(identity_providers::table.find(&provider.id))
            .set((
                changes.name.map(|v| identity_providers::name.eq(v)),
                changes.client_id.map(|v| identity_providers::client_id.eq(v)),
                sealed.map(|v| identity_providers::client_secret_sealed.eq(v)),
                changes.issuer.map(|v| identity_providers::issuer.eq(v)),
                changes.domains.map(|v| identity_providers::domains.eq(v)),
                status.map(|v| identity_providers::status.eq(v)),
                verification_error.map(|v| identity_providers::verification_error.eq(v)),
                changes.token_url.map(|v| identity_providers::token_url.eq(v)),
                changes.authorize_url.map(|v| identity_providers::authorize_url.eq(v)),
                changes.jwks_url.map(|v| identity_providers::jwks_url.eq(v)),
                disabled_at.map(|v| identity_providers::disabled_at.eq(v)),
                common_changes!(identity_providers, changes.common),
            ))
            .execute(tx.conn)?;
        Ok(match (changes.verify, changes.disable) {
            (true, _) => "verify",
            (_, Some(true)) => "disable",
            (_, Some(false)) => "enable",
            (_, None) => "update",
        })
    }
}

impl Delete for IdentityProviders {}
