//! `/api/organizations`: create (the caller becomes the owner), update, transfer ownership;
//! reading is shared (`http::routes`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;

use crate::auth::Caller;
use crate::db::access_rows::{self as rows, Audit, Membership};
use crate::db::organizations::{self, Organizations};
use crate::db::schema::memberships;
use crate::db::users;
use crate::domain::access::{authorize, Action};
use crate::domain::members::{base_grants, SUBJECTS};
use crate::domain::organizations::{new_organization, organization_changes};
use crate::domain::{now, parse_email};
use crate::error::{ApiError, Invalid, Source};
use crate::http::access::audit;
use crate::http::auth::RequestContext;
use crate::http::{routes, single_response, with_includes, State};
use crate::jsonapi::document::{Mode, ResourceDocument};
use crate::jsonapi::media::Body;
use crate::jsonapi::query::{Allowed, Query};
use crate::jsonapi::spec::{Attribute, Kind, ResourceSpec, Tenancy, REQUIRED, UPDATE};
use crate::views::organizations::{render, SPEC};
use crate::views::roles as view;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        crate::http::resource("/organizations/{id}/transfer_ownership", "PATCH")
            .route(web::patch().to(transfer_ownership)),
    );
    // No DELETE: the reference has none for organizations.
    routes(cfg, &Organizations, "GET, POST", "GET, PATCH", |collection, member| {
        (collection.route(web::post().to(create)), member.route(web::patch().to(update)))
    });
}

/// The organization's built-in roles with their base permissions, and the caller as its owner.
fn found_organization(
    conn: &mut crate::db::AnyConnection,
    organization_id: &str,
    caller: &Caller,
    audit: &Audit,
) -> Result<(), ApiError> {
    let mut admin_role_id = String::new();
    for (kind, name) in [("admin", "Admin"), ("read_only", "Read-only")] {
        let role = rows::new_role(organization_id, name, kind);
        rows::insert_role(conn, &role)?;
        rows::record(conn, audit, "create", None, Some(&view::render_role(role.clone())))?;
        for subject in SUBJECTS {
            let permission = rows::new_permission(&role, subject, base_grants(kind));
            rows::insert_permission(conn, &permission)?;
            rows::record(conn, audit, "create", None, Some(&view::render_permission(permission)))?;
        }
        if kind == "admin" {
            admin_role_id = role.id;
        }
    }
    let user = users::find(conn, &caller.user_id)?
        .ok_or_else(|| ApiError::Unauthorized("Your user no longer exists.".into()))?;
    let now = now();
    let owner = Membership {
        id: crate::domain::new_id(),
        organization_id: organization_id.to_string(),
        role_id: admin_role_id,
        membership_profile_id: None,
        user_id: Some(user.id),
        user_email: user.email.to_lowercase(),
        user_first_name: Some(user.first_name),
        user_last_name: Some(user.last_name),
        status: "active".into(),
        owner: true,
        access_scope: "all_access".into(),
        test_enabled: true,
        invited_at: None,
        reference: None,
        reference_origin: None,
        metadata: "{}".into(),
        created_at: now,
        updated_at: now,
    };
    rows::insert_membership(conn, &owner)?;
    rows::record(conn, audit, "create", None, Some(&view::render_membership(owner)))?;
    Ok(())
}

async fn create(
    state: State,
    request: HttpRequest,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(&SPEC, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &SPEC, Mode::Create)?;
    let new = new_organization(&document)?;
    let domain_suffix = state.domain_suffix.clone();
    let audit = audit(&caller, &context);
    let (object, included, query) = state
        .db
        .transaction(move |conn| {
            let organization = organizations::insert(conn, new, &domain_suffix)?;
            found_organization(conn, &organization.id, &caller, &audit)?;
            with_includes(conn, &caller, render(organization), query)
        })
        .await?;
    Ok(single_response(&state, StatusCode::CREATED, &object, included.as_deref(), &query))
}

async fn update(
    state: State,
    request: HttpRequest,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let query = Query::parse(&SPEC, request.query_string(), Allowed::Single)?;
    let document = ResourceDocument::decode(&body.0, &SPEC, Mode::Update { id: &id })?;
    let changes = organization_changes(&document)?;
    let (object, included, query) = state
        .db
        .transaction(move |conn| {
            crate::http::load_for(conn, &caller, &Organizations, &id, Action::Update)?;
            let organization = organizations::update(conn, &id, &changes)?;
            with_includes(conn, &caller, render(organization), query)
        })
        .await?;
    Ok(single_response(&state, StatusCode::OK, &object, included.as_deref(), &query))
}

/// What `transfer_ownership` accepts: one attribute, on the organization's own document.
static TRANSFER: ResourceSpec = ResourceSpec {
    type_name: "organizations",
    attributes: &[Attribute::new("new_owner_email", Kind::String, REQUIRED | UPDATE)],
    relationships: &[],
    tenancy: Tenancy::Organization,
};

/// `PATCH /organizations/:id/transfer_ownership`: the owner hands the organization to another
/// active member, who becomes owner with the admin role. 202.
async fn transfer_ownership(
    state: State,
    id: web::Path<String>,
    body: Body,
    caller: Caller,
    context: RequestContext,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let document = ResourceDocument::decode(&body.0, &TRANSFER, Mode::Singleton { id: &id })?;
    let mut errors = Vec::new();
    let email = document.string("new_owner_email", &mut errors).value();
    let email = match email.as_deref().map(parse_email) {
        Some(Ok(email)) => email,
        _ if !errors.is_empty() => return Err(ApiError::Validation(errors)),
        _ => {
            return Err(ApiError::invalid(Invalid::attribute(
                "new_owner_email",
                "new_owner_email must be an email address.",
            )))
        }
    };
    let audit = audit(&caller, &context);
    state
        .db
        .transaction(move |conn| {
            let missing = || ApiError::not_found("organizations", &id);
            authorize(conn, &caller, &id, "organizations", Action::Read, missing)?;
            let current = rows::membership_by_email(conn, &id, &caller.email)?.filter(|m| m.owner);
            let Some(current) = current else {
                return Err(ApiError::Forbidden {
                    detail: "Only the organization's owner can transfer its ownership.".into(),
                    location: Source::None,
                });
            };
            let next = rows::membership_by_email(conn, &id, &email)?.filter(|m| m.status == "active");
            let Some(next) = next else {
                return Err(ApiError::invalid(Invalid::attribute(
                    "new_owner_email",
                    "The new owner must be an active member of the organization.",
                )));
            };
            if next.id == current.id {
                return Ok(());
            }
            let admin = rows::builtin_role(conn, &id, "admin")?
                .ok_or_else(|| ApiError::internal("organization without admin role"))?;
            for (membership, owner) in [(&current, false), (&next, true)] {
                let before = view::render_membership(membership.clone());
                diesel::update(memberships::table.find(&membership.id))
                    .set((
                        memberships::owner.eq(owner),
                        memberships::role_id.eq(&admin.id),
                        memberships::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
                let after = rows::find_membership(conn, &membership.id)?.map(view::render_membership);
                rows::record(conn, &audit, "update", Some(&before), after.as_ref())?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
