//! Organizations: which values are valid, and what is derived (slug, domain, region).

use crate::db::organizations::{NewOrganization, OrganizationChanges};
use crate::domain::{now, parse_email, parse_http_url, parse_text, Common, Reader};
use crate::error::ApiError;
use crate::jsonapi::document::ResourceDocument;

pub const DEFAULT_REGION: &str = "eu-west-1";
const MAX_SLUG: usize = 40;

/// `#RRGGBB`.
pub fn parse_hex_color(value: &str) -> Result<String, String> {
    let valid = value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit());
    if valid {
        Ok(value.to_ascii_uppercase())
    } else {
        Err("must be a hex color like #C8984E".into())
    }
}

/// A Google Tag Manager container id, `GTM-XXXXXX`.
pub fn parse_gtm_id(value: &str) -> Result<String, String> {
    let valid = value
        .strip_prefix("GTM-")
        .is_some_and(|rest| (1..=16).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric()));
    if valid {
        Ok(value.to_string())
    } else {
        Err("must be a Google Tag Manager id like GTM-5FJXX6".into())
    }
}

pub fn parse_phone(value: &str) -> Result<String, String> {
    let value = value.trim();
    let valid = (3..=40).contains(&value.len())
        && value.chars().any(|c| c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_digit() || " +-().x/".contains(c));
    if valid {
        Ok(value.to_string())
    } else {
        Err("must be a phone number like +01 30800857".into())
    }
}

/// A cloud region name such as `eu-west-1` or `ap-southeast-2`.
pub fn parse_region(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split('-').collect();
    let valid = value.len() <= 32
        && parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    if valid {
        Ok(value.to_string())
    } else {
        Err("must be a region like eu-west-1".into())
    }
}

/// The URL-safe form of a name: `The Blue Brand!` becomes `the-blue-brand`.
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let mut slug: String = slug.trim_end_matches('-').chars().take(MAX_SLUG).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        "organization".into()
    } else {
        slug
    }
}

fn read_settings(reader: &mut Reader) -> [crate::jsonapi::document::Given<String>; 8] {
    [
        reader.string("support_phone", parse_phone),
        reader.string("support_email", parse_email),
        reader.string("logo_url", parse_http_url),
        reader.string("favicon_url", parse_http_url),
        reader.string("primary_color", parse_hex_color),
        reader.string("contrast_color", parse_hex_color),
        reader.string("gtm_id", parse_gtm_id),
        reader.string("gtm_id_test", parse_gtm_id),
    ]
}

/// A create document to the row to insert; `domain` is filled once the slug is known.
pub fn new_organization(document: &ResourceDocument) -> Result<NewOrganization, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.string("name", |v| parse_text(v, 255));
    let name = reader.not_null("name", name);
    let [support_phone, support_email, logo_url, favicon_url, primary_color, contrast_color, gtm_id, gtm_id_test] =
        read_settings(&mut reader).map(|g| g.value());
    let region = reader.string("region", parse_region);
    let region = reader.not_null("region", region);
    let config = reader.object("config").value();
    let common = Common::read(&mut reader);
    reader.finish()?;

    let name = name.expect("required attributes are checked when the document is decoded");
    let now = now();
    Ok(NewOrganization {
        id: crate::domain::new_id(),
        slug: slug_from_name(&name),
        domain: String::new(),
        name,
        support_phone,
        support_email,
        logo_url,
        favicon_url,
        primary_color,
        contrast_color,
        gtm_id,
        gtm_id_test,
        region: region.unwrap_or_else(|| DEFAULT_REGION.into()),
        can_switch_live: false,
        subscription_info: None,
        config,
        metadata: common.metadata.clone().unwrap_or_else(|| "{}".into()),
        reference: common.reference.value(),
        reference_origin: common.reference_origin.value(),
        created_at: now,
        updated_at: now,
    })
}

/// An update document to the columns it changes; attributes not sent keep their values.
pub fn organization_changes(document: &ResourceDocument) -> Result<OrganizationChanges, ApiError> {
    let mut reader = Reader::new(document);
    let name = reader.string("name", |v| parse_text(v, 255));
    let name = reader.not_null("name", name);
    let [support_phone, support_email, logo_url, favicon_url, primary_color, contrast_color, gtm_id, gtm_id_test] =
        read_settings(&mut reader).map(|g| g.into_change());
    let config = reader.object("config").into_change();
    let common = Common::read(&mut reader);
    reader.finish()?;
    Ok(OrganizationChanges {
        name,
        support_phone,
        support_email,
        logo_url,
        favicon_url,
        primary_color,
        contrast_color,
        gtm_id,
        gtm_id_test,
        config,
        metadata: common.metadata.clone(),
        reference: common.reference.into_change(),
        reference_origin: common.reference_origin.into_change(),
        updated_at: now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug_from_name("The Blue Brand!"), "the-blue-brand");
        assert_eq!(slug_from_name("  --Café  Crème-- "), "caf-cr-me");
        assert_eq!(slug_from_name("!!!"), "organization");
        assert!(slug_from_name(&"a b ".repeat(40)).len() <= MAX_SLUG);
        assert!(!slug_from_name(&"a b ".repeat(40)).ends_with('-'));
    }

    #[test]
    fn colors_regions_gtm_phones() {
        assert_eq!(parse_hex_color("#c8984e").unwrap(), "#C8984E");
        assert!(parse_hex_color("C8984E").is_err());
        assert!(parse_hex_color("#C8984").is_err());
        assert!(parse_region("eu-west-1").is_ok());
        assert!(parse_region("ap-southeast-2").is_ok());
        assert!(parse_region("mars").is_err());
        assert!(parse_gtm_id("GTM-5FJXX6").is_ok());
        assert!(parse_gtm_id("UA-1").is_err());
        assert!(parse_phone("+01 30800857").is_ok());
        assert!(parse_phone("call me").is_err());
    }
}
